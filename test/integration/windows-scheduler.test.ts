/**
 * windows/scheduler.ts on the wire: EventBridgeWindowScheduler's requests as its SchedulerApi (aws-fetch.ts) sends
 * them (written against the SDK's SchedulerClient, which it replaced: the same requests) to a local HTTP server
 * standing in for the EventBridge Scheduler API (REST-JSON: CreateSchedule is POST /schedules/{Name},
 * UpdateSchedule PUT /schedules/{Name}, DeleteSchedule DELETE /schedules/{Name}?groupName=...).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from '../../functions/domain/windows.js';
import {
  endScheduleName,
  EventBridgeWindowScheduler,
  scheduleName,
  type WindowPhaseInput,
} from '../../functions/windows/scheduler.js';
import { SchedulerApi } from '../../functions/windows/scheduler-api.js';
import { runSweep } from '../../functions/sweeper.js';
import { httpEnv, seedCluster, type HttpEnv } from '../support/env.js';
import { recordingServer, type RecordingServer } from '../support/recording-server.js';

const HOUR = 3_600_000;
const GROUP = 'maintctl-windows';
const TARGET_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:maintctl-window';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/maintctl-scheduler';
const SCHEDULE_ARN = 'arn:aws:scheduler:eu-west-1:123456789012:schedule/g/n';

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}
const awsError = (status: number, type: string, message: string): Reply => ({
  status,
  headers: { 'x-amzn-errortype': type },
  body: JSON.stringify({ Message: message }),
});
const conflict = () => awsError(409, 'ConflictException', 'exists');
const notFound = () => awsError(404, 'ResourceNotFoundException', 'Schedule not found');
const validation = () => awsError(400, 'ValidationException', 'Invalid Schedule Expression');
/** As Scheduler: a create or update whose StartDate is more than 5 minutes old is refused. */
const staleStart = (req: Recorded, now = Date.now()) =>
  (req.method === 'POST' || req.method === 'PUT') &&
  typeof req.body?.StartDate === 'number' &&
  req.body.StartDate * 1000 < now - 5 * 60_000;
const ok = (req: Recorded): Reply =>
  staleStart(req)
    ? awsError(400, 'ValidationException', 'The StartDate you specify cannot be earlier than 5 minutes ago.')
    : { status: 200, body: req.method === 'DELETE' ? '{}' : JSON.stringify({ ScheduleArn: SCHEDULE_ARN }) };

/** A schedule group that keeps what is written to it: 409 on a second create, 404 on a missing one, ListSchedules in pages of 2. */
function statefulGroup(names: string[] = []) {
  const group = new Set(names);
  const respond = (req: Recorded): Reply => {
    const name = req.path.slice('/schedules/'.length);
    if (req.method === 'GET') {
      const matching = [...group].filter((n) => n.startsWith(req.query.get('NamePrefix') ?? '')).sort();
      const from = Number(req.query.get('NextToken') ?? 0);
      const page = matching.slice(from, from + Math.min(2, Number(req.query.get('MaxResults') ?? 100)));
      const next = from + page.length < matching.length ? { NextToken: String(from + page.length) } : {};
      return {
        status: 200,
        body: JSON.stringify({
          Schedules: page.map((Name) => ({ Name, GroupName: req.query.get('ScheduleGroup') })),
          ...next,
        }),
      };
    }
    if (staleStart(req)) return ok(req);
    if (req.method === 'POST') {
      if (group.has(name)) return conflict();
      group.add(name);
      return ok(req);
    }
    if (req.method === 'PUT') return group.has(name) ? ok(req) : notFound();
    return group.delete(name) ? ok(req) : notFound();
  };
  return { group, respond };
}

let server: RecordingServer;
let requests: Recorded[] = [];
let respond: (req: Recorded) => Reply = ok;
let scheduler: EventBridgeWindowScheduler;
let client: SchedulerApi;

