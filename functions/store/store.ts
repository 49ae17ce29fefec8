/** Persistence behind one interface; `dynamo.ts` is its one implementation. */
import type { Staleness } from '../domain/derive.js';
import type { Actor, AuditEvent, Cluster, ClusterState } from '../domain/model.js';
import type { AgentLease } from '../domain/agent-lease.js';
import type { Outcome } from '../domain/outcome.js';
import type { Rollout, RolloutSnapshot } from '../domain/rollout/model.js';
import type { MaintenanceWindow } from '../domain/windows.js';
import type { RoutineCondition, StatusReport } from '../domain/status.js';

export interface IdempotencyScope {
  /** Hash of the token's user, the route and the client's key. */
  id: string;
  /** Hash of what was asked, to tell a retry from a different request reusing the key. */
  requestHash: string;
}

/**
 * What a change may write with the cluster: every rule's Outcome, and for a rollout's or a window's change the
 * rollout (`RolloutOutcome`) or the window (`WindowOutcome`; null: deleted) as it leaves them.
 */
export interface StoredOutcome extends Outcome {
  rollout?: RolloutSnapshot;
  window?: MaintenanceWindow | null;
}

export interface MutateOptions<R> {
  /** Recorded on every event the mutation writes. */
  actor: Actor;
  /** Turns the decided outcome into the answer to store with an idempotency record. */
  result: (outcome: StoredOutcome) => R;
  idempotency?: IdempotencyScope;
  /** Decide, but write nothing. */
  dryRun?: boolean;
  /** A rollout to read with the cluster and write in the same transaction. */
  rollout?: RolloutRead;
  /** A window (by id) to read with the cluster and write in the same transaction. */
  window?: string;
}

export interface RolloutRead {
  id: string;
  /** `all`: the plan and every stored node; otherwise only these nodes (and no plan). */
  nodes: 'all' | readonly string[];
}

export type MutateResult<R> = { replayed: false; outcome: StoredOutcome; result: R } | { replayed: true; result: R };

export interface ClusterHeader {
  revision: number;
  staleAfterSeconds: number;
  transitions: number[];
  /** As of the last write of the cluster item: valid while no server can have gone stale since (`nextStaleAt`). */
  staleness?: Staleness;
  /** The rollout holding the cluster's lock. */
  rollout?: string;
}

export interface EventQuery {
  limit: number;
  cursor?: string;
  since?: number;
  target?: string;
  action?: string;
}

export interface TokenRecord {
  id: string;
  user: string;
  role: 'viewer' | 'agent' | 'operator' | 'admin';
  clusters?: string[];
  createdAt: number;
  hash: string;
  /** The token that created this one (absent for a bootstrap token): a token never exceeds its creator. */
  createdBy?: { tokenId: string; user: string };
}

export interface Store {
  /** The whole partition of a cluster in one Query. */
  readCluster(id: string): Promise<ClusterState | undefined>;
  /** Only the cluster item: enough to answer a conditional read. */
  readClusterHeader(id: string): Promise<ClusterHeader | undefined>;
  /** Records the staleness a read found, for the conditional reads that follow; ignored if the revision moved on. */
  writeStaleness(id: string, revision: number, staleness: Staleness): Promise<void>;
  listClusters(): Promise<Cluster[]>;
  /**
   * Reads the cluster, lets `decide` compute the outcome, and writes the change, its audit events, the revision
   * bump and the idempotency record in one transaction conditional on the revision read. Lost races are retried
   * a bounded number of times, then `Conflict`.
   */
  mutate<R>(
    id: string,
    decide: (state: ClusterState | undefined, rollout?: RolloutSnapshot, window?: MaintenanceWindow) => StoredOutcome,
    options: MutateOptions<R>,
  ): Promise<MutateResult<R>>;
  readWindow(cluster: string, id: string): Promise<MaintenanceWindow | undefined>;
  listWindows(cluster: string): Promise<MaintenanceWindow[]>;
  readRollout(cluster: string, id: string, nodes?: RolloutRead['nodes']): Promise<RolloutSnapshot | undefined>;
  /** Newest first. */
  listRollouts(
    cluster: string,
    query: { limit: number; cursor?: string },
  ): Promise<{ rollouts: Rollout[]; cursor?: string }>;
  /** A routine report as one conditional update; false when the stored server does not meet the condition. */
  writeRoutineReport(
    cluster: string,
    server: string,
    report: StatusReport,
    condition: RoutineCondition,
    now: number,
  ): Promise<boolean>;
  /** The stored answer to an earlier request with this idempotency scope, if any. */
  findIdempotentResult<R>(scope: IdempotencyScope): Promise<R | undefined>;
  listEvents(cluster: string, query: EventQuery): Promise<{ events: AuditEvent[]; cursor?: string }>;

  /**
   * Writes `lease` when the cluster's lease is free, expired or already `lease.holder`'s (one conditional put);
   * answers the lease in force afterwards: `lease` itself, or the other holder's.
   */
  holdAgentLease(cluster: string, lease: AgentLease, now: number): Promise<AgentLease>;

  putToken(token: TokenRecord): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /**
   * Deletes a token if `check(token, all)` allows it (it throws to refuse), decided on a consistent read of every
   * token and written conditionally on it, so two revocations racing cannot both pass a check about the others.
   * False when no such token.
   */
  revokeToken(id: string, check?: (token: TokenRecord, all: readonly TokenRecord[]) => void): Promise<boolean>;
}
