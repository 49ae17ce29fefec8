/** The domain model (docs/claims-and-budget.md, docs/data-model.md). Times are epoch milliseconds; the API renders them as ISO strings. */

export const ENGINES = ['mariadb', 'cassandra', 'greptimedb', 'generic'] as const;
export type Engine = (typeof ENGINES)[number];

export const SERVER_ROLES = ['primary', 'replica', 'member'] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

export type Health = 'unknown' | 'running' | 'down';
export type ClaimMode = 'maintenance' | 'drain';
export type OnDeadline = 'force' | 'hold';

/** `manual` (people and compat clients share it), `window:<id>` or `rollout:<id>`. */
export type Holder = string;
export const MANUAL: Holder = 'manual';
export const ROLLOUT_HOLDER_PREFIX = 'rollout:';

export interface Claim {
  mode: ClaimMode;
  force: boolean;
  reason?: string;
  actor: string;
  since: number;
  until?: number;
  /** Only for graceful maintenance: when a pending primary stops waiting for its transactions. */
  drainDeadline?: number;
  onDeadline: OnDeadline;
  /** Set by the sweeper once it has recorded that this claim expired on a down server. */
  expiryBlocked?: boolean;
}

export type Claims = Record<Holder, Claim>;

export interface Budget {
  /** Per dc; absent means the default ⌊(n−1)/2⌋ (n ≥ 3), 1 (n = 2), 0 (n = 1). */
  maxUnavailablePerDc?: number;
}

export interface Switchover {
  kind: 'switchover' | 'failover';
  from?: string;
  to: string;
  actor: string;
  requestedAt: number;
}

export interface Cluster {
  id: string;
  engine: Engine;
  budget: Budget;
  staleAfterSeconds: number;
  revision: number;
  createdAt: number;
  /** Cluster maintenance (automation paused) claims. */
  claims: Claims;
  pendingSwitchover?: Switchover;
  /** GreptimeDB's procedure manager paused (region migrations and the like): shown to HA managers. */
  proceduresPaused?: boolean;
  /** The rollout that holds the cluster's lock: one at a time, until it succeeds or is aborted. */
  rollout?: string;
}

export interface Datacenter {
  name: string;
  claims: Claims;
}

export interface Server {
  name: string;
  dc: string;
  address?: string;
  port?: number;
  role: ServerRole;
  component?: string;
  health: Health;
  connections?: number;
  openTransactions?: number;
  version?: string;
  replicationLagSeconds?: number;
  /** The last drift its agent corrected on the proxy (someone changed the server's state there by hand). */
  proxy?: string;
  reportedAt?: number;
  registeredAt: number;
  claims: Claims;
}

/** Everything in one cluster's partition: what one Query returns. */
export interface ClusterState {
  cluster: Cluster;
  dcs: ReadonlyMap<string, Datacenter>;
  servers: ReadonlyMap<string, Server>;
}

export type Target = { kind: 'cluster' } | { kind: 'dc'; name: string } | { kind: 'server'; name: string };

export const targetName = (t: Target): string => (t.kind === 'cluster' ? 'cluster' : `${t.kind}:${t.name}`);

/** Who is asking, and from where: recorded on every event. */
export interface Actor {
  user: string;
  isAdmin: boolean;
  source: string;
  requestId: string;
}

/** An audit event before the store gives it its revision and position. */
export interface EventDraft {
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  reason?: string;
  override?: boolean;
}

export interface AuditEvent extends EventDraft {
  cluster: string;
  revision: number;
  seq: number;
  at: number;
  actor: string;
  source: string;
  requestId: string;
}
