/**
 * One node of a rollout (docs/workflow.md: the node machine): each action step records where the node is, then does its
 * one thing; each poll step (`check*`) answers whether to wait or go on, and writes nothing while it waits.
 */
import { viewAll, viewOf, viewServer } from '../derive.js';
import { DomainError } from '../errors.js';
import { rankCandidates, switchover } from '../failover.js';
import { clearServerClaim, setServerClaim } from '../maintenance.js';
import type { Actor, ClusterState, Server } from '../model.js';
import { noop, type Outcome } from '../outcome.js';
import {
  NODE_STEPS,
  ROLE_SWITCH_TIMEOUT_SECONDS,
  SECOND,
  StepFailed,
  finished,
  heldByRollout,
  nodeOf,
  requireRunning,
  requireServer,
  rolloutEvent,
  rolloutHolder,
  unchanged,
  withNode,
  withRollout,
  type NodeStep,
  type Rollout,
  type RolloutOutcome,
  type RolloutSnapshot,
} from './model.js';

/** A node step runs only while the rollout runs, and on a server still in the cluster. */
function requireRunningOn(state: ClusterState, snapshot: RolloutSnapshot, server: string): Server {
  requireRunning(snapshot);
  return requireServer(state, server);
}

function enterStep(snapshot: RolloutSnapshot, server: string, step: NodeStep, now: number): RolloutSnapshot {
  const node = nodeOf(snapshot, server);
  if (node.step === step) return snapshot;
  const { stableSince: _s, ...rest } = node;
  return withNode(snapshot, { ...rest, step, outcome: 'in-progress', stepStartedAt: now });
}

/** An action step (switchover, drain, maintain, clear) records where the node is and starts its clock. */
function nodeStep(state: ClusterState, snapshot: RolloutSnapshot, server: string, step: NodeStep, now: number) {
  requireRunningOn(state, snapshot, server);
  return enterStep(snapshot, server, step, now);
}

/**
 * A poll writes nothing while it waits: the wait's timeout counts from the step that started it, so most
 * polls are plain reads (the task handler then skips the write queue altogether).
 */
function waitingSince(state: ClusterState, snapshot: RolloutSnapshot, server: string, now: number): number {
  requireRunningOn(state, snapshot, server);
  return nodeOf(snapshot, server).stepStartedAt ?? now;
}

const upgradeReason = (rollout: Rollout) => `rollout ${rollout.id}: upgrade to ${rollout.input.targetVersion}`;

/**
 * The rollout's claim on a server: `drain` is graceful (no new connections; open ones finish, as MaxScale's
 * drain), `maintenance` closes connections at once.
 */
function claimForRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  mode: 'drain' | 'maintenance',
  reason: string,
  actor: Actor,
  now: number,
): Outcome {
  return setServerClaim(
    state,
    server,
    {
      holder: rolloutHolder(snapshot.rollout.id),
      mode,
      force: mode === 'maintenance',
      reason,
      onDeadline: 'hold',
      override: false,
      dryRun: false,
    },
    actor,
    now,
  );
}

export type BeginAnswer = { outcome: 'primary' | 'replica' | 'done' };

export function beginNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  _now: number,
): RolloutOutcome<BeginAnswer> {
  requireRunning(snapshot);
  const node = nodeOf(snapshot, server);
  if (finished(node)) return unchanged(state, snapshot, { outcome: 'done' });
  if (!state.servers.has(server)) {
    const skipped = withNode(snapshot, { ...node, outcome: 'skipped', reason: 'removed from the cluster' });
    return {
      ...unchanged(state, skipped, { outcome: 'done' as const }),
      events: [rolloutEvent('skip-server', skipped, { server, reason: 'removed from the cluster' })],
    };
  }
  const role = requireServer(state, server).role;
  const next = node.outcome === 'in-progress' ? snapshot : withNode(snapshot, { ...node, outcome: 'in-progress' });
  return unchanged(state, next, { outcome: role === 'primary' ? 'primary' : 'replica' });
}

/** The primary hands over to an already-upgraded electable replica (the best ranked) before it is drained. */
export function requestSwitchover(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const next = nodeStep(state, snapshot, server, 'switchover', now);
  const { targetVersion } = snapshot.rollout.input;
  const pending = state.cluster.pendingSwitchover;
  if (pending && pending.from === server && pending.actor === actor.user)
    return unchanged(state, next, { outcome: 'requested' });
  const best = rankCandidates(viewAll(state, now)).find(
    (v) => v.server.name !== server && v.server.version === targetVersion,
  );
  if (!best) throw new StepFailed('switchover', `no electable replica at version ${targetVersion} to switch over to`);
  const outcome = switchover(state, best.server.name, actor, now);
  return { ...outcome, rollout: next, answer: { outcome: 'requested' } };
}

