/**
 * The native API's answers as the console reads them. The cluster, server, claim and event shapes are the handlers'
 * own renderers' return types (`functions/api/render.ts`), so a field the API adds, renames or drops shows here as a
 * type error, not as a blank cell. Type imports only: nothing of the handlers reaches the bundle.
 */
import type { claimJson, clusterJson, eventJson, serverJson, verdictJson } from '../../functions/api/render.js';

export type ClaimJson = ReturnType<typeof claimJson>;
export type ServerJson = ReturnType<typeof serverJson>;
export type ClusterJson = ReturnType<typeof clusterJson>;
export type DcJson = ClusterJson['dcs'][number];
export type EventJson = ReturnType<typeof eventJson>;
/** The budget's verdict, as a dry run answers it. */
export type Verdict = NonNullable<ReturnType<typeof verdictJson>>;

/** `GET …/servers`. */
export interface ServerList {
  cluster: string;
  revision: number;
  servers: ServerJson[];
  cursor?: string;
}

/** `GET /v1/clusters`: each cluster's registration. */
export type ClusterSummary = Pick<ClusterJson, 'id' | 'engine' | 'budget' | 'staleAfterSeconds'>;

/** A mutation's dry run: the budget's verdict, and nothing changed. */
export interface DryRun {
  dryRun: true;
  changed: boolean;
  verdict: Verdict | null;
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
