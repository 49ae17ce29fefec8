/** The audit log, newest first (the API's order), filtered by server and action; more pages on request. */
import { useEffect, useState } from 'preact/hooks';
import { clusterPath, describe, get } from '../api.js';
import { ErrorText } from '../components/Notice.js';
import { dash, inViewerZone } from '../format.js';
import { usePoll } from '../poll.js';
import type { EventJson, ServerList } from '../types.js';

const ACTION = /^[a-z][a-z-]{0,39}$/;

interface Page {
  events: EventJson[];
  cursor?: string;
}

export function EventsPage({ cluster }: { cluster: string }) {
  const servers = usePoll<ServerList>(`${clusterPath(cluster)}/servers`, 10_000).data?.servers ?? [];
  const [server, setServer] = useState('');
  const [action, setAction] = useState('');
  const query = new URLSearchParams({ limit: '50' });
  if (server) query.set('server', server);
  if (ACTION.test(action)) query.set('action', action);
  const first = usePoll<Page>(`${clusterPath(cluster)}/events?${query}`, 3000);
  const [older, setOlder] = useState<Page>({ events: [] });
  const [error, setError] = useState<string>();
  useEffect(() => setOlder({ events: [] }), [cluster, server, action]);

  const cursor = older.cursor ?? (older.events.length === 0 ? first.data?.cursor : undefined);
  const more = async () => {
    if (!cursor) return;
    try {
      const page = await get<Page>(`${clusterPath(cluster)}/events?${query}&cursor=${encodeURIComponent(cursor)}`);
      setOlder({ events: [...older.events, ...page.events], ...(page.cursor && { cursor: page.cursor }) });
    } catch (e) {
      setError(describe(e));
    }
  };
  const events = [...(first.data?.events ?? []), ...older.events];
  const actions = [...new Set(events.map((e) => e.action))].sort();

  return (
    <>
      <h1>Events of {cluster}</h1>
      {/* biome-ignore lint/a11y/useSemanticElements: a form with the search role is the ARIA pattern; <search> is too new for some screen readers */}
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Server
          <select value={server} onChange={(e) => setServer((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">any</option>
            {servers.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <input
            list="event-actions"
            value={action}
            placeholder="any"
            onInput={(e) => setAction((e.currentTarget as HTMLInputElement).value.trim())}
          />
          <datalist id="event-actions">
            {actions.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
      </form>
      <ErrorText>{error ?? (first.error && describe(first.error))}</ErrorText>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Actor</th>
              <th scope="col">Source</th>
              <th scope="col">Reason</th>
              <th scope="col">Revision</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={`${e.revision}-${e.seq}`} data-action={e.action}>
                <td>{inViewerZone(e.at)}</td>
                <td>{e.action}</td>
                <td>{e.target}</td>
                <td>{e.actor}</td>
                <td>{e.source}</td>
                <td>{dash(e.reason)}</td>
                <td>{e.revision}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {first.data && events.length === 0 && <p>No events match.</p>}
      {cursor && (
        <button type="button" class="secondary" onClick={more}>
          Older events
        </button>
      )}
    </>
  );
}
