/**
 * Scheduled maintenance windows (docs/windows.md), end to end: the real HTTP API over DynamoDB Local, the local
 * scheduler driven by a controllable clock (`env.clock.now`, then `env.windows.tick()`), the window function
 * itself for repeated deliveries, the sweeper for a missed end, and a rollout window run by the local engine
 * with an in-test agent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSweep } from '../../functions/sweeper.js';
import { runWindowPhase } from '../../functions/windows/phase.js';
import { apiClient } from '../support/api-client.js';
import { createToken, httpEnv, seedCluster, type HttpEnv } from '../support/env.js';
import { Agent, type Role } from '../support/agent.js';
import { until } from '../support/wait.js';

const V0 = '10.11.6';
const V1 = '10.11.7';
const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];

const MARIADB3: { name: string; role: Role; dc?: string }[] = [
  { name: 'db1', role: 'primary' },
  { name: 'db2', role: 'replica' },
  { name: 'db3', role: 'replica' },
];

let env: HttpEnv;

/*
 * The clock is set in the future (2040), never in the past: DynamoDB Local deletes items whose TTL (`expiresAt`)
 * has passed in real time, and the phases' idempotency records expire 24 h after the env's clock.
 */

// A fresh env (table, clock, scheduler, engine) per test: the scheduler ticks over every cluster of its env.
beforeEach(async () => {
  env = await httpEnv({ waitMs: 20, retryMs: 0 });
});
afterEach(async () => {
  await env?.close();
});

const t = (iso: string) => Date.parse(iso);
const setClock = (iso: string | number) => {
  env.clock.now = typeof iso === 'number' ? iso : t(iso);
};

/**
 * A cluster registered and reported at the env's clock; reports stay fresh for a day (the clock jumps by
 * hours in these tests).
 */
