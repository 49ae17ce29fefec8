/**
 * The EventBridge Scheduler adapter on Lambda, when the stack gives the schedule group, target and role: for the
 * windows API (which writes schedules) and the window function (which schedules each occurrence's end).
 */
import { EventBridgeWindowScheduler } from './scheduler.js';
import { SchedulerApi } from './scheduler-api.js';

let scheduler: EventBridgeWindowScheduler | null | undefined;

export function schedulerFromEnv(): EventBridgeWindowScheduler | undefined {
  const {
    WINDOW_SCHEDULE_GROUP: groupName,
    WINDOW_FUNCTION_ARN: targetArn,
    WINDOW_SCHEDULER_ROLE_ARN: roleArn,
  } = process.env;
  scheduler ??=
    groupName && targetArn && roleArn
      ? new EventBridgeWindowScheduler(new SchedulerApi(), { groupName, targetArn, roleArn })
      : null;
  return scheduler ?? undefined;
}
