/**
 * Rolling upgrades (workflow.md): the rollout record and every rule its steps apply. Each step is a pure
 * function from the cluster state and the rollout snapshot to an Outcome, so a step repeated by a Step
 * Functions retry or a resumed execution decides the same thing again, or nothing.
 */
import { judge } from './budget.js';
import { viewOf, viewServer } from './derive.js';
import { DomainError, invalid, notFound } from './errors.js';
import {
  clearClusterClaim,
  clearServerClaim,
  releaseOrphanedRolloutPauses,
  setClusterClaim,
  setServerClaim,
} from './maintenance.js';
import { ROLLOUT_HOLDER_PREFIX, type Actor, type Claim, type ClusterState, type Server } from './model.js';
import { event, noop, withCluster, withServer, type Outcome } from './outcome.js';
import { switchover } from './failover.js';

/** A batch is never larger than this, so a batch's child executions stay a bounded part of one history. */
export const MAX_BATCH_SIZE = 50;
/** After this many batches an execution starts its successor and ends ("continue as new"). */
export const BATCHES_PER_EXECUTION = 20;
/** How long a primary's switchover may take before the node fails. */
export const ROLE_SWITCH_TIMEOUT_SECONDS = 300;

export type UpgradeSpec =
  | { kind: 'wait-for-report'; timeoutSeconds: number }
  | { kind: 'webhook'; url: string; timeoutSeconds: number }
  | { kind: 'lambda'; functionArn: string; timeoutSeconds: number };

/** workflow.md's input, with defaults applied (the cluster is the record's). */
export interface RolloutInput {
  targetVersion: string;
  servers?: string[];
  batchSize: number;
  order?: string[];
  drainTimeoutSeconds: number;
  onDrainTimeout: 'force' | 'fail';
  upgrade: UpgradeSpec;
  verify: { stableForSeconds: number; maxReplicationLagSeconds?: number; timeoutSeconds: number };
  pauseAfterFirstBatch: boolean;
}

/** `running`, `pausing` and `aborting` have an execution; the lock on the cluster lasts until `succeeded` or `aborted`. */
export type RolloutStatus = 'running' | 'pausing' | 'paused' | 'aborting' | 'aborted' | 'failed' | 'succeeded';

export const NODE_STEPS = [
  'pending',
  'switchover',
  'wait-roles',
  'drain',
  'wait-drained',
  'maintain',
  'wait-upgraded',
  'verify',
  'clear',
  'done',
] as const;
export type NodeStep = (typeof NODE_STEPS)[number];
/** `stopped`: an abort left it where it was, still held by the rollout. */
export type NodeOutcome =
  | 'pending'
  | 'in-progress'
  | 'upgraded'
  | 'already-upgraded'
  | 'failed'
  | 'skipped'
  | 'stopped';

export interface RolloutFailure {
  server?: string;
  step: string;
  reason: string;
  at: number;
}

export interface Rollout {
  id: string;
  cluster: string;
  status: RolloutStatus;
  input: RolloutInput;
  actor: string;
  createdAt: number;
  updatedAt: number;
  /** The batch in progress or last run; −1 before the first. */
  batch: number;
  batchCount: number;
  /** Batches started by the current execution, for "continue as new". */
  batchesThisExecution: number;
  /** Every execution that has run this rollout, oldest first. */
  executions: string[];
  /** `pauseAfterFirstBatch` has paused once. */
  canaryPaused?: boolean;
  failure?: RolloutFailure;
  /** Nodes an abort left held by the rollout. */
  stoppedNodes?: string[];
  /** Targets already at the version when the rollout was created: skipped. */
  alreadyUpgraded: string[];
  /** The store's optimistic-concurrency counter. */
  version: number;
}

/** A node's progress; a node the rollout has not touched yet has no stored record (see `nodeOf`). */
export interface NodeProgress {
  server: string;
  step: NodeStep;
  outcome: NodeOutcome;
  reason?: string;
  attempt: number;
  /** When the current step began: the clock for drain, upgrade, role and verify timeouts. */
  stepStartedAt?: number;
  stableSince?: number;
  /** When Verify passed: Clear requires it (a node is never returned to service unverified). */
  verifiedAt?: number;
  /** Why the upgrade failed, as its agent reported it: the wait for the upgrade fails with it. */
  upgradeFailure?: string;
  version: number;
}

