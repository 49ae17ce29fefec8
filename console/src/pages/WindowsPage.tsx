/** A cluster's maintenance windows: next occurrences in the window's zone and the viewer's; create and delete. */
import { useRef, useState } from 'preact/hooks';
import { call, clusterPath, describe, enc } from '../api.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText, StatusText } from '../components/Notice.js';
import { inViewerZone, splitList, viewerZone } from '../format.js';
import { usePoll } from '../poll.js';
import type { WindowJson } from '../types.js';

export function WindowsPage({ cluster }: { cluster: string }) {
  const list = usePoll<{ windows: WindowJson[] }>(`${clusterPath(cluster)}/windows`, 5000);
  const [deleting, setDeleting] = useState<WindowJson>();
  const [message, setMessage] = useState<string>();
  return (
    <>
      <h1>Maintenance windows of {cluster}</h1>
      <ErrorText>{list.error && describe(list.error)}</ErrorText>
      {message && <StatusText>{message}</StatusText>}
      {list.data && list.data.windows.length === 0 && <p>No windows yet.</p>}
      {list.data && list.data.windows.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Window</th>
                <th scope="col">Schedule</th>
                <th scope="col">Duration</th>
                <th scope="col">Action</th>
                <th scope="col">Targets</th>
                <th scope="col">Next, in the window's zone</th>
                <th scope="col">Next, in your zone ({viewerZone()})</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.windows.map((w) => (
                <tr key={w.id} data-window={w.name}>
                  <th scope="row">
                    {w.name}
                    {!w.enabled && <span class="muted"> (disabled: none of these runs)</span>}
                  </th>
                  <td>
                    <code>{w.schedule}</code> ({w.timezone})
                  </td>
                  <td>{w.duration}</td>
                  <td>{w.action}</td>
                  <td>{[...w.targets.servers, ...w.targets.dcs.map((d) => `dc ${d}`)].join(', ') || '—'}</td>
                  <td>
                    <ul class="plain">
                      {w.open && <li>open now, until {w.open.end.local}</li>}
                      {w.next.map((n) => (
                        <li key={n.start.utc}>{n.start.local}</li>
                      ))}
                      {w.skipping && <li class="muted">skipping {w.skipping.local}</li>}
                    </ul>
                  </td>
                  <td>
                    <ul class="plain">
                      {w.open && <li>open now, until {inViewerZone(w.open.end.utc)}</li>}
                      {w.next.map((n) => (
                        <li key={n.start.utc}>{inViewerZone(n.start.utc)}</li>
                      ))}
                      {w.skipping && <li class="muted">skipping {inViewerZone(w.skipping.utc)}</li>}
                    </ul>
                  </td>
                  <td>
                    <button type="button" class="secondary" onClick={() => setDeleting(w)}>
                      Delete {w.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateWindow
        cluster={cluster}
        onCreated={(name) => {
          setMessage(`Window ${name} created.`);
          list.refresh();
        }}
      />
      {deleting && (
        <DeleteWindow
          cluster={cluster}
          window={deleting}
          onClose={() => setDeleting(undefined)}
          onDone={() => {
            setMessage(`Window ${deleting.name} deleted.`);
            setDeleting(undefined);
            list.refresh();
          }}
        />
      )}
    </>
  );
}

function CreateWindow({ cluster, onCreated }: { cluster: string; onCreated: (name: string) => void }) {
  const [error, setError] = useState<string>();
  const [action, setAction] = useState('maintenance');
  const form = useRef<HTMLFormElement>(null);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const f = new FormData(form.current!);
    const text = (name: string) => String(f.get(name) ?? '').trim();
    const body = {
      name: text('name'),
      schedule: text('schedule'),
      timezone: text('timezone'),
      duration: text('duration'),
      action,
      ...(action === 'maintenance' && {
        targets: { servers: splitList(text('servers')), dcs: splitList(text('dcs')) },
      }),
      ...(text('reason') && { reason: text('reason') }),
    };
    setError(undefined);
    try {
      await call('POST', `${clusterPath(cluster)}/windows`, body);
      form.current!.reset();
      onCreated(body.name);
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <form ref={form} class="panel" onSubmit={submit} aria-labelledby="create-window">
      <h2 id="create-window">Create a window</h2>
      <div class="grid">
        <label>
          Name
          <input name="name" required maxLength={64} />
        </label>
        <label>
          Schedule (at(…), cron(…) or rate(…))
          <input name="schedule" required placeholder="cron(30 2 ? * SUN *)" maxLength={256} />
        </label>
        <label>
          Time zone
          <input name="timezone" required defaultValue={viewerZone()} maxLength={64} />
        </label>
        <label>
          Duration (ISO 8601)
          <input name="duration" required placeholder="PT2H" maxLength={32} />
        </label>
        <label>
          Action
          <select
            name="action"
            value={action}
            onChange={(e) => setAction((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="maintenance">maintenance of servers and dcs</option>
            <option value="cluster-maintenance">cluster maintenance (automation paused)</option>
          </select>
        </label>
        {action === 'maintenance' && (
          <>
            <label>
              Servers (comma-separated)
              <input name="servers" />
            </label>
            <label>
              DCs (comma-separated)
              <input name="dcs" />
            </label>
          </>
        )}
        <label>
          Reason
          <input name="reason" maxLength={512} />
        </label>
      </div>
      <ErrorText>{error}</ErrorText>
      <button type="submit">Create window</button>
    </form>
  );
}

function DeleteWindow({
  cluster,
  window: w,
  onClose,
  onDone,
}: {
  cluster: string;
  window: WindowJson;
  onClose: () => void;
  onDone: () => void;
}) {
  const [error, setError] = useState<string>();
  const confirm = async (event: SubmitEvent) => {
    event.preventDefault();
    try {
      await call('DELETE', `${clusterPath(cluster)}/windows/${enc(w.id)}`);
      onDone();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Dialog title={`Delete window ${w.name}?`} onClose={onClose}>
      <form method="dialog" onSubmit={confirm}>
        <p>An occurrence in progress ends now: the window's claims go, anyone else's stay.</p>
        <ErrorText>{error}</ErrorText>
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit">Delete</button>
        </div>
      </form>
    </Dialog>
  );
}
