/**
 * Module-scope wiring of the window functions on Lambda: the API's scheduler adapter and the window function
 * Scheduler invokes. Kept apart so the other families' bundles do not carry the Scheduler client.
 */
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Deps } from '../http/handler.js';
import { rolloutRuntimeDeps } from '../rollout/runtime.js';
import { runWindowPhase } from './phase.js';
import { EventBridgeWindowScheduler, type WindowPhaseInput } from './scheduler.js';

let deps: Deps | undefined;

/** The API's deps plus the Scheduler adapter, when the stack gives the schedule group, target and role. */
export function windowRuntimeDeps(): Deps {
  const { WINDOW_SCHEDULE_GROUP: groupName, WINDOW_FUNCTION_ARN: targetArn, WINDOW_SCHEDULER_ROLE_ARN: roleArn } = process.env;
  deps ??= { ...rolloutRuntimeDeps(), ...(groupName && targetArn && roleArn && { windows: new EventBridgeWindowScheduler(new SchedulerClient({}), { groupName, targetArn, roleArn }) }) };
  return deps;
}

/** The window function: one phase of one occurrence. */
export const handler = (input: WindowPhaseInput) => {
  const d = windowRuntimeDeps();
  return runWindowPhase({ ...d, ...(d.windows && { scheduler: d.windows }) }, input);
};
