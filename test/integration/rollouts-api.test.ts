/**
 * The rollout API (README "API reference", docs/workflow.md) over real HTTP and DynamoDB Local: refusals change nothing,
 * conflicts, listing, roles, idempotency, and the Step Functions console's path (the full input given to the
 * state machine itself).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';
import { until } from '../support/wait.js';

const V0 = '10.11.6';
const V1 = '10.11.7';
const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];
const LAMBDA = 'arn:aws:lambda:eu-west-1:123456789012:function:upgrader';

let env: HttpEnv;

beforeAll(async () => {
  env = await httpEnv({ waitMs: 20, retryMs: 0, allow: { webhookHosts: ['hooks.example.com'], functionArns: [] } });
});
afterAll(() => env?.close());

const MARIADB3 = [
  { name: 'db1', role: 'primary' as const },
  { name: 'db2', role: 'replica' as const },
  { name: 'db3', role: 'replica' as const },
];

/** A mariadb cluster, every server reported running at `version`. */
async function cluster(
  name: string,
  version = V0,
  servers: { name: string; role: 'primary' | 'replica' | 'member' }[] = MARIADB3,
): Promise<void> {
  await seedCluster(env, name, servers);
  for (const s of servers)
    await reportAll(env, name, [s.name], { role: s.role, version, connections: 0, openTransactions: 0 });
}

const getRollout = async (c: string, id: string) => (await env.call('GET', `/v1/clusters/${c}/rollouts/${id}`)).body;
const settle = async (c: string, id: string) => {
  const rollout = await until(
    `rollout ${id}`,
    () => getRollout(c, id),
    (r) => r.executions?.length > 0 && TERMINAL.includes(r.status),
  );
  await env.engine.list().find((e) => e.arn === rollout.executions.at(-1))?.done;
  return getRollout(c, id);
};
const start = (c: string, body: Record<string, unknown> = {}, options?: Parameters<HttpEnv['call']>[3]) =>
  env.call(
    'POST',
    `/v1/clusters/${c}/rollouts`,
    { targetVersion: V1, verify: { stableForSeconds: 0 }, ...body },
    options,
  );

/** Everything a refused request must leave as it was: the servers (with the revision) and the rollouts. */
async function snapshot(c: string) {
  const [servers, rollouts] = await Promise.all([
    env.call('GET', `/v1/clusters/${c}/servers`),
    env.call('GET', `/v1/clusters/${c}/rollouts`),
  ]);
  return { servers: servers.body, rollouts: rollouts.body };
}
const executionsOf = (rolloutId: string) =>
  env.engine.list().filter((e) => e.input.rolloutId === rolloutId && e.machine === 'rollout');

