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

export function NavLink({ path, current, children }: { path: string; current: boolean; children: string }) {
  return (
    <a href={href(path)} aria-current={current ? 'page' : undefined} onClick={go(path)}>
      {children}
    </a>
  );
}

export function Pages() {
  const { segments } = useRoute();
  const clusters = usePoll<{ clusters: ClusterSummary[] }>('/v1/clusters', 10_000).data?.clusters;
  const [first, cluster, third, fourth] = segments;
  const section = (first === 'clusters' && cluster && SECTIONS.some((s) => s.key === third) ? third : SECTIONS.some((s) => s.key === first) ? first : undefined) as Section | undefined;

  // /console/rollouts (no cluster named): the first cluster's.
  useEffect(() => {
    if (first && SECTIONS.some((s) => s.key === first) && clusters?.[0]) navigate(`clusters/${encodeURIComponent(clusters[0].id)}/${first}`, true);
  }, [first, clusters]);

  const onDashboard = !first || (first === 'clusters' && !cluster);
  const sectionCluster = section && first === 'clusters' ? cluster : undefined;

  return (
    <>
      <nav class="main-nav" aria-label="Main">
        <NavLink path="" current={onDashboard}>
          Dashboard
        </NavLink>
        {SECTIONS.map((s) => (
          <NavLink key={s.key} path={sectionCluster ? `clusters/${encodeURIComponent(sectionCluster)}/${s.key}` : s.key} current={section === s.key}>
            {s.label}
          </NavLink>
        ))}
        {sectionCluster && clusters && (
          <span class="cluster-pick">
            <label for="cluster-pick">Cluster</label>
            <select id="cluster-pick" value={sectionCluster} onChange={(e) => navigate(`clusters/${encodeURIComponent((e.currentTarget as HTMLSelectElement).value)}/${section}`)}>
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
        {onDashboard && <Dashboard tab={first === 'clusters' ? 'clusters' : 'servers'} clusters={clusters} />}
        {first === 'clusters' && cluster && third === 'servers' && fourth && <ServerPage cluster={cluster} server={fourth} />}
        {sectionCluster && section === 'rollouts' && (fourth ? <RolloutPage cluster={sectionCluster} id={fourth} /> : <RolloutsPage cluster={sectionCluster} />)}
        {sectionCluster && section === 'windows' && <WindowsPage cluster={sectionCluster} />}
        {sectionCluster && section === 'events' && <EventsPage cluster={sectionCluster} />}
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
      {!clusters ? <p>Loading…</p> : clusters.length === 0 ? <p>No clusters are registered yet.</p> : tab === 'servers' ? <ServersTab clusters={clusters} /> : <ClustersTab clusters={clusters} />}
    </>
  );
}
