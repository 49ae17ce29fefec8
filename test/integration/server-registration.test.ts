/**
 * Changing a server's registration over HTTP: PUT replaces (and no longer demotes a primary by leaving `role`
 * out), PATCH updates only what it names, and a change of dc or role meets the budget and the role rules;
 * the answer and the `update-server` event say what changed; the audit log still replays to what is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, mismatches } from '../support/api-client.js';
import { replayAudit } from '../support/audit-replay.js';
import { createToken, httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';

let env: HttpEnv;
const SERVERS = [
  { name: 'db1', role: 'primary' as const },
  { name: 'db2', role: 'replica' as const },
  { name: 'db3', role: 'replica' as const },
  { name: 'db4', dc: 'dc2', role: 'replica' as const },
  { name: 'db5', dc: 'dc2', role: 'replica' as const },
  { name: 'db6', dc: 'dc2', role: 'replica' as const },
];

/** A fresh cluster: db1 (primary), db2, db3 in dc1; db4, db5, db6 in dc2; all reported running. */
async function fleet(cluster: string): Promise<string> {
  await seedCluster(env, cluster, SERVERS);
  await reportAll(
    env,
    cluster,
    SERVERS.map((s) => s.name),
  );
  return `/v1/clusters/${cluster}`;
}

const revisionOf = async (C: string) => (await env.call('GET', C)).body.revision as number;
const eventsOf = async (C: string, query = '') =>
  (await env.call('GET', `${C}/events?limit=100${query}`)).body.events as any[];

beforeAll(async () => {
  env = await httpEnv();
});
afterAll(() => env.close());