describe('starting a rollout', () => {
  beforeAll(() => cluster('refused'));

  const cases: [string, string, Record<string, unknown>, number, string, RegExp][] = [
    ['an unknown cluster', 'nope', {}, 404, 'NotFound', /nope/],
    ['an unknown server in servers', 'refused', { servers: ['db2', 'db9'] }, 400, 'InvalidInput', /db9/],
    ['batchSize 0', 'refused', { batchSize: 0 }, 400, 'InvalidInput', /batchSize/],
    ['an unknown field', 'refused', { colour: 'red' }, 400, 'InvalidInput', /colour/],
    ['an unknown upgrade kind', 'refused', { upgrade: { kind: 'ssh' } }, 400, 'InvalidInput', /upgrade/],
    [
      'a webhook host not on the allowlist',
      'refused',
      { upgrade: { kind: 'webhook', url: 'https://evil.example.net/upgrade' } },
      400,
      'InvalidInput',
      /evil\.example\.net.*allowlist/,
    ],
    [
      'a function not on the allowlist',
      'refused',
      { upgrade: { kind: 'lambda', functionArn: LAMBDA } },
      400,
      'InvalidInput',
      /function:upgrader.*allowlist/,
    ],
    ['a body naming another cluster', 'refused', { cluster: 'other' }, 400, 'InvalidInput', /other/],
  ];

  it.each(cases)('refuses %s and changes nothing', async (_what, c, body, status, code, message) => {
    const before = await snapshot('refused');
    const executions = env.engine.list().length;
    const res = await start(c, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(message);
    expect(await snapshot('refused')).toEqual(before);
    expect(before.rollouts.rollouts).toEqual([]);
    expect(env.engine.list()).toHaveLength(executions);
    expect((await env.call('GET', '/v1/clusters/nope')).status).toBe(404);
  });

  it('refuses a viewer (403) and lets it read', async () => {
    const viewer = await createToken(env.deps, 'viewer');
    const before = await snapshot('refused');
    const res = await start('refused', {}, { token: viewer });
    expect(res.status).toBe(403);
    expect(await snapshot('refused')).toEqual(before);
    expect((await env.call('GET', '/v1/clusters/refused/rollouts', undefined, { token: viewer })).status).toBe(200);
  });

  it('answers 404 for an unknown rollout', async () => {
    const res = await env.call('GET', '/v1/clusters/refused/rollouts/20300101-000000-0000');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NotFound');
    expect((await env.call('POST', '/v1/clusters/refused/rollouts/20300101-000000-0000/pause')).status).toBe(404);
  });
});

describe('controls', () => {
  it('refuses a second rollout on the cluster and a retry while running (409); nothing changes', async () => {
    await cluster('busy');
    // No agent: the first node waits for its upgrade report.
    const first = await start('busy');
    expect(first.status).toBe(201);
    const id = first.body.id as string;
    await until(
      'db2 waiting for its upgrade',
      async () =>
        env.engine
          .list()
          .some(
            (e) =>
              e.machine === 'node' &&
              e.input.rolloutId === id &&
              e.input.server === 'db2' &&
              e.events.some(
                (x) => x.type === 'StateEntered' && (x as { state: { name: string } }).state.name === 'WaitUpgraded',
              ),
          ),
      Boolean,
    );

    const before = await snapshot('busy');
    const second = await start('busy');
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'RolloutConflict', details: { rollout: id } });
    const retry = await env.call('POST', `/v1/clusters/busy/rollouts/${id}/servers/db2/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('RolloutConflict');
    const skip = await env.call('POST', `/v1/clusters/busy/rollouts/${id}/servers/db2/skip`);
    expect(skip.status).toBe(409);
    const resume = await env.call('POST', `/v1/clusters/busy/rollouts/${id}/resume`);
    expect(resume.status).toBe(409);
    const after = await snapshot('busy');
    expect(after.rollouts).toEqual(before.rollouts);
    expect(after.servers.revision).toBe(before.servers.revision);
    expect(executionsOf(id)).toHaveLength(1);

    expect((await env.call('POST', `/v1/clusters/busy/rollouts/${id}/abort`)).status).toBe(200);
    expect((await settle('busy', id)).status).toBe('aborted');
  });

  it('refuses to pause or resume a finished rollout (409)', async () => {
    await cluster('finished', V1);
    const started = await start('finished');
    expect(started.status).toBe(201);
    const done = await settle('finished', started.body.id);
    expect(done.status).toBe('succeeded');
    for (const action of ['pause', 'resume', 'abort']) {
      const res = await env.call('POST', `/v1/clusters/finished/rollouts/${done.id}/${action}`);
      expect(res.status, action).toBe(409);
      expect(res.body.error.code).toBe('RolloutConflict');
    }
    expect((await getRollout('finished', done.id)).status).toBe('succeeded');
  });

  it('lists rollouts newest first, a page at a time', async () => {
    await cluster('listed', V1);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await start('listed');
      expect(res.status).toBe(201);
      ids.push(res.body.id);
      expect((await settle('listed', res.body.id)).status).toBe('succeeded');
    }
    const all = await env.call('GET', '/v1/clusters/listed/rollouts');
    expect(all.body.rollouts.map((r: { id: string }) => r.id)).toEqual([ids[1], ids[0]]);
    expect(all.body.cursor).toBeUndefined();

    const page1 = await env.call('GET', '/v1/clusters/listed/rollouts?limit=1');
    expect(page1.body.rollouts.map((r: { id: string }) => r.id)).toEqual([ids[1]]);
    expect(page1.body.rollouts[0]).toMatchObject({ status: 'succeeded', targetVersion: V1, actor: 'admin' });
    expect(page1.body.cursor).toEqual(expect.any(String));
    const page2 = await env.call(
      'GET',
      `/v1/clusters/listed/rollouts?limit=1&cursor=${encodeURIComponent(page1.body.cursor)}`,
    );
    expect(page2.body.rollouts.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    if (page2.body.cursor) {
      const page3 = await env.call(
        'GET',
        `/v1/clusters/listed/rollouts?limit=1&cursor=${encodeURIComponent(page2.body.cursor)}`,
      );
      expect(page3.body.rollouts).toEqual([]);
      expect(page3.body.cursor).toBeUndefined();
    }
    expect((await env.call('GET', '/v1/clusters/nope/rollouts')).status).toBe(404);
  });

  it('replays a start with the same Idempotency-Key: the same rollout, one execution', async () => {
    await cluster('idem', V1);
    const headers = { 'idempotency-key': 'start-idem-1' };
    const first = await start('idem', {}, { headers });
    expect(first.status).toBe(201);
    const again = await start('idem', {}, { headers });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect((await settle('idem', first.body.id)).status).toBe('succeeded');
    const replayed = await start('idem', {}, { headers });
    expect(replayed.body.id).toBe(first.body.id);
    expect(executionsOf(first.body.id)).toHaveLength(1);
    expect((await env.call('GET', '/v1/clusters/idem/rollouts')).body.rollouts).toHaveLength(1);
  });
});

describe('issue 14: one execution per rollout, one mutation path', () => {
  it('three resumes at once of a paused canary: one 202 and one execution; the others 409', async () => {
    await cluster('canary');
    const agentDone = { running: true };
    // An agent that upgrades what the rollout holds.
    const agent = (async () => {
      while (agentDone.running) {
        const servers = (await env.call('GET', '/v1/clusters/canary/servers')).body?.servers ?? [];
        for (const x of servers) {
          if (
            x.maintenance &&
            x.version !== V1 &&
            x.claims.some((c: { holder: string }) => c.holder.startsWith('rollout:'))
          ) {
            await env.call('PUT', `/v1/clusters/canary/servers/${x.name}/status`, {
              health: 'running',
              role: x.role,
              version: V1,
              connections: 0,
              openTransactions: 0,
            });
          }
        }
        const pending = (await env.call('GET', '/v1/clusters/canary/failover')).body?.pendingSwitchover;
        if (pending) {
          await env.call('PUT', `/v1/clusters/canary/servers/${pending.from}/status`, {
            health: 'running',
            role: 'replica',
            version: V1,
            connections: 0,
            openTransactions: 0,
          });
          await env.call('PUT', `/v1/clusters/canary/servers/${pending.to}/status`, {
            health: 'running',
            role: 'primary',
            version: V1,
            connections: 0,
            openTransactions: 0,
          });
        }
        await sleep(30);
      }
    })();
    try {
      const started = await start('canary', { pauseAfterFirstBatch: true });
      const id = started.body.id as string;
      expect((await settle('canary', id)).status).toBe('paused');
      const answers = await Promise.all(
        [1, 2, 3].map(() => env.call('POST', `/v1/clusters/canary/rollouts/${id}/resume`)),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409]);
      expect(answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'RolloutConflict')).toBe(true);
      const done = await until(
        'the resumed rollout to end',
        () => getRollout('canary', id),
        (r) => r.executions.length >= 2 && TERMINAL.includes(r.status),
        30_000,
      );
      await env.engine.list().find((e) => e.arn === done.executions.at(-1))?.done;
      expect((await getRollout('canary', id)).status).toBe('succeeded');
      expect(executionsOf(id)).toHaveLength(2);
      expect((await getRollout('canary', id)).executions).toEqual(executionsOf(id).map((e) => e.arn));
    } finally {
      agentDone.running = false;
      await agent;
    }
  });

  it('a control honours If-Match (412, nothing changed) and a replayed one says so (idempotent-replayed)', async () => {
    await cluster('ctl');
    const started = await start('ctl');
    const id = started.body.id as string;
    const stale = await env.call('POST', `/v1/clusters/ctl/rollouts/${id}/pause`, undefined, {
      headers: { 'if-match': '"1-0-0"' },
    });
    expect(stale.status).toBe(412);
    expect((await getRollout('ctl', id)).status).toBe('running');
    const headers = { 'idempotency-key': 'abort-ctl-1' };
    const abort = await env.call('POST', `/v1/clusters/ctl/rollouts/${id}/abort`, undefined, { headers });
    expect(abort.status).toBe(200);
    expect(abort.headers.get('idempotent-replayed')).toBeNull();
    const again = await env.call('POST', `/v1/clusters/ctl/rollouts/${id}/abort`, undefined, { headers });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await settle('ctl', id)).status).toBe('aborted');
    const staleStart = await start('ctl', {}, { headers: { 'if-match': '"1-0-0"' } });
    expect(staleStart.status).toBe(412);
    expect((await env.call('GET', '/v1/clusters/ctl/rollouts')).body.rollouts).toHaveLength(1);
    const staleWindow = await env.call(
      'POST',
      '/v1/clusters/ctl/windows',
      { name: 'w', schedule: 'cron(0 2 * * ? *)', duration: 'PT1H', action: 'cluster-maintenance' },
      { headers: { 'if-match': '"1-0-0"' } },
    );
    expect(staleWindow.status).toBe(412);
    expect((await env.call('GET', '/v1/clusters/ctl/windows')).body.windows).toEqual([]);
  });
});

describe('the Step Functions console path', () => {
  it('runs the full input: the execution creates its own record, as its actor, and upgrades the cluster', async () => {
    const members = ['m1', 'm2', 'm3'].map((name) => ({ name, role: 'member' as const }));
    await cluster('console', V0, members);
    // The agents: a member the rollout holds in maintenance is upgraded.
    let running = true;
    const agent = (async () => {
      while (running) {
        const servers = (await env.call('GET', '/v1/clusters/console/servers')).body?.servers as
          | { name: string; maintenance: boolean; version: string; claims: { holder: string }[] }[]
          | undefined;
        for (const s of servers ?? []) {
          if (s.maintenance && s.version !== V1 && s.claims.some((c) => c.holder.startsWith('rollout:'))) {
            await env.call('PUT', `/v1/clusters/console/servers/${s.name}/status`, {
              health: 'running',
              role: 'member',
              version: V1,
              connections: 0,
              openTransactions: 0,
            });
          }
        }
        await sleep(50);
      }
    })();
    try {
      const execution = env.engine.start('rollout', {
        cluster: 'console',
        targetVersion: V1,
        servers: ['m3', 'm1', 'm2'],
        verify: { stableForSeconds: 0 },
      });
      const ended = await execution.done;
      expect(ended.status, JSON.stringify((await env.call('GET', '/v1/clusters/console/rollouts')).body)).toBe(
        'SUCCEEDED',
      );
      const list = (await env.call('GET', '/v1/clusters/console/rollouts')).body.rollouts;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        status: 'succeeded',
        actor: execution.arn,
        executions: [execution.arn],
        targetVersion: V1,
      });
      const servers = (await env.call('GET', '/v1/clusters/console/servers')).body.servers;
      for (const s of servers) expect(s).toMatchObject({ version: V1, claims: [] });
      const events = (await env.call('GET', '/v1/clusters/console/events?action=start-rollout')).body.events;
      expect(events).toHaveLength(1);
      expect(events[0].actor).toBe(execution.arn);
    } finally {
      running = false;
      await agent;
    }
  });

  const invalid: [string, Record<string, unknown>, string, RegExp][] = [
    ['batchSize 0', { cluster: 'console-bad', targetVersion: V1, batchSize: 0 }, 'InvalidInput', /batchSize/],
    ['an unknown cluster', { cluster: 'nowhere', targetVersion: V1 }, 'NotFound', /nowhere/],
    ['an unknown field', { cluster: 'console-bad', targetVersion: V1, colour: 'red' }, 'InvalidInput', /colour/],
    ['no target version', { cluster: 'console-bad' }, 'InvalidInput', /targetVersion/],
    ['an unknown server', { cluster: 'console-bad', targetVersion: V1, servers: ['db9'] }, 'InvalidInput', /db9/],
    [
      'a function not on the allowlist',
      { cluster: 'console-bad', targetVersion: V1, upgrade: { kind: 'lambda', functionArn: LAMBDA } },
      'InvalidInput',
      /allowlist/,
    ],
  ];

  it.each(invalid)(
    'fails at once on %s, naming the problem, and changes nothing',
    async (_what, input, error, cause) => {
      if (!(await env.call('GET', '/v1/clusters/console-bad')).body?.id) await cluster('console-bad');
      const before = await snapshot('console-bad');
      const execution = env.engine.start('rollout', input);
      const ended = await execution.done;
      expect(ended.status).toBe('FAILED');
      expect(ended.error?.Error).toBe(error);
      expect(ended.error?.Cause).toMatch(cause);
      // Preflight only: no task after it ran.
      const entered = ended.events
        .filter((e) => e.type === 'StateEntered')
        .map((e) => (e as { state: { name: string } }).state.name);
      expect(entered).toEqual(['Preflight', 'Rejected']);
      expect(await snapshot('console-bad')).toEqual(before);
      expect(before.rollouts.rollouts).toEqual([]);
      expect((await env.call('GET', '/v1/clusters/nowhere')).status).toBe(404);
    },
  );
});
