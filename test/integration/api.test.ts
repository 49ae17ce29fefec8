/** The native API end to end: real HTTP on 127.0.0.1, real handlers, DynamoDB Local. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../functions/sweeper.js';
import { createToken, httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';

let env: HttpEnv;
const C = '/v1/clusters/shop';

beforeAll(async () => {
  env = await httpEnv();
  await seedCluster(env, 'shop', [
    { name: 'db1', role: 'primary' },
    { name: 'db2', role: 'replica' },
    { name: 'db3', role: 'replica' },
  ]);
  await reportAll(env, 'shop', ['db2', 'db3'], {
    role: 'replica',
    connections: 3,
    openTransactions: 0,
    version: '10.11.6',
  });
  await reportAll(env, 'shop', ['db1'], { role: 'primary', connections: 9, openTransactions: 2, version: '10.11.6' });
});
afterAll(() => env.close());

describe('graceful maintenance of a primary', () => {
  it('is pending while transactions are open, then in maintenance when they reach zero', async () => {
    const set = await env.call('PUT', `${C}/servers/db1/maintenance`, { reason: 'kernel update' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      state: 'Draining, Master, Running',
      pending: true,
      routable: false,
      closeConnections: false,
    });

    const report = await env.call('PUT', `${C}/servers/db1/status`, {
      health: 'running',
      role: 'primary',
      openTransactions: 0,
      version: '10.11.6',
    });
    expect(report.body).toEqual({ accepted: true, routingRelevant: true });
    const after = await env.call('GET', `${C}/servers/db1`);
    expect(after.body).toMatchObject({ state: 'Maintenance, Running', maintenance: true, closeConnections: true });

    const clear = await env.call('DELETE', `${C}/servers/db1/maintenance`);
    expect(clear.status).toBe(200);
    expect(clear.body.state).toBe('Master, Running');
  });
});

describe('the disruption budget', () => {
  it('refuses a second server in a three-server dc, names who uses the budget, and changes nothing', async () => {
    expect((await env.call('PUT', `${C}/servers/db2/maintenance`, {})).status).toBe(200);
    const before = await env.call('GET', `${C}/servers`);
    const refused = await env.call('PUT', `${C}/servers/db3/maintenance`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('BudgetExceeded');
    expect(refused.body.error.details.usingBudget).toEqual(['db2', 'db3']);
    const after = await env.call('GET', `${C}/servers`);
    expect(after.body.revision).toBe(before.body.revision);

    const dry = await env.call('PUT', `${C}/servers/db3/maintenance`, { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.verdict).toMatchObject({ allowed: false, newlyUnavailable: ['db3'] });
    expect((await env.call('GET', `${C}/servers`)).body.revision).toBe(before.body.revision);

    const operator = await createToken(env.deps, 'operator');
    const notAdmin = await env.call('PUT', `${C}/servers/db3/maintenance`, { override: true }, { token: operator });
    expect(notAdmin.status).toBe(403);
    const overridden = await env.call('PUT', `${C}/servers/db3/maintenance`, { override: true, reason: 'emergency' });
    expect(overridden.status).toBe(200);
    const events = await env.call('GET', `${C}/events?server=db3&action=set-maintenance`);
    expect(events.body.events[0]).toMatchObject({ override: true, reason: 'emergency', actor: 'admin' });

    await env.call('DELETE', `${C}/servers/db3/maintenance`);
    await env.call('DELETE', `${C}/servers/db2/maintenance`);
  });

  it('never lets a dc request take down a single-dc cluster', async () => {
    const res = await env.call('PUT', `${C}/dcs/dc1/maintenance`, {});
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('BudgetExceeded');
  });
});

describe('repeats, updates and idempotency', () => {
  it('treats a repeat as a no-op and a changed reason as an update', async () => {
    await env.call('PUT', `${C}/servers/db2/maintenance`, { reason: 'a' });
    const rev = (await env.call('GET', C)).body.revision;
    await env.call('PUT', `${C}/servers/db2/maintenance`, { reason: 'a' });
    expect((await env.call('GET', C)).body.revision).toBe(rev);
    await env.call('PUT', `${C}/servers/db2/maintenance`, { reason: 'b' });
    expect((await env.call('GET', C)).body.revision).toBe(rev + 1);
    const [latest] = (await env.call('GET', `${C}/events?limit=1`)).body.events;
    expect(latest).toMatchObject({ action: 'update-maintenance', reason: 'b' });
    await env.call('DELETE', `${C}/servers/db2/maintenance`);
  });

  it('returns the first answer to a retry with the same Idempotency-Key, and 409 for another body', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const first = await env.call('PUT', `${C}/servers/db3/maintenance`, { reason: 'x' }, { headers });
    await env.call('DELETE', `${C}/servers/db3/maintenance`);
    const retry = await env.call('PUT', `${C}/servers/db3/maintenance`, { reason: 'x' }, { headers });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await env.call('GET', `${C}/servers/db3`)).body.maintenance).toBe(false);
    const other = await env.call('PUT', `${C}/servers/db3/maintenance`, { reason: 'y' }, { headers });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IdempotencyKeyReused');
  });
});

describe('conditional requests', () => {
  it('answers If-None-Match with 304 from the cluster item alone, and If-Match with 412 when stale', async () => {
    const full = await env.call('GET', `${C}/servers`);
    const etag = full.headers.get('etag')!;
    env.roundTrips.reset();
    const cached = await env.call('GET', `${C}/servers`, undefined, { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(env.roundTrips.commands).toEqual(['GetItemCommand']);

    const stale = await env.call(
      'PUT',
      `${C}/servers/db2/maintenance`,
      { reason: 'r' },
      { headers: { 'if-match': '"1-0"' } },
    );
    expect(stale.status).toBe(412);
    const ok = await env.call(
      'PUT',
      `${C}/servers/db2/maintenance`,
      { reason: 'r' },
      { headers: { 'if-match': etag } },
    );
    expect(ok.status).toBe(200);
    const changed = await env.call('GET', `${C}/servers`, undefined, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    await env.call('DELETE', `${C}/servers/db2/maintenance`);
  });

  it('a server going stale changes the tag (no 304 of a fresh view), and so does the report that makes it fresh again', async () => {
    await seedCluster(env, 'stale-tag', [
      { name: 'a', role: 'replica' },
      { name: 'b', role: 'replica' },
      { name: 'c', role: 'replica' },
    ]);
    const S = '/v1/clusters/stale-tag/servers';
    const t0 = Date.parse('2040-01-01T00:00:00Z');
    env.clock.now = t0;
    try {
      await reportAll(env, 'stale-tag', ['a', 'b', 'c'], { role: 'replica', connections: 1 });
      const conditional = (tag: string) => env.call('GET', S, undefined, { headers: { 'if-none-match': tag } });
      const fresh = await env.call('GET', S);
      const tag = fresh.headers.get('etag')!;
      // b and c keep reporting (routine writes, no revision bump); a goes silent past staleAfterSeconds (60).
      env.clock.now = t0 + 40_000;
      await reportAll(env, 'stale-tag', ['b', 'c'], { role: 'replica', connections: 2 });
      expect((await conditional(tag)).status).toBe(304);
      env.clock.now = t0 + 61_000;
      await reportAll(env, 'stale-tag', ['b', 'c'], { role: 'replica', connections: 1 });
      const stale = await conditional(tag);
      expect(stale.status).toBe(200);
      expect(stale.body.servers.find((x: { name: string }) => x.name === 'a')).toMatchObject({
        stale: true,
        electable: false,
      });
      const staleTag = stale.headers.get('etag')!;
      expect(staleTag).not.toBe(tag);
      // Now known to the cluster item: 304 from it alone again.
      env.roundTrips.reset();
      expect((await conditional(staleTag)).status).toBe(304);
      expect(env.roundTrips.commands).toEqual(['GetItemCommand']);
      // a reports again: routing-relevant (it is electable again), a new revision and tag.
      const back = await env.call('PUT', `${S}/a/status`, { health: 'running', role: 'replica', connections: 1 });
      expect(back.body).toEqual({ accepted: true, routingRelevant: true });
      const again = await conditional(staleTag);
      expect(again.status).toBe(200);
      expect(again.body.servers.find((x: { name: string }) => x.name === 'a')).toMatchObject({
        stale: false,
        electable: true,
      });
      expect(again.headers.get('etag')).not.toBe(staleTag);
    } finally {
      env.clock.now = undefined;
    }
  });

  it('answers If-None-Match on one server with 304 while the cluster is unchanged', async () => {
    const first = await env.call('GET', `${C}/servers/db3`);
    const etag = first.headers.get('etag')!;
    const cached = await env.call('GET', `${C}/servers/db3`, undefined, { headers: { 'if-none-match': `W/${etag}` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    await env.call('PUT', `${C}/servers/db3/maintenance`, { reason: 'r' });
    const changed = await env.call('GET', `${C}/servers/db3`, undefined, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.body.maintenance).toBe(true);
    await env.call('DELETE', `${C}/servers/db3/maintenance`);
  });
});

describe('DynamoDB round trips (P1)', () => {
  it('a read is one Query, a mutation two, a routine report one UpdateItem, a warm token check none', async () => {
    await env.call('GET', `${C}/servers`); // warms the token cache
    env.roundTrips.reset();
    await env.call('GET', `${C}/servers`);
    expect(env.roundTrips.commands).toEqual(['QueryCommand']);

    env.roundTrips.reset();
    expect((await env.call('PUT', `${C}/servers/db2/maintenance`, {})).status).toBe(200);
    expect(env.roundTrips.commands).toEqual(['QueryCommand', 'TransactWriteItemsCommand']);
    env.roundTrips.reset();
    await env.call('DELETE', `${C}/servers/db2/maintenance`);
    expect(env.roundTrips.commands).toEqual(['QueryCommand', 'TransactWriteItemsCommand']);

    env.roundTrips.reset();
    const r = await env.call('PUT', `${C}/servers/db3/status`, {
      health: 'running',
      role: 'replica',
      connections: 4,
      version: '10.11.6',
    });
    expect(r.body.routingRelevant).toBe(false);
    expect(env.roundTrips.commands).toEqual(['UpdateItemCommand']);
  });
});

describe('claims held by others', () => {
  it('answers 409 HeldByOthers naming the dc claim when the caller has none', async () => {
    await seedCluster(
      env,
      'ring',
      [
        { name: 'a1', dc: 'east', role: 'member' },
        { name: 'a2', dc: 'east', role: 'member' },
        { name: 'a3', dc: 'east', role: 'member' },
        { name: 'b1', dc: 'west', role: 'member' },
        { name: 'b2', dc: 'west', role: 'member' },
        { name: 'b3', dc: 'west', role: 'member' },
      ],
      'cassandra',
    );
    const dc = await env.call('PUT', '/v1/clusters/ring/dcs/east/maintenance', { reason: 'rack move' });
    expect(dc.status).toBe(200);
    expect(dc.body.servers.map((s: { maintenance: boolean }) => s.maintenance)).toEqual([true, true, true]);
    const clear = await env.call('DELETE', '/v1/clusters/ring/servers/a1/maintenance');
    expect(clear.status).toBe(409);
    expect(clear.body.error).toMatchObject({
      code: 'HeldByOthers',
      details: { heldBy: [{ holder: 'manual', scope: 'dc' }] },
    });
    const otherDc = await env.call('PUT', '/v1/clusters/ring/dcs/west/maintenance', {});
    expect(otherDc.status).toBe(409);
    expect((await env.call('DELETE', '/v1/clusters/ring/dcs/east/maintenance')).status).toBe(200);
  });
});

describe('automation pause, failover and switchover', () => {
  it('refuses automatic failover while paused, allows switchover, and resumes', async () => {
    const pause = await env.call('PUT', `${C}/maintenance`, { reason: 'upgrade' });
    expect(pause.body).toMatchObject({ paused: true, claims: [{ holder: 'manual', reason: 'upgrade' }] });
    expect(Date.parse(pause.body.claims[0].until) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    const failover = await env.call('POST', `${C}/failover`);
    expect(failover.status).toBe(409);
    expect(failover.body.error.code).toBe('Paused');

    await env.call('PUT', `${C}/servers/db3/maintenance`, {});
    const refused = await env.call('POST', `${C}/switchover`, { to: 'db3' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('NotElectable');
    const ok = await env.call('POST', `${C}/switchover`, { to: 'db2' });
    expect(ok.body.pendingSwitchover).toMatchObject({ to: 'db2', from: 'db1', kind: 'switchover' });
    await env.call('DELETE', `${C}/servers/db3/maintenance`);

    await env.call('PUT', `${C}/servers/db2/status`, { health: 'running', role: 'primary' });
    await env.call('PUT', `${C}/servers/db1/status`, { health: 'running', role: 'replica' });
    const view = await env.call('GET', `${C}/failover`);
    expect(view.body).toMatchObject({ paused: true, primary: 'db2', pendingSwitchover: null });

    expect((await env.call('DELETE', `${C}/maintenance`)).body.paused).toBe(false);
    const elected = await env.call('POST', `${C}/failover`);
    expect(elected.status).toBe(200);
    expect(['db1', 'db3']).toContain(elected.body.elected);
  });
});

describe('the sweeper', () => {
  it('marks stale servers down and expires claims, each with an event', async () => {
    await seedCluster(env, 'sweep', [{ name: 's1' }, { name: 's2' }, { name: 's3' }]);
    await reportAll(env, 'sweep', ['s1', 's2', 's3'], { role: 'replica' });
    await env.call('PUT', '/v1/clusters/sweep/servers/s1/maintenance', { ttl: 60 });
    env.clock.now = Date.now() + 61_000;
    const listed = await env.call('GET', '/v1/clusters/sweep/servers/s1');
    expect(listed.body.maintenance).toBe(false); // computed on read before the sweeper runs
    env.clock.now = Date.now() + 120_000;
    await runSweep(env.deps);
    env.clock.now = undefined;
    const actions = (await env.call('GET', '/v1/clusters/sweep/events?limit=10')).body.events.map(
      (e: { action: string; target: string }) => `${e.action} ${e.target}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining(['stale server:s1', 'stale server:s2', 'stale server:s3', 'expiry-blocked server:s1']),
    );
    const s1 = await env.call('GET', '/v1/clusters/sweep/servers/s1');
    expect(s1.body).toMatchObject({ health: 'down', state: 'Maintenance, Down' });
  });
});

describe('removing a cluster', () => {
  it('removes it with an event, and a cluster registered again under the same id carries on its log', async () => {
    await seedCluster(env, 'gone', [{ name: 'g1' }, { name: 'g2' }]);
    await env.call('PUT', '/v1/clusters/gone/servers/g1/maintenance', {});
    const before = (await env.call('GET', '/v1/clusters/gone')).body.revision;
    expect((await env.call('DELETE', '/v1/clusters/gone')).status).toBe(200);
    expect((await env.call('GET', '/v1/clusters/gone')).status).toBe(404);
    expect(
      (await env.call('GET', '/v1/clusters/gone/servers', undefined, { headers: { 'if-none-match': '"1-0"' } })).status,
    ).toBe(404);
    expect((await env.call('GET', '/v1/clusters')).body.clusters.map((c: { id: string }) => c.id)).not.toContain(
      'gone',
    );

    const again = await env.call('PUT', '/v1/clusters/gone', { engine: 'generic' });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ servers: 0, revision: before + 2 });
    const actions = (await env.call('GET', '/v1/clusters/gone/events?limit=2')).body.events.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(['register-cluster', 'remove-cluster']);
  });
});

describe('status reports with request headers', () => {
  it('honours If-Match (412 when stale) instead of taking the one-write path', async () => {
    const res = await env.call(
      'PUT',
      `${C}/servers/db3/status`,
      { health: 'running', role: 'replica' },
      { headers: { 'if-match': '"1-0"' } },
    );
    expect(res.status).toBe(412);
  });
});