async function cluster(name: string, servers = MARIADB3, version = V0): Promise<void> {
  await seedCluster(env, name, servers);
  const res = await env.call('PUT', `/v1/clusters/${name}`, { engine: 'mariadb', staleAfterSeconds: 86400 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await report(name, servers, version);
}

async function report(name: string, servers: { name: string; role: Role }[], version = V0): Promise<void> {
  for (const s of servers) {
    const r = await env.call('PUT', `/v1/clusters/${name}/servers/${s.name}/status`, {
      health: 'running',
      role: s.role,
      version,
      connections: 0,
      openTransactions: 0,
      replicationLagSeconds: 0,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
}

async function createWindow(c: string, body: Record<string, unknown>): Promise<any> {
  const res = await env.call('POST', `/v1/clusters/${c}/windows`, { name: 'w', duration: 'PT2H', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const getWindow = async (c: string, id: string) => {
  const res = await env.call('GET', `/v1/clusters/${c}/windows/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const runsOf = async (c: string, id: string) =>
  ((await getWindow(c, id)).runs as { action: string }[]).map((e) => e.action).sort();

const serversOf = async (c: string) => {
  const res = await env.call('GET', `/v1/clusters/${c}/servers`);
  expect(res.status).toBe(200);
  return {
    revision: res.body.revision as number,
    byName: new Map<string, any>(res.body.servers.map((s: { name: string }) => [s.name, s])),
  };
};
const holders = (server: { claims: { holder: string }[] }) => server.claims.map((c) => c.holder).sort();

/** The whole audit log of a cluster, oldest first. */
const allEvents = (c: string) => apiClient({ url: env.url, token: env.admin }).allEvents<any>(c);

/** Moves the clock and runs one scheduler pass; the audit actions it wrote. */
async function tickAt(at: string | number): Promise<string[]> {
  setClock(at);
  return (await env.windows.tick()).flatMap((r) => r.actions);
}

describe('the window API', () => {
  it('creates a window with its next three occurrences (zone and UTC), lists, reads with runs, and edits it', async () => {
    setClock('2040-03-16T12:00:00Z'); // a Friday; Europe/Berlin springs forward on Sunday 2040-03-25 at 02:00
    await cluster('api', [...MARIADB3, { name: 'db4', role: 'replica', dc: 'dc2' }]);
    const created = await createWindow('api', {
      name: 'sunday-patch',
      schedule: 'cron(30 2 ? * SUN *)',
      timezone: 'Europe/Berlin',
      duration: 'PT2H',
      targets: { servers: ['db2'] },
      reason: 'kernel patching',
    });
    expect(created.id).toEqual(expect.any(String));
    expect(created).toMatchObject({
      name: 'sunday-patch',
      schedule: 'cron(30 2 ? * SUN *)',
      timezone: 'Europe/Berlin',
      duration: 'PT2H',
      action: 'maintenance',
      targets: { servers: ['db2'], dcs: [] },
      reason: 'kernel patching',
      enabled: true,
      cluster: 'api',
    });
    // 02:30 on 2040-03-25 does not exist in Berlin (02:00 → 03:00): that Sunday is skipped, as Scheduler does.
    expect(created.next).toEqual([
      {
        start: { local: '2040-03-18T02:30:00+01:00', utc: '2040-03-18T01:30:00.000Z' },
        end: { local: '2040-03-18T04:30:00+01:00', utc: '2040-03-18T03:30:00.000Z' },
      },
      {
        start: { local: '2040-04-01T02:30:00+02:00', utc: '2040-04-01T00:30:00.000Z' },
        end: { local: '2040-04-01T04:30:00+02:00', utc: '2040-04-01T02:30:00.000Z' },
      },
      {
        start: { local: '2040-04-08T02:30:00+02:00', utc: '2040-04-08T00:30:00.000Z' },
        end: { local: '2040-04-08T04:30:00+02:00', utc: '2040-04-08T02:30:00.000Z' },
      },
    ]);

    const list = await env.call('GET', '/v1/clusters/api/windows');
    expect(list.status).toBe(200);
    expect(list.body.windows).toHaveLength(1);
    expect(list.body.windows[0]).toMatchObject({ id: created.id, name: 'sunday-patch', next: created.next });

    const read = await getWindow('api', created.id);
    expect(read).toMatchObject({ id: created.id, next: created.next });
    expect(read.runs).toHaveLength(1);
    expect(read.runs[0]).toMatchObject({ action: 'create-window', target: `window:${created.id}`, actor: 'admin' });

    const edited = await env.call('PUT', `/v1/clusters/api/windows/${created.id}`, {
      name: 'weekday-patch',
      schedule: 'cron(0 22 ? * MON-FRI *)',
      timezone: 'UTC',
      duration: 'PT90M',
      targets: { dcs: ['dc2'] },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({
      id: created.id,
      name: 'weekday-patch',
      duration: 'PT90M',
      timezone: 'UTC',
      targets: { servers: [], dcs: ['dc2'] },
      createdAt: created.createdAt,
    });
    expect(edited.body.next.map((n: any) => [n.start.utc, n.end.utc])).toEqual([
      ['2040-03-16T22:00:00.000Z', '2040-03-16T23:30:00.000Z'],
      ['2040-03-19T22:00:00.000Z', '2040-03-19T23:30:00.000Z'],
      ['2040-03-20T22:00:00.000Z', '2040-03-20T23:30:00.000Z'],
    ]);
    expect(edited.body.next[0].start.local).toBe('2040-03-16T22:00:00+00:00');
    expect(await runsOf('api', created.id)).toEqual(['create-window', 'update-window']);
    expect((await env.call('GET', '/v1/clusters/api/windows')).body.windows.map((w: any) => w.name)).toEqual([
      'weekday-patch',
    ]);

    // Editing a window that does not exist is a 404, not a create.
    const missing = await env.call('PUT', '/v1/clusters/api/windows/nope', {
      name: 'x',
      schedule: 'cron(0 22 ? * MON-FRI *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    expect(missing.status).toBe(404);
    expect((await env.call('GET', '/v1/clusters/api/windows')).body.windows).toHaveLength(1);
  });

  it('skips the next occurrence: it leaves `next`, and its start records window-skipped and changes nothing', async () => {
    setClock('2040-06-01T00:00:00Z');
    await cluster('skip');
    const w = await createWindow('skip', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    expect(w.next.map((n: any) => n.start.utc)).toEqual([
      '2040-06-01T02:00:00.000Z',
      '2040-06-02T02:00:00.000Z',
      '2040-06-03T02:00:00.000Z',
    ]);

    const skipped = await env.call('POST', `/v1/clusters/skip/windows/${w.id}/skip`);
    expect(skipped.status, JSON.stringify(skipped.body)).toBe(200);
    expect(skipped.body.next.map((n: any) => n.start.utc)).toEqual([
      '2040-06-02T02:00:00.000Z',
      '2040-06-03T02:00:00.000Z',
      '2040-06-04T02:00:00.000Z',
    ]);
    expect(skipped.body.skipping).toEqual({ local: '2040-06-01T02:00:00+00:00', utc: '2040-06-01T02:00:00.000Z' });
    expect((await env.call('GET', '/v1/clusters/skip/windows')).body.windows[0].next).toEqual(skipped.body.next);

    expect(await tickAt('2040-06-01T01:59:00Z')).toEqual([]);
    const before = await serversOf('skip');
    expect(await tickAt('2040-06-01T02:00:30Z')).toEqual(['window-skipped']);
    const after = await serversOf('skip');
    for (const [name, s] of after.byName) expect(s, name).toEqual(before.byName.get(name));
    expect(after.byName.get('db2')).toMatchObject({ maintenance: false, claims: [] });
    const runs = (await getWindow('skip', w.id)).runs as any[];
    expect(runs.find((e) => e.action === 'window-skipped')?.after).toMatchObject({
      occurrence: '2040-06-01T02:00:00.000Z',
    });
    expect(runs.map((e) => e.action)).not.toContain('window-start');

    // The skip is used up: the next day's occurrence runs.
    const read = await getWindow('skip', w.id);
    expect(read.skipping).toBeUndefined();
    expect(read.next[0].start.utc).toBe('2040-06-02T02:00:00.000Z');
    // The skipped occurrence's end has nothing to clear (today it still records a bare window-end).
    expect((await tickAt('2040-06-01T03:00:30Z')).filter((a) => a !== 'window-end')).toEqual([]);
    expect((await serversOf('skip')).byName.get('db2').claims).toEqual([]);
    expect(await tickAt('2040-06-02T02:00:30Z')).toContain('window-start');
    expect(holders((await serversOf('skip')).byName.get('db2'))).toEqual([`window:${w.id}`]);
  });

  it('deletes a window (204): its schedule is gone and an open occurrence’s claims are removed', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('del');
    const w = await createWindow('del', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    await tickAt('2040-06-01T01:59:00Z');
    expect(await tickAt('2040-06-01T02:00:30Z')).toContain('window-start');
    expect(holders((await serversOf('del')).byName.get('db2'))).toEqual([`window:${w.id}`]);

    const res = await env.call('DELETE', `/v1/clusters/del/windows/${w.id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    expect((await env.call('GET', `/v1/clusters/del/windows/${w.id}`)).status).toBe(404);
    expect((await env.call('GET', '/v1/clusters/del/windows')).body.windows).toEqual([]);
    expect((await serversOf('del')).byName.get('db2')).toMatchObject({ maintenance: false, claims: [] });
    const events = await allEvents('del');
    expect(events.find((e) => e.action === 'delete-window')).toMatchObject({
      target: `window:${w.id}`,
      actor: 'admin',
    });
    expect(events.find((e) => e.action === 'clear-maintenance' && e.target === 'server:db2')).toBeDefined();

    // Nothing fires any more: neither this occurrence's end nor the next start.
    const count = events.length;
    expect(await tickAt('2040-06-01T03:00:30Z')).toEqual([]);
    expect(await tickAt('2040-06-02T02:00:30Z')).toEqual([]);
    expect(await allEvents('del')).toHaveLength(count);
    expect((await env.call('DELETE', `/v1/clusters/del/windows/${w.id}`)).status).toBe(404);
  });

  it('refuses bad input with a 400 naming the problem, and creates nothing', async () => {
    setClock('2040-06-01T00:00:00Z');
    await cluster('bad', [...MARIADB3, { name: 'db4', role: 'replica', dc: 'dc2' }]);
    const good = {
      name: 'w',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'UTC',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    };
    const before = await serversOf('bad');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['five-field cron', { schedule: 'cron(0 2 * * ?)' }, /schedule: .*six fields/],
      ['bad cron field', { schedule: 'cron(0 25 * * ? *)' }, /schedule: .*hours/],
      [
        'not an expression',
        { schedule: 'every sunday' },
        /schedule: every sunday is not at\(\.\.\.\), cron\(\.\.\.\) or rate\(\.\.\.\)/,
      ],
      ['unknown zone', { timezone: 'Mars/Olympus_Mons' }, /timezone: Mars\/Olympus_Mons is not an IANA time zone/],
      ['at() in the past', { schedule: 'at(2040-05-31T02:00:00)' }, /at\(2040-05-31T02:00:00\) is in the past/],
      ['zero duration', { duration: 'PT0S' }, /duration: PT0S must be more than 0/],
      ['over 24 hours', { duration: 'PT25H' }, /duration: PT25H must be more than 0 and at most 24 hours/],
      ['not a duration', { duration: '2 hours' }, /duration: 2 hours is not an ISO 8601 duration/],
      ['unknown server', { targets: { servers: ['db9'] } }, /server db9 not found/],
      ['unknown dc', { targets: { dcs: ['dc9'] } }, /dc dc9 not found/],
      ['no targets', { targets: { servers: [] } }, /needs at least one server or dc/],
      [
        'rate() without startDate',
        { schedule: 'rate(1 day)' },
        /startDate: a rate\(\.\.\.\) schedule needs a startDate/,
      ],
      ['rollout action without a rollout', { action: 'rollout' }, /rollout: a rollout window needs a rollout body/],
      [
        'rollout body on a maintenance window',
        { rollout: { targetVersion: V1 } },
        /only a rollout window takes a rollout body/,
      ],
      ['unknown field', { colour: 'blue' }, /unknown field\(s\) colour/],
      ['unknown action', { action: 'reboot' }, /action/],
    ];
    for (const [what, change, message] of cases) {
      const res = await env.call('POST', '/v1/clusters/bad/windows', { ...good, ...change });
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code, what).toBe('InvalidInput');
      expect(res.body.error.message, what).toMatch(message);
    }
    // Not JSON at all.
    expect((await env.call('POST', '/v1/clusters/bad/windows', '{"name":')).status).toBe(400);
    // An unknown cluster is a 404.
    expect((await env.call('POST', '/v1/clusters/nope/windows', good)).status).toBe(404);

    expect((await env.call('GET', '/v1/clusters/bad/windows')).body.windows).toEqual([]);
    expect((await serversOf('bad')).revision).toBe(before.revision);
    expect((await allEvents('bad')).filter((e) => e.target.startsWith('window:'))).toEqual([]);

    // A bad edit leaves the window as it was.
    const w = await createWindow('bad', good);
    const refused = await env.call('PUT', `/v1/clusters/bad/windows/${w.id}`, { ...good, duration: 'PT25H' });
    expect(refused.status).toBe(400);
    expect(await getWindow('bad', w.id)).toMatchObject({ duration: 'PT1H', next: w.next });
    // The ones that are fine: rate() with a startDate, at() in the future, a dc target, a 24 h window.
    for (const change of [
      { schedule: 'rate(12 hours)', startDate: '2040-06-01T03:00:00Z' },
      { schedule: 'at(2040-06-10T02:00:00)' },
      { targets: { dcs: ['dc2'] } },
      { duration: 'PT24H' },
    ]) {
      const res = await env.call('POST', '/v1/clusters/bad/windows', { ...good, ...change });
      expect(res.status, `${JSON.stringify(change)}: ${JSON.stringify(res.body)}`).toBe(201);
    }
  });

  it('refuses a viewer (403) on POST and lets it read', async () => {
    setClock('2040-06-01T00:00:00Z');
    await cluster('roles');
    const viewer = await createToken(env.deps, 'viewer');
    const body = { name: 'w', schedule: 'cron(0 2 * * ? *)', duration: 'PT1H', targets: { servers: ['db2'] } };
    const res = await env.call('POST', '/v1/clusters/roles/windows', body, { token: viewer });
    expect(res.status).toBe(403);
    expect((await env.call('GET', '/v1/clusters/roles/windows', undefined, { token: viewer })).body.windows).toEqual(
      [],
    );
    const w = await createWindow('roles', body);
    expect((await env.call('GET', `/v1/clusters/roles/windows/${w.id}`, undefined, { token: viewer })).status).toBe(
      200,
    );
    expect(
      (await env.call('POST', `/v1/clusters/roles/windows/${w.id}/skip`, undefined, { token: viewer })).status,
    ).toBe(403);
    expect((await env.call('DELETE', `/v1/clusters/roles/windows/${w.id}`, undefined, { token: viewer })).status).toBe(
      403,
    );
  });
});

describe('a maintenance window, end to end', () => {
  it('opens: its targets get the window’s claim until start + duration; a repeated start changes nothing; it closes at the end', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('e2e');
    const w = await createWindow('e2e', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT2H',
      targets: { servers: ['db2'] },
      reason: 'kernel patching',
    });
    const holder = `window:${w.id}`;
    expect(await tickAt('2040-06-01T01:59:00Z')).toEqual([]);
    expect((await serversOf('e2e')).byName.get('db2').claims).toEqual([]);

    expect(await tickAt('2040-06-01T02:00:30Z')).toEqual(['set-maintenance', 'window-start']);
    const open = await serversOf('e2e');
    expect(open.byName.get('db2')).toMatchObject({ maintenance: true, routable: false, state: 'Maintenance, Running' });
    expect(open.byName.get('db2').claims).toEqual([
      expect.objectContaining({
        holder,
        mode: 'maintenance',
        force: false,
        reason: 'kernel patching',
        actor: holder,
        until: '2040-06-01T04:00:00.000Z',
      }),
    ]);
    for (const name of ['db1', 'db3']) expect(open.byName.get(name).claims).toEqual([]);
    const started = (await getWindow('e2e', w.id)).runs.find((e: any) => e.action === 'window-start');
    expect(started.after).toMatchObject({ occurrence: '2040-06-01T02:00:00.000Z', until: '2040-06-01T04:00:00.000Z' });

    // At-least-once delivery: the same start again (the window function, then a second pass) changes nothing.
    const count = (await allEvents('e2e')).length;
    const again = await runWindowPhase(env.deps, {
      cluster: 'e2e',
      windowId: w.id,
      phase: 'start',
      scheduledTime: '2040-06-01T02:00:00.000Z',
    });
    expect(again).toEqual({ actions: [], replayed: true });
    // The same instant written differently is the same delivery.
    expect(
      (
        await runWindowPhase(env.deps, {
          cluster: 'e2e',
          windowId: w.id,
          phase: 'start',
          scheduledTime: '2040-06-01T02:00:00Z',
        })
      ).actions,
    ).toEqual([]);
    expect(await tickAt('2040-06-01T02:00:30Z')).toEqual([]);
    expect(await tickAt('2040-06-01T02:30:00Z')).toEqual([]);
    expect(await allEvents('e2e')).toHaveLength(count);
    expect((await serversOf('e2e')).revision).toBe(open.revision);

    expect(await tickAt('2040-06-01T04:00:30Z')).toEqual(['clear-maintenance', 'window-end']);
    const closed = await serversOf('e2e');
    expect(closed.byName.get('db2')).toMatchObject({ maintenance: false, routable: true, claims: [] });
    const cleared = (await allEvents('e2e')).find((e) => e.action === 'clear-maintenance' && e.target === 'server:db2');
    expect(cleared).toMatchObject({ actor: holder });
    expect(cleared.after.claims).toEqual({});
    expect(await runsOf('e2e', w.id)).toEqual(['create-window', 'window-end', 'window-start']);
    // A repeated end changes nothing either.
    expect(
      (
        await runWindowPhase(env.deps, {
          cluster: 'e2e',
          windowId: w.id,
          phase: 'end',
          scheduledTime: '2040-06-01T02:00:00.000Z',
        })
      ).actions,
    ).toEqual([]);
    expect((await serversOf('e2e')).revision).toBe(closed.revision);
  });

  it('adds its claim beside an operator’s and, at the end, removes only its own', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('beside');
    const w = await createWindow('beside', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    const op = await env.call('PUT', '/v1/clusters/beside/servers/db2/maintenance', { reason: 'disk replacement' });
    expect(op.status, JSON.stringify(op.body)).toBe(200);
    await tickAt('2040-06-01T01:59:00Z');
    expect(await tickAt('2040-06-01T02:00:30Z')).toContain('window-start');
    expect(holders((await serversOf('beside')).byName.get('db2'))).toEqual(['manual', `window:${w.id}`].sort());

    expect(await tickAt('2040-06-01T03:00:30Z')).toContain('window-end');
    const db2 = (await serversOf('beside')).byName.get('db2');
    expect(db2).toMatchObject({ maintenance: true, routable: false });
    expect(db2.claims).toEqual([
      expect.objectContaining({ holder: 'manual', reason: 'disk replacement', actor: 'admin' }),
    ]);
  });

  it('records window-blocked with a reason and changes nothing when its targets would exceed the budget', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('blocked');
    // Two replicas of a 3-server dc: the budget allows one.
    const w = await createWindow('blocked', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2', 'db3'] },
    });
    await tickAt('2040-06-01T01:59:00Z');
    const before = await serversOf('blocked');
    const eventsBefore = await allEvents('blocked');

    expect(await tickAt('2040-06-01T02:00:30Z')).toEqual(['window-blocked']);
    const after = await serversOf('blocked');
    for (const [name, s] of after.byName) {
      expect(s.claims, name).toEqual([]);
      expect(s, name).toEqual(before.byName.get(name));
    }
    // Only the event was written (an event has a revision of its own).
    const events = await allEvents('blocked');
    expect(events.slice(0, eventsBefore.length)).toEqual(eventsBefore);
    const added = events.slice(eventsBefore.length);
    expect(added.map((e) => e.action)).toEqual(['window-blocked']);
    expect(added[0]).toMatchObject({ target: `window:${w.id}`, actor: `window:${w.id}` });
    expect(added[0].reason).toMatch(/dc dc1 allows 1 unavailable of 3/);
    expect(added[0].after).toMatchObject({ occurrence: '2040-06-01T02:00:00.000Z' });
    expect(after.revision).toBe(before.revision + 1);
    expect(added[0].revision).toBe(after.revision);
    expect(await runsOf('blocked', w.id)).toEqual(['create-window', 'window-blocked']);
    // Its end has nothing of its own to remove.
    expect((await tickAt('2040-06-01T03:00:30Z')).filter((a) => a !== 'window-end')).toEqual([]);
    for (const s of (await serversOf('blocked')).byName.values()) expect(s.claims).toEqual([]);
  });

  it('a cluster-maintenance window pauses automatic failover for its duration', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('cm');
    const w = await createWindow('cm', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      action: 'cluster-maintenance',
    });
    expect(w).toMatchObject({ action: 'cluster-maintenance', targets: { servers: [], dcs: [] } });
    await tickAt('2040-06-01T01:59:00Z');
    expect((await env.call('GET', '/v1/clusters/cm/failover')).body).toMatchObject({ paused: false, pausedBy: [] });

    expect(await tickAt('2040-06-01T02:00:30Z')).toContain('window-start');
    expect((await env.call('GET', '/v1/clusters/cm/failover')).body).toMatchObject({
      paused: true,
      pausedBy: [`window:${w.id}`],
    });
    const claims = (await env.call('GET', '/v1/clusters/cm')).body.maintenance.claims;
    expect(claims).toEqual([expect.objectContaining({ holder: `window:${w.id}`, until: '2040-06-01T03:00:00.000Z' })]);
    for (const s of (await serversOf('cm')).byName.values()) expect(s.claims).toEqual([]);

    expect(await tickAt('2040-06-01T03:00:30Z')).toContain('window-end');
    expect((await env.call('GET', '/v1/clusters/cm/failover')).body).toMatchObject({ paused: false, pausedBy: [] });
    expect((await env.call('GET', '/v1/clusters/cm')).body.maintenance.claims).toEqual([]);
  });

  it('fires, on the scheduler’s first pass (a restart), the start of a window still open, and not one already over', async () => {
    setClock('2040-06-01T00:00:00Z');
    await cluster('restart', [...MARIADB3, { name: 'db4', role: 'replica', dc: 'dc2' }]);
    const open = await createWindow('restart', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    const over = await createWindow('restart', {
      schedule: 'cron(0 1 * * ? *)',
      duration: 'PT30M',
      targets: { servers: ['db4'] },
    });
    // The stack was down from before 01:00 until 02:30: this is the scheduler's first pass.
    expect(await tickAt('2040-06-01T02:30:00Z')).toEqual(['set-maintenance', 'window-start']);
    const s = await serversOf('restart');
    expect(holders(s.byName.get('db2'))).toEqual([`window:${open.id}`]);
    expect(s.byName.get('db2').claims[0].until).toBe('2040-06-01T03:00:00.000Z');
    expect(s.byName.get('db4').claims).toEqual([]);
    expect(await runsOf('restart', over.id)).toEqual(['create-window']);
    expect(await tickAt('2040-06-01T03:00:30Z')).toEqual(['clear-maintenance', 'window-end']);
  });

  it('the sweeper closes a window whose end was missed', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('missed');
    const w = await createWindow('missed', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: ['db2'] },
    });
    await tickAt('2040-06-01T01:59:00Z');
    expect(await tickAt('2040-06-01T02:00:30Z')).toContain('window-start');

    // The end is never delivered: the clock passes it without a tick.
    setClock('2040-06-01T03:05:00Z');
    expect(await runsOf('missed', w.id)).not.toContain('window-end');
    await runSweep(env.deps);
    const events = await allEvents('missed');
    const end = events.find((e) => e.action === 'window-end');
    expect(end).toMatchObject({ target: `window:${w.id}`, actor: `window:${w.id}` });
    expect(end.after).toMatchObject({ occurrence: '2040-06-01T02:00:00.000Z' });
    const cleared = events.find((e) => e.action === 'clear-maintenance' && e.target === 'server:db2');
    expect(cleared).toMatchObject({ actor: `window:${w.id}` });
    expect(cleared.after.claims).toEqual({});
    expect((await serversOf('missed')).byName.get('db2')).toMatchObject({ maintenance: false, claims: [] });

    // Closed once: another sweep, or the late end delivery, records nothing more.
    await runSweep(env.deps);
    expect(
      (
        await runWindowPhase(env.deps, {
          cluster: 'missed',
          windowId: w.id,
          phase: 'end',
          scheduledTime: '2040-06-01T02:00:00.000Z',
        })
      ).actions,
    ).toEqual([]);
    expect(
      (await allEvents('missed')).filter((e) => e.target === `window:${w.id}` || e.actor === `window:${w.id}`),
    ).toHaveLength(events.filter((e) => e.target === `window:${w.id}` || e.actor === `window:${w.id}`).length);
  });
});

