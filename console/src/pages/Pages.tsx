/** Which page the URL names, under the navigation: the dashboard, a server, a cluster's rollouts, windows, events. */
import { useEffect } from 'preact/hooks';
import { usePoll } from '../poll.js';
import { href, navigate, useRoute } from '../router.js';
import type { ClusterSummary } from '../types.js';
import { ClustersTab } from './ClustersTab.js';
import { EventsPage } from './EventsPage.js';
import { RolloutPage } from './RolloutPage.js';
import { RolloutsPage } from './RolloutsPage.js';
import { ServerPage } from './ServerPage.js';
import { ServersTab } from './ServersTab.js';
import { WindowsPage } from './WindowsPage.js';

const SECTIONS = [
  { key: 'rollouts', label: 'Rollouts' },
  { key: 'windows', label: 'Windows' },
  { key: 'events', label: 'Events' },
] as const;
type Section = (typeof SECTIONS)[number]['key'];

const go = (path: string) => (event: MouseEvent) => {
  if (event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  navigate(path);
};

function NavLink({ path, current, children }: { path: string; current: boolean; children: string }) {
  return (
    <a href={href(path)} aria-current={current ? 'page' : undefined} onClick={go(path)}>
      {children}
    </a>
  );
}

/** What the URL names (the segments after /console/). */
type Place =
  | { kind: 'dashboard'; tab: 'servers' | 'clusters' }
  | { kind: 'server'; cluster: string; server: string }
  | { kind: 'section'; section: Section; cluster: string; id?: string }
  | { kind: 'first-cluster'; section: Section }
  | { kind: 'unknown' };

const isSection = (value: string | undefined): value is Section => SECTIONS.some((s) => s.key === value);

function place([first, cluster, third, fourth, ...rest]: string[]): Place {
  if (first === undefined) return { kind: 'dashboard', tab: 'servers' };
  if (first === 'clusters' && cluster === undefined) return { kind: 'dashboard', tab: 'clusters' };
  if (isSection(first) && cluster === undefined) return { kind: 'first-cluster', section: first };
  if (first !== 'clusters' || !cluster || rest.length > 0) return { kind: 'unknown' };
  if (third === 'servers' && fourth) return { kind: 'server', cluster, server: fourth };
  if (isSection(third) && (fourth === undefined || third === 'rollouts'))
    return { kind: 'section', section: third, cluster, ...(fourth && { id: fourth }) };
  return { kind: 'unknown' };
}

export function Pages() {
  const { segments } = useRoute();
  const clusters = usePoll<{ clusters: ClusterSummary[] }>('/v1/clusters', 10_000).data?.clusters;
  const at = place(segments);
  const cluster = at.kind === 'section' || at.kind === 'server' ? at.cluster : undefined;
  const section = at.kind === 'section' ? at.section : undefined;

  // /console/rollouts and the like name no cluster: the first one's.
  const firstCluster = clusters?.[0]?.id;
  useEffect(() => {
    if (at.kind === 'first-cluster' && firstCluster)
      navigate(`clusters/${encodeURIComponent(firstCluster)}/${at.section}`, true);
  }, [at.kind, section, firstCluster]);

  return (
    <>
      <nav class="main-nav" aria-label="Main">
        <NavLink path="" current={at.kind === 'dashboard'}>
          Dashboard
        </NavLink>
        {SECTIONS.map((s) => (
          <NavLink
            key={s.key}
            path={cluster ? `clusters/${encodeURIComponent(cluster)}/${s.key}` : s.key}
            current={section === s.key}
          >
            {s.label}
          </NavLink>
        ))}
        {section && cluster && clusters && (
          <span class="cluster-pick">
            <label for="cluster-pick">Cluster</label>
            <select
              id="cluster-pick"
              value={cluster}
              onChange={(e) =>
                navigate(`clusters/${encodeURIComponent((e.currentTarget as HTMLSelectElement).value)}/${section}`)
              }
            >
              {clusters.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id}
                </option>
              ))}
            </select>
          </span>
        )}
      </nav>
      <main id="main">
        {at.kind === 'dashboard' && <Dashboard tab={at.tab} clusters={clusters} />}
        {at.kind === 'server' && <ServerPage cluster={at.cluster} server={at.server} />}
        {at.kind === 'section' &&
          at.section === 'rollouts' &&
          (at.id ? <RolloutPage cluster={at.cluster} id={at.id} /> : <RolloutsPage cluster={at.cluster} />)}
        {at.kind === 'section' && at.section === 'windows' && <WindowsPage cluster={at.cluster} />}
        {at.kind === 'section' && at.section === 'events' && <EventsPage cluster={at.cluster} />}
        {at.kind === 'first-cluster' && <p>Loading…</p>}
        {at.kind === 'unknown' && (
          <p>
            Nothing is here.{' '}
            <NavLink path="" current={false}>
              Back to the dashboard
            </NavLink>
          </p>
        )}
      </main>
    </>
  );
}

/** Seed step 4: the dashboard opens on the Servers tab. */
function Dashboard({ tab, clusters }: { tab: 'servers' | 'clusters'; clusters: ClusterSummary[] | undefined }) {
  return (
    <>
      <h1>Dashboard</h1>
      <nav class="tabs" aria-label="Dashboard tabs">
        <NavLink path="" current={tab === 'servers'}>
          Servers
        </NavLink>
        <NavLink path="clusters" current={tab === 'clusters'}>
          Clusters
        </NavLink>
      </nav>
      {!clusters ? (
        <p>Loading…</p>
      ) : clusters.length === 0 ? (
        <p>No clusters are registered yet.</p>
      ) : tab === 'servers' ? (
        <ServersTab clusters={clusters} />
      ) : (
        <ClustersTab clusters={clusters} />
      )}
    </>
  );
}
