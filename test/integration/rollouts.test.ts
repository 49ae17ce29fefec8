/**
 * Rolling upgrades under failure (R4, docs/workflow.md "Stopping safely"), end to end: the real HTTP API over DynamoDB
 * Local, the generated ASL run by the local engine, and an in-test agent that reports status and upgrades the
 * servers the rollout holds in maintenance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskPayload } from '../../functions/rollout/tasks.js';
import { runSweep } from '../../functions/sweeper.js';
import { taskBindings } from '../../workflows/asl.js';
import { apiClient } from '../support/api-client.js';
import { httpEnv, seedCluster, type HttpEnv } from '../support/env.js';
import { until } from '../support/wait.js';
import { Agent, type Role } from '../support/agent.js';

const V0 = '10.11.6';
const V1 = '10.11.7';
const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];

let env: HttpEnv;
/** What runs before each task: each test that injects faults sets it and clears it at the end. */
let hook: ((payload: TaskPayload) => void | Promise<void>) | undefined;

beforeAll(async () => {
  env = await httpEnv({
    waitMs: 20,
    retryMs: 0,
    aroundTask: async (payload, run) => {
      await hook?.(payload);
      return run();
    },
  });
});
afterAll(async () => {
  hook = undefined;
  await env?.close();
});

/** A cluster registered through the API, every server reported running at V0; its agent (not started). */
async function cluster(
  name: string,
  servers: { name: string; role: Role; dc?: string; version?: string; connections?: number }[],
  budget?: { maxUnavailablePerDc: number },
): Promise<Agent> {
  await seedCluster(env, name, servers);
  if (budget) expect((await env.call('PUT', `/v1/clusters/${name}`, { engine: 'mariadb', budget })).status).toBe(200);
  const agent = new Agent(env, name, V1, servers, V0);
  await agent.reportAll();
  expect(agent.errors).toEqual([]);
  return agent;
}

const getRollout = async (c: string, id: string) => {
  const res = await env.call('GET', `/v1/clusters/${c}/rollouts/${id}`);
  expect(res.status).toBe(200);
  return res.body;
};

/**
 * Polls the rollout until its `executions`-th execution (a resume's is recorded by its Preflight) has left it
 * succeeded, failed, aborted or paused; then waits for that execution to end.
 */
async function settle(c: string, id: string, executions = 1): Promise<any> {
  const rollout = await until(
    `rollout ${id} to end`,
    () => getRollout(c, id),
    (r) => r.executions.length >= executions && TERMINAL.includes(r.status),
  );
  const execution = env.engine.list().find((e) => e.arn === rollout.executions.at(-1));
  await execution?.done;
  return getRollout(c, id);
}

/** The servers whose node execution (of this rollout) is polling in WaitUpgraded, held in maintenance by the rollout. */
async function waitingForUpgrade(c: string, id: string): Promise<string[]> {
  const inState = env.engine
    .list()
    .filter((e) => e.machine === 'node' && e.input.rolloutId === id && e.status === 'RUNNING')
    .filter((e) =>
      e.events.some(
        (x) => x.type === 'StateEntered' && (x as { state: { name: string } }).state.name === 'WaitUpgraded',
      ),
    )
    .map((e) => String(e.input.server));
  const view = await servers(c);
  return inState
    .filter((name) => view.get(name)?.maintenance && holders(view.get(name)).includes(`rollout:${id}`))
    .sort();
}