/** Poll: the agents report the new roles (the server is no longer the primary), within the role-switch timeout. */
export function checkRoles(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  const since = waitingSince(state, snapshot, server, now);
  if (requireServer(state, server).role !== 'primary') return unchanged(state, snapshot, { outcome: 'switched' });
  if (now - since >= ROLE_SWITCH_TIMEOUT_SECONDS * SECOND) {
    throw new StepFailed(
      'wait-roles',
      `the agents did not report the new roles within ${ROLE_SWITCH_TIMEOUT_SECONDS} s`,
    );
  }
  return unchanged(state, snapshot, { outcome: 'waiting' });
}

/** The rollout's graceful claim: the server drains. A server the rollout already holds keeps its claim as it is (a resumed node). */
export function drainNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const next = nodeStep(state, snapshot, server, 'drain', now);
  const { rollout } = snapshot;
  if (heldByRollout(requireServer(state, server).claims, rollout.id))
    return unchanged(state, next, { outcome: 'draining' });
  const outcome = claimForRollout(state, snapshot, server, 'drain', upgradeReason(rollout), actor, now);
  return { ...outcome, rollout: next, answer: { outcome: 'draining' } };
}

/** Poll: drained once its connections have ended; at `drainTimeoutSeconds`: forced into maintenance, or failed. */
export function checkDrained(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const since = waitingSince(state, snapshot, server, now);
  const view = viewOf(state, server, now)!;
  if (view.drained || view.maintenance || view.server.health === 'down')
    return unchanged(state, snapshot, { outcome: 'drained' });
  const { drainTimeoutSeconds, onDrainTimeout } = snapshot.rollout.input;
  if (now - since < drainTimeoutSeconds * SECOND) return unchanged(state, snapshot, { outcome: 'waiting' });
  if (onDrainTimeout === 'fail')
    throw new StepFailed(
      'wait-drained',
      `not drained within ${drainTimeoutSeconds} s (${view.server.connections ?? 0} connections left)`,
    );
  const reason = `${upgradeReason(snapshot.rollout)} (forced: not drained within ${drainTimeoutSeconds} s)`;
  const forced = claimForRollout(state, snapshot, server, 'maintenance', reason, actor, now);
  return { ...forced, rollout: snapshot, answer: { outcome: 'forced' } };
}

/** Maintenance for the upgrade; the trigger itself (a webhook, a function) is the handler's I/O. */
export function markUpgradeTriggered(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const next = nodeStep(state, snapshot, server, 'maintain', now);
  if (!heldByRollout(requireServer(state, server).claims, snapshot.rollout.id)) {
    throw new StepFailed('maintain', `server ${server} is no longer held by the rollout`);
  }
  const outcome = claimForRollout(state, snapshot, server, 'maintenance', upgradeReason(snapshot.rollout), actor, now);
  // Each trigger is a new attempt: a failure an agent reported for an earlier one is not this one's.
  const { upgradeFailure: _earlier, ...node } = nodeOf(next, server);
  return { ...outcome, rollout: withNode(next, node), answer: { outcome: 'triggered' } };
}

/** Poll: upgraded, the node moves on to Verify, whose clock starts now; a failure its agent reported fails it. */
export function checkUpgraded(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  const since = waitingSince(state, snapshot, server, now);
  const s = requireServer(state, server);
  const { targetVersion, upgrade } = snapshot.rollout.input;
  if (s.version === targetVersion && s.health === 'running')
    return unchanged(state, enterStep(snapshot, server, 'verify', now), { outcome: 'upgraded' });
  const reported = nodeOf(snapshot, server).upgradeFailure;
  if (reported !== undefined) throw new StepFailed('wait-upgraded', reported);
  if (now - since >= upgrade.timeoutSeconds * SECOND) {
    throw new StepFailed(
      'wait-upgraded',
      `not at version ${targetVersion} and running within ${upgrade.timeoutSeconds} s (reports ${s.version ?? 'no version'}, ${s.health})`,
    );
  }
  return unchanged(state, snapshot, { outcome: 'waiting' });
}

/**
 * The agent that runs a `wait-for-report` upgrade says it failed (the command's exit status and last lines): the
 * wait ends with that reason at its next poll instead of at its timeout.
 */
