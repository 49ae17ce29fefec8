/**
 * Where windows are scheduled: on AWS one recurring EventBridge Scheduler schedule per window (its start) and
 * a one-off `at()` schedule per occurrence (its end), created by the start; locally `local/scheduler.ts`
 * computes the same instants from the window records.
 */
import { createHash } from 'node:crypto';
import { zonedInstant } from '../domain/zone.js';
import type { MaintenanceWindow, WindowPhase } from '../domain/windows.js';
import type { ScheduleInput, SchedulerApi } from './scheduler-api.js';

export interface WindowScheduler {
  /** Creates or replaces the window's recurring start schedule. */
  upsert(window: MaintenanceWindow): Promise<void>;
  remove(window: MaintenanceWindow): Promise<void>;
  /** The end of the occurrence that started at `scheduledTime`. */
  scheduleEnd(window: MaintenanceWindow, scheduledTime: number): Promise<void>;
}

/** What the window function receives (Scheduler fills in the scheduled time). */
export interface WindowPhaseInput {
  cluster: string;
  windowId: string;
  phase: WindowPhase;
  scheduledTime: string;
}

export interface EventBridgeSchedulerConfig {
  groupName: string;
  /** The window function, and the role Scheduler assumes to invoke it. */
  targetArn: string;
  roleArn: string;
}

/** Schedule names are limited to 64 characters: a hash of the cluster and window id. */
export const scheduleName = (window: Pick<MaintenanceWindow, 'cluster' | 'id'>) =>
  `mw-${createHash('sha256').update(`${window.cluster}/${window.id}`).digest('hex').slice(0, 40)}`;
export const endScheduleName = (window: Pick<MaintenanceWindow, 'cluster' | 'id'>, scheduledTime: number) =>
  `${scheduleName(window).slice(0, 35)}-end-${scheduledTime.toString(36)}`;

/** `at()` takes a local date-time without zone: the end is written in UTC. */
const atExpression = (t: number) => `at(${new Date(t).toISOString().slice(0, 19)})`;

export class EventBridgeWindowScheduler implements WindowScheduler {
  constructor(private readonly client: SchedulerApi, private readonly config: EventBridgeSchedulerConfig) {}

  private input(window: MaintenanceWindow, phase: WindowPhase, scheduledTime: string): string {
    const input: WindowPhaseInput = { cluster: window.cluster, windowId: window.id, phase, scheduledTime };
    return JSON.stringify(input);
  }

  async upsert(window: MaintenanceWindow): Promise<void> {
    const request: ScheduleInput = {
      Name: scheduleName(window),
      GroupName: this.config.groupName,
      ScheduleExpression: window.schedule,
      ScheduleExpressionTimezone: window.timezone,
      // A startDate without an offset is a local time in the window's zone (as parseSchedule reads it), not the host's.
      ...(window.startDate && { StartDate: new Date(zonedInstant(window.startDate, window.timezone) ?? Number.NaN) }),
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: window.enabled ? 'ENABLED' : 'DISABLED',
      Description: `maintctl window ${window.cluster}/${window.id} (${window.name})`.slice(0, 512),
      Target: { Arn: this.config.targetArn, RoleArn: this.config.roleArn, Input: this.input(window, 'start', '<aws.scheduler.scheduled-time>') },
    };
    try {
      await this.client.createSchedule(request);
    } catch (error) {
      if ((error as Error).name !== 'ConflictException') throw error;
      await this.client.updateSchedule(request);
    }
  }

  async remove(window: MaintenanceWindow): Promise<void> {
    try {
      await this.client.deleteSchedule({ Name: scheduleName(window), GroupName: this.config.groupName });
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  }

  async scheduleEnd(window: MaintenanceWindow, scheduledTime: number): Promise<void> {
    try {
      await this.client.createSchedule({
        Name: endScheduleName(window, scheduledTime),
        GroupName: this.config.groupName,
        ScheduleExpression: atExpression(scheduledTime + window.durationMs),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: this.config.targetArn, RoleArn: this.config.roleArn, Input: this.input(window, 'end', new Date(scheduledTime).toISOString()) },
      });
    } catch (error) {
      // A repeated start delivery: the end is scheduled already.
      if ((error as Error).name !== 'ConflictException') throw error;
    }
  }
}
