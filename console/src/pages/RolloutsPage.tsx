/** A cluster's rollouts, newest first, and the form that starts one. */
import { useState } from 'preact/hooks';
import { call, clusterPath, describe, enc } from '../api.js';
import { ErrorText } from '../components/Notice.js';
import { inViewerZone } from '../format.js';
import { usePoll } from '../poll.js';
import { followLink, href, navigate } from '../router.js';
import type { RolloutDetailJson, RolloutJson } from '../types.js';

export function RolloutsPage({ cluster }: { cluster: string }) {
  const list = usePoll<{ rollouts: RolloutJson[] }>(`${clusterPath(cluster)}/rollouts`, 3000);
  return (
    <>
      <h1>Rollouts of {cluster}</h1>
      <StartRollout cluster={cluster} />
      <h2>History</h2>
      <ErrorText>{list.error && describe(list.error)}</ErrorText>
      {list.data && list.data.rollouts.length === 0 && <p>No rollouts yet.</p>}
      {list.data && list.data.rollouts.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Rollout</th>
                <th scope="col">Target version</th>
                <th scope="col">Status</th>
                <th scope="col">Batch</th>
                <th scope="col">Started</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {list.data.rollouts.map((r) => {
                const path = `clusters/${enc(cluster)}/rollouts/${enc(r.id)}`;
                return (
                  <tr key={r.id}>
                    <th scope="row">
                      <a href={href(path)} onClick={(e) => followLink(e, path)}>
                        {r.id}
                      </a>
                    </th>
                    <td>{r.targetVersion}</td>
                    <td>{r.status}</td>
                    <td>
                      {Math.max(r.batch.current, 0)} of {r.batch.count}
                    </td>
                    <td>{inViewerZone(r.createdAt)}</td>
                    <td>{r.actor}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

type UpgradeKind = 'wait-for-report' | 'webhook' | 'lambda';

function StartRollout({ cluster }: { cluster: string }) {
  const [kind, setKind] = useState<UpgradeKind>('wait-for-report');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const f = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(f.get(name) ?? '').trim();
    const upgrade =
      kind === 'webhook'
        ? { kind, url: text('url') }
        : kind === 'lambda'
          ? { kind, functionArn: text('functionArn') }
          : { kind };
    const body = {
      targetVersion: text('targetVersion'),
      batchSize: Number(text('batchSize')),
      drainTimeoutSeconds: Number(text('drainTimeoutSeconds')),
      upgrade,
      verify: { stableForSeconds: Number(text('stableForSeconds')) },
      pauseAfterFirstBatch: f.get('canary') === 'on',
    };
    setBusy(true);
    setError(undefined);
    try {
      const started = await call<RolloutDetailJson>('POST', `${clusterPath(cluster)}/rollouts`, body);
      navigate(`clusters/${enc(cluster)}/rollouts/${enc(started.body.id)}`);
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };

  return (
    <form class="panel" onSubmit={submit} aria-labelledby="start-rollout">
      <h2 id="start-rollout">Start a rollout</h2>
      <div class="grid">
        <label>
          Target version
          <input name="targetVersion" required maxLength={64} />
        </label>
        <label>
          Batch size
          <input name="batchSize" type="number" min={1} max={50} defaultValue="1" required />
        </label>
        <label>
          Drain timeout (s)
          <input name="drainTimeoutSeconds" type="number" min={0} max={86400} defaultValue="300" required />
        </label>
        <label>
          Stable for (s) before clearing
          <input name="stableForSeconds" type="number" min={0} max={86400} defaultValue="30" required />
        </label>
        <label>
          Upgrade kind
          <select
            name="kind"
            value={kind}
            onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as UpgradeKind)}
          >
            <option value="wait-for-report">wait for the agent to report the version</option>
            <option value="webhook">webhook</option>
            <option value="lambda">Lambda function</option>
          </select>
        </label>
        {kind === 'webhook' && (
          <label>
            Webhook URL
            <input name="url" type="url" required />
          </label>
        )}
        {kind === 'lambda' && (
          <label>
            Function ARN
            <input name="functionArn" required />
          </label>
        )}
      </div>
      <label class="check">
        <input type="checkbox" name="canary" />
        Canary: pause after the first batch
      </label>
      <ErrorText>{error}</ErrorText>
      <button type="submit" disabled={busy}>
        Start rollout
      </button>
    </form>
  );
}
