/**
 * The Clusters tab: each cluster's dcs and its automation, with maintenance toggles. Every toggle first asks the
 * API for a dry run and shows the budget's verdict before the user confirms.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, clusterPath, describe, enc } from '../api.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText, StatusText } from '../components/Notice.js';
import { usePoll } from '../poll.js';
import type { ClusterJson, ClusterSummary, DryRun } from '../types.js';
import { budgetUse } from './ServersTab.js';

export function ClustersTab({ clusters }: { clusters: ClusterSummary[] }) {
  return (
    <>
      {clusters.map((c) => (
        <ClusterCard key={c.id} id={c.id} />
      ))}
    </>
  );
}

/** A change to confirm: what it is, and where it goes (PUT sets, DELETE clears). */
interface Toggle {
  label: string;
  method: 'PUT' | 'DELETE';
  path: string;
}

function ClusterCard({ id }: { id: string }) {
  const cluster = usePoll<ClusterJson>(clusterPath(id), 2000);
  const [toggle, setToggle] = useState<Toggle>();
  const [message, setMessage] = useState<string>();
  const c = cluster.data;
  const headingId = `cluster-${id}`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>
        {id} <span class="muted">({c?.engine ?? '…'})</span>
      </h2>
      <ErrorText>{cluster.error && describe(cluster.error)}</ErrorText>
      {message && <StatusText>{message}</StatusText>}
      {c && (
        <>
          <p>
            Budget:{' '}
            {c.budget.maxUnavailablePerDc === undefined
              ? 'default (a majority of each dc stays available)'
              : `at most ${c.budget.maxUnavailablePerDc} unavailable per dc`}
            .
          </p>
          <p>
            Cluster maintenance (automation paused): <strong>{c.maintenance.paused ? 'on' : 'off'}</strong>
            {c.maintenance.claims.length > 0 && (
              <span class="muted"> — held by {c.maintenance.claims.map((h) => h.holder).join(', ')}</span>
            )}{' '}
            <button
              type="button"
              class="secondary"
              onClick={() =>
                setToggle(
                  c.maintenance.paused
                    ? {
                        label: `Clear cluster maintenance of ${id}`,
                        method: 'DELETE',
                        path: `${clusterPath(id)}/maintenance`,
                      }
                    : {
                        label: `Set cluster maintenance of ${id}`,
                        method: 'PUT',
                        path: `${clusterPath(id)}/maintenance`,
                      },
                )
              }
            >
              {c.maintenance.paused ? 'Clear cluster maintenance' : 'Set cluster maintenance'}
            </button>
          </p>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Datacenters of {id}</caption>
              <thead>
                <tr>
                  <th scope="col">DC</th>
                  <th scope="col">Servers</th>
                  <th scope="col">Unavailable</th>
                  <th scope="col">Budget in use</th>
                  <th scope="col">Maintenance</th>
                  <th scope="col">
                    <span class="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {c.dcs.map((d) => {
                  const path = `${clusterPath(id)}/dcs/${enc(d.name)}/maintenance`;
                  return (
                    <tr key={d.name}>
                      <th scope="row">{d.name}</th>
                      <td>{d.servers}</td>
                      <td>{d.unavailable.join(', ') || '—'}</td>
                      <td>{budgetUse(c, d.name)}</td>
                      <td>{d.maintenance ? `on (${d.claims.map((h) => h.holder).join(', ')})` : 'off'}</td>
                      <td>
                        <button
                          type="button"
                          class="secondary"
                          onClick={() =>
                            setToggle(
                              d.maintenance
                                ? { label: `Clear maintenance of dc ${d.name}`, method: 'DELETE', path }
                                : { label: `Set maintenance of dc ${d.name}`, method: 'PUT', path },
                            )
                          }
                        >
                          {d.maintenance ? `Clear dc ${d.name} maintenance` : `Set dc ${d.name} maintenance`}
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {toggle && (
        <ConfirmToggle
          toggle={toggle}
          onClose={() => setToggle(undefined)}
          onDone={(text) => {
            setToggle(undefined);
            setMessage(text);
            cluster.refresh();
          }}
        />
      )}
    </section>
  );
}

/** The dry run's answer, in words: the budget's verdict (a refusal is the API's 409 message). */
function verdictText(answer: DryRun): string {
  const v = answer.verdict;
  if (!answer.changed) return 'Nothing would change.';
  if (!v) return 'Allowed.';
  const parts = [v.allowed ? 'Allowed by the budget.' : `Refused: ${v.reason}`];
  if (v.newlyUnavailable.length) parts.push(`Newly unavailable: ${v.newlyUnavailable.join(', ')}.`);
  if (v.losesPrimary.length) parts.push(`Loses the primary: ${v.losesPrimary.join(', ')}.`);
  return parts.join(' ');
}

function ConfirmToggle({
  toggle,
  onClose,
  onDone,
}: {
  toggle: Toggle;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [verdict, setVerdict] = useState<{ allowed: boolean; text: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const reasonBody = (reason: string) => (toggle.method === 'PUT' && reason ? { reason } : {});

  // The verdict comes from the API's dryRun, asked once when the dialog opens.
  useEffect(() => {
    const dry =
      toggle.method === 'PUT'
        ? call<DryRun>('PUT', toggle.path, { dryRun: true })
        : call<DryRun>('DELETE', `${toggle.path}?dryRun=true`);
    dry.then(
      (a) => setVerdict({ allowed: a.body.verdict?.allowed ?? true, text: verdictText(a.body) }),
      (e) =>
        setVerdict({
          allowed: false,
          text: e instanceof ApiError ? `Refused: ${e.message} (${e.status} ${e.code})` : describe(e),
        }),
    );
  }, [toggle]);

  const confirm = async (event: SubmitEvent) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget as HTMLFormElement).get('reason') ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      if (toggle.method === 'PUT') await call('PUT', toggle.path, reasonBody(reason));
      else await call('DELETE', toggle.path);
      onDone(`Done: ${toggle.label.charAt(0).toLowerCase()}${toggle.label.slice(1)}.`);
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };

  return (
    <Dialog title={toggle.label} onClose={onClose}>
      <form method="dialog" onSubmit={confirm}>
        <p
          class="verdict"
          role="status"
          aria-live="polite"
          data-allowed={verdict ? String(verdict.allowed) : undefined}
        >
          {verdict ? verdict.text : 'Asking the budget…'}
        </p>
        {toggle.method === 'PUT' && (
          <label>
            Reason
            <input name="reason" maxLength={512} />
          </label>
        )}
        <ErrorText>{error}</ErrorText>
        <div class="actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy || !verdict?.allowed}>
            Confirm
          </button>
        </div>
      </form>
    </Dialog>
  );
}
