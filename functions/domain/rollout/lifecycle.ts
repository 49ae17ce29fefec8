/**
 * A rollout's life (docs/workflow.md): created, claimed by an execution (Preflight), automation paused, planned into
 * batches, run batch by batch, and ended succeeded, paused, aborted or failed.
 */
import { judge } from '../budget.js';
import { viewOf } from '../derive.js';
import { DomainError, invalid } from '../errors.js';
import { clearClusterClaim, setClusterClaim } from '../maintenance.js';
import type { Actor, Claim, ClusterState, Server } from '../model.js';
import { noop, withCluster, withServer, type Outcome } from '../outcome.js';
import {
  BATCHES_PER_EXECUTION,
  RolloutStopped,
  StepFailed,
  allNodes,
  finished,
  heldByRollout,
  isActive,
  nodeOf,
  requireRunning,
  rolloutEvent,
  rolloutHolder,
  unchanged,
  withNode,
  withRollout,
  type RolloutFailure,
  type RolloutInput,
  type RolloutOutcome,
  type Rollout,
  type RolloutSnapshot,
} from './model.js';

// ---------------------------------------------------------------------------------------------------------
// Create, claim and the cluster lock

/** Which targets a rollout would skip: already at the version and not held by anyone. */
function alreadyUpgraded(server: Server, input: RolloutInput): boolean {
  return server.version === input.targetVersion && Object.keys(server.claims).length === 0;
}

/** One rollout per cluster: refused while another (any other than `rolloutId`) holds the cluster's lock. */
function requireNoOtherRollout(state: ClusterState, rolloutId?: string): void {
  const active = state.cluster.rollout;
  if (active !== undefined && active !== rolloutId) {
    throw new DomainError(
      'RolloutConflict',
      `rollout ${active} is already in progress on cluster ${state.cluster.id}`,
      {
        rollout: active,
      },
    );
  }
}

/** Everything the rollout will touch must be fit to start: healthy, or held by this rollout (a resume). */
function requireHealthyTargets(state: ClusterState, names: readonly string[], rolloutId: string, now: number): void {
  for (const name of names) {
    const view = viewOf(state, name, now)!;
    if (heldByRollout(view.server.claims, rolloutId)) continue;
    if (view.server.health !== 'running' || view.stale) {
      throw new DomainError('RolloutConflict', `server ${name} is not healthy (${view.state || 'no report yet'})`, {
        server: name,
      });
    }
  }
}

/** The budget must allow at least one server of the rollout out of service. */
function requireBudgetAllowsOne(state: ClusterState, names: readonly string[], rolloutId: string, now: number): void {
  const candidates = names.filter((n) => !heldByRollout(state.servers.get(n)!.claims, rolloutId));
  // A resume carries on with the servers the rollout already holds: they are counted in the budget already.
  if (candidates.length < names.length || candidates.length === 0) return;
  const refusals = candidates.map((name) =>
    judge(state, withRolloutClaim(state, [name], rolloutId, now), { kind: 'server' }, now),
  );
  if (refusals.every((v) => !v.allowed)) {
    throw new DomainError(
      'BudgetExceeded',
      `the disruption budget allows no server of the rollout out of service: ${refusals[0]!.reason}`,
    );
  }
}

/** The state as if the rollout held these servers: what the budget judges. */
function withRolloutClaim(state: ClusterState, names: readonly string[], rolloutId: string, now: number): ClusterState {
  let next = state;
  for (const name of names) {
    const server = next.servers.get(name)!;
    const claim: Claim = {
      mode: 'maintenance',
      force: false,
      actor: rolloutHolder(rolloutId),
      since: now,
      onDeadline: 'hold',
    };
    next = withServer(next, { ...server, claims: { ...server.claims, [rolloutHolder(rolloutId)]: claim } });
  }
  return next;
}

/**
 * Creates a rollout record and takes the cluster's lock: one rollout per cluster until it succeeds or is
 * aborted. Used by the API's start and by Preflight when an execution is started with the full input.
 */
