/** Rolling upgrades (api-native.md, workflow.md): start, list, read, pause, resume, abort, retry and skip. */
import * as z from '../http/zod.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import * as R from '../domain/rollout.js';
import { actorOf, familyHandler, jsonBody, validate, type ApiRequest, type ApiResponse, type Deps, type Operations } from '../http/handler.js';
import { newTimeId, parseRolloutInput } from '../rollout/input.js';
import { rolloutRuntimeDeps } from '../rollout/engine-runtime.js';
import { idempotencyScope } from './mutation.js';
import { iso } from './render.js';
import { listQuery } from './schemas.js';

function rolloutsOf(deps: Deps) {
  if (!deps.rollouts) throw new DomainError('Unavailable', 'rollouts are not available in this deployment');
  return deps.rollouts;
}

export function rolloutJson(rollout: R.Rollout) {
  const { version: _v, batchesThisExecution: _b, alreadyUpgraded: _a, input, createdAt, updatedAt, failure, batch, ...rest } = rollout;
  return {
    ...rest,
    targetVersion: input.targetVersion,
    input,
    batch: { current: batch + 1, count: rollout.batchCount },
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
    ...(failure && { failure: { ...failure, at: iso(failure.at) } }),
  };
}

export function rolloutDetailJson(snapshot: R.RolloutSnapshot) {
  const batchOf = new Map<string, number>();
  snapshot.plan?.forEach((servers, i) => servers.forEach((s) => batchOf.set(s, i + 1)));
  return {
    ...rolloutJson(snapshot.rollout),
    servers: R.allNodes(snapshot).map((n) => ({
      name: n.server,
      batch: batchOf.get(n.server) ?? null,
      step: n.step,
      outcome: n.outcome,
      attempt: n.attempt,
      ...(n.reason !== undefined && { reason: n.reason }),
      ...(n.stepStartedAt !== undefined && { stepStartedAt: iso(n.stepStartedAt) }),
    })),
  };
}

type Decide = (state: ClusterState, snapshot: R.RolloutSnapshot, deps: Deps, req: ApiRequest, now: number) => R.RolloutOutcome;

/** One control: read cluster and rollout, decide, write both with the audit event; answer the rollout as left. */
async function control(req: ApiRequest, deps: Deps, decide: Decide, dryRun = false): Promise<R.RolloutSnapshot> {
  const { c: cluster, id } = req.params as { c: string; id: string };
  const result = await deps.store.mutate(cluster, (state, snapshot) => {
    if (!state) throw notFound(`cluster ${cluster}`);
    if (!snapshot) throw notFound(`rollout ${id}`);
    return decide(state, snapshot, deps, req, deps.now());
  }, { actor: actorOf(req), rollout: { id, nodes: 'all' }, dryRun, result: (o) => (o as R.RolloutOutcome).rollout, ...(!dryRun && { idempotency: idempotencyScope(req) }) });
  return result.result;
}

/** Starts an execution; if the engine cannot, the rollout is marked failed and the caller gets a 503. */
async function startExecution(req: ApiRequest, deps: Deps, cluster: string, rolloutId: string): Promise<void> {
  try {
    await rolloutsOf(deps).engine.startRollout({ cluster, rolloutId });
  } catch (error) {
    const reason = `could not start an execution: ${(error as Error).message}`;
    await deps.store.mutate(cluster, (state, snapshot) => R.failRollout(state!, snapshot!, { step: 'start', reason }, deps.now()), {
      actor: actorOf(req), rollout: { id: rolloutId, nodes: [] }, result: () => null,
    });
    throw new DomainError('Unavailable', reason);
  }
}

const ok = (snapshot: R.RolloutSnapshot, status = 200): ApiResponse => ({ status, body: rolloutDetailJson(snapshot) });

export const operations: Operations = {
  'POST /v1/clusters/{c}/rollouts': async (req, deps): Promise<ApiResponse> => {
    const cluster = req.params.c!;
    const { cluster: named, input } = parseRolloutInput(jsonBody(req, z.unknown()), rolloutsOf(deps).allow);
    if (named !== undefined && named !== cluster) throw new DomainError('InvalidInput', `body.cluster ${named} differs from the path's cluster ${cluster}`);
    const id = newTimeId(deps.now());
    const result = await deps.store.mutate(cluster, (state) => {
      if (!state) throw notFound(`cluster ${cluster}`);
      return R.createRollout(state, id, input, actorOf(req), deps.now());
    }, { actor: actorOf(req), rollout: { id, nodes: [] }, idempotency: idempotencyScope(req), result: (o) => rolloutDetailJson((o as R.RolloutOutcome).rollout) });
    if (result.replayed) return { status: 201, body: result.result, headers: { 'idempotent-replayed': 'true' } };
    await startExecution(req, deps, cluster, id);
    return { status: 201, body: result.result, headers: { location: `/v1/clusters/${cluster}/rollouts/${id}` } };
  },

  'GET /v1/clusters/{c}/rollouts': async (req, deps) => {
    const q = validate(listQuery, req.query, 'query');
    if (!(await deps.store.readClusterHeader(req.params.c!))) throw notFound(`cluster ${req.params.c}`);
    const page = await deps.store.listRollouts(req.params.c!, { limit: q.limit ?? 100, ...(q.cursor !== undefined && { cursor: q.cursor }) });
    return { status: 200, body: { rollouts: page.rollouts.map(rolloutJson), ...(page.cursor && { cursor: page.cursor }) } };
  },

  'GET /v1/clusters/{c}/rollouts/{id}': async (req, deps) => {
    const snapshot = await deps.store.readRollout(req.params.c!, req.params.id!);
    if (!snapshot) throw notFound(`rollout ${req.params.id}`);
    return ok(snapshot);
  },

  'POST /v1/clusters/{c}/rollouts/{id}/pause': async (req, deps) => ok(await control(req, deps, (s, r, _d, _q, now) => R.requestPause(s, r, now))),

  'POST /v1/clusters/{c}/rollouts/{id}/abort': async (req, deps) =>
    ok(await control(req, deps, (s, r, _d, q, now) => R.requestAbort(s, r, actorOf(q), now))),

  /** Checked here as Preflight will check it (a dry run), so a refusal is a 409 now, not a failed execution. */
  'POST /v1/clusters/{c}/rollouts/{id}/resume': async (req, deps) => {
    rolloutsOf(deps);
    const checked = await control(req, deps, (s, r, _d, q, now) => {
      R.checkResumable(r);
      return R.preflight(s, r, 'resume', actorOf(q), now);
    }, true);
    await startExecution(req, deps, req.params.c!, checked.rollout.id);
    const snapshot = await deps.store.readRollout(req.params.c!, req.params.id!);
    return ok(snapshot!, 202);
  },

  'POST /v1/clusters/{c}/rollouts/{id}/servers/{s}/retry': async (req, deps) =>
    ok(await control(req, deps, (s, r, _d, q, now) => R.retryNode(s, r, q.params.s!, now))),

  'POST /v1/clusters/{c}/rollouts/{id}/servers/{s}/skip': async (req, deps) =>
    ok(await control(req, deps, (s, r, _d, q, now) => R.skipNode(s, r, q.params.s!, actorOf(q), now))),
};

export const handler = familyHandler('rollouts', operations, rolloutRuntimeDeps);
