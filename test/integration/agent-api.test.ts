/**
 * What the MariaDB agent needs of the API beyond status reports, over real HTTP and DynamoDB Local: the
 * cluster's agent lease (one agent acts, the others report) and the upgrade failure it reports for a node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';
import { until } from '../support/wait.js';

let env: HttpEnv;
let agent: string;

beforeAll(async () => {
  env = await httpEnv({ waitMs: 20, retryMs: 0 });
  await seedCluster(env, 'shop', [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
  await seedCluster(env, 'other', [{ name: 'x1', role: 'primary' }]);
  await reportAll(env, 'shop', ['db1'], { role: 'primary', version: '10.11.6', connections: 0, openTransactions: 0 });
  await reportAll(env, 'shop', ['db2', 'db3'], {
    role: 'replica',
    version: '10.11.6',
    connections: 0,
    openTransactions: 0,
  });
  agent = await createToken(env.deps, 'agent', ['shop']);
});
afterAll(() => env?.close());

const lease = (holder: string, ttlSeconds: number, token = agent, cluster = 'shop') =>
  env.call('PUT', `/v1/clusters/${cluster}/agent-lease`, { holder, ttlSeconds }, { token });

describe('the agent lease', () => {
  it('is held by one agent at a time, renewed by it, released at ttl 0, and lapses unless renewed', async () => {
    const base = Date.parse('2040-01-01T00:00:00Z');
    env.clock.now = base;
    try {
      const first = await lease('agent-a', 30);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toEqual({ holder: 'agent-a', until: new Date(base + 30_000).toISOString() });

      const second = await lease('agent-b', 30);
      expect(second.status).toBe(409);
      expect(second.body.error).toMatchObject({ code: 'Conflict', details: { holder: 'agent-a' } });
      expect(second.body.error.message).toMatch(/held by agent-a/);

      env.clock.now = base + 20_000;
      expect((await lease('agent-a', 30)).body.until).toBe(new Date(base + 50_000).toISOString());
      env.clock.now = base + 49_000;
      expect((await lease('agent-b', 30)).status).toBe(409);
      env.clock.now = base + 50_000;
      expect((await lease('agent-b', 30)).body.holder).toBe('agent-b'); // lapsed: taken over

      expect((await lease('agent-b', 0)).status).toBe(200); // let go
      expect((await lease('agent-a', 30)).body.holder).toBe('agent-a');
    } finally {
      env.clock.now = undefined;
    }
  });

  it('two agents asking at once: exactly one holds it', async () => {
    await lease('agent-a', 0);
    const answers = await Promise.all(['p', 'q', 'r', 's'].map((h) => lease(`racer-${h}`, 60)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(3);
    const winner = answers.find((a) => a.status === 200)!.body.holder;
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.details.holder).toBe(winner);
    await lease(winner, 0);
  });

  it("refuses another cluster's agent, a viewer, bad bodies and an unknown cluster, and changes nothing", async () => {
    await lease('agent-a', 60);
    const otherAgent = await createToken(env.deps, 'agent', ['other']);
    const viewer = await createToken(env.deps, 'viewer');
    expect((await lease('intruder', 60, otherAgent)).status).toBe(403);
    expect((await lease('intruder', 60, viewer)).status).toBe(403);
    expect((await lease('agent-b', 301)).status).toBe(400);
    expect((await lease('', 30)).status).toBe(400);
    expect((await lease('has space', 30)).status).toBe(400);
    expect(
      (
        await env.call(
          'PUT',
          '/v1/clusters/shop/agent-lease',
          { holder: 'x', ttlSeconds: 5, extra: 1 },
          { token: agent },
        )
      ).status,
    ).toBe(400);
    expect((await lease('agent-a', 30, env.admin, 'nope')).status).toBe(404);
    const still = await lease('agent-b', 30);
    expect(still.status).toBe(409);
    expect(still.body.error.details.holder).toBe('agent-a');
  });

  it('goes with its cluster: a cluster registered again under the name starts with no lease', async () => {
    await seedCluster(env, 'brief', [{ name: 'b1', role: 'primary' }]);
    const briefAgent = await createToken(env.deps, 'agent', ['brief']);
    expect((await lease('old-agent', 300, briefAgent, 'brief')).status).toBe(200);
    expect((await env.call('DELETE', '/v1/clusters/brief')).status).toBeLessThan(300);
    await seedCluster(env, 'brief', [{ name: 'b1', role: 'primary' }]);
    const taken = await lease('new-agent', 30, briefAgent, 'brief');
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    expect(taken.body.holder).toBe('new-agent');
  });
});

describe('an upgrade failure the agent reports', () => {
  it("fails the node waiting for its upgrade with the command's reason; refused for a node not waiting", async () => {
    const started = await env.call('POST', '/v1/clusters/shop/rollouts', {
      targetVersion: '10.11.7',
      servers: ['db3'],
      upgrade: { kind: 'wait-for-report', timeoutSeconds: 600 },
      verify: { stableForSeconds: 0 },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    const path = `/v1/clusters/shop/rollouts/${id}`;
    await until(
      'db3 waiting for its upgrade',
      async () => (await env.call('GET', path)).body,
      (r) => r.servers.find((s: any) => s.name === 'db3')?.step === 'maintain',
    );

    const notWaiting = await env.call(
      'POST',
      `${path}/servers/db2/upgrade-failure`,
      { reason: 'exit 1' },
      { token: agent },
    );
    expect(notWaiting.status).toBe(404); // db2 is not a target of this rollout
    expect(
      (await env.call('POST', `${path}/servers/db3/upgrade-failure`, { reason: '' }, { token: agent })).status,
    ).toBe(400);
    const viewer = await createToken(env.deps, 'viewer');
    expect(
      (await env.call('POST', `${path}/servers/db3/upgrade-failure`, { reason: 'x' }, { token: viewer })).status,
    ).toBe(403);

    const reason = 'upgrade command exited with 3: apt-get: E: Unable to locate package mariadb-server-10.11.7';
    const reported = await env.call('POST', `${path}/servers/db3/upgrade-failure`, { reason }, { token: agent });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    const failed = await until(
      'the rollout failed',
      async () => (await env.call('GET', path)).body,
      (r) => r.status === 'failed',
    );
    expect(failed.servers.find((s: any) => s.name === 'db3')).toMatchObject({
      outcome: 'failed',
      step: 'wait-upgraded',
      reason,
    });
    expect(failed.failure).toMatchObject({ server: 'db3' });
    // Too late now: the node no longer waits.
    expect((await env.call('POST', `${path}/servers/db3/upgrade-failure`, { reason }, { token: agent })).status).toBe(
      409,
    );
    const events = (await env.call('GET', '/v1/clusters/shop/events?action=upgrade-failed')).body.events;
    expect(events).toHaveLength(1);
    expect(events[0].after).toMatchObject({ server: 'db3', reason });
  });
});