export function createRollout(
  state: ClusterState,
  id: string,
  input: RolloutInput,
  actor: Actor,
  now: number,
): RolloutOutcome {
  requireNoOtherRollout(state);
  const names = input.servers ?? [...state.servers.keys()].sort();
  if (names.length === 0) throw invalid('the cluster has no servers to upgrade');
  const unknown = names.filter((n) => !state.servers.has(n));
  if (unknown.length > 0) throw invalid(`unknown servers: ${unknown.join(', ')}`, { servers: unknown });
  if (new Set(names).size !== names.length) throw invalid('servers lists a server twice');
  const targets = names.filter((n) => !alreadyUpgraded(state.servers.get(n)!, input));
  // Already-upgraded servers too: the rollout ends only when every one of its servers is healthy.
  requireHealthyTargets(state, names, id, now);
  requireBudgetAllowsOne(state, targets, id, now);

  const rollout: Rollout = {
    id,
    cluster: state.cluster.id,
    status: 'running',
    input: { ...input, servers: names },
    actor: actor.user,
    createdAt: now,
    updatedAt: now,
    batch: -1,
    batchCount: 0,
    batchesThisExecution: 0,
    executions: [],
    alreadyUpgraded: names.filter((n) => !targets.includes(n)),
    version: 0,
  };
  const snapshot: RolloutSnapshot = { rollout, nodes: new Map() };
  const next = withCluster(state, { ...state.cluster, rollout: id });
  return {
    next,
    rollout: snapshot,
    events: [rolloutEvent('start-rollout', snapshot, { targetVersion: input.targetVersion, servers: names.length })],
    answer: { outcome: 'created' },
  };
}

/** A new rollout, claimed at once by the execution that will run it (its id reserved before it starts). */
export function createAndClaim(
  state: ClusterState,
  id: string,
  input: RolloutInput,
  executionId: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const created = createRollout(state, id, input, actor, now);
  const claimed = preflight(created.next, created.rollout, executionId, actor, now);
  return { ...claimed, events: [...created.events, ...claimed.events] };
}

/**
 * Preflight: an execution claims the rollout, decided inside the transaction, so that at most one execution
 * runs a rollout at any time. The execution already recorded (a retry, or one the API reserved before starting
 * it) carries on; a successor started by the running execution ("continue as new") takes over; an execution for
 * a paused, failed or aborted rollout resumes it (its failed nodes must have been retried or skipped first);
 * any other execution is refused. Targets removed from the cluster meanwhile are skipped.
 */
export function preflight(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  executionId: string,
  _actor: Actor,
  now: number,
  startedBy?: string,
): RolloutOutcome {
  const { rollout } = snapshot;
  const owner = rollout.executions.at(-1);
  const successor = isActive(rollout) && owner !== undefined;
  if (successor) {
    if (owner === executionId) return unchanged(state, snapshot, { outcome: 'ready' });
    if (startedBy !== owner)
      throw new DomainError('RolloutConflict', `rollout ${rollout.id} is already run by execution ${owner}`, {
        execution: owner,
      });
  }
  const nodes = new Map(snapshot.nodes);
  for (const node of allNodes(snapshot)) {
    if (!finished(node) && !state.servers.has(node.server))
      nodes.set(node.server, { ...node, outcome: 'skipped', reason: 'removed from the cluster' });
    else if (node.outcome === 'stopped') nodes.set(node.server, { ...node, outcome: 'pending' });
  }
  // A successor carries on mid-flight: the checks of a start or a resume are not its to make again.
  if (!successor) {
    if (rollout.status === 'succeeded')
      throw new DomainError('RolloutConflict', `rollout ${rollout.id} has already succeeded`);
    const failed = allNodes(snapshot)
      .filter((n) => n.outcome === 'failed')
      .map((n) => n.server);
    if (failed.length > 0) {
      throw new DomainError('RolloutConflict', `server ${failed.join(', ')} failed: retry or skip it before resuming`, {
        servers: failed,
      });
    }
    requireNoOtherRollout(state, rollout.id);
    const pendingNames = allNodes({ ...snapshot, nodes })
      .filter((n) => !finished(n))
      .map((n) => n.server);
    requireHealthyTargets(state, pendingNames, rollout.id, now);
    requireBudgetAllowsOne(state, pendingNames, rollout.id, now);
  }

  // The first execution runs it; a successor continues it (a pause or abort asked meanwhile stays asked);
  // after a pause, failure or abort it resumes.
  const action = successor ? 'continue-rollout' : rollout.status !== 'running' ? 'resume-rollout' : 'run-rollout';
  const { failure: _f, stoppedNodes: _s, ...kept } = rollout;
  const nextSnapshot: RolloutSnapshot = {
    ...snapshot,
    nodes,
    rollout: {
      ...kept,
      status: successor ? rollout.status : 'running',
      executions: [...rollout.executions, executionId],
      batchesThisExecution: 0,
      updatedAt: now,
    },
  };
  const next =
    state.cluster.rollout === undefined ? withCluster(state, { ...state.cluster, rollout: rollout.id }) : state;
  return {
    next,
    rollout: nextSnapshot,
    events: [rolloutEvent(action, nextSnapshot, { execution: executionId })],
    answer: { outcome: 'ready' },
  };
}

