/** The path every native mutation takes: If-Match, Idempotency-Key, dry run, one store transaction. */
import { createHash } from 'node:crypto';
import { entityTag, transitionTimes } from '../domain/derive.js';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import type { IdempotencyScope } from '../store/store.js';
import { actorOf, type ApiRequest, type ApiResponse, type Deps } from '../http/handler.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function idempotencyScope(req: ApiRequest): IdempotencyScope | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw invalid('Idempotency-Key must be 1 to 255 visible ASCII characters');
  const route = `${req.route.method} ${Object.entries(req.params).reduce((p, [k, v]) => p.replace(`{${k}}`, v), req.route.path)}`;
  const query = Object.entries(req.query).sort().map(([k, v]) => `${k}=${v}`).join('&');
  return { id: sha256(`${req.principal?.user}\n${route}\n${key}`), requestHash: sha256(`${query}\n${req.rawBody}`) };
}

export const clusterTag = (state: ClusterState, now: number) => entityTag(state.cluster.revision, transitionTimes(state), now);

/** Whether an If-Match / If-None-Match header names `tag` (or is `*`); a weak `W/` prefix is ignored. */
export function headerMatches(header: string, tag: string): boolean {
  return header.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === tag);
}

function checkIfMatch(req: ApiRequest, state: ClusterState, now: number): void {
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && !headerMatches(ifMatch, clusterTag(state, now))) throw new DomainError('PreconditionFailed', 'the cluster has changed since that ETag');
}

export interface MutationSpec {
  cluster: string;
  /** The domain rule; `state` is undefined only where `creates` is set. */
  rule: (state: ClusterState, now: number) => Outcome;
  render: (outcome: Outcome, now: number) => ApiResponse;
  dryRun?: boolean;
  creates?: (now: number) => Outcome;
  source?: string;
}

export async function mutate(req: ApiRequest, deps: Deps, spec: MutationSpec): Promise<ApiResponse> {
  const now = deps.now();
  const result = await deps.store.mutate(
    spec.cluster,
    (state) => {
      if (!state) {
        if (spec.creates) return spec.creates(now);
        throw notFound(`cluster ${spec.cluster}`);
      }
      checkIfMatch(req, state, now);
      return spec.rule(state, now);
    },
    {
      actor: actorOf(req, spec.source),
      dryRun: spec.dryRun ?? false,
      result: (outcome) => spec.render(outcome, now),
      ...(!spec.dryRun && { idempotency: idempotencyScope(req) }),
    },
  );
  if (!result.replayed) return result.result;
  return { ...result.result, headers: { ...result.result.headers, 'idempotent-replayed': 'true' } };
}
