/**
 * The Servers tab: every cluster's servers as MaxGUI lists them (Server, Address, Port, Connections, State), plus
 * dc, role, version and the budget in use; each table polls with If-None-Match.
 */
import { useEffect, useState } from 'preact/hooks';
import { defaultMaxUnavailable } from '../../../functions/domain/budget.js';
import { clusterPath, describe, enc, get } from '../api.js';
import { ErrorText } from '../components/Notice.js';
import { dash } from '../format.js';
import { usePoll } from '../poll.js';
import { followLink, href } from '../router.js';
import type { ClusterJson, ClusterSummary, ServerList } from '../types.js';

export function ServersTab({ clusters }: { clusters: ClusterSummary[] }) {
  return (
    <>
      {clusters.map((c) => (
        <ClusterServers key={c.id} cluster={c} />
      ))}
    </>
  );
}

/** The budget a dc uses: unavailable servers of the dc's allowance (the API's budget rule, imported, not redone). */
export function budgetUse(cluster: ClusterJson | undefined, dc: string): string {
  const d = cluster?.dcs.find((x) => x.name === dc);
  if (!cluster || !d) return '—';
  const allowed = cluster.budget.maxUnavailablePerDc ?? defaultMaxUnavailable(d.servers);
  return `${d.unavailable.length}/${allowed}`;
}

function ClusterServers({ cluster }: { cluster: ClusterSummary }) {
  const list = usePoll<ServerList>(`${clusterPath(cluster.id)}/servers`);
  const [detail, setDetail] = useState<ClusterJson>();
  const revision = list.data?.revision;
  // The dcs' budget use changes only with the cluster's revision: read it again when the list changed.
  useEffect(() => {
    if (revision !== undefined) get<ClusterJson>(clusterPath(cluster.id)).then(setDetail, () => undefined);
  }, [cluster.id, revision]);

  const headingId = `servers-${cluster.id}`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>
        {cluster.id} <span class="muted">({cluster.engine})</span>
      </h2>
      <ErrorText>{list.error && describe(list.error)}</ErrorText>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Servers of {cluster.id}</caption>
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col" class="wide">
                Address
              </th>
              <th scope="col" class="wide">
                Port
              </th>
              <th scope="col">Connections</th>
              <th scope="col">State</th>
              <th scope="col">DC</th>
              <th scope="col">Role</th>
              <th scope="col">Version</th>
              <th scope="col" title="unavailable servers in the server's dc / what the budget allows there">
                Budget in use
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.servers.map((s) => {
              const path = `clusters/${enc(cluster.id)}/servers/${enc(s.name)}`;
              return (
                <tr key={s.name} data-server={s.name}>
                  <th scope="row">
                    <a href={href(path)} onClick={(e) => followLink(e, path)}>
                      {s.name}
                    </a>
                  </th>
                  <td class="wide">{dash(s.address)}</td>
                  <td class="wide">{dash(s.port)}</td>
                  <td>{dash(s.connections)}</td>
                  <td class="state" data-state={s.state}>
                    {s.state}
                  </td>
                  <td>{s.dc}</td>
                  <td>{s.role}</td>
                  <td>{dash(s.version)}</td>
                  <td>{budgetUse(detail, s.dc)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
