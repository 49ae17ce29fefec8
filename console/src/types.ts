/**
 * The native API's answers as the console reads them: the handlers' own renderers' return types
 * (`functions/api/render.ts`, `render-rollouts.ts`, `render-windows.ts`), so a field the API adds, renames or
 * drops shows here as a type error, not as a blank cell. Type imports only: nothing of the handlers is bundled.
 */
import type { claimJson, clusterJson, eventJson, serverJson, verdictJson } from '../../functions/api/render.js';
import type { rolloutDetailJson, rolloutJson } from '../../functions/api/render-rollouts.js';
import type { windowJson } from '../../functions/api/render-windows.js';

export type ClaimJson = ReturnType<typeof claimJson>;
export type ServerJson = ReturnType<typeof serverJson>;
export type ClusterJson = ReturnType<typeof clusterJson>;
export type EventJson = ReturnType<typeof eventJson>;
/** The budget's verdict, as a dry run answers it. */
type Verdict = NonNullable<ReturnType<typeof verdictJson>>;

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

export type RolloutJson = ReturnType<typeof rolloutJson>;
export type RolloutDetailJson = ReturnType<typeof rolloutDetailJson>;
export type RolloutStatus = RolloutJson['status'];

export type WindowJson = ReturnType<typeof windowJson>;
