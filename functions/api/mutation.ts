/** The path every native mutation takes: If-Match, Idempotency-Key, dry run, one store transaction. */
import { createHash } from 'node:crypto';
import { entityTag, staleness, transitionTimes } from '../domain/derive.js';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import type { RolloutSnapshot } from '../domain/rollout/model.js';
import type { MaintenanceWindow } from '../domain/windows.js';
import type { IdempotencyScope, RolloutRead } from '../store/store.js';
import { actorOf, type ApiRequest, type ApiResponse } from '../http/handler.js';
import type { Deps } from '../deps.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function idempotencyScope(req: ApiRequest): IdempotencyScope | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw invalid('Idempotency-Key must be 1 to 255 visible ASCII characters');
  const route = `${req.route.method} ${Object.entries(req.params).reduce((p, [k, v]) => p.replace(`{${k}}`, v), req.route.path)}`;
  const query = Object.entries(req.query)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return { id: sha256(`${req.principal?.user}\n${route}\n${key}`), requestHash: sha256(`${query}\n${req.rawBody}`) };
}

export const clusterTag = (state: ClusterState, now: number) =>
  entityTag(state.cluster.revision, transitionTimes(state), now, staleness(state, now).count);

/** Whether an If-Match / If-None-Match header names `tag` (or is `*`); a weak `W/` prefix is ignored. */
export function headerMatches(header: string, tag: string): boolean {
  return header.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === tag);
}

function checkIfMatch(req: ApiRequest, state: ClusterState, now: number): void {
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && !headerMatches(ifMatch, clusterTag(state, now)))
    throw new DomainError('PreconditionFailed', 'the cluster has changed since that ETag');
}

/** The records a mutation may read with the cluster and write in the same transaction. */
export interface MutationRecords {
  rollout?: RolloutSnapshot;
  window?: MaintenanceWindow;
}

export interface MutationSpec {
  cluster: string;
  /** The domain rule; `state` is undefined only where `creates` is set. */
  rule: (state: ClusterState, now: number, records: MutationRecords) => Outcome;
  render: (outcome: Outcome, now: number) => ApiResponse;
  dryRun?: boolean;
  creates?: (now: number) => Outcome;
  source?: string;
  rollout?: RolloutRead;
  /** A window's id. */
  window?: string;
  /** What the written change sets in motion (not after a dry run or a replay); it throws to answer an error. */
  then?: (outcome: Outcome) => Promise<void>;
}

export async function mutate(req: ApiRequest, deps: Deps, spec: MutationSpec): Promise<ApiResponse> {
  const now = deps.now();
  const result = await deps.store.mutate(
    spec.cluster,
    (state, rollout, window) => {
      if (!state) {
        if (spec.creates) return spec.creates(now);
        throw notFound(`cluster ${spec.cluster}`);
      }
      checkIfMatch(req, state, now);
      return spec.rule(state, now, { ...(rollout && { rollout }), ...(window && { window }) });
    },
    {
      actor: actorOf(req, spec.source),
      dryRun: spec.dryRun ?? false,
      result: (outcome) => spec.render(outcome, now),
      ...(!spec.dryRun && { idempotency: idempotencyScope(req) }),
      ...(spec.rollout && { rollout: spec.rollout }),
      ...(spec.window !== undefined && { window: spec.window }),
    },
  );
  if (!result.replayed) {
    if (!spec.dryRun) await spec.then?.(result.outcome);
    return result.result;
  }
  return { ...result.result, headers: { ...result.result.headers, 'idempotent-replayed': 'true' } };
}
