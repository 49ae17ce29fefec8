/**
 * Module-scope wiring of the rollout engine on Lambda (Step Functions), for the functions that start executions or
 * read their status: the rollouts API, the window function and the sweeper. Kept apart from `runtime.ts` so that
 * only they carry the Step Functions calls, and the task function does not.
 */
import type { Deps } from '../deps.js';
import { runtimeDeps } from '../runtime.js';
import { StepFunctionsEngine } from './engine.js';
import { allowlistFromEnv } from './allowlist.js';

let withRollouts: Deps | undefined;

/** The API's deps plus the rollout engine, when the stack gives the state machine's ARN. */
export function rolloutRuntimeDeps(): Deps {
  const arn = process.env.ROLLOUT_STATE_MACHINE_ARN;
  withRollouts ??= {
    ...runtimeDeps(),
    ...(arn && { rollouts: { engine: new StepFunctionsEngine(arn), allow: allowlistFromEnv() } }),
  };
  return withRollouts;
}