/** A task of an execution that no longer runs the rollout (it was stopped, or another took over) stops. */
export function requireOwner(snapshot: RolloutSnapshot, executionId: string): void {
  if (snapshot.rollout.executions.at(-1) !== executionId)
    throw new RolloutStopped(
      snapshot.rollout.id,
      `execution ${executionId} no longer runs rollout ${snapshot.rollout.id}`,
    );
}

// ---------------------------------------------------------------------------------------------------------
// Automation and the plan

export function pauseAutomation(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  requireRunning(snapshot);
  const { id } = snapshot.rollout;
  const outcome = setClusterClaim(state, { holder: rolloutHolder(id), reason: `rollout ${id}` }, actor, now);
  return { ...outcome, rollout: snapshot, answer: { outcome: 'paused' } };
}

/**
 * Members and replicas first, grouped by dc, then by `component` in the input's order, then by name; the
 * primary last, alone. Batches hold at most `batchSize` servers and never more than the budget allows.
 */
export function planBatches(
  state: ClusterState,
  names: readonly string[],
  input: RolloutInput,
  rolloutId: string,
  now: number,
): string[][] {
  const componentRank = (s: Server) => {
    const i = input.order?.indexOf(s.component ?? '') ?? -1;
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const servers = names.map((n) => state.servers.get(n)!);
  const ordered = servers.sort(
    (a, b) =>
      Number(a.role === 'primary') - Number(b.role === 'primary') ||
      (a.dc < b.dc ? -1 : a.dc > b.dc ? 1 : 0) ||
      componentRank(a) - componentRank(b) ||
      (a.name < b.name ? -1 : 1),
  );
  const batches: string[][] = [];
  let batch: string[] = [];
  const fits = (candidate: string[]) =>
    candidate.length === 1 ||
    judge(state, withRolloutClaim(state, candidate, rolloutId, now), { kind: 'server' }, now).allowed;
  for (const server of ordered) {
    const candidate = [...batch, server.name];
    const previous = batch.length > 0 ? state.servers.get(batch[0]!)! : undefined;
    const primaryAlone = server.role === 'primary' || previous?.role === 'primary';
    if (
      previous &&
      (candidate.length > input.batchSize || primaryAlone || previous.dc !== server.dc || !fits(candidate))
    ) {
      batches.push(batch);
      batch = [server.name];
    } else {
      batch = candidate;
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export function plan(state: ClusterState, snapshot: RolloutSnapshot, now: number): RolloutOutcome {
  requireRunning(snapshot);
  if (snapshot.plan) return unchanged(state, snapshot, { outcome: 'planned' });
  const names = allNodes(snapshot)
    .filter((n) => !finished(n))
    .map((n) => n.server);
  const batches = planBatches(state, names, snapshot.rollout.input, snapshot.rollout.id, now);
  const next = withRollout({ ...snapshot, plan: batches }, { batchCount: batches.length }, now);
  return unchanged(state, next, { outcome: 'planned' });
}

// ---------------------------------------------------------------------------------------------------------
// The batch loop

export type NextBatchAnswer =
  | { outcome: 'batch'; batch: number; servers: string[] }
  | { outcome: 'done' | 'pause' | 'abort' | 'fail' | 'continue' };

/**
 * After a batch (or at the start of an execution): what comes next. The nodes of the current and the next
 * batches are what `snapshot.nodes` must hold (the store reads them from the plan).
 */
export function nextBatch(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  now: number,
): RolloutOutcome<NextBatchAnswer> {
  const { rollout } = snapshot;
  const keep = (answer: NextBatchAnswer) => unchanged(state, snapshot, answer);
  if (rollout.status === 'aborting') return keep({ outcome: 'abort' });
  requireRunning(snapshot);
  const batches = snapshot.plan ?? [];
  // After a batch of this execution: every node of it must have finished. A new execution (a resume, a
  // successor) starts again from the first batch with unfinished nodes.
  const resuming = rollout.batchesThisExecution === 0;
  if (!resuming && (batches[rollout.batch] ?? []).some((s) => !finished(nodeOf(snapshot, s))))
    return keep({ outcome: 'fail' });

  let index = resuming ? 0 : rollout.batch + 1;
  while (index < batches.length && batches[index]!.every((s) => finished(nodeOf(snapshot, s)))) index++;
  if (index >= batches.length) return keep({ outcome: 'done' });
  // The canary pause comes once the first batch has finished (index > 0), not before a retried first batch runs again.
  const canary = rollout.input.pauseAfterFirstBatch && !rollout.canaryPaused && index > 0;
  if (rollout.status === 'pausing' || canary) return keep({ outcome: 'pause' });
  if (rollout.batchesThisExecution >= BATCHES_PER_EXECUTION) return keep({ outcome: 'continue' });

  const servers = batches[index]!.filter((s) => !finished(nodeOf(snapshot, s)));
  let next = withRollout(snapshot, { batch: index, batchesThisExecution: rollout.batchesThisExecution + 1 }, now);
  for (const server of servers) {
    const node = nodeOf(next, server);
    if (node.outcome === 'pending')
      next = withNode(next, { ...node, outcome: 'in-progress', attempt: node.attempt + 1 });
  }
  return unchanged(state, next, { outcome: 'batch', batch: index, servers });
}

// ---------------------------------------------------------------------------------------------------------
// The end of an execution: finished, paused, aborted or failed

/** Removes the rollout's cluster claim if it has one; anyone else's stays (and is no reason to refuse). */
function releaseAutomation(state: ClusterState, rolloutId: string, actor: Actor, now: number): Outcome {
  if (!heldByRollout(state.cluster.claims, rolloutId)) return noop(state);
  return clearClusterClaim(state, { holder: rolloutHolder(rolloutId), override: false }, actor, now);
}

/** The cluster's lock goes: the cluster can be handed to another rollout. */
function withoutLock(state: ClusterState): ClusterState {
  const { rollout: _lock, ...cluster } = state.cluster;
  return withCluster(state, cluster);
}

/** Every server healthy: automation resumes (the rollout's cluster claim goes) and the rollout has succeeded. */
export function finishRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  // A repeat (a retry) of a finish already written: nothing to do.
  if (snapshot.rollout.status === 'succeeded') return unchanged(state, snapshot, { outcome: 'succeeded' });
  requireRunning(snapshot);
  const nodes = allNodes(snapshot);
  const unfinished = nodes.filter((n) => !finished(n)).map((n) => n.server);
  if (unfinished.length > 0)
    throw new StepFailed('resume-automation', `not every server is upgraded: ${unfinished.join(', ')}`);
  // A skipped server is the operator's now: it does not hold the rollout back. Every other one must still be
  // at the version and healthy (a server removed from the cluster since it was verified is gone, not unhealthy).
  const { targetVersion } = snapshot.rollout.input;
  const unhealthy = nodes
    .filter((n) => n.outcome !== 'skipped')
    .map((n) => n.server)
    .filter((n) => {
      const view = viewOf(state, n, now);
      return view && (view.server.health !== 'running' || view.stale || view.server.version !== targetVersion);
    });
  if (unhealthy.length > 0)
    throw new StepFailed(
      'resume-automation',
      `not every server is healthy at ${targetVersion}: ${unhealthy.join(', ')}`,
    );
  const released = releaseAutomation(state, snapshot.rollout.id, actor, now);
  const next = withRollout(snapshot, { status: 'succeeded' }, now);
  return {
    next: withoutLock(released.next),
    events: [...released.events, rolloutEvent('finish-rollout', next)],
    rollout: next,
    answer: { outcome: 'succeeded' },
  };
}

/** The execution ends with the rollout paused and automation resumed; a resume starts a new execution. */
export function pauseRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'paused') return unchanged(state, snapshot, { outcome: 'paused' });
  requireRunning(snapshot);
  const released = releaseAutomation(state, rollout.id, actor, now);
  // Only a pause after the first batch stands for the canary's.
  const firstBatchDone =
    (snapshot.plan?.[0] ?? []).length > 0 && snapshot.plan![0]!.every((s) => finished(nodeOf(snapshot, s)));
  const next = withRollout(
    snapshot,
    { status: 'paused', ...(rollout.input.pauseAfterFirstBatch && firstBatchDone && { canaryPaused: true }) },
    now,
  );
  return {
    ...released,
    events: [...released.events, rolloutEvent('pause-rollout', next)],
    rollout: next,
    answer: { outcome: 'paused' },
  };
}

/** The servers of the rollout it still holds, by name. */
function heldNodes(state: ClusterState, snapshot: RolloutSnapshot): string[] {
  return (snapshot.rollout.input.servers ?? [])
    .filter((n) => heldByRollout(state.servers.get(n)?.claims ?? {}, snapshot.rollout.id))
    .sort();
}

/**
 * The rollout ends aborted. Nodes it still holds stay in maintenance (never routed while unverified) and are
 * listed; automation stays paused while any is held. The lock goes, so the cluster can be handed on.
 */
export function abortRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'aborted') return unchanged(state, snapshot, { outcome: 'aborted' });
  const held = heldNodes(state, snapshot);
  const released = held.length === 0 ? releaseAutomation(state, rollout.id, actor, now) : noop(state);
  let next = withRollout(snapshot, { status: 'aborted', stoppedNodes: held }, now);
  for (const server of held) {
    const node = nodeOf(next, server);
    if (!finished(node) && node.outcome !== 'failed') next = withNode(next, { ...node, outcome: 'stopped' });
  }
  return {
    next: withoutLock(released.next),
    events: [...released.events, rolloutEvent('abort-rollout', next, { held })],
    rollout: next,
    answer: { outcome: 'aborted' },
  };
}

