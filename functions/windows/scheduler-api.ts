/**
 * The EventBridge Scheduler calls the windows make (CreateSchedule, UpdateSchedule, DeleteSchedule, ListSchedules) without the
 * SDK's client and its REST-JSON protocol code (≈ 30 KB of the windows and window bundles): `aws-fetch.ts`. The
 * requests are the SDK's: the same paths, bodies (timestamps in epoch seconds) and idempotency tokens.
 */
import { randomUUID } from 'node:crypto';
import { awsFetch, type AwsClientConfig, type AwsRequest } from '../aws-fetch.js';

const SCHEDULER = { signingName: 'scheduler', endpointEnv: 'SCHEDULER' } as const;

/** CreateSchedule's and UpdateSchedule's input, as far as the windows use it (the SDK's field names). */
export interface ScheduleInput {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: Date;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  State?: 'ENABLED' | 'DISABLED';
  Description?: string;
  ActionAfterCompletion?: 'NONE' | 'DELETE';
  Target: { Arn: string; RoleArn: string; Input?: string };
}

const schedulePath = (name: string) => `/schedules/${encodeURIComponent(name)}`;

export class SchedulerApi {
  /** By default the function's region and credentials, as `new SchedulerClient({})`. */
  constructor(private readonly config: AwsClientConfig = {}) {}

  private async send(request: AwsRequest): Promise<void> {
    const res = await awsFetch(SCHEDULER, this.config, request);
    await res.body?.cancel();
  }

  /** ListSchedules, every page: the names of the group's schedules that start with `namePrefix`. */
  async listScheduleNames(input: { GroupName: string; NamePrefix: string }): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({
        ScheduleGroup: input.GroupName,
        NamePrefix: input.NamePrefix,
        MaxResults: '100',
        ...(token && { NextToken: token }),
      });
      const res = await awsFetch(SCHEDULER, this.config, { method: 'GET', path: `/schedules?${query}` });
      const page = (await res.json()) as { Schedules?: { Name: string }[]; NextToken?: string };
      names.push(...(page.Schedules ?? []).map((schedule) => schedule.Name));
      token = page.NextToken;
    } while (token);
    return names;
  }

  private write(method: 'POST' | 'PUT', { Name, StartDate, ...input }: ScheduleInput): Promise<void> {
    const body = { ...input, ...(StartDate && { StartDate: StartDate.getTime() / 1000 }), ClientToken: randomUUID() };
    return this.send({
      method,
      path: schedulePath(Name),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  createSchedule(input: ScheduleInput): Promise<void> {
    return this.write('POST', input);
  }

  updateSchedule(input: ScheduleInput): Promise<void> {
    return this.write('PUT', input);
  }

  deleteSchedule(input: { Name: string; GroupName: string }): Promise<void> {
    const query = new URLSearchParams({ groupName: input.GroupName, clientToken: randomUUID() });
    return this.send({ method: 'DELETE', path: `${schedulePath(input.Name)}?${query}` });
  }
}
