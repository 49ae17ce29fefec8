/** One rollout, live: status, batches, each server's step on the node workflow's drawing; pause, resume, abort. */
import graphs from 'virtual:workflow-graphs';
import { useState } from 'preact/hooks';
import { call, clusterPath, describe, enc } from '../api.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText, StatusText } from '../components/Notice.js';
import { WorkflowDiagram } from '../components/WorkflowDiagram.js';
import { stateOfStatus, stateOfStep } from '../diagram-layout.js';
import { dash, inViewerZone } from '../format.js';
import { usePoll } from '../poll.js';
import type { RolloutDetailJson, RolloutStatus } from '../types.js';

const ACTIVE: RolloutStatus[] = ['running', 'pausing', 'aborting'];
const CONTROLS = [
  { action: 'pause', label: 'Pause', allowed: ['running'] },
  { action: 'resume', label: 'Resume', allowed: ['paused', 'failed', 'aborted'] },
  { action: 'abort', label: 'Abort', allowed: ['running', 'pausing', 'paused', 'failed'] },
] as const;

export function RolloutPage({ cluster, id }: { cluster: string; id: string }) {
  const path = `${clusterPath(cluster)}/rollouts/${enc(id)}`;
  const polled = usePoll<RolloutDetailJson>(path, 1000);
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const [confirmAbort, setConfirmAbort] = useState(false);
  const r = polled.data;

  const control = async (action: string) => {
    setConfirmAbort(false);
    setError(undefined);
    try {
      await call('POST', `${path}/${action}`);
      setMessage(`${action} requested.`);
      polled.refresh();
    } catch (e) {
      setError(describe(e));
    }
  };

  const nodesByState = new Map<string, string[]>();
  const notStarted: string[] = [];
  for (const n of r?.servers ?? []) {
    const state = stateOfStep(graphs.node, n.step);
    if (state) nodesByState.set(state, [...(nodesByState.get(state) ?? []), n.name]);
    else notStarted.push(n.name);
  }
  const rolloutState = r && stateOfStatus(graphs.rollout, r.status);

  return (
    <>
      <h1>Rollout {id}</h1>
      <ErrorText>{error ?? (polled.error && describe(polled.error))}</ErrorText>
      {message && <StatusText>{message}</StatusText>}
      {r && (
        <>
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd data-testid="rollout-status" class={`status-${r.status}`}>
                {r.status}
                {ACTIVE.includes(r.status) ? ' …' : ''}
              </dd>
            </div>
            <div>
              <dt>Target version</dt>
              <dd>{r.targetVersion}</dd>
            </div>
            <div>
              <dt>Batch</dt>
              <dd>
                {Math.max(r.batch.current, 0)} of {r.batch.count}
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>
                {inViewerZone(r.createdAt)} by {r.actor}
              </dd>
            </div>
          </dl>
          {r.failure && (
            <p class="error" role="alert">
              Failed{r.failure.server ? ` on ${r.failure.server}` : ''} at {r.failure.step}: {r.failure.reason}
            </p>
          )}
          <div class="actions">
            {CONTROLS.map((c) => (
              <button
                key={c.action}
                type="button"
                class="secondary"
                disabled={!(c.allowed as readonly string[]).includes(r.status)}
                onClick={() => (c.action === 'abort' ? setConfirmAbort(true) : control(c.action))}
              >
                {c.label}
              </button>
            ))}
          </div>
          {confirmAbort && (
            <Dialog title={`Abort rollout ${id}?`} onClose={() => setConfirmAbort(false)}>
              <p>Nodes in flight stop at their next step and stay held by the rollout; Resume can restart it later.</p>
              <div class="actions">
                <button type="button" class="secondary" onClick={() => setConfirmAbort(false)}>
                  Cancel
                </button>
                <button type="button" onClick={() => control('abort')}>
                  Abort rollout
                </button>
              </div>
            </Dialog>
          )}
          <h2>Servers</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Server</th>
                  <th scope="col">Batch</th>
                  <th scope="col">Step</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {r.servers.map((n) => (
                  <tr key={n.name} data-server={n.name}>
                    <th scope="row">{n.name}</th>
                    <td>{dash(n.batch)}</td>
                    <td data-field="step">{n.step}</td>
                    <td data-field="outcome">{n.outcome}</td>
                    <td>{n.attempt}</td>
                    <td>{dash(n.reason)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="diagrams">
            <WorkflowDiagram
              graph={graphs.rollout}
              title="Rollout workflow"
              current={new Map(rolloutState ? [[rolloutState, []]] : [])}
            />
            <WorkflowDiagram
              graph={graphs.node}
              title="Each server's workflow"
              current={nodesByState}
              note={notStarted.length ? `Not started yet: ${notStarted.join(', ')}.` : undefined}
            />
          </div>
        </>
      )}
    </>
  );
}