/** The rollout ends failed: the failed node and cluster maintenance keep the rollout's claims. */
export function failRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  failure: Omit<RolloutFailure, 'at'> | undefined,
  now: number,
): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'failed') return unchanged(state, snapshot, { outcome: 'failed' });
  const failedNode = allNodes(snapshot).find((n) => n.outcome === 'failed');
  const unfinished =
    rollout.batch >= 0
      ? (snapshot.plan?.[rollout.batch] ?? []).map((s) => nodeOf(snapshot, s)).find((n) => !finished(n))
      : undefined;
  const recorded: RolloutFailure = {
    ...(failure ??
      (failedNode
        ? { server: failedNode.server, step: failedNode.step, reason: failedNode.reason ?? 'failed' }
        : unfinished
          ? { server: unfinished.server, step: unfinished.step, reason: 'its execution ended before the node finished' }
          : { step: 'unknown', reason: 'the execution failed' })),
    at: now,
  };
  let next = withRollout(snapshot, { status: 'failed', failure: recorded }, now);
  if (recorded.server && snapshot.nodes.has(recorded.server)) {
    const node = nodeOf(next, recorded.server);
    if (node.outcome !== 'failed') next = withNode(next, { ...node, outcome: 'failed', reason: recorded.reason });
  }
  return {
    ...noop(state),
    events: [rolloutEvent('fail-rollout', next, { failure: recorded })],
    rollout: next,
    answer: { outcome: 'failed' },
  };
}