async function start(c: string, body: Record<string, unknown>): Promise<any> {
  const res = await env.call('POST', `/v1/clusters/${c}/rollouts`, {
    targetVersion: V1,
    verify: { stableForSeconds: 0 },
    ...body,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const servers = async (c: string) => {
  const res = await env.call('GET', `/v1/clusters/${c}/servers`);
  return new Map<string, any>(res.body.servers.map((s: { name: string }) => [s.name, s]));
};
const holders = (server: { claims: { holder: string }[] }) => server.claims.map((c) => c.holder);
const clusterClaims = async (c: string) =>
  ((await env.call('GET', `/v1/clusters/${c}`)).body.maintenance.claims as { holder: string }[]).map((h) => h.holder);
const nodeOf = (rollout: any, name: string) => rollout.servers.find((s: { name: string }) => s.name === name);

/** The whole audit log of a cluster, oldest first. */
const allEvents = (c: string) => apiClient({ url: env.url, token: env.admin }).allEvents<any>(c);

const MARIADB3: { name: string; role: Role }[] = [
  { name: 'db1', role: 'primary' },
  { name: 'db2', role: 'replica' },
  { name: 'db3', role: 'replica' },
];

describe('a rollout', () => {
  it('upgrades a 3-server cluster, the primary last after a switchover, then releases automation and the lock', async () => {
    const agent = (await cluster('full', MARIADB3)).start();
    try {
      const started = await start('full', {});
      expect(started).toMatchObject({ status: 'running', targetVersion: V1, actor: 'admin' });
      const done = await settle('full', started.id);
      expect(done.status).toBe('succeeded');
      expect(done.failure).toBeUndefined();
      expect(done.servers.map((s: any) => [s.name, s.outcome])).toEqual([
        ['db1', 'upgraded'],
        ['db2', 'upgraded'],
        ['db3', 'upgraded'],
      ]);
      // Replicas first, the primary alone in the last batch.
      expect(nodeOf(done, 'db1').batch).toBe(done.batch.count);
      expect(Math.max(nodeOf(done, 'db2').batch, nodeOf(done, 'db3').batch)).toBeLessThan(nodeOf(done, 'db1').batch);

      const holder = `rollout:${started.id}`;
      const events = await allEvents('full');
      const clears = events
        .filter((e) => e.action === 'clear-maintenance' && e.actor === holder && e.target.startsWith('server:'))
        .map((e) => e.target);
      expect(clears).toHaveLength(3);
      expect(clears.at(-1)).toBe('server:db1');
      const switchover = events.find((e) => e.action === 'switchover' && e.actor === holder);
      expect(switchover?.after.pendingSwitchover).toMatchObject({ from: 'db1', actor: holder });
      expect(events.some((e) => e.action === 'complete-switchover')).toBe(true);
      // The switchover came before db1 was drained.
      const db1Drain = events.find(
        (e) => e.target === 'server:db1' && e.action === 'set-maintenance' && e.actor === holder,
      );
      expect(db1Drain.revision).toBeGreaterThan(switchover.revision);

      const after = await servers('full');
      for (const s of after.values()) {
        expect(s.version).toBe(V1);
        expect(s.claims).toEqual([]);
        expect(s.routable).toBe(true);
      }
      expect([...after.values()].filter((s) => s.role === 'primary').map((s) => s.name)).toEqual([
        switchover.after.pendingSwitchover.to,
      ]);
      expect(await clusterClaims('full')).toEqual([]);

      // The lock is released: a second rollout starts (every server is already at the version).
      const again = await start('full', {});
      const second = await settle('full', again.id);
      expect(second.status).toBe('succeeded');
      expect(second.servers.every((s: any) => s.outcome === 'already-upgraded')).toBe(true);
      expect(agent.errors).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it('retries each task that fails once (Transient) and still succeeds', async () => {
    const agent = (await cluster('flaky', MARIADB3)).start();
    // Every task fails the first time it runs for this cluster.
    const thrown = new Set<string>();
    hook = (payload) => {
      if ((payload.state as { cluster?: string }).cluster !== 'flaky' || thrown.has(payload.task)) return;
      thrown.add(payload.task);
      throw Object.assign(new Error('the backend is busy'), { name: 'Transient' });
    };
    try {
      const started = await start('flaky', {});
      const done = await settle('flaky', started.id);
      expect(done.status).toBe('succeeded');
      expect(done.servers.every((s: any) => s.outcome === 'upgraded')).toBe(true);
      expect([...thrown]).toEqual(
        expect.arrayContaining([
          'preflight',
          'pauseAutomation',
          'plan',
          'nextBatch',
          'beginNode',
          'requestSwitchover',
          'checkRoles',
          'drainNode',
          'checkDrained',
          'triggerUpgrade',
          'checkUpgraded',
          'checkVerified',
          'clearNode',
          'finishRollout',
        ]),
      );

      // The executions' event logs: each failed task's state was retried by its Retry, not caught.
      const executions = env.engine.list().filter((e) => e.input.rolloutId === started.id);
      expect(executions.every((e) => e.status === 'SUCCEEDED')).toBe(true);
      const events = executions.flatMap((e) => e.events);
      const retried = new Set(
        events.filter((e) => e.type === 'StateRetried').map((e) => (e as { state: { name: string } }).state.name),
      );
      expect(retried).toContain('CheckDrained');
      const bindings = {
        ...taskBindings(env.engine.definitions.rollout),
        ...taskBindings(env.engine.definitions.node),
      };
      for (const task of thrown) {
        const states = Object.entries(bindings)
          .filter(([, t]) => t === task)
          .map(([state]) => state);
        expect(
          states.some((state) => retried.has(state)),
          `${task} (${states.join(', ')}) retried`,
        ).toBe(true);
      }
      expect(events.filter((e) => e.type === 'StateCaught')).toEqual([]);
    } finally {
      hook = undefined;
      await agent.stop();
    }
  });

  it('stops at a node that fails verify, keeps it and automation held, and finishes after a retry and a resume', async () => {
    const agent = await cluster('lagging', MARIADB3);
    agent.afterUpgrade.set('db2', { replicationLagSeconds: 120 });
    agent.start();
    try {
      const started = await start('lagging', {
        servers: ['db2', 'db3', 'db1'],
        verify: { stableForSeconds: 0, maxReplicationLagSeconds: 10, timeoutSeconds: 1 },
      });
      const failed = await settle('lagging', started.id);
      expect(failed.status).toBe('failed');
      expect(failed.failure).toMatchObject({ server: 'db2', step: 'verify' });
      expect(failed.failure.reason).toMatch(/lag 120/);
      expect(nodeOf(failed, 'db2')).toMatchObject({ outcome: 'failed', step: 'verify' });
      expect(nodeOf(failed, 'db3').outcome).toBe('pending');
      expect(nodeOf(failed, 'db1').outcome).toBe('pending');

      const holder = `rollout:${started.id}`;
      const before = await servers('lagging');
      expect(holders(before.get('db2'))).toEqual([holder]);
      expect(before.get('db2').routable).toBe(false);
      expect(before.get('db3')).toMatchObject({ claims: [], version: V0 });
      expect(before.get('db1')).toMatchObject({ claims: [], version: V0, role: 'primary' });
      expect(await clusterClaims('lagging')).toEqual([holder]);
      const events = await allEvents('lagging');
      expect(events.filter((e) => e.actor === holder && e.action === 'clear-maintenance')).toEqual([]);
      expect(
        events.some((e) => e.actor === holder && e.target !== 'server:db2' && e.target.startsWith('server:')),
      ).toBe(false);

      // Resume refuses while the failed node is neither retried nor skipped.
      const refused = await env.call('POST', `/v1/clusters/lagging/rollouts/${started.id}/resume`);
      expect(refused.status).toBe(409);

      await agent.set('db2', { replicationLagSeconds: 0 });
      const retried = await env.call('POST', `/v1/clusters/lagging/rollouts/${started.id}/servers/db2/retry`);
      expect(retried.status).toBe(200);
      expect(nodeOf(retried.body, 'db2').outcome).toBe('pending');
      expect(retried.body.failure).toBeUndefined();
      const resumed = await env.call('POST', `/v1/clusters/lagging/rollouts/${started.id}/resume`);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
      const done = await settle('lagging', started.id, 2);
      expect(done.status).toBe('succeeded');
      expect(done.executions).toHaveLength(2);
      expect(done.servers.every((s: any) => s.outcome === 'upgraded')).toBe(true);
      expect(await clusterClaims('lagging')).toEqual([]);
      for (const s of (await servers('lagging')).values()) expect(s).toMatchObject({ version: V1, claims: [] });
    } finally {
      await agent.stop();
    }
  });
});

describe('a drain that times out', () => {
  /** db2 keeps 5 connections open whatever happens: its drain never ends. */
  const stuck = async (c: string) => {
    const agent = await cluster(c, MARIADB3);
    await agent.set('db2', { connections: 5 });
    return agent.start();
  };

  it('forces maintenance with onDrainTimeout force, and the rollout carries on', async () => {
    const agent = await stuck('drain-force');
    try {
      const started = await start('drain-force', { servers: ['db2'], drainTimeoutSeconds: 1, onDrainTimeout: 'force' });
      const holder = `rollout:${started.id}`;
      const draining = await until(
        'db2 draining',
        () => servers('drain-force'),
        (s) => s.get('db2').draining === true,
        5_000,
      );
      expect(draining.get('db2')).toMatchObject({ maintenance: false, routable: false, connections: 5 });
      expect(holders(draining.get('db2'))).toEqual([holder]);
      const done = await settle('drain-force', started.id);
      expect(done.status).toBe('succeeded');
      const forced = (await allEvents('drain-force')).find(
        (e) => e.target === 'server:db2' && e.actor === holder && /not drained within 1 s/.test(e.reason ?? ''),
      );
      expect(forced?.after.claims[holder]).toMatchObject({ mode: 'maintenance', force: true });
      expect((await servers('drain-force')).get('db2')).toMatchObject({ version: V1, claims: [], connections: 5 });
      expect(await clusterClaims('drain-force')).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it('fails the rollout at wait-drained with onDrainTimeout fail', async () => {
    const agent = await stuck('drain-fail');
    try {
      const started = await start('drain-fail', { servers: ['db2'], drainTimeoutSeconds: 0, onDrainTimeout: 'fail' });
      const done = await settle('drain-fail', started.id);
      expect(done.status).toBe('failed');
      expect(done.failure).toMatchObject({ server: 'db2', step: 'wait-drained' });
      expect(done.failure.reason).toMatch(/not drained within 0 s/);
      const holder = `rollout:${started.id}`;
      const after = await servers('drain-fail');
      expect(after.get('db2')).toMatchObject({ routable: false, version: V0 });
      expect(holders(after.get('db2'))).toEqual([holder]);
      expect(await clusterClaims('drain-fail')).toEqual([holder]);
      const events = await allEvents('drain-fail');
      expect(events.filter((e) => e.target === 'server:db2' && e.actor === holder).map((e) => e.action)).toEqual([
        'set-maintenance',
      ]);
    } finally {
      await agent.stop();
    }
  });
});

describe('operators', () => {
  it('abort mid-batch: the nodes in flight stop where they are and stay held; none is cleared; resume carries on', async () => {
    const five: { name: string; role: Role }[] = [
      { name: 'db1', role: 'primary' },
      ...['db2', 'db3', 'db4', 'db5'].map((name) => ({ name, role: 'replica' as const })),
    ];
    const agent = await cluster('abort', five);
    agent.upgrade = false;
    agent.start();
    try {
      const started = await start('abort', { batchSize: 2 });
      const id = started.id as string;
      const waiting = await until(
        'the first batch waiting for its upgrade',
        () => waitingForUpgrade('abort', id),
        (w) => w.length === 2,
      );
      expect(waiting).toEqual(['db2', 'db3']);

      const abort = await env.call('POST', `/v1/clusters/abort/rollouts/${id}/abort`);
      expect(abort.status).toBe(200);
      expect(abort.body.status).toBe('aborting');
      const aborted = await settle('abort', id);
      expect(aborted.status).toBe('aborted');
      expect(aborted.stoppedNodes).toEqual(['db2', 'db3']);
      expect(nodeOf(aborted, 'db2').outcome).toBe('stopped');
      expect(nodeOf(aborted, 'db3').outcome).toBe('stopped');

      const holder = `rollout:${id}`;
      const after = await servers('abort');
      for (const name of ['db2', 'db3']) {
        expect(holders(after.get(name))).toEqual([holder]);
        expect(after.get(name)).toMatchObject({ routable: false, maintenance: true, version: V0 });
      }
      for (const name of ['db1', 'db4', 'db5']) expect(after.get(name)).toMatchObject({ claims: [], version: V0 });
      const events = await allEvents('abort');
      expect(events.filter((e) => e.action === 'clear-maintenance' && e.target.startsWith('server:'))).toEqual([]);
      // Automation stays paused while the rollout holds nodes.
      expect(await clusterClaims('abort')).toEqual([holder]);

      // A re-run resumes from the record.
      agent.upgrade = true;
      const resumed = await env.call('POST', `/v1/clusters/abort/rollouts/${id}/resume`);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
      const done = await settle('abort', id, 2);
      expect(done.status).toBe('succeeded');
      expect(done.executions).toHaveLength(2);
      for (const s of (await servers('abort')).values()) expect(s).toMatchObject({ version: V1, claims: [] });
      expect(await clusterClaims('abort')).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it('pause ends the execution after the first batch; resume starts a new one that finishes', async () => {
    const agent = (await cluster('canary', MARIADB3)).start();
    try {
      const started = await start('canary', { pauseAfterFirstBatch: true });
      const paused = await settle('canary', started.id);
      expect(paused.status).toBe('paused');
      expect(paused.canaryPaused).toBe(true);
      expect(paused.executions).toHaveLength(1);
      const first = env.engine.list().find((e) => e.arn === paused.executions[0]);
      expect(first?.status).toBe('SUCCEEDED');
      expect(paused.servers.filter((s: any) => s.outcome === 'upgraded').map((s: any) => s.name)).toEqual(['db2']);
      expect(await clusterClaims('canary')).toEqual([]);
      expect((await servers('canary')).get('db3')).toMatchObject({ version: V0, claims: [] });

      const resumed = await env.call('POST', `/v1/clusters/canary/rollouts/${started.id}/resume`);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
      const done = await settle('canary', started.id, 2);
      expect(done.status).toBe('succeeded');
      expect(done.executions).toHaveLength(2);
      expect(done.executions[0]).toBe(paused.executions[0]);
      expect(done.servers.every((s: any) => s.outcome === 'upgraded')).toBe(true);
      expect(env.engine.list().find((e) => e.arn === done.executions[1])?.status).toBe('SUCCEEDED');
    } finally {
      await agent.stop();
    }
  });

  it('refuses a person clearing a node the rollout holds', async () => {
    const agent = await cluster('held', MARIADB3);
    agent.upgrade = false;
    agent.start();
    try {
      const started = await start('held', {});
      await until(
        'db2 held',
        () => waitingForUpgrade('held', started.id),
        (w) => w.includes('db2'),
      );
      const holder = `rollout:${started.id}`;
      const before = await env.call('GET', '/v1/clusters/held/servers');
      const refused = await env.call('DELETE', '/v1/clusters/held/servers/db2/maintenance');
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('HeldByOthers');
      expect(refused.body.error.message).toContain(holder);
      const after = await env.call('GET', '/v1/clusters/held/servers');
      expect(after.body.revision).toBe(before.body.revision);
      expect(holders(after.body.servers.find((s: any) => s.name === 'db2'))).toEqual([holder]);

      agent.upgrade = true;
      expect((await settle('held', started.id)).status).toBe('succeeded');
    } finally {
      await agent.stop();
    }
  });
});

describe('the budget', () => {
  it('is never exceeded by a rollout with batches larger than it (replayed from the audit log)', async () => {
    const dc1 = [
      { name: 'db1', role: 'primary' as const, dc: 'dc1' },
      ...['db2', 'db3', 'db4', 'db5'].map((name) => ({ name, role: 'replica' as const, dc: 'dc1' })),
    ];
    const dc2 = ['db6', 'db7', 'db8'].map((name) => ({ name, role: 'replica' as const, dc: 'dc2' }));
    const agent = (await cluster('budget', [...dc1, ...dc2])).start();
    try {
      const started = await start('budget', { batchSize: 4 });
      const done = await settle('budget', started.id);
      expect(done.status).toBe('succeeded');

      const limit: Record<string, number> = { dc1: 2, dc2: 1 }; // ⌊(n−1)/2⌋ of 5 and of 3
      const state = new Map<string, { dc: string; claims: Record<string, unknown>; health?: string }>();
      const peak: Record<string, number> = { dc1: 0, dc2: 0 };
      const events = await allEvents('budget');
      const revisions = [...new Set(events.map((e) => e.revision))];
      for (const revision of revisions) {
        for (const e of events.filter((x) => x.revision === revision && x.target.startsWith('server:'))) {
          const name = e.target.slice('server:'.length);
          if (e.after) state.set(name, e.after);
          else state.delete(name);
        }
        for (const dc of ['dc1', 'dc2']) {
          const down = [...state.entries()]
            .filter(([, s]) => s.dc === dc && (Object.keys(s.claims ?? {}).length > 0 || s.health === 'down'))
            .map(([n]) => n);
          expect(down.length, `revision ${revision}: ${dc} has ${down.join(', ')} unavailable`).toBeLessThanOrEqual(
            limit[dc]!,
          );
          peak[dc] = Math.max(peak[dc]!, down.length);
        }
      }
      // The rollout did use the budget it had: two at once in dc1.
      expect(peak).toEqual({ dc1: 2, dc2: 1 });
      expect(state.size).toBe(8);
      expect([...state.values()].every((s) => Object.keys(s.claims).length === 0)).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});

describe('the sweeper', () => {
  it('marks a rollout whose execution was stopped from outside aborted, and it keeps its claims', async () => {
    const agent = await cluster('stopped', MARIADB3);
    agent.upgrade = false;
    agent.start();
    try {
      const started = await start('stopped', {});
      await until(
        'db2 held',
        () => waitingForUpgrade('stopped', started.id),
        (w) => w.includes('db2'),
      );
      const running = await getRollout('stopped', started.id);
      const arn = running.executions.at(-1) as string;
      env.engine.stop(arn);
      const execution = env.engine.list().find((e) => e.arn === arn)!;
      await execution.done;
      expect(execution.status).toBe('ABORTED');
      expect((await getRollout('stopped', started.id)).status).toBe('running');

      await runSweep(env.deps);
      const swept = await getRollout('stopped', started.id);
      expect(swept.status).toBe('aborted');
      expect(swept.stoppedNodes).toEqual(['db2']);
      const holder = `rollout:${started.id}`;
      const after = await servers('stopped');
      expect(holders(after.get('db2'))).toEqual([holder]);
      expect(after.get('db2').routable).toBe(false);
      expect(await clusterClaims('stopped')).toEqual([holder]);
      const events = await allEvents('stopped');
      expect(events.find((e) => e.action === 'abort-rollout')).toMatchObject({ actor: 'sweeper' });
    } finally {
      await agent.stop();
    }
  });
});