/** What the store reads and writes of one rollout: the record, the plan (batches of names) and the nodes read. */
export interface RolloutSnapshot {
  rollout: Rollout;
  plan?: string[][];
  /** Stored progress of the nodes read; the others are as `nodeOf` defaults them. */
  nodes: ReadonlyMap<string, NodeProgress>;
}

export const rolloutHolder = (id: string) => `${ROLLOUT_HOLDER_PREFIX}${id}`;
const rolloutTarget = (id: string) => `rollout:${id}`;
const SECOND = 1000;

// ---------------------------------------------------------------------------------------------------------
// Snapshot helpers

function withRollout(snapshot: RolloutSnapshot, changes: Partial<Rollout>, now: number): RolloutSnapshot {
  return { ...snapshot, rollout: { ...snapshot.rollout, ...changes, updatedAt: now } };
}

function withNode(snapshot: RolloutSnapshot, node: NodeProgress): RolloutSnapshot {
  return { ...snapshot, nodes: new Map(snapshot.nodes).set(node.server, node) };
}

/** A node's progress: as stored, or as it starts (pending, or skipped because it was already upgraded). */
export function nodeOf(snapshot: RolloutSnapshot, server: string): NodeProgress {
  const stored = snapshot.nodes.get(server);
  if (stored) return stored;
  const { rollout } = snapshot;
  if (!rollout.input.servers?.includes(server)) throw notFound(`server ${server} in rollout ${rollout.id}`);
  const skipped = rollout.alreadyUpgraded.includes(server);
  return {
    server,
    step: skipped ? 'done' : 'pending',
    outcome: skipped ? 'already-upgraded' : 'pending',
    attempt: 0,
    version: 0,
  };
}

/** Every node of the rollout, in input order. */
export function allNodes(snapshot: RolloutSnapshot): NodeProgress[] {
  return (snapshot.rollout.input.servers ?? []).map((s) => nodeOf(snapshot, s));
}

const requireNode = nodeOf;

export const finished = (n: NodeProgress) =>
  n.outcome === 'upgraded' || n.outcome === 'already-upgraded' || n.outcome === 'skipped';

function requireServer(state: ClusterState, name: string): Server {
  const server = state.servers.get(name);
  if (!server) throw notFound(`server ${name}`);
  return server;
}

/** A rollout outcome: the next cluster state, the next rollout snapshot, the events, and what the step answers. */
export interface RolloutOutcome<A = { outcome: string }> extends Outcome {
  rollout: RolloutSnapshot;
  answer: A;
}

function rolloutEvent(action: string, snapshot: RolloutSnapshot, extra: Record<string, unknown> = {}) {
  const { rollout } = snapshot;
  return {
    action,
    target: rolloutTarget(rollout.id),
    before: null,
    after: { status: rollout.status, batch: rollout.batch, ...extra },
  };
}

/** Refuses a step once the rollout is being aborted: nodes in flight stop at the next step boundary. */
export class RolloutStopped extends DomainError {
  constructor(rolloutId: string, message = `rollout ${rolloutId} is being aborted`) {
    super('RolloutConflict', message);
    this.name = 'RolloutStopped';
  }
}

/** A node's step failed for a reason the workflow records (not transient: no retry). */
export class StepFailed extends DomainError {
  constructor(
    readonly step: NodeStep | string,
    reason: string,
  ) {
    super('RolloutConflict', reason);
    this.name = 'StepFailed';
  }
}

