/** The parts of the native API's answers the console reads (functions/api/render.ts and the route modules). */
import type { Verdict } from '../../functions/domain/budget.js';

export interface ClaimJson {
  holder: string;
  scope?: 'server' | 'dc';
  mode: 'maintenance' | 'drain';
  force: boolean;
  reason?: string;
  actor?: string;
  since?: string;
  until?: string;
}

export interface ServerJson {
  name: string;
  dc: string;
  address?: string;
  port?: number;
  role: string;
  component?: string;
  state: string;
  health: string;
  maintenance: boolean;
  pending: boolean;
  routable: boolean;
  electable: boolean;
  stale: boolean;
  connections?: number;
  openTransactions?: number;
  version?: string;
  replicationLagSeconds?: number;
  reportedAt?: string;
  claims: ClaimJson[];
}

export interface ServerList {
  cluster: string;
  revision: number;
  servers: ServerJson[];
}

export interface ClusterSummary {
  id: string;
  engine: string;
  budget: { maxUnavailablePerDc?: number };
}

export interface DcJson {
  name: string;
  servers: number;
  unavailable: string[];
  maintenance: boolean;
  claims: ClaimJson[];
}

export interface ClusterJson extends ClusterSummary {
  revision: number;
  maintenance: { paused: boolean; claims: ClaimJson[] };
  servers: number;
  dcs: DcJson[];
}

/** The budget's verdict, as the API sends it (the domain's own type). */
export type { Verdict };

export interface DryRun {
  dryRun: true;
  changed: boolean;
  verdict?: Verdict | null;
}

export type RolloutStatus = 'running' | 'pausing' | 'paused' | 'aborting' | 'aborted' | 'failed' | 'succeeded';

export interface RolloutJson {
  id: string;
  status: RolloutStatus;
  targetVersion: string;
  actor: string;
  batch: { current: number; count: number };
  createdAt: string;
  updatedAt: string;
  failure?: { server?: string; step: string; reason: string; at: string };
  input: { batchSize: number; drainTimeoutSeconds: number; upgrade: { kind: string }; pauseAfterFirstBatch: boolean };
}

export interface RolloutNodeJson {
  name: string;
  batch: number | null;
  step: string;
  outcome: string;
  attempt: number;
  reason?: string;
}

export interface RolloutDetailJson extends RolloutJson {
  servers: RolloutNodeJson[];
}

export interface Zoned {
  local: string;
  utc: string;
}

export interface WindowJson {
  id: string;
  name: string;
  schedule: string;
  timezone: string;
  duration: string;
  action: string;
  targets: { servers: string[]; dcs: string[] };
  reason?: string;
  enabled: boolean;
  next: { start: Zoned; end: Zoned }[];
}

export interface EventJson {
  revision: number;
  seq: number;
  at: string;
  action: string;
  target: string;
  actor: string;
  source: string;
  reason?: string;
}