describe('PUT keeps its replacement meaning, without silently demoting or moving', () => {
  it('refuses a partial PUT that would demote the primary (400 asking for role or PATCH), and changes nothing', async () => {
    const C = await fleet('put-partial');
    const revision = await revisionOf(C);
    const res = await env.call('PUT', `${C}/servers/db1`, { address: '10.0.0.1', port: 3306 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidInput');
    expect(res.body.error.message).toContain(
      'server db1 is role primary: without role it would make it the default member',
    );
    expect(res.body.error.message).toContain('PATCH');
    const db1 = await env.call('GET', `${C}/servers/db1`);
    expect(db1.body).toMatchObject({ role: 'primary', dc: 'dc1', state: 'Master, Running' });
    expect(db1.body.address).toBeUndefined();
    expect(await revisionOf(C)).toBe(revision);
    expect(await eventsOf(C, '&action=update-server')).toEqual([]);

    // naming a non-default dc is still required for a server that lives there
    const dc2 = await env.call('PUT', `${C}/servers/db4`, { role: 'replica' });
    expect(dc2.status).toBe(400);
    expect(dc2.body.error.message).toContain('server db4 is dc dc2: without dc it would move it to the default dc1');
  });

  it('a complete PUT replaces, and answers the server with what changed', async () => {
    const C = await fleet('put-full');
    const res = await env.call('PUT', `${C}/servers/db1`, {
      dc: 'dc1',
      role: 'primary',
      address: '10.0.0.1',
      port: 3306,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'db1',
      role: 'primary',
      dc: 'dc1',
      address: '10.0.0.1',
      port: 3306,
      state: 'Master, Running',
    });
    expect(res.body.changed).toEqual({ address: { from: null, to: '10.0.0.1' }, port: { from: null, to: 3306 } });
    // fields left out take the defaults: the port goes
    const replaced = await env.call('PUT', `${C}/servers/db1`, { dc: 'dc1', role: 'primary', address: '10.0.0.1' });
    expect(replaced.body.changed).toEqual({ port: { from: 3306, to: null } });
    expect(replaced.body.port).toBeUndefined();
    // a new server: 201, with what it was registered with
    const created = await env.call('PUT', `${C}/servers/db7`, { dc: 'dc2', role: 'replica' });
    expect(created.status).toBe(201);
    expect(created.body.changed).toEqual({ dc: { from: null, to: 'dc2' }, role: { from: null, to: 'replica' } });
  });

  it('a PUT that moves an existing server is refused by the budget like a PATCH', async () => {
    const C = await fleet('put-move');
    expect((await env.call('PUT', `${C}/servers/db2/maintenance`, { force: true })).status).toBe(200);
    expect((await env.call('PUT', `${C}/servers/db5/maintenance`, { force: true })).status).toBe(200);
    const revision = await revisionOf(C);
    const res = await env.call('PUT', `${C}/servers/db2`, { dc: 'dc2', role: 'replica' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'BudgetExceeded',
      message: 'dc dc2 allows 1 unavailable of 4; this would make 2',
      details: { usingBudget: ['db2', 'db5'] },
    });
    expect(await revisionOf(C)).toBe(revision);
  });
});

describe('PATCH /v1/clusters/{c}/servers/{s}', () => {
  it('changes only the fields given, removes those given as null, and records what changed', async () => {
    const C = await fleet('patch');
    const res = await env.call('PATCH', `${C}/servers/db1`, { address: '10.0.0.1', port: 3306, component: 'storage' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'db1',
      role: 'primary',
      dc: 'dc1',
      address: '10.0.0.1',
      port: 3306,
      component: 'storage',
      state: 'Master, Running',
    });
    expect(res.body.changed).toEqual({
      address: { from: null, to: '10.0.0.1' },
      port: { from: null, to: 3306 },
      component: { from: null, to: 'storage' },
    });

    // JSON Merge Patch's media type, and null removing a field
    const removed = await env.call('PATCH', `${C}/servers/db1`, JSON.stringify({ component: null }), {
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(removed.status).toBe(200);
    expect(removed.body.component).toBeUndefined();
    expect(removed.body).toMatchObject({ role: 'primary', address: '10.0.0.1', port: 3306 });
    expect(removed.body.changed).toEqual({ component: { from: 'storage', to: null } });

    const [latest] = await eventsOf(C, '&action=update-server&server=db1');
    expect(latest).toMatchObject({
      action: 'update-server',
      target: 'server:db1',
      actor: 'admin',
      reason: 'component: storage → none',
      before: { component: 'storage' },
    });
    expect(latest.after.component).toBeUndefined();

    // a repeat is a no-op: no event, the same revision
    const revision = await revisionOf(C);
    const repeat = await env.call('PATCH', `${C}/servers/db1`, { port: 3306 });
    expect(repeat.status).toBe(200);
    expect(repeat.body.changed).toEqual({});
    expect(await revisionOf(C)).toBe(revision);
  });

  it('never creates (404), refuses unknown fields (400), and is admin-only (403)', async () => {
    const C = await fleet('patch-errors');
    const ghost = await env.call('PATCH', `${C}/servers/ghost`, { role: 'replica' });
    expect(ghost.status).toBe(404);
    expect(ghost.body.error.message).toBe('server ghost not found');
    expect((await env.call('GET', `${C}/servers/ghost`)).status).toBe(404);
    expect((await env.call('PATCH', '/v1/clusters/no-such-cluster/servers/db1', { role: 'replica' })).status).toBe(404);

    const unknown = await env.call('PATCH', `${C}/servers/db1`, { rol: 'replica' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('unknown field(s) rol');
    expect((await env.call('PATCH', `${C}/servers/db1`, { dc: null })).status).toBe(400);

    const operator = await createToken(env.deps, 'operator');
    expect((await env.call('PATCH', `${C}/servers/db2`, { port: 1 }, { token: operator })).status).toBe(403);
  });

  it('a refused move: 409 BudgetExceeded naming the dc and the servers using its budget, nothing changed, no event', async () => {
    const C = await fleet('patch-move');
    // db2 (dc1) and db5 (dc2) in maintenance: dc2 is at its limit, 1 of 3
    expect((await env.call('PUT', `${C}/servers/db2/maintenance`, { force: true })).status).toBe(200);
    expect((await env.call('PUT', `${C}/servers/db5/maintenance`, { force: true })).status).toBe(200);
    const revision = await revisionOf(C);
    const eventCount = (await eventsOf(C)).length;

    const refused = await env.call('PATCH', `${C}/servers/db2`, { dc: 'dc2' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'BudgetExceeded',
      message: 'dc dc2 allows 1 unavailable of 4; this would make 2',
      details: { usingBudget: ['db2', 'db5'], newlyUnavailable: [] },
    });
    expect((await env.call('GET', `${C}/servers/db2`)).body).toMatchObject({ dc: 'dc1', maintenance: true });
    expect(await revisionOf(C)).toBe(revision);
    expect(await eventsOf(C)).toHaveLength(eventCount);

    // dry run: the verdict and the server as it would be; nothing changes
    const dry = await env.call('PATCH', `${C}/servers/db2`, { dc: 'dc2', dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      changed: { dc: { from: 'dc1', to: 'dc2' } },
      verdict: {
        allowed: false,
        reason: 'dc dc2 allows 1 unavailable of 4; this would make 2',
        usingBudget: ['db2', 'db5'],
      },
      server: { name: 'db2', dc: 'dc2' },
    });
    expect(await revisionOf(C)).toBe(revision);
    expect((await env.call('GET', `${C}/servers/db2`)).body.dc).toBe('dc1');

    // override (admin): done, and the event records it and what changed
    const forced = await env.call('PATCH', `${C}/servers/db2`, { dc: 'dc2', override: true });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ dc: 'dc2', maintenance: true, changed: { dc: { from: 'dc1', to: 'dc2' } } });
    const [event] = await eventsOf(C, '&action=update-server&server=db2');
    expect(event).toMatchObject({
      override: true,
      reason: 'dc: dc1 → dc2',
      before: { dc: 'dc1' },
      after: { dc: 'dc2' },
    });
    expect(await revisionOf(C)).toBe(revision + 1);

    // moving an available server out of dc1 is fine (dc1: 0 of 2 now, dc2 no worse)
    const moved = await env.call('PATCH', `${C}/servers/db3`, { dc: 'dc2' });
    expect(moved.status).toBe(200);
  });

  it('moving a server out of a dc in maintenance is 409 HeldByOthers unless override', async () => {
    const C = await fleet('patch-held');
    expect((await env.call('PUT', `${C}/dcs/dc2/maintenance`, { force: true, reason: 'network' })).status).toBe(200);
    const res = await env.call('PATCH', `${C}/servers/db4`, { dc: 'dc1' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('HeldByOthers');
    expect(res.body.error.details).toEqual({ heldBy: [{ holder: 'manual', scope: 'dc' }] });
    // and moving one into it would take it out of service: the budget's refusal
    const into = await env.call('PATCH', `${C}/servers/db3`, { dc: 'dc2' });
    expect(into.status).toBe(409);
    expect(into.body.error).toMatchObject({ code: 'BudgetExceeded', details: { newlyUnavailable: ['db3'] } });
  });

  it('role changes: a second primary is 409 Conflict; demote first, then promote', async () => {
    const C = await fleet('patch-role');
    const second = await env.call('PATCH', `${C}/servers/db2`, { role: 'primary' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'Conflict', details: { primary: 'db1' } });

    const dry = await env.call('PATCH', `${C}/servers/db1`, { role: 'replica', dryRun: true });
    expect(dry.body).toMatchObject({
      dryRun: true,
      changed: { role: { from: 'primary', to: 'replica' } },
      verdict: { allowed: true, losesPrimary: ['db1'] },
    });
    expect((await env.call('GET', `${C}/servers/db1`)).body.role).toBe('primary');

    const demoted = await env.call('PATCH', `${C}/servers/db1`, { role: 'replica' });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({
      role: 'replica',
      state: 'Slave, Running',
      changed: { role: { from: 'primary', to: 'replica' } },
    });
    const promoted = await env.call('PATCH', `${C}/servers/db2`, { role: 'primary' });
    expect(promoted.status).toBe(200);
    expect((await env.call('GET', `${C}/failover`)).body.primary).toBe('db2');
    const events = await eventsOf(C, '&action=update-server');
    expect(events.map((e) => [e.target, e.reason])).toEqual([
      ['server:db2', 'role: replica → primary'],
      ['server:db1', 'role: primary → replica'],
    ]);
  });

  it('the audit log still replays to what is stored after moves, overrides and role changes', async () => {
    const C = await fleet('patch-replay');
    await env.call('PUT', `${C}/servers/db2/maintenance`, { force: true });
    await env.call('PUT', `${C}/servers/db5/maintenance`, { force: true });
    expect((await env.call('PATCH', `${C}/servers/db2`, { dc: 'dc2', override: true })).status).toBe(200);
    expect((await env.call('PATCH', `${C}/servers/db1`, { role: 'replica', address: '10.0.0.1' })).status).toBe(200);
    expect((await env.call('PATCH', `${C}/servers/db3`, { role: 'primary', dc: 'dc2' })).status).toBe(200);
    expect((await env.call('PATCH', `${C}/servers/db1`, { address: null, port: 3306 })).status).toBe(200);

    const log = replayAudit(
      'patch-replay',
      await apiClient({ url: env.url, token: env.admin }).allEvents('patch-replay'),
    );
    expect(log.problems).toEqual([]);
    const stored = (await env.deps.store.readCluster('patch-replay'))!;
    expect(mismatches(stored, log.projections)).toEqual([]);
  });
});