function requireRunning(snapshot: RolloutSnapshot): void {
  const { status, id } = snapshot.rollout;
  if (status === 'aborting' || status === 'aborted') throw new RolloutStopped(id);
  if (status !== 'running' && status !== 'pausing') {
    throw new DomainError('RolloutConflict', `rollout ${id} is ${status}, not running`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Start, resume and the cluster lock

/** Which targets a rollout would skip: already at the version and not held by anyone. */
function alreadyUpgraded(server: Server, input: RolloutInput): boolean {
  return server.version === input.targetVersion && Object.keys(server.claims).length === 0;
}

/** Everything the rollout will touch must be fit to start: healthy, or held by this rollout (a resume). */
function checkTargets(state: ClusterState, names: readonly string[], rolloutId: string, now: number): void {
  const holder = rolloutHolder(rolloutId);
  for (const name of names) {
    const view = viewOf(state, name, now)!;
    if (Object.hasOwn(view.server.claims, holder)) continue;
    if (view.server.health !== 'running' || view.stale) {
      throw new DomainError('RolloutConflict', `server ${name} is not healthy (${view.state || 'no report yet'})`, {
        server: name,
      });
    }
  }
}

function lockedBy(state: ClusterState): string | undefined {
  return state.cluster.rollout;
}

/** The budget must allow at least one server of the rollout out of service. */
function checkBudgetAllowsOne(state: ClusterState, names: readonly string[], rolloutId: string, now: number): void {
  const holder = rolloutHolder(rolloutId);
  const candidates = names.filter((n) => !Object.hasOwn(state.servers.get(n)!.claims, holder));
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
  const active = lockedBy(state);
  if (active !== undefined) {
    throw new DomainError(
      'RolloutConflict',
      `rollout ${active} is already in progress on cluster ${state.cluster.id}`,
      { rollout: active },
    );
  }
  const names = input.servers ?? [...state.servers.keys()].sort();
  if (names.length === 0) throw invalid('the cluster has no servers to upgrade');
  const unknown = names.filter((n) => !state.servers.has(n));
  if (unknown.length > 0) throw invalid(`unknown servers: ${unknown.join(', ')}`, { servers: unknown });
  if (new Set(names).size !== names.length) throw invalid('servers lists a server twice');
  const targets = names.filter((n) => !alreadyUpgraded(state.servers.get(n)!, input));
  // Already-upgraded servers too: the rollout ends only when every one of its servers is healthy.
  checkTargets(state, names, id, now);
  checkBudgetAllowsOne(state, targets, id, now);

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

const ACTIVE: readonly RolloutStatus[] = ['running', 'pausing', 'aborting'];
/** Whether an execution runs the rollout now: only its latest execution may, while the rollout is active. */
export const isActive = (rollout: Rollout) => ACTIVE.includes(rollout.status);

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

/** A paused, failed or aborted rollout resumed by a new execution, claimed before it starts. */
export function resumeRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  executionId: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  checkResumable(snapshot);
  return preflight(state, snapshot, executionId, actor, now);
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
  actor: Actor,
  now: number,
  startedBy?: string,
): RolloutOutcome {
  const { rollout } = snapshot;
  const owner = rollout.executions.at(-1);
  const successor = isActive(rollout) && owner !== undefined;
  if (successor) {
    if (owner === executionId) return { ...noop(state), rollout: snapshot, answer: { outcome: 'ready' } };
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
  const active = lockedBy(state);
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
    if (active !== undefined && active !== rollout.id) {
      throw new DomainError(
        'RolloutConflict',
        `rollout ${active} is already in progress on cluster ${state.cluster.id}`,
        { rollout: active },
      );
    }
    const pendingNames = allNodes({ ...snapshot, nodes })
      .filter((n) => !finished(n))
      .map((n) => n.server);
    checkTargets(state, pendingNames, rollout.id, now);
    checkBudgetAllowsOne(state, pendingNames, rollout.id, now);
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
  const next = active === undefined ? withCluster(state, { ...state.cluster, rollout: rollout.id }) : state;
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
  if (snapshot.plan) return { ...noop(state), rollout: snapshot, answer: { outcome: 'planned' } };
  const names = allNodes(snapshot)
    .filter((n) => !finished(n))
    .map((n) => n.server);
  const batches = planBatches(state, names, snapshot.rollout.input, snapshot.rollout.id, now);
  const next = withRollout({ ...snapshot, plan: batches }, { batchCount: batches.length }, now);
  return { ...noop(state), rollout: next, answer: { outcome: 'planned' } };
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
  const keep = (answer: NextBatchAnswer): RolloutOutcome<NextBatchAnswer> => ({
    ...noop(state),
    rollout: snapshot,
    answer,
  });
  if (rollout.status === 'aborting') return keep({ outcome: 'abort' });
  requireRunning(snapshot);
  const batches = snapshot.plan ?? [];
  // After a batch of this execution: every node of it must have finished. A new execution (a resume, a
  // successor) starts again from the first batch with unfinished nodes.
  const resuming = rollout.batchesThisExecution === 0;
  if (!resuming && (batches[rollout.batch] ?? []).some((s) => !finished(requireNode(snapshot, s))))
    return keep({ outcome: 'fail' });

  let index = resuming ? 0 : rollout.batch + 1;
  while (index < batches.length && batches[index]!.every((s) => finished(requireNode(snapshot, s)))) index++;
  if (index >= batches.length) return keep({ outcome: 'done' });
  // The canary pause comes once the first batch has finished (index > 0), not before a retried first batch runs again.
  const canary = rollout.input.pauseAfterFirstBatch && !rollout.canaryPaused && index > 0;
  if (rollout.status === 'pausing' || canary) return keep({ outcome: 'pause' });
  if (rollout.batchesThisExecution >= BATCHES_PER_EXECUTION) return keep({ outcome: 'continue' });

  const servers = batches[index]!.filter((s) => !finished(requireNode(snapshot, s)));
  let next = withRollout(snapshot, { batch: index, batchesThisExecution: rollout.batchesThisExecution + 1 }, now);
  for (const server of servers) {
    const node = requireNode(next, server);
    if (node.outcome === 'pending')
      next = withNode(next, { ...node, outcome: 'in-progress', attempt: node.attempt + 1 });
  }
  return { ...noop(state), rollout: next, answer: { outcome: 'batch', batch: index, servers } };
}

/** Removes the rollout's cluster claim if it has one; anyone else's stays (and is no reason to refuse). */
function releaseAutomation(state: ClusterState, rolloutId: string, actor: Actor, now: number): Outcome {
  if (!Object.hasOwn(state.cluster.claims, rolloutHolder(rolloutId))) return noop(state);
  return clearClusterClaim(state, { holder: rolloutHolder(rolloutId), override: false }, actor, now);
}

/** Every server healthy: automation resumes (the rollout's cluster claim goes) and the rollout has succeeded. */
export function finishRollout(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  actor: Actor,
  now: number,
): RolloutOutcome {
  // A repeat (a retry) of a finish already written: nothing to do.
  if (snapshot.rollout.status === 'succeeded')
    return { ...noop(state), rollout: snapshot, answer: { outcome: 'succeeded' } };
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
  const { rollout: _lock, ...cluster } = released.next.cluster;
  const next = withRollout(snapshot, { status: 'succeeded' }, now);
  return {
    next: withCluster(released.next, cluster),
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
  if (rollout.status === 'paused') return { ...noop(state), rollout: snapshot, answer: { outcome: 'paused' } };
  requireRunning(snapshot);
  const released = releaseAutomation(state, rollout.id, actor, now);
  // Only a pause after the first batch stands for the canary's.
  const firstBatchDone =
    (snapshot.plan?.[0] ?? []).length > 0 && snapshot.plan![0]!.every((s) => finished(requireNode(snapshot, s)));
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

function heldNodes(state: ClusterState, snapshot: RolloutSnapshot): string[] {
  const holder = rolloutHolder(snapshot.rollout.id);
  return (snapshot.rollout.input.servers ?? [])
    .filter((n) => Object.hasOwn(state.servers.get(n)?.claims ?? {}, holder))
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
  if (rollout.status === 'aborted') return { ...noop(state), rollout: snapshot, answer: { outcome: 'aborted' } };
  const held = heldNodes(state, snapshot);
  const released = held.length === 0 ? releaseAutomation(state, rollout.id, actor, now) : noop(state);
  const { rollout: _lock, ...cluster } = released.next.cluster;
  let next = withRollout(snapshot, { status: 'aborted', stoppedNodes: held }, now);
  for (const server of held) {
    const node = requireNode(next, server);
    if (!finished(node) && node.outcome !== 'failed') next = withNode(next, { ...node, outcome: 'stopped' });
  }
  return {
    next: withCluster(released.next, cluster),
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
  if (rollout.status === 'failed') return { ...noop(state), rollout: snapshot, answer: { outcome: 'failed' } };
  const failedNode = allNodes(snapshot).find((n) => n.outcome === 'failed');
  const unfinished =
    rollout.batch >= 0
      ? (snapshot.plan?.[rollout.batch] ?? []).map((s) => requireNode(snapshot, s)).find((n) => !finished(n))
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
    const node = requireNode(next, recorded.server);
    if (node.outcome !== 'failed') next = withNode(next, { ...node, outcome: 'failed', reason: recorded.reason });
  }
  return {
    ...noop(state),
    events: [rolloutEvent('fail-rollout', next, { failure: recorded })],
    rollout: next,
    answer: { outcome: 'failed' },
  };
}

// ---------------------------------------------------------------------------------------------------------
// One node: each step records where the node is, then does its one thing

function enterStep(snapshot: RolloutSnapshot, server: string, step: NodeStep, now: number): RolloutSnapshot {
  const node = requireNode(snapshot, server);
  if (node.step === step) return snapshot;
  const { stableSince: _s, ...rest } = node;
  return withNode(snapshot, { ...rest, step, outcome: 'in-progress', stepStartedAt: now });
}

/** An action step (switchover, drain, maintain, clear) records where the node is and starts its clock. */
function nodeStep(state: ClusterState, snapshot: RolloutSnapshot, server: string, step: NodeStep, now: number) {
  requireRunning(snapshot);
  requireServer(state, server);
  return enterStep(snapshot, server, step, now);
}

/**
 * A check writes nothing while it waits: the wait's timeout counts from the step that started it, so most
 * polls are plain reads (the task handler then skips the write queue altogether).
 */
function waitingSince(snapshot: RolloutSnapshot, state: ClusterState, server: string, now: number): number {
  requireRunning(snapshot);
  requireServer(state, server);
  return requireNode(snapshot, server).stepStartedAt ?? now;
}

/** True when an outcome writes nothing: the step can answer from a plain read. */
export function changesNothing(
  outcome: RolloutOutcome<unknown>,
  state: ClusterState,
  snapshot: RolloutSnapshot,
): boolean {
  const { rollout } = outcome;
  return (
    outcome.events.length === 0 &&
    outcome.next === state &&
    !outcome.removed &&
    rollout.rollout === snapshot.rollout &&
    rollout.plan === snapshot.plan &&
    [...rollout.nodes].every(([server, node]) => snapshot.nodes.get(server) === node)
  );
}

export type BeginAnswer = { outcome: 'primary' | 'replica' | 'done' };

export function beginNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome<BeginAnswer> {
  requireRunning(snapshot);
  const node = requireNode(snapshot, server);
  if (finished(node)) return { ...noop(state), rollout: snapshot, answer: { outcome: 'done' } };
  if (!state.servers.has(server)) {
    const skipped = withNode(snapshot, { ...node, outcome: 'skipped', reason: 'removed from the cluster' });
    return {
      ...noop(state),
      rollout: skipped,
      events: [rolloutEvent('skip-server', skipped, { server, reason: 'removed from the cluster' })],
      answer: { outcome: 'done' },
    };
  }
  const role = requireServer(state, server).role;
  const next = node.outcome === 'in-progress' ? snapshot : withNode(snapshot, { ...node, outcome: 'in-progress' });
  return { ...noop(state), rollout: next, answer: { outcome: role === 'primary' ? 'primary' : 'replica' } };
}

/** The primary hands over to an already-upgraded electable replica before it is drained. */
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
    return { ...noop(state), rollout: next, answer: { outcome: 'requested' } };
  const candidates = [...state.servers.values()].filter(
    (s) => s.name !== server && s.version === targetVersion && viewOf(state, s.name, now)!.electable,
  );
  if (candidates.length === 0)
    throw new StepFailed('switchover', `no electable replica at version ${targetVersion} to switch over to`);
  const best = candidates.sort(
    (a, b) =>
      (a.replicationLagSeconds ?? Number.MAX_VALUE) - (b.replicationLagSeconds ?? Number.MAX_VALUE) ||
      (a.name < b.name ? -1 : 1),
  )[0]!;
  const outcome = switchover(state, best.name, actor, now);
  return { ...outcome, rollout: next, answer: { outcome: 'requested' } };
}

export function checkRoles(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  const since = waitingSince(snapshot, state, server, now);
  const next = snapshot;
  if (requireServer(state, server).role !== 'primary')
    return { ...noop(state), rollout: next, answer: { outcome: 'switched' } };
  if (now - since >= ROLE_SWITCH_TIMEOUT_SECONDS * SECOND) {
    throw new StepFailed(
      'wait-roles',
      `the agents did not report the new roles within ${ROLE_SWITCH_TIMEOUT_SECONDS} s`,
    );
  }
  return { ...noop(state), rollout: next, answer: { outcome: 'waiting' } };
}

const upgradeReason = (rollout: Rollout) => `rollout ${rollout.id}: upgrade to ${rollout.input.targetVersion}`;

/** The rollout's claim in maintenance, connections closed at once: the server is drained (or its drain timed out). */
function maintainNow(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
  reason: string,
): Outcome {
  const { rollout } = snapshot;
  return setServerClaim(
    state,
    server,
    {
      holder: rolloutHolder(rollout.id),
      mode: 'maintenance',
      force: true,
      reason,
      onDeadline: 'hold',
      override: false,
      dryRun: false,
    },
    actor,
    now,
  );
}

/**
 * The rollout's graceful claim: the server drains (no new connections; open ones finish, as MaxScale's drain).
 * A server the rollout already holds keeps its claim as it is (a resumed node).
 */
export function drainNode(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const next = nodeStep(state, snapshot, server, 'drain', now);
  const { rollout } = snapshot;
  if (Object.hasOwn(requireServer(state, server).claims, rolloutHolder(rollout.id)))
    return { ...noop(state), rollout: next, answer: { outcome: 'draining' } };
  const outcome = setServerClaim(
    state,
    server,
    {
      holder: rolloutHolder(rollout.id),
      mode: 'drain',
      force: false,
      reason: upgradeReason(rollout),
      onDeadline: 'hold',
      override: false,
      dryRun: false,
    },
    actor,
    now,
  );
  return { ...outcome, rollout: next, answer: { outcome: 'draining' } };
}

/** Drained once its connections have ended; at `drainTimeoutSeconds`: forced into maintenance, or failed. */
export function checkDrained(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  actor: Actor,
  now: number,
): RolloutOutcome {
  const since = waitingSince(snapshot, state, server, now);
  const next = snapshot;
  const view = viewOf(state, server, now)!;
  if (view.drained || view.maintenance || view.server.health === 'down')
    return { ...noop(state), rollout: next, answer: { outcome: 'drained' } };
  const { drainTimeoutSeconds, onDrainTimeout } = snapshot.rollout.input;
  if (now - since < drainTimeoutSeconds * SECOND)
    return { ...noop(state), rollout: next, answer: { outcome: 'waiting' } };
  if (onDrainTimeout === 'fail')
    throw new StepFailed(
      'wait-drained',
      `not drained within ${drainTimeoutSeconds} s (${view.server.connections ?? 0} connections left)`,
    );
  const forced = maintainNow(
    state,
    snapshot,
    server,
    actor,
    now,
    `${upgradeReason(snapshot.rollout)} (forced: not drained within ${drainTimeoutSeconds} s)`,
  );
  return { ...forced, rollout: next, answer: { outcome: 'forced' } };
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
  if (!Object.hasOwn(requireServer(state, server).claims, rolloutHolder(snapshot.rollout.id))) {
    throw new StepFailed('maintain', `server ${server} is no longer held by the rollout`);
  }
  const outcome = maintainNow(state, snapshot, server, actor, now, upgradeReason(snapshot.rollout));
  // Each trigger is a new attempt: a failure an agent reported for an earlier one is not this one's.
  const { upgradeFailure: _earlier, ...node } = requireNode(next, server);
  return { ...outcome, rollout: withNode(next, node), answer: { outcome: 'triggered' } };
}

/** Upgraded: the node moves on to Verify, whose clock starts now. */
export function checkUpgraded(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  const since = waitingSince(snapshot, state, server, now);
  const s = requireServer(state, server);
  const { targetVersion, upgrade } = snapshot.rollout.input;
  if (s.version === targetVersion && s.health === 'running')
    return { ...noop(state), rollout: enterStep(snapshot, server, 'verify', now), answer: { outcome: 'upgraded' } };
  const next = snapshot;
  const reported = requireNode(snapshot, server).upgradeFailure;
  if (reported !== undefined) throw new StepFailed('wait-upgraded', reported);
  if (now - since >= upgrade.timeoutSeconds * SECOND) {
    throw new StepFailed(
      'wait-upgraded',
      `not at version ${targetVersion} and running within ${upgrade.timeoutSeconds} s (reports ${s.version ?? 'no version'}, ${s.health})`,
    );
  }
  return { ...noop(state), rollout: next, answer: { outcome: 'waiting' } };
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
  requireRunning(snapshot);
  requireServer(state, server);
  const node = requireNode(snapshot, server);
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
  if (node.upgradeFailure === reason) return { ...noop(state), rollout: snapshot, answer: { outcome: 'reported' } };
  const next = withNode(withRollout(snapshot, {}, now), { ...node, upgradeFailure: reason });
  return {
    ...noop(state),
    rollout: next,
    events: [rolloutEvent('upgrade-failed', next, { server, reason })],
    answer: { outcome: 'reported' },
  };
}

/** Healthy, at the version, lag under the bound, steadily for `stableForSeconds`; down or downgraded fails at once. */
export function checkVerified(
  state: ClusterState,
  snapshot: RolloutSnapshot,
  server: string,
  now: number,
): RolloutOutcome {
  waitingSince(snapshot, state, server, now);
  const entered = enterStep(snapshot, server, 'verify', now);
  const s = requireServer(state, server);
  const view = viewServer(s, state.dcs.get(s.dc), state.cluster, now);
  const { targetVersion, verify } = snapshot.rollout.input;
  if (s.health === 'down') throw new StepFailed('verify', `server ${server} is down`);
  if (s.version !== targetVersion)
    throw new StepFailed('verify', `server ${server} reports version ${s.version ?? 'none'}, not ${targetVersion}`);
  const node = requireNode(entered, server);
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
    return {
      ...noop(state),
      rollout: node.stableSince === undefined ? entered : withNode(entered, rest),
      answer: { outcome: 'waiting' },
    };
  }
  const since = node.stableSince ?? now;
  if (now - since >= verify.stableForSeconds * SECOND) {
    const verified = node.verifiedAt === undefined ? withNode(entered, { ...node, verifiedAt: now }) : entered;
    return { ...noop(state), rollout: verified, answer: { outcome: 'verified' } };
  }
  return {
    ...noop(state),
    rollout: node.stableSince === undefined ? withNode(entered, { ...node, stableSince: now }) : entered,
    answer: { outcome: 'waiting' },
  };
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
  const node = requireNode(snapshot, server);
  if (node.outcome === 'upgraded') return { ...noop(state), rollout: snapshot, answer: { outcome: 'cleared' } };
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
  const cleared = Object.hasOwn(s.claims, rolloutHolder(snapshot.rollout.id))
    ? clearServerClaim(state, server, { holder: rolloutHolder(snapshot.rollout.id), override: false }, actor, now)
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
  const node = requireNode(snapshot, server);
  if (node.outcome === 'failed') return { ...noop(state), rollout: snapshot, answer: { outcome: 'failed' } };
  const step = NODE_STEPS.find((s) => s === failedStep) ?? node.step;
  const next = withNode(snapshot, { ...node, step, outcome: 'failed', reason, stepStartedAt: now });
  return {
    ...noop(state),
    rollout: next,
    events: [rolloutEvent('node-failed', next, { server, step, reason })],
    answer: { outcome: 'failed' },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Operators' controls (the API)

export function requestPause(state: ClusterState, snapshot: RolloutSnapshot, now: number): RolloutOutcome {
  const { rollout } = snapshot;
  if (rollout.status === 'pausing' || rollout.status === 'paused')
    return { ...noop(state), rollout: snapshot, answer: { outcome: rollout.status } };
  if (rollout.status !== 'running')
    throw new DomainError(
      'RolloutConflict',
      `rollout ${rollout.id} is ${rollout.status}: only a running rollout can be paused`,
    );
  const next = withRollout(snapshot, { status: 'pausing' }, now);
  return {
    ...noop(state),
    events: [rolloutEvent('request-pause', next)],
    rollout: next,
    answer: { outcome: 'pausing' },
  };
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
    return { ...noop(state), rollout: snapshot, answer: { outcome: rollout.status } };
  if (rollout.status === 'succeeded')
    throw new DomainError('RolloutConflict', `rollout ${rollout.id} has already succeeded`);
  if (rollout.status === 'paused' || rollout.status === 'failed') return abortRollout(state, snapshot, actor, now);
  const next = withRollout(snapshot, { status: 'aborting' }, now);
  return {
    ...noop(state),
    events: [rolloutEvent('request-abort', next)],
    rollout: next,
    answer: { outcome: 'aborting' },
  };
}

/** Resume needs a rollout without an execution; the caller then starts one. */
export function checkResumable(snapshot: RolloutSnapshot): void {
  const { status, id } = snapshot.rollout;
  if (status !== 'paused' && status !== 'failed' && status !== 'aborted') {
    throw new DomainError(
      'RolloutConflict',
      `rollout ${id} is ${status}: only a paused, failed or aborted rollout can be resumed`,
    );
  }
}

function requireIdle(snapshot: RolloutSnapshot, what: string): void {
  const { status, id } = snapshot.rollout;
  if (status === 'running' || status === 'pausing' || status === 'aborting') {
    throw new DomainError('RolloutConflict', `rollout ${id} is ${status}: pause or abort it before you ${what}`);
  }
  if (status === 'succeeded') throw new DomainError('RolloutConflict', `rollout ${id} has already succeeded`);
}

/** The server starts again from Drain on the next resume. */
export function retryNode(state: ClusterState, snapshot: RolloutSnapshot, server: string, now: number): RolloutOutcome {
  requireIdle(snapshot, 'retry a server');
  const node = requireNode(snapshot, server);
  if (finished(node)) throw new DomainError('RolloutConflict', `server ${server} is already ${node.outcome}`);
  const { reason: _r, stableSince: _s, upgradeFailure: _u, ...rest } = node;
  const retried: NodeProgress = { ...rest, step: 'pending', outcome: 'pending' };
  const failure = snapshot.rollout.failure?.server === server ? { failure: undefined } : {};
  const next = withNode(withRollout(snapshot, failure, now), retried);
  return {
    ...noop(state),
    events: [rolloutEvent('retry-server', next, { server })],
    rollout: next,
    answer: { outcome: 'retried' },
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
  const node = requireNode(snapshot, server);
  if (node.outcome === 'skipped') return { ...noop(state), rollout: snapshot, answer: { outcome: 'skipped' } };
  if (finished(node)) throw new DomainError('RolloutConflict', `server ${server} is already ${node.outcome}`);
  const holder = rolloutHolder(snapshot.rollout.id);
  // A server removed from the cluster meanwhile has nothing to hand over.
  const s = state.servers.get(server);
  let cluster = state;
  const events = [];
  if (s && Object.hasOwn(s.claims, holder)) {
    const { [holder]: held, ...others } = s.claims;
    const manual: Claim = {
      ...held!,
      actor: actor.user,
      reason: `skipped from rollout ${snapshot.rollout.id}`,
      since: now,
    };
    cluster = withServer(state, { ...s, claims: { ...others, manual: others.manual ?? manual } });
    events.push(
      event('update-maintenance', { kind: 'server', name: server }, state, cluster, { reason: manual.reason }),
    );
  }
  // An aborted rollout's pause of automation ends with its last held server.
  const released = releaseOrphanedRolloutPauses(cluster, actor, now);
  const failure = snapshot.rollout.failure?.server === server ? { failure: undefined } : {};
  const next = withNode(withRollout(snapshot, failure, now), { ...node, outcome: 'skipped' });
  return {
    next: released.next,
    events: [...events, ...released.events, rolloutEvent('skip-server', next, { server })],
    rollout: next,
    answer: { outcome: 'skipped' },
  };
}
