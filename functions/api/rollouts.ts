/** Rolling upgrades (README "API reference", docs/workflow.md): start, list, read, pause, resume, abort, retry and skip. */
import * as z from '../zod.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import { requestAbort, requestPause, resumeRollout, retryNode, skipNode } from '../domain/rollout/controls.js';
import { createAndClaim } from '../domain/rollout/lifecycle.js';
import type { RolloutOutcome, RolloutSnapshot } from '../domain/rollout/model.js';
import { reportUpgradeFailure } from '../domain/rollout/node-steps.js';
import type { Outcome } from '../domain/outcome.js';
import {
  actorOf,
  familyHandler,
  jsonBody,
  type ApiRequest,
  type ApiResponse,
  type Operation,
  type Operations,
} from '../http/handler.js';
import type { Deps } from '../deps.js';
import { validate } from '../validate.js';
import { executionName } from '../rollout/engine.js';
import { newTimeId, parseRolloutInput } from '../rollout/input.js';
import { rolloutRuntimeDeps } from '../rollout/engine-runtime.js';
import { startReserved } from '../rollout/start.js';
import { mutate } from './mutation.js';
import { rolloutDetailJson, rolloutJson } from './render-rollouts.js';
import { listQuery } from './list-query.js';

function rolloutsOf(deps: Deps) {
  if (!deps.rollouts) throw new DomainError('Unavailable', 'rollouts are not available in this deployment');
  return deps.rollouts;
}

/** Here, not in schemas.ts: the rollouts bundle stays under P4's 300 KB without the other bodies. */
export const upgradeFailureBody = z.strictObject({ reason: z.string().check(z.minLength(1), z.maxLength(2000)) });

type Control = (state: ClusterState, snapshot: RolloutSnapshot, req: ApiRequest, now: number) => RolloutOutcome;

const requireRollout = (snapshot: RolloutSnapshot | undefined, id: string) => {
  if (!snapshot) throw notFound(`rollout ${id}`);
  return snapshot;
};

/** The rollout as a change leaves it. */
const answer =
  (status: number) =>
  (outcome: Outcome): ApiResponse => ({ status, body: rolloutDetailJson((outcome as RolloutOutcome).rollout) });

/** One control of a rollout, through the one mutation path (If-Match, Idempotency-Key, one transaction). */
function control(decide: Control): Operation {
  return (req, deps) => {
    const { c: cluster, id } = req.params as { c: string; id: string };
    return mutate(req, deps, {
      cluster,
      rollout: { id, nodes: 'all' },
      rule: (state, now, { rollout }) => decide(state, requireRollout(rollout, id), req, now),
      render: answer(200),
    });
  };
}

/** A new execution's name, reserved in the rollout by the same transaction that decides it may run. */
function reserve(deps: Deps, rolloutId: string) {
  const { engine } = rolloutsOf(deps);
  const name = executionName(rolloutId, deps.now());
  return { name, id: engine.executionId(name) };
}

export const operations: Operations = {
  'POST /v1/clusters/{c}/rollouts': async (req, deps): Promise<ApiResponse> => {
    const cluster = req.params.c!;
    const { cluster: named, input } = parseRolloutInput(jsonBody(req, z.unknown()), rolloutsOf(deps).allow);
    if (named !== undefined && named !== cluster)
      throw new DomainError('InvalidInput', `body.cluster ${named} differs from the path's cluster ${cluster}`);
    const id = newTimeId(deps.now());
    const execution = reserve(deps, id);
    return mutate(req, deps, {
      cluster,
      rollout: { id, nodes: [] },
      rule: (state, now, { rollout }) => {
        if (rollout) throw new DomainError('Conflict', `rollout ${id} exists already: try again`);
        return createAndClaim(state, id, input, execution.id, actorOf(req), now);
      },
      render: (outcome) => ({
        ...answer(201)(outcome),
        headers: { location: `/v1/clusters/${cluster}/rollouts/${id}` },
      }),
      then: () => startReserved(deps, { cluster, rolloutId: id, name: execution.name }, actorOf(req)),
    });
  },

  'GET /v1/clusters/{c}/rollouts': async (req, deps) => {
    const q = validate(listQuery, req.query, 'query');
    if (!(await deps.store.readClusterHeader(req.params.c!))) throw notFound(`cluster ${req.params.c}`);
    const page = await deps.store.listRollouts(req.params.c!, {
      limit: q.limit ?? 100,
      ...(q.cursor !== undefined && { cursor: q.cursor }),
    });
    return {
      status: 200,
      body: { rollouts: page.rollouts.map(rolloutJson), ...(page.cursor && { cursor: page.cursor }) },
    };
  },

  'GET /v1/clusters/{c}/rollouts/{id}': async (req, deps) => {
    const snapshot = requireRollout(await deps.store.readRollout(req.params.c!, req.params.id!), req.params.id!);
    return { status: 200, body: rolloutDetailJson(snapshot) };
  },

  'POST /v1/clusters/{c}/rollouts/{id}/pause': control((s, r, _q, now) => requestPause(s, r, now)),

  'POST /v1/clusters/{c}/rollouts/{id}/abort': control((s, r, q, now) => requestAbort(s, r, actorOf(q), now)),

  /**
   * The rollout is claimed for a new execution in the same transaction that checks it may resume, so of two
   * resumes at once one starts an execution and the other is refused (409).
   */
  'POST /v1/clusters/{c}/rollouts/{id}/resume': async (req, deps) => {
    const { c: cluster, id } = req.params as { c: string; id: string };
    const execution = reserve(deps, id);
    return mutate(req, deps, {
      cluster,
      rollout: { id, nodes: 'all' },
      rule: (state, now, { rollout }) =>
        resumeRollout(state, requireRollout(rollout, id), execution.id, actorOf(req), now),
      render: answer(202),
      then: () => startReserved(deps, { cluster, rolloutId: id, name: execution.name }, actorOf(req)),
    });
  },

  'POST /v1/clusters/{c}/rollouts/{id}/servers/{s}/retry': control((s, r, q, now) => retryNode(s, r, q.params.s!, now)),

  'POST /v1/clusters/{c}/rollouts/{id}/servers/{s}/skip': control((s, r, q, now) =>
    skipNode(s, r, q.params.s!, actorOf(q), now),
  ),

  /** The agent that ran a `wait-for-report` upgrade says it failed; the node fails with its reason. */
  'POST /v1/clusters/{c}/rollouts/{id}/servers/{s}/upgrade-failure': control((s, r, q, now) =>
    reportUpgradeFailure(s, r, q.params.s!, jsonBody(q, upgradeFailureBody).reason, now),
  ),
};

export const handler = familyHandler('rollouts', operations, rolloutRuntimeDeps);
