/**
 * A rollout as the API renders it (`GET …/rollouts`, `…/rollouts/{id}`), apart from its handler so that the console
 * can take its type without the handler's imports (node, the store, Step Functions).
 */
import { allNodes, type Rollout, type RolloutSnapshot } from '../domain/rollout/model.js';
import { iso } from './render.js';
import type { RolloutDetailJson, RolloutJson } from './responses.js';

export function rolloutJson(rollout: Rollout): RolloutJson {
  const {
    version: _v,
    batchesThisExecution: _b,
    alreadyUpgraded: _a,
    input,
    createdAt,
    updatedAt,
    failure,
    batch,
    ...rest
  } = rollout;
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

export function rolloutDetailJson(snapshot: RolloutSnapshot): RolloutDetailJson {
  const batchOf = new Map<string, number>();
  for (const [i, servers] of (snapshot.plan ?? []).entries()) for (const s of servers) batchOf.set(s, i + 1);
  return {
    ...rolloutJson(snapshot.rollout),
    servers: allNodes(snapshot).map((n) => ({
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
