/** Operators' controls of a rollout (the API): pause, abort, resume, and retry or skip one server. */
import { DomainError } from '../errors.js';
import { releaseOrphanedRolloutPauses } from '../maintenance.js';
import type { Actor, Claim, ClusterState } from '../model.js';
import { event, withServer } from '../outcome.js';
import { abortRollout, preflight } from './lifecycle.js';
import {
  finished,
  heldByRollout,
  isActive,
  nodeOf,
  rolloutEvent,
  rolloutHolder,
  unchanged,
  withNode,
  withRollout,
  type NodeProgress,
  type RolloutOutcome,
  type RolloutSnapshot,
} from './model.js';

export function requestPause(state: ClusterState, snapshot: RolloutSnapshot, now: number): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'pausing' || rollout.status === 'paused')
    return unchanged(state, snapshot, { outcome: rollout.status });
  if (rollout.status !== 'running')
    throw new DomainError(
      'RolloutConflict',
      `rollout ${rollout.id} is ${rollout.status}: only a running rollout can be paused`,
    );
  const next = withRollout(snapshot, { status: 'pausing' }, now);
  return { ...unchanged(state, next, { outcome: 'pausing' }), events: [rolloutEvent('request-pause', next)] };
}

/** A running rollout stops at the next step boundary; one without an execution is aborted at once. */
export function requestAbort(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'aborting' || rollout.status === 'aborted')
    return unchanged(state, snapshot, { outcome: rollout.status });
  if (rollout.status === 'succeeded')
    throw new DomainError('RolloutConflict', `rollout ${rollout.id} has already succeeded`);
  if (rollout.status === 'paused' || rollout.status === 'failed') return abortRollout(state, snapshot, actor, now);
  const next = withRollout(snapshot, { status: 'aborting' }, now);
  return { ...unchanged(state, next, { outcome: 'aborting' }), events: [rolloutEvent('request-abort', next)] };
}

/** Resume needs a rollout without an execution; the caller then starts one. */
export function requireResumable(snapshot: RolloutSnapshot): void {
  const { status, id } = snapshot.rollout;
  if (status !== 'paused' && status !== 'failed' && status !== 'aborted') {
    throw new DomainError(
      'RolloutConflict',
      `rollout ${id} is ${status}: only a paused, failed or aborted rollout can be resumed`,
    );
  }
}

/** A paused, failed or aborted rollout resumed by a new execution, claimed before it starts. */
export function resumeRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  executionId: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  requireResumable(snapshot);
  return preflight(state, snapshot, executionId, actor, now);
}

/** A server is retried or skipped only while no execution runs the rollout, and before it has succeeded. */
function requireIdle(snapshot: RolloutSnapshot, what: string): void {
  const { status, id } = snapshot.rollout;
  if (isActive(snapshot.rollout)) {
    throw new DomainError('RolloutConflict', `rollout ${id} is ${status}: pause or abort it before you ${what}`);
  }
  if (status === 'succeeded') throw new DomainError('RolloutConflict', `rollout ${id} has already succeeded`);
}

/** The rollout's failure goes with the server it names (retried or skipped); another server's stays. */
function withoutFailureOf(snapshot: RolloutSnapshot, server: string, now: number): RolloutSnapshot {
  return withRollout(snapshot, snapshot.rollout.failure?.server === server ? { failure: undefined } : {}, now);
}

/** The server starts again from Drain on the next resume. */
export function retryNode(state: ClusterState, snapshot: RolloutSnapshot, server: string, now: number): RolloutOutcome {
  requireIdle(snapshot, 'retry a server');
  const node = nodeOf(snapshot, server);
  if (finished(node)) throw new DomainError('RolloutConflict', `server ${server} is already ${node.outcome}`);
  const { reason: _r, stableSince: _s, upgradeFailure: _u, ...rest } = node;
  const retried: NodeProgress = { ...rest, step: 'pending', outcome: 'pending' };
  const next = withNode(withoutFailureOf(snapshot, server, now), retried);
  return {
    ...unchanged(state, next, { outcome: 'retried' }),
    events: [rolloutEvent('retry-server', next, { server })],
  };
}

/**
 * The rollout leaves the server alone from now on. A server the rollout holds stays in maintenance, its claim
 * handed to the operator who skipped it, who clears it when the server is fit to serve.
 */
export function skipNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  requireIdle(snapshot, 'skip a server');
  const node = nodeOf(snapshot, server);
  if (node.outcome === 'skipped') return unchanged(state, snapshot, { outcome: 'skipped' });
  if (finished(node)) throw new DomainError('RolloutConflict', `server ${server} is already ${node.outcome}`);
  const { id } = snapshot.rollout;
  // A server removed from the cluster meanwhile has nothing to hand over.
  const s = state.servers.get(server);
  let cluster = state;
  const events = [];
  if (s && heldByRollout(s.claims, id)) {
    const { [rolloutHolder(id)]: held, ...others } = s.claims;
    const manual: Claim = { ...held!, actor: actor.user, reason: `skipped from rollout ${id}`, since: now };
    cluster = withServer(state, { ...s, claims: { ...others, manual: others.manual ?? manual } });
    events.push(
      event('update-maintenance', { kind: 'server', name: server }, state, cluster, { reason: manual.reason }),
    );
  }
  // An aborted rollout's pause of automation ends with its last held server.
  const released = releaseOrphanedRolloutPauses(cluster, actor, now);
  const next = withNode(withoutFailureOf(snapshot, server, now), { ...node, outcome: 'skipped' });
  return {
    next: released.next,
    events: [...events, ...released.events, rolloutEvent('skip-server', next, { server })],
    rollout: next,
    answer: { outcome: 'skipped' },
  };
}
