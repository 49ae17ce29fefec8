/**
 * Module-scope wiring of the window function Scheduler invokes with each phase of an occurrence: the rollout engine
 * (a rollout window starts or resumes its rollout) and the Scheduler adapter (each start schedules its end).
 */
import type { Deps } from '../deps.js';
import { rolloutRuntimeDeps } from '../rollout/engine-runtime.js';
import { log } from '../telemetry.js';
import { runWindowPhase } from './phase.js';
import { schedulerFromEnv } from './scheduler-runtime.js';
import type { WindowPhaseInput } from './scheduler.js';

let deps: Deps | undefined;

/** The window function: one phase of one occurrence. */
export const handler = async (input: WindowPhaseInput) => {
  const scheduler = schedulerFromEnv();
  deps ??= { ...rolloutRuntimeDeps(), ...(scheduler && { windows: scheduler }) };
  const result = await runWindowPhase({ ...deps, ...(deps.windows && { scheduler: deps.windows }) }, input);
  const { cluster, windowId, phase, scheduledTime } = input;
  log('info', 'window phase', { cluster, window: windowId, phase, scheduledTime, ...result });
  return result;
};
