/**
 * Rolling upgrades (docs/workflow.md): the rollout record, its nodes, and the helpers every step shares. Each step is
 * a pure function from the cluster state and the rollout snapshot to an Outcome, so a step repeated by a Step
 * Functions retry or a resumed execution decides the same thing again, or nothing.
 */
import { DomainError, notFound } from '../errors.js';
import { ROLLOUT_HOLDER_PREFIX, type Claims, type ClusterState, type Server } from '../model.js';
import { noop, type Outcome } from '../outcome.js';

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

/** The rollout input (README "Rolling upgrades"), with defaults applied (the cluster is the record's). */
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
type RolloutStatus = 'running' | 'pausing' | 'paused' | 'aborting' | 'aborted' | 'failed' | 'succeeded';

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
type NodeOutcome = 'pending' | 'in-progress' | 'upgraded' | 'already-upgraded' | 'failed' | 'skipped' | 'stopped';

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

/** A rollout outcome: the next cluster state, the next rollout snapshot, the events, and what the step answers. */
export interface RolloutOutcome<A = { outcome: string }> extends Outcome {
  rollout: RolloutSnapshot;
  answer: A;
}

export const SECOND = 1000;

export const rolloutHolder = (id: string) => `${ROLLOUT_HOLDER_PREFIX}${id}`;
/** Whether the rollout holds these claims (a server's, or the cluster's pause of automation). */
export const heldByRollout = (claims: Claims, rolloutId: string) => Object.hasOwn(claims, rolloutHolder(rolloutId));

const ACTIVE: readonly RolloutStatus[] = ['running', 'pausing', 'aborting'];
/** Whether an execution runs the rollout now: only its latest execution may, while the rollout is active. */
export const isActive = (rollout: Rollout) => ACTIVE.includes(rollout.status);

// ---------------------------------------------------------------------------------------------------------
// Nodes and snapshots

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

export const finished = (n: NodeProgress) =>
  n.outcome === 'upgraded' || n.outcome === 'already-upgraded' || n.outcome === 'skipped';

export function withRollout(snapshot: RolloutSnapshot, changes: Partial<Rollout>, now: number): RolloutSnapshot {
  return { ...snapshot, rollout: { ...snapshot.rollout, ...changes, updatedAt: now } };
}

export function withNode(snapshot: RolloutSnapshot, node: NodeProgress): RolloutSnapshot {
  return { ...snapshot, nodes: new Map(snapshot.nodes).set(node.server, node) };
}

/** A step that changes neither the cluster nor the rollout: only its answer. */
export function unchanged<A>(state: ClusterState, snapshot: RolloutSnapshot, answer: A): RolloutOutcome<A> {
  return { ...noop(state), rollout: snapshot, answer };
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

export function rolloutEvent(action: string, snapshot: RolloutSnapshot, extra: Record<string, unknown> = {}) {
  const { rollout } = snapshot;
  return {
    action,
    target: `rollout:${rollout.id}`,
    before: null,
    after: { status: rollout.status, batch: rollout.batch, ...extra },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Refusals

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

export function requireRunning(snapshot: RolloutSnapshot): void {
  const { status, id } = snapshot.rollout;
  if (status === 'aborting' || status === 'aborted') throw new RolloutStopped(id);
  if (status !== 'running' && status !== 'pausing') {
    throw new DomainError('RolloutConflict', `rollout ${id} is ${status}, not running`);
  }
}

export function requireServer(state: ClusterState, name: string): Server {
  const server = state.servers.get(name);
  if (!server) throw notFound(`server ${name}`);
  return server;
}