beforeAll(async () => {
  server = await recordingServer((req) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const recorded: Recorded = {
      method: req.method,
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      headers: req.headers,
      body: req.body ? (JSON.parse(req.body) as Record<string, unknown>) : undefined,
    };
    requests.push(recorded);
    const reply = respond(recorded);
    return { ...reply, headers: { 'content-type': 'application/json', ...reply.headers } };
  });
  client = new SchedulerApi({
    endpoint: server.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  scheduler = new EventBridgeWindowScheduler(client, { groupName: GROUP, targetArn: TARGET_ARN, roleArn: ROLE_ARN });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  requests = [];
  respond = ok;
});

function window(overrides: Partial<MaintenanceWindow> = {}): MaintenanceWindow {
  return {
    id: '01JD5YV2W3X4Y5Z6A7B8C9D0EF',
    cluster: 'prod-mariadb',
    name: 'sunday-patch',
    schedule: 'cron(0 2 ? * SUN *)',
    timezone: 'Europe/Berlin',
    duration: 'PT2H',
    durationMs: 2 * HOUR,
    action: 'maintenance',
    targets: { servers: ['db2'], dcs: [] },
    reason: 'kernel patching',
    enabled: true,
    actor: 'alice',
    createdAt: Date.parse('2027-01-01T00:00:00Z'),
    updatedAt: Date.parse('2027-01-01T00:00:00Z'),
    version: 0,
    ...overrides,
  };
}

const inputOf = (req: Recorded) => JSON.parse((req.body!.Target as { Input: string }).Input) as WindowPhaseInput;
/** The body without the SDK's per-call idempotency token. */
const withoutToken = (req: Recorded) => {
  const { ClientToken: _token, ...rest } = req.body ?? {};
  return rest;
};

describe('schedule names', () => {
  it('are short (≤ 64 characters), stable per cluster and window id, and distinct otherwise', () => {
    const w = window();
    expect(scheduleName(w)).toMatch(/^mw-[0-9a-f]{40}$/);
    expect(scheduleName(w).length).toBeLessThanOrEqual(64);
    expect(scheduleName({ cluster: w.cluster, id: w.id })).toBe(scheduleName(w));
    expect(scheduleName(window({ name: 'renamed', schedule: 'cron(0 3 ? * SAT *)' }))).toBe(scheduleName(w));
    expect(scheduleName(window({ id: 'other' }))).not.toBe(scheduleName(w));
    expect(scheduleName(window({ cluster: 'prod-mariadb-2' }))).not.toBe(scheduleName(w));
    const long = window({ cluster: 'c'.repeat(200), id: 'i'.repeat(200) });
    expect(scheduleName(long).length).toBeLessThanOrEqual(64);
  });

  it('end schedule names are ≤ 64 characters, one per occurrence, and repeatable for the same occurrence', () => {
    const w = window({ cluster: 'x'.repeat(100) });
    const t1 = Date.parse('2027-03-07T01:00:00Z');
    const t2 = Date.parse('2027-03-14T01:00:00Z');
    expect(endScheduleName(w, t1).length).toBeLessThanOrEqual(64);
    expect(endScheduleName(w, Date.parse('2199-12-31T23:59:59.999Z')).length).toBeLessThanOrEqual(64);
    expect(endScheduleName(w, t1)).toBe(endScheduleName(w, t1));
    expect(endScheduleName(w, t1)).not.toBe(endScheduleName(w, t2));
    expect(endScheduleName(w, t1)).not.toBe(scheduleName(w));
    expect(endScheduleName(w, t1)).toMatch(/^[0-9a-zA-Z-_.]+$/);
  });
});

describe('upsert', () => {
  it('creates the recurring start schedule: POST /schedules/{name} with the window as Scheduler expects it', async () => {
    const w = window();
    await scheduler.upsert(w);
    expect(requests).toHaveLength(1);
    const [req] = requests as [Recorded];
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/schedules/${scheduleName(w)}`);
    expect(req.headers['content-type']).toMatch(/application\/json/);
    // SigV4-signed for the scheduler service in the client's region
    expect(req.headers.authorization).toMatch(/Credential=x\/\d{8}\/eu-west-1\/scheduler\/aws4_request/);
    expect(req.body).toMatchObject({
      GroupName: GROUP,
      ScheduleExpression: 'cron(0 2 ? * SUN *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN },
    });
    expect(req.body).not.toHaveProperty('StartDate');
    expect(req.body).not.toHaveProperty('ActionAfterCompletion');
    expect(req.body).not.toHaveProperty('Name'); // the name travels in the path
    expect(req.body?.Description).toContain(`${w.cluster}/${w.id}`);
    expect(inputOf(req)).toEqual({
      cluster: 'prod-mariadb',
      windowId: w.id,
      phase: 'start',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it('a disabled window is a DISABLED schedule', async () => {
    await scheduler.upsert(window({ enabled: false }));
    expect(requests[0]?.body).toMatchObject({ State: 'DISABLED' });
  });

  it('the same window (edited) keeps the same schedule name', async () => {
    await scheduler.upsert(window());
    await scheduler.upsert(window({ schedule: 'cron(0 3 ? * SAT *)', name: 'saturday-patch', version: 1 }));
    expect(requests.map((r) => r.path)).toEqual([
      `/schedules/${scheduleName(window())}`,
      `/schedules/${scheduleName(window())}`,
    ]);
    expect(requests[1]?.body).toMatchObject({ ScheduleExpression: 'cron(0 3 ? * SAT *)' });
  });

  it('an at() window is sent as given, in its zone', async () => {
    await scheduler.upsert(window({ schedule: 'at(2027-12-05T02:00:00)' }));
    expect(requests[0]?.body).toMatchObject({
      ScheduleExpression: 'at(2027-12-05T02:00:00)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
  });

  it('a rate window carries its StartDate (epoch seconds on the wire)', async () => {
    await scheduler.upsert(window({ schedule: 'rate(2 hours)', timezone: 'UTC', startDate: '2027-01-01T00:00:00Z' }));
    expect(requests[0]?.body).toMatchObject({
      ScheduleExpression: 'rate(2 hours)',
      ScheduleExpressionTimezone: 'UTC',
      StartDate: Date.parse('2027-01-01T00:00:00Z') / 1000,
    });
  });

  it("a startDate without an offset is read in the window's zone, as parseSchedule reads it (not the host's)", async () => {
    await scheduler.upsert(
      window({ schedule: 'rate(1 day)', timezone: 'Europe/Berlin', startDate: '2027-01-10T03:00:00' }),
    );
    expect(requests[0]?.body).toMatchObject({ StartDate: Date.parse('2027-01-10T02:00:00Z') / 1000 });
    requests = [];
    await scheduler.upsert(
      window({ schedule: 'rate(1 day)', timezone: 'Europe/Berlin', startDate: '2027-01-10T03:00:00+05:00' }),
    );
    expect(requests[0]?.body).toMatchObject({ StartDate: Date.parse('2027-01-09T22:00:00Z') / 1000 });
  });

  it('an existing schedule (409 ConflictException on create) is updated: PUT /schedules/{name} with the same fields', async () => {
    respond = (req) => (req.method === 'POST' ? conflict() : ok(req));
    const w = window({ schedule: 'rate(2 hours)', startDate: '2027-01-01T00:00:00Z', enabled: false });
    await scheduler.upsert(w);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /schedules/${scheduleName(w)}`,
      `PUT /schedules/${scheduleName(w)}`,
    ]);
    const [create, update] = requests as [Recorded, Recorded];
    expect(withoutToken(update)).toEqual(withoutToken(create));
    expect(update.body).toMatchObject({
      GroupName: GROUP,
      ScheduleExpression: 'rate(2 hours)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      StartDate: Date.parse('2027-01-01T00:00:00Z') / 1000,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'DISABLED',
      Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN },
    });
    expect(inputOf(update)).toEqual({
      cluster: w.cluster,
      windowId: w.id,
      phase: 'start',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it('any other error is not swallowed, and no update is tried', async () => {
    respond = () => validation();
    await expect(scheduler.upsert(window())).rejects.toMatchObject({ name: 'ValidationException' });
    expect(requests.map((r) => r.method)).toEqual(['POST']);
  });

  it('an error on the update is not swallowed either', async () => {
    respond = (req) => (req.method === 'POST' ? conflict() : notFound());
    await expect(scheduler.upsert(window())).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(requests.map((r) => r.method)).toEqual(['POST', 'PUT']);
  });
});

describe('remove', () => {
  it('deletes the start schedule from its group: DELETE /schedules/{name}?groupName=...', async () => {
    const w = window();
    await scheduler.remove(w);
    expect(requests).toHaveLength(1);
    const [req] = requests as [Recorded];
    expect(req.method).toBe('DELETE');
    expect(req.path).toBe(`/schedules/${scheduleName(w)}`);
    expect(req.query.get('groupName')).toBe(GROUP);
    expect(req.body).toBeUndefined();
  });

  it('a schedule that is already gone (404 ResourceNotFoundException) is not an error', async () => {
    respond = () => notFound();
    await expect(scheduler.remove(window())).resolves.toBeUndefined();
    expect(requests.map((r) => r.method)).toEqual(['DELETE']);
  });

  it('other errors are', async () => {
    respond = () => validation();
    await expect(scheduler.remove(window())).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('scheduleEnd', () => {
  const start = Date.parse('2027-03-07T01:30:00Z');

  it('creates a one-off at() schedule in UTC for start + duration, deleted after it fires, with the end phase', async () => {
    const w = window();
    await scheduler.scheduleEnd(w, start);
    expect(requests).toHaveLength(1);
    const [req] = requests as [Recorded];
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/schedules/${endScheduleName(w, start)}`);
    expect(req.path.length - '/schedules/'.length).toBeLessThanOrEqual(64);
    expect(req.body).toMatchObject({
      GroupName: GROUP,
      ScheduleExpression: 'at(2027-03-07T03:30:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN },
    });
    expect(req.body).not.toHaveProperty('StartDate');
    expect(inputOf(req)).toEqual({
      cluster: 'prod-mariadb',
      windowId: w.id,
      phase: 'end',
      scheduledTime: '2027-03-07T01:30:00.000Z',
    });
  });

  it('the end is written in UTC whatever the window zone: an occurrence in the autumn overlap ends two real hours later', async () => {
    // 31 Oct 2027 02:30 CEST (00:30Z) + PT2H: 01:30 CET local, but at(2027-10-31T02:30:00) in UTC
    const w = window({ schedule: 'cron(30 2 ? * SUN *)' });
    await scheduler.scheduleEnd(w, Date.parse('2027-10-31T00:30:00Z'));
    expect(requests[0]?.body).toMatchObject({
      ScheduleExpression: 'at(2027-10-31T02:30:00)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });

  it('longer windows cross midnight and month ends', async () => {
    await scheduler.scheduleEnd(
      window({ duration: 'PT24H', durationMs: 24 * HOUR }),
      Date.parse('2027-02-28T22:15:00Z'),
    );
    await scheduler.scheduleEnd(
      window({ duration: 'PT90M', durationMs: 90 * 60_000 }),
      Date.parse('2027-12-31T23:00:00Z'),
    );
    expect(requests.map((r) => r.body?.ScheduleExpression)).toEqual([
      'at(2027-03-01T22:15:00)',
      'at(2028-01-01T00:30:00)',
    ]);
  });

  it('each occurrence gets its own end schedule', async () => {
    const w = window();
    await scheduler.scheduleEnd(w, start);
    await scheduler.scheduleEnd(w, start + 7 * 24 * HOUR);
    expect(new Set(requests.map((r) => r.path)).size).toBe(2);
  });

  it('a repeated start delivery (409 ConflictException: the end exists) is not an error', async () => {
    respond = () => conflict();
    await expect(scheduler.scheduleEnd(window(), start)).resolves.toBeUndefined();
    expect(requests.map((r) => r.method)).toEqual(['POST']); // no update of the existing end
  });

  it('other errors are', async () => {
    respond = () => validation();
    await expect(scheduler.scheduleEnd(window(), start)).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('start dates Scheduler accepts', () => {
  const DAY = 24 * HOUR;
  const now = Date.parse('2027-06-15T10:20:00Z');
  const at = (clock: number) =>
    new EventBridgeWindowScheduler(client, { groupName: GROUP, targetArn: TARGET_ARN, roleArn: ROLE_ARN }, () => clock);

  it('the stand-in refuses, as Scheduler does, a StartDate more than 5 minutes old', async () => {
    const request = {
      Name: 'mw-x',
      GroupName: GROUP,
      ScheduleExpression: 'rate(1 day)',
      StartDate: new Date(Date.now() - 6 * 60_000),
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN },
    };
    await expect(client.createSchedule(request)).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('a rate() window whose startDate has passed is sent the next instant of its rhythm: saved, and on the same beat', async () => {
    const w = window({ schedule: 'rate(3 days)', timezone: 'UTC', startDate: '2026-01-01T02:00:00Z' });
    await at(Date.now()).upsert(w);
    const sent = (requests[0]?.body?.StartDate as number) * 1000;
    expect(requests).toHaveLength(1);
    expect(sent).toBeGreaterThanOrEqual(Date.now() - 1000);
    expect(sent - Date.now()).toBeLessThanOrEqual(3 * DAY);
    expect((sent - Date.parse('2026-01-01T02:00:00Z')) % (3 * DAY)).toBe(0);
  });

  it('edited again later, the same window is accepted again (the start date moves on with the clock)', async () => {
    const w = window({ schedule: 'rate(1 day)', timezone: 'Europe/Berlin', startDate: '2027-01-10T03:00:00' });
    respond = (req) => (staleStart(req, now) ? ok(req) : { status: 200, body: '{}' });
    await at(now).upsert(w);
    await at(now + 40 * DAY).upsert({ ...w, name: 'renamed', version: 1 });
    // 03:00 in Berlin on 10 January is 02:00Z; a rate keeps 24 real hours, whatever the daylight saving time.
    expect(requests.map((r) => r.body?.StartDate)).toEqual([
      Date.parse('2027-06-16T02:00:00Z') / 1000,
      Date.parse('2027-07-26T02:00:00Z') / 1000,
    ]);
  });

  it('a startDate still to come is sent as it is', async () => {
    await at(now).upsert(window({ schedule: 'rate(2 hours)', timezone: 'UTC', startDate: '2027-06-20T00:00:00Z' }));
    await at(now).upsert(window({ schedule: 'cron(0 2 ? * SUN *)', startDate: '2027-06-20T00:00:00Z' }));
    expect(requests.map((r) => r.body?.StartDate)).toEqual([
      Date.parse('2027-06-20T00:00:00Z') / 1000,
      Date.parse('2027-06-20T00:00:00Z') / 1000,
    ]);
  });

  it('a cron() window whose startDate has passed is sent without one (it limits nothing any more)', async () => {
    await at(now).upsert(window({ schedule: 'cron(0 2 ? * SUN *)', startDate: '2027-01-01T00:00:00Z' }));
    expect(requests[0]?.body).not.toHaveProperty('StartDate');
  });
});

describe('reconcile', () => {
  const kept = window({ id: 'kept' });
  const missing = window({ id: 'missing' });
  const gone = window({ id: 'gone' });
  const otherCluster = window({ id: 'kept', cluster: 'removed-cluster' });

  it('creates the start schedule of each stored window that lacks one, and deletes the schedules of windows that are gone', async () => {
    const endOfKept = endScheduleName(kept, Date.parse('2027-03-07T01:00:00Z'));
    const endOfGone = endScheduleName(gone, Date.parse('2027-03-07T01:00:00Z'));
    const stand = statefulGroup([
      scheduleName(kept),
      endOfKept,
      scheduleName(gone),
      endOfGone,
      scheduleName(otherCluster),
    ]);
    respond = stand.respond;
    expect(await scheduler.reconcile(async () => [kept, missing])).toEqual({ created: 1, deleted: 3 });
    expect([...stand.group].sort()).toEqual([scheduleName(kept), endOfKept, scheduleName(missing)].sort());
    // paged: 5 schedules in pages of 2
    expect(requests.filter((r) => r.method === 'GET').map((r) => r.query.get('NextToken'))).toEqual([null, '2', '4']);
    expect(requests.find((r) => r.method === 'GET')?.query.get('ScheduleGroup')).toBe(GROUP);
    requests = [];
    expect(await scheduler.reconcile(async () => [kept, missing])).toEqual({ created: 0, deleted: 0 });
    expect(requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('lists the schedules before it reads the windows, and leaves a schedule a save wrote meanwhile as that save wrote it', async () => {
    const stand = statefulGroup();
    respond = (req) => (req.method === 'GET' ? stand.respond(req) : conflict());
    const order: string[] = [];
    const windows = async () => {
      order.push(`windows after ${requests.length} request(s)`);
      return [kept];
    };
    expect(await scheduler.reconcile(windows)).toEqual({ created: 0, deleted: 0 });
    expect(order).toEqual(['windows after 1 request(s)']);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'POST']); // no update over the save's own
  });

  it('an empty group (recreated by a redeploy) gets every window back', async () => {
    const stand = statefulGroup();
    respond = stand.respond;
    expect(await scheduler.reconcile(async () => [kept, missing, otherCluster])).toEqual({ created: 3, deleted: 0 });
    expect(stand.group).toEqual(new Set([kept, missing, otherCluster].map(scheduleName)));
  });
});

describe('the sweeper keeps the schedules in step with the stored windows', () => {
  let env: HttpEnv;
  beforeAll(async () => {
    env = await httpEnv();
  });
  afterAll(async () => env?.close());

  it('after a redeploy that emptied the group, and after a cluster is removed (its windows go with it)', async () => {
    const deps = { ...env.deps, windows: scheduler };
    for (const c of ['keep-c', 'drop-c']) {
      await seedCluster(env, c, [{ name: 'db1' }]);
      const res = await env.call('POST', `/v1/clusters/${c}/windows`, {
        name: 'w',
        schedule: 'cron(0 2 ? * SUN *)',
        timezone: 'UTC',
        duration: 'PT1H',
        action: 'maintenance',
        targets: { servers: ['db1'] },
      });
      expect(res.status).toBe(201);
    }
    const stored = [...(await env.deps.store.listWindows('keep-c')), ...(await env.deps.store.listWindows('drop-c'))];
    const stand = statefulGroup();
    respond = stand.respond;
    expect((await runSweep(deps)).schedules).toMatchObject({ created: 2, deleted: 0 });
    expect(stand.group).toEqual(new Set(stored.map(scheduleName)));

    expect((await env.call('DELETE', '/v1/clusters/drop-c')).status).toBe(200);
    expect(await env.deps.store.listWindows('drop-c')).toEqual([]);
    expect((await runSweep(deps)).schedules).toMatchObject({ created: 0, deleted: 1 });
    expect(stand.group).toEqual(new Set(stored.filter((w) => w.cluster === 'keep-c').map(scheduleName)));
    // A cluster registered again under the name starts without the old windows.
    await seedCluster(env, 'drop-c', [{ name: 'db1' }]);
    expect((await env.call('GET', '/v1/clusters/drop-c/windows')).body.windows).toEqual([]);
  });
});
