/** Starting the execution a rollout has claimed in advance (the API's start and resume, a window's start). */
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../domain/model.js';
import { noop } from '../domain/outcome.js';
import { failRollout } from '../domain/rollout/lifecycle.js';
import type { Deps } from '../deps.js';

export interface Reservation {
  cluster: string;
  rolloutId: string;
  /** The execution's name; the rollout already records the id it will have. */
  name: string;
}

/** Starts it; if the engine cannot, the rollout fails, saying why, and the caller gets a 503. */
export async function startReserved(
  deps: Pick<Deps, 'store' | 'now' | 'rollouts'>,
  { cluster, rolloutId, name }: Reservation,
  actor: Actor,
): Promise<void> {
  const engine = deps.rollouts?.engine;
  if (!engine) throw new DomainError('Unavailable', 'rollouts are not available in this deployment');
  try {
    await engine.startRollout({ cluster, rolloutId }, name);
  } catch (error) {
    const reason = `could not start an execution: ${(error as Error).message}`;
    const reserved = engine.executionId(name);
    await deps.store.mutate(
      cluster,
      (state, snapshot) => {
        // Only while the reservation is still the rollout's latest: anything since has superseded it.
        if (!state || snapshot?.rollout.executions.at(-1) !== reserved) return noop(state!);
        return failRollout(state, snapshot, { step: 'start', reason }, deps.now());
      },
      { actor, rollout: { id: rolloutId, nodes: [] }, result: () => null },
    );
    throw new DomainError('Unavailable', reason);
  }
}
