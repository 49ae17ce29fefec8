/**
 * Where windows are scheduled: on AWS one recurring EventBridge Scheduler schedule per window (its start) and
 * a one-off `at()` schedule per occurrence (its end), created by the start; locally `local/scheduler.ts`
 * computes the same instants from the window records.
 */
import { createHash } from 'node:crypto';
import { compileSchedule, occurrencesAfter } from '../domain/schedule.js';
import { zonedInstant } from '../domain/zone.js';
import type { MaintenanceWindow, WindowPhase } from '../domain/windows.js';
import type { ScheduleInput, SchedulerApi } from './scheduler-api.js';

export interface WindowScheduler {
  /** Creates or replaces the window's recurring start schedule. */
  upsert(window: MaintenanceWindow): Promise<void>;
  remove(window: MaintenanceWindow): Promise<void>;
  /** The end of the occurrence that started at `scheduledTime`. */
  scheduleEnd(window: MaintenanceWindow, scheduledTime: number): Promise<void>;
  /**
   * Makes the schedules match the stored windows (all of them, every cluster, as `storedWindows` reads them): a
   * window without its start schedule gets it (a redeploy recreated the group empty), a schedule of no stored window
   * goes (its cluster or window was removed, and the delete of its schedule was lost).
   */
  reconcile(storedWindows: () => Promise<MaintenanceWindow[]>): Promise<{ created: number; deleted: number }>;
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

/**
 * The StartDate to send. Scheduler refuses one more than 5 minutes old ("The StartDate you specify cannot be
 * earlier than 5 minutes ago"), yet a window keeps its startDate forever: a `rate()` window is sent the first
 * instant of its rhythm not yet past (the rhythm kept, no occurrence dropped), a `cron()` window its startDate
 * only while it is still to come (once past it limits nothing).
 */
function startDateToSend(window: MaintenanceWindow, now: number): Date | undefined {
  if (!window.startDate) return undefined;
  const schedule = compileSchedule(window.schedule, window.timezone, window.startDate);
  if (schedule.kind === 'rate') return new Date(occurrencesAfter(schedule, window.timezone, now - 1, 1)[0]!);
  // A startDate without an offset is a local time in the window's zone (as parseSchedule reads it), not the host's.
  const start = zonedInstant(window.startDate, window.timezone) ?? Number.NaN;
  return start > now ? new Date(start) : undefined;
}

/** The start schedules and the occurrences' end schedules are all named `mw-…`; the group holds nothing else. */
const SCHEDULE_PREFIX = 'mw-';
const START_NAME = /^mw-[0-9a-f]{40}$/;

export class EventBridgeWindowScheduler implements WindowScheduler {
  constructor(
    private readonly client: SchedulerApi,
    private readonly config: EventBridgeSchedulerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private input(window: MaintenanceWindow, phase: WindowPhase, scheduledTime: string): string {
    const input: WindowPhaseInput = { cluster: window.cluster, windowId: window.id, phase, scheduledTime };
    return JSON.stringify(input);
  }

  private startSchedule(window: MaintenanceWindow): ScheduleInput {
    const startDate = startDateToSend(window, this.now());
    return {
      Name: scheduleName(window),
      GroupName: this.config.groupName,
      ScheduleExpression: window.schedule,
      ScheduleExpressionTimezone: window.timezone,
      ...(startDate && { StartDate: startDate }),
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: window.enabled ? 'ENABLED' : 'DISABLED',
      Description: `maintctl window ${window.cluster}/${window.id} (${window.name})`.slice(0, 512),
      Target: {
        Arn: this.config.targetArn,
        RoleArn: this.config.roleArn,
        Input: this.input(window, 'start', '<aws.scheduler.scheduled-time>'),
      },
    };
  }

  async upsert(window: MaintenanceWindow): Promise<void> {
    const request = this.startSchedule(window);
    try {
      await this.client.createSchedule(request);
    } catch (error) {
      if ((error as Error).name !== 'ConflictException') throw error;
      await this.client.updateSchedule(request);
    }
  }

  remove(window: MaintenanceWindow): Promise<void> {
    return this.deleteIfPresent(scheduleName(window));
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
        Target: {
          Arn: this.config.targetArn,
          RoleArn: this.config.roleArn,
          Input: this.input(window, 'end', new Date(scheduledTime).toISOString()),
        },
      });
    } catch (error) {
      // A repeated start delivery: the end is scheduled already.
      if ((error as Error).name !== 'ConflictException') throw error;
    }
  }

  async reconcile(storedWindows: () => Promise<MaintenanceWindow[]>): Promise<{ created: number; deleted: number }> {
    // The schedules before the windows: a window saved meanwhile is then stored without its schedule listed (created
    // again, harmlessly), never listed without being stored (its schedule deleted).
    const listed = new Set(
      await this.client.listScheduleNames({ GroupName: this.config.groupName, NamePrefix: SCHEDULE_PREFIX }),
    );
    const stored = new Map((await storedWindows()).map((w) => [scheduleName(w), w]));
    const storedPrefixes = new Set([...stored.keys()].map((name) => name.slice(0, 35)));
    let created = 0;
    let deleted = 0;
    for (const [name, window] of stored) {
      if (listed.has(name)) continue;
      try {
        await this.client.createSchedule(this.startSchedule(window));
        created++;
      } catch (error) {
        // Written meanwhile by a save of the window, which knows better: kept as it is.
        if ((error as Error).name !== 'ConflictException') throw error;
      }
    }
    for (const name of listed) {
      // An end schedule belongs to the window whose start schedule's name it begins with.
      const orphan = START_NAME.test(name) ? !stored.has(name) : !storedPrefixes.has(name.slice(0, 35));
      if (!orphan) continue;
      await this.deleteIfPresent(name);
      deleted++;
    }
    return { created, deleted };
  }

  private async deleteIfPresent(name: string): Promise<void> {
    try {
      await this.client.deleteSchedule({ Name: name, GroupName: this.config.groupName });
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    }
  }
}