export function reportUpgradeFailure(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  reason: string,
  now: number,
): RolloutOutcome {
  requireRunningOn(state, snapshot, server);
  const node = nodeOf(snapshot, server);
  if (
    snapshot.rollout.input.upgrade.kind !== 'wait-for-report' ||
    node.step !== 'maintain' ||
    node.outcome !== 'in-progress'
  ) {
    throw new DomainError(
      'RolloutConflict',
      `server ${server} is not waiting for its upgrade (step ${node.step}, ${node.outcome})`,
    );
  }
  if (node.upgradeFailure === reason) return unchanged(state, snapshot, { outcome: 'reported' });
  const next = withNode(withRollout(snapshot, {}, now), { ...node, upgradeFailure: reason });
  return {
    ...unchanged(state, next, { outcome: 'reported' }),
    events: [rolloutEvent('upgrade-failed', next, { server, reason })],
  };
}

/** Poll: healthy, at the version, lag under the bound, steadily for `stableForSeconds`; down or downgraded fails at once. */
export function checkVerified(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  waitingSince(state, snapshot, server, now);
  const entered = enterStep(snapshot, server, 'verify', now);
  const s = requireServer(state, server);
  const view = viewServer(s, state.dcs.get(s.dc), state.cluster, now);
  const { targetVersion, verify } = snapshot.rollout.input;
  if (s.health === 'down') throw new StepFailed('verify', `server ${server} is down`);
  if (s.version !== targetVersion)
    throw new StepFailed('verify', `server ${server} reports version ${s.version ?? 'none'}, not ${targetVersion}`);
  const node = nodeOf(entered, server);
  const lagOk =
    verify.maxReplicationLagSeconds === undefined || (s.replicationLagSeconds ?? 0) <= verify.maxReplicationLagSeconds;
  const good = s.health === 'running' && !view.stale && lagOk;
  if (!good) {
    if (now - (node.stepStartedAt ?? now) >= verify.timeoutSeconds * SECOND) {
      throw new StepFailed(
        'verify',
        `not stable within ${verify.timeoutSeconds} s (${view.stale ? 'stale' : `lag ${s.replicationLagSeconds ?? '?'} s`})`,
      );
    }
    const { stableSince: _s, ...rest } = node;
    return unchanged(state, node.stableSince === undefined ? entered : withNode(entered, rest), {
      outcome: 'waiting',
    });
  }
  const since = node.stableSince ?? now;
  if (now - since >= verify.stableForSeconds * SECOND) {
    const verified = node.verifiedAt === undefined ? withNode(entered, { ...node, verifiedAt: now }) : entered;
    return unchanged(state, verified, { outcome: 'verified' });
  }
  return unchanged(state, node.stableSince === undefined ? withNode(entered, { ...node, stableSince: now }) : entered, {
    outcome: 'waiting',
  });
}

/** Only this rollout's claim goes; anyone else's stays. */
export function clearNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  requireRunning(snapshot);
  const node = nodeOf(snapshot, server);
  if (node.outcome === 'upgraded') return unchanged(state, snapshot, { outcome: 'cleared' });
  const s = requireServer(state, server);
  const { targetVersion } = snapshot.rollout.input;
  if (node.step !== 'verify' || node.verifiedAt === undefined)
    throw new StepFailed('clear', `server ${server} has not passed Verify`);
  if (s.version !== targetVersion || s.health !== 'running') {
    throw new StepFailed(
      'clear',
      `server ${server} reports ${s.version ?? 'no version'} (${s.health}), not ${targetVersion}: it stays in maintenance`,
    );
  }
  const { id } = snapshot.rollout;
  const cleared = heldByRollout(s.claims, id)
    ? clearServerClaim(state, server, { holder: rolloutHolder(id), override: false }, actor, now)
    : noop(state);
  const { stableSince: _s, reason: _r, ...rest } = node;
  return {
    ...cleared,
    rollout: withNode(snapshot, { ...rest, step: 'done', outcome: 'upgraded', stepStartedAt: now }),
    answer: { outcome: 'cleared' },
  };
}

/** A node failed: it keeps the rollout's claim; the rollout learns of it at the batch's end. */
export function recordNodeFailure(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  reason: string,
  now: number,
  failedStep?: string,
): RolloutOutcome {
  const node = nodeOf(snapshot, server);
  if (node.outcome === 'failed') return unchanged(state, snapshot, { outcome: 'failed' });
  const step = NODE_STEPS.find((s) => s === failedStep) ?? node.step;
  const next = withNode(snapshot, { ...node, step, outcome: 'failed', reason, stepStartedAt: now });
  return {
    ...unchanged(state, next, { outcome: 'failed' }),
    events: [rolloutEvent('node-failed', next, { server, step, reason })],
  };
}