describe('issue 14: windows under any sequence', () => {
  it("the sweeper ends no occurrence but the open one: a window made at an odd minute keeps its first occurrence's claim", async () => {
    setClock('2040-06-01T10:01:20Z');
    await cluster('odd');
    const w = await createWindow('odd', {
      schedule: 'cron(*/2 * * * ? *)',
      duration: 'PT90S',
      targets: { servers: ['db2'] },
    });
    // The occurrence of 10:00 began before the window existed: it is not started, and its end is no one's.
    expect(await tickAt('2040-06-01T10:01:25Z')).toEqual([]);
    expect(await tickAt('2040-06-01T10:02:05Z')).toEqual(['set-maintenance', 'window-start']);
    setClock('2040-06-01T10:02:30Z');
    await runSweep(env.deps);
    expect(holders((await serversOf('odd')).byName.get('db2'))).toEqual([`window:${w.id}`]);
    expect(
      await runWindowPhase(env.deps, {
        cluster: 'odd',
        windowId: w.id,
        phase: 'end',
        scheduledTime: '2040-06-01T10:00:00.000Z',
      }),
    ).toEqual({ actions: [], replayed: false });
    expect(holders((await serversOf('odd')).byName.get('db2'))).toEqual([`window:${w.id}`]);
    // Its own end, 90 s after it began, ends it.
    expect(await tickAt('2040-06-01T10:03:31Z')).toEqual(['clear-maintenance', 'window-end']);
    expect((await getWindow('odd', w.id)).open).toBeUndefined();
  });

  it('a window names at most 40 targets (400 saying so); 40 server targets start in one transaction', async () => {
    setClock('2040-06-01T01:59:00Z');
    const many = Array.from({ length: 45 }, (_, i) => ({ name: `s${i + 1}`, role: 'member' as Role }));
    await cluster('wide', many);
    expect(
      (
        await env.call('PUT', '/v1/clusters/wide', {
          engine: 'mariadb',
          staleAfterSeconds: 86400,
          budget: { maxUnavailablePerDc: 44 },
        })
      ).status,
    ).toBe(200);
    const refused = await env.call('POST', '/v1/clusters/wide/windows', {
      name: 'w',
      duration: 'PT1H',
      schedule: 'cron(0 2 * * ? *)',
      targets: { servers: many.slice(0, 41).map((s) => s.name) },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/at most 40 servers and dcs together, not 41/);
    expect((await env.call('GET', '/v1/clusters/wide/windows')).body.windows).toEqual([]);
    await createWindow('wide', {
      schedule: 'cron(0 2 * * ? *)',
      duration: 'PT1H',
      targets: { servers: many.slice(0, 40).map((s) => s.name) },
    });
    await tickAt('2040-06-01T01:59:30Z');
    const actions = await tickAt('2040-06-01T02:00:30Z');
    expect(actions.filter((a) => a === 'set-maintenance')).toHaveLength(40);
    expect(actions).toContain('window-start');
    expect([...(await serversOf('wide')).byName.values()].filter((x) => x.maintenance)).toHaveLength(40);
  });
});

describe('a rollout window', () => {
  it('starts a rollout at its start, pauses it at its end (claim released), and resumes it at the next occurrence', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('rw');
    const agent = new Agent(env, 'rw', V1, MARIADB3, V0);
    agent.upgrade = false;
    agent.start();
    try {
      // Timeouts far beyond the clock's jumps (the clock drives them); real time still paces the engine.
      const w = await createWindow('rw', {
        schedule: 'cron(0 2 * * ? *)',
        duration: 'PT1H',
        action: 'rollout',
        rollout: {
          targetVersion: V1,
          verify: { stableForSeconds: 0, timeoutSeconds: 86400 },
          upgrade: { kind: 'wait-for-report', timeoutSeconds: 7 * 86400 },
          drainTimeoutSeconds: 86400,
        },
      });
      expect(w).toMatchObject({ action: 'rollout', rollout: expect.objectContaining({ targetVersion: V1 }) });
      const holder = `window:${w.id}`;
      expect(await tickAt('2040-06-01T01:59:00Z')).toEqual([]);

      // The start: a rollout is created and runs.
      setClock('2040-06-01T02:00:30Z');
      await agent.reportAll();
      const startActions = (await env.windows.tick()).flatMap((r) => r.actions);
      expect(startActions).toEqual(['start-rollout', 'run-rollout', 'window-start']);
      const rolloutId = (await getWindow('rw', w.id)).rolloutId as string;
      expect(rolloutId).toEqual(expect.any(String));
      const rollout = async () => (await env.call('GET', `/v1/clusters/rw/rollouts/${rolloutId}`)).body;
      expect(await rollout()).toMatchObject({ id: rolloutId, targetVersion: V1, actor: holder });
      // The first node waits for its upgrade (the agent does not upgrade yet), automation paused by the rollout.
      const held = await until(
        'a node held by the rollout',
        () => serversOf('rw'),
        (s) => [...s.byName.values()].some((x) => holders(x).includes(`rollout:${rolloutId}`) && x.maintenance),
      );
      const first = [...held.byName.values()].find((x) => holders(x).includes(`rollout:${rolloutId}`))!.name as string;
      expect((await env.call('GET', '/v1/clusters/rw/failover')).body.pausedBy).toEqual([`rollout:${rolloutId}`]);
      expect((await rollout()).status).toBe('running');
      // A repeated start delivery starts nothing more.
      expect(
        (
          await runWindowPhase(env.deps, {
            cluster: 'rw',
            windowId: w.id,
            phase: 'start',
            scheduledTime: '2040-06-01T02:00:00.000Z',
          })
        ).actions,
      ).toEqual([]);
      expect((await rollout()).executions).toHaveLength(1);

      // The end (the cutoff), with the node still in flight: the rollout is asked to pause...
      setClock('2040-06-01T03:00:30Z');
      await agent.reportAll();
      const endActions = (await env.windows.tick()).flatMap((r) => r.actions);
      expect(endActions).toEqual(['request-pause', 'window-end']);
      expect((await rollout()).status).toBe('pausing');
      // ...and pauses once the node in flight has finished; nothing new starts; its cluster claim is released.
      agent.upgrade = true;
      const paused = await until('the rollout paused', rollout, (r) => TERMINAL.includes(r.status));
      await env.engine.list().find((e) => e.arn === paused.executions.at(-1))?.done;
      const afterPause = await rollout();
      expect(afterPause.status).toBe('paused');
      expect(afterPause.executions).toHaveLength(1);
      expect(afterPause.servers.filter((s: any) => s.outcome === 'upgraded').map((s: any) => s.name)).toEqual([first]);
      expect(afterPause.servers.filter((s: any) => s.outcome === 'pending')).toHaveLength(2);
      expect((await env.call('GET', '/v1/clusters/rw/failover')).body).toMatchObject({ paused: false, pausedBy: [] });
      const between = await serversOf('rw');
      for (const s of between.byName.values()) expect(s.claims, s.name).toEqual([]);
      expect([...between.byName.values()].filter((s) => s.version === V1).map((s) => s.name)).toEqual([first]);

      // The next occurrence resumes the same rollout: a new execution, to the end.
      setClock('2040-06-02T01:59:00Z');
      await agent.reportAll();
      expect(await tickAt('2040-06-02T01:59:00Z')).toEqual([]);
      setClock('2040-06-02T02:00:30Z');
      await agent.reportAll();
      expect((await env.windows.tick()).flatMap((r) => r.actions)).toEqual(['resume-rollout', 'window-start']);
      const runs = ((await getWindow('rw', w.id)).runs as any[]).map((e) => [
        e.action,
        e.after.occurrence,
        e.after.rollout,
        e.after.created ?? e.after.resumed ?? null,
      ]);
      expect(runs.sort()).toEqual([
        ['create-window', undefined, undefined, null],
        ['window-end', '2040-06-01T02:00:00.000Z', rolloutId, null],
        ['window-start', '2040-06-01T02:00:00.000Z', rolloutId, true],
        ['window-start', '2040-06-02T02:00:00.000Z', rolloutId, true],
      ]);
      expect(
        ((await getWindow('rw', w.id)).runs as any[])
          .filter((e) => e.action === 'window-start')
          .map((e) => [e.after.created, e.after.resumed]),
      ).toEqual([
        [undefined, true],
        [true, undefined],
      ]);
      const done = await until(
        'the rollout resumed and ended',
        rollout,
        (r) => r.executions.length >= 2 && TERMINAL.includes(r.status),
        20_000,
      );
      await env.engine.list().find((e) => e.arn === done.executions.at(-1))?.done;
      const finished = await rollout();
      expect(finished.status).toBe('succeeded');
      expect(finished.executions).toHaveLength(2);
      expect(finished.executions[0]).toBe(afterPause.executions[0]);
      expect(finished.servers.every((s: any) => s.outcome === 'upgraded')).toBe(true);
      expect((await getWindow('rw', w.id)).rolloutId).toBe(rolloutId);
      for (const s of (await serversOf('rw')).byName.values()) expect(s).toMatchObject({ version: V1, claims: [] });
      expect((await env.call('GET', '/v1/clusters/rw/failover')).body.paused).toBe(false);
      expect(agent.errors).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it('each occurrence after a success runs a new rollout with an id of its own; an edited version is never a false success', async () => {
    setClock('2040-06-01T01:59:00Z');
    await cluster('rr');
    const agent = new Agent(env, 'rr', V1, MARIADB3, V0);
    agent.start();
    try {
      const body = {
        name: 'nightly',
        schedule: 'cron(0 2 * * ? *)',
        duration: 'PT1H',
        action: 'rollout',
        rollout: {
          targetVersion: V1,
          verify: { stableForSeconds: 0, timeoutSeconds: 86400 },
          upgrade: { kind: 'wait-for-report', timeoutSeconds: 7 * 86400 },
          drainTimeoutSeconds: 86400,
        },
      };
      const w = await createWindow('rr', body);
      await tickAt('2040-06-01T01:59:30Z');
      setClock('2040-06-01T02:00:30Z');
      await agent.reportAll();
      await env.windows.tick();
      const first = (await getWindow('rr', w.id)).rolloutId as string;
      const read = async (id: string) => (await env.call('GET', `/v1/clusters/rr/rollouts/${id}`)).body;
      const done = await until(
        'the first rollout to end',
        () => read(first),
        (r) => TERMINAL.includes(r.status),
        30_000,
      );
      expect(done.status).toBe('succeeded');

      // The window is edited to the next version; the agent does not upgrade to it.
      agent.upgrade = false;
      const edited = await env.call('PUT', `/v1/clusters/rr/windows/${w.id}`, {
        ...body,
        rollout: { ...body.rollout, targetVersion: '10.11.8' },
      });
      expect(edited.status, JSON.stringify(edited.body)).toBe(200);
      setClock('2040-06-02T02:00:30Z');
      await agent.reportAll();
      const actions = (await env.windows.tick()).flatMap((r) => r.actions);
      expect(actions).toEqual(['window-end', 'start-rollout', 'run-rollout', 'window-start']);
      const second = (await getWindow('rr', w.id)).rolloutId as string;
      expect(second).not.toBe(first);
      // A new run: its own record and nodes, nothing read back from the first.
      const running = await until(
        'a node of the second rollout waiting for its upgrade',
        () => read(second),
        (r) => r.servers.some((x: any) => x.step === 'maintain'),
      );
      expect(running).toMatchObject({ status: 'running', targetVersion: '10.11.8' });
      expect(running.servers.every((x: any) => x.outcome !== 'upgraded')).toBe(true);
      expect(await read(first)).toMatchObject({ status: 'succeeded', targetVersion: V1, executions: done.executions });
      expect((await env.call('GET', '/v1/clusters/rr/events?action=start-rollout')).body.events).toHaveLength(2);
    } finally {
      agent.stop();
    }
  });
});
