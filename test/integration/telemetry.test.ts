/**
 * Structured logs and metrics from real handler runs (the local HTTP server, the family handlers, DynamoDB Local):
 * one JSON line per request with its fields, the EMF metrics each line embeds (namespace, names, dimensions, units),
 * the change metrics (servers in maintenance per cluster, how long a claim lasted), the task lines and node step
 * durations of a real rollout (the generated ASL under the local engine, an agent upgrading), and no secret.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMetrics } from '../../functions/change-metrics.js';
import { loggedTask } from '../../functions/rollout/task-log.js';
import { runSweep } from '../../functions/sweeper.js';
import { configureLogs, log, METRIC_NAMESPACE, pretty, type LogSettings } from '../../functions/telemetry.js';
import { DASHBOARD_METRICS } from '../../lib/constructs/operations-dashboard.js';
import { Agent, type Role } from '../support/agent.js';
import { httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';
import { until } from '../support/wait.js';

type Line = Record<string, any> & {
  _aws?: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: any[] }[] };
};

const lines: string[] = [];
let previous: LogSettings;
let env: HttpEnv;
const C = '/v1/clusters/shop';
const T0 = Date.parse('2026-12-06T08:00:00Z');

const parsed = (): Line[] => lines.map((l) => JSON.parse(l));
const requestLine = (id: string) => parsed().find((l) => l.message === 'request' && l.correlation_id === id)!;
/** Every metric seen in this file's runs, by name: its dimensions' names. */
const seen = new Map<string, string[]>();
/** The metrics a line embeds: name → { value, unit, dimensions as name → value }. */
function metricsOf(line: Line) {
  const out: Record<string, { value: unknown; unit: string; dimensions: Record<string, unknown> }> = {};
  for (const d of line._aws?.CloudWatchMetrics ?? []) {
    expect(d.Namespace).toBe(METRIC_NAMESPACE);
    expect(d.Dimensions).toHaveLength(1);
    for (const m of d.Metrics) seen.set(m.Name, d.Dimensions[0]!);
    for (const m of d.Metrics)
      out[m.Name] = {
        value: line[m.Name],
        unit: m.Unit,
        dimensions: Object.fromEntries(d.Dimensions[0]!.map((k) => [k, line[k]])),
      };
  }
  return out;
}

beforeAll(async () => {
  previous = configureLogs({ format: 'json', level: 'debug', metrics: true, write: (line) => lines.push(line) });
  env = await httpEnv();
  env.clock.now = T0;
  await seedCluster(env, 'shop', [
    { name: 'db1', role: 'primary' },
    { name: 'db2', role: 'replica' },
    { name: 'db3', role: 'replica' },
  ]);
  await reportAll(env, 'shop', ['db1', 'db2', 'db3'], { connections: 2, openTransactions: 0, version: '10.11.6' });
});
afterAll(async () => {
  configureLogs(previous);
  await env.close();
});

describe('a request', () => {
  it('writes one JSON line: route, status, actor, cluster, the request id; requests and latency by family and status class', async () => {
    lines.length = 0;
    const set = await env.call('PUT', `${C}/servers/db2/maintenance`, { reason: 'kernel' });
    expect(set.status).toBe(200);
    const id = set.headers.get('x-request-id')!;
    const requests = parsed().filter((l) => l.message === 'request');
    expect(requests).toHaveLength(1);
    const line = requestLine(id);
    expect(line).toMatchObject({
      level: 'INFO',
      service: 'maintctl',
      route: 'PUT /v1/clusters/{c}/servers/{s}/maintenance',
      status: 200,
      actor: 'admin',
      cluster: 'shop',
      correlation_id: id,
    });
    expect(Date.parse(line.timestamp)).toBeGreaterThan(0);
    const metrics = metricsOf(line);
    expect(Object.keys(metrics).sort()).toEqual(['Latency', 'Requests']);
    expect(metrics.Requests).toEqual({
      value: 1,
      unit: 'Count',
      dimensions: { family: 'maintenance', statusClass: '2xx' },
    });
    expect(metrics.Latency!.unit).toBe('Milliseconds');
    expect(metrics.Latency!.value).toBeGreaterThan(0);
  });

  it('counts a refusal by its code, and the change after it counts the servers in maintenance per cluster', async () => {
    lines.length = 0;
    const refused = await env.call('PUT', `${C}/servers/db3/maintenance`, {});
    expect(refused.status).toBe(409);
    const line = requestLine(refused.headers.get('x-request-id')!);
    expect(line).toMatchObject({
      status: 409,
      code: 'BudgetExceeded',
      route: 'PUT /v1/clusters/{c}/servers/{s}/maintenance',
    });
    const metrics = metricsOf(line);
    expect(metrics.Refusals).toEqual({ value: 1, unit: 'Count', dimensions: { code: 'BudgetExceeded' } });
    expect(metrics.Requests!.dimensions).toEqual({ family: 'maintenance', statusClass: '4xx' });
    // A refused change writes nothing: no change line.
    expect(parsed().filter((l) => l.message === 'change')).toEqual([]);
  });

  it('a claim that ends reports how long it lasted; the gauge follows every change', async () => {
    lines.length = 0;
    env.clock.now = T0 + 90_000;
    const cleared = await env.call('DELETE', `${C}/servers/db2/maintenance`);
    expect(cleared.status).toBe(200);
    const change = parsed().find(
      (l) => l.message === 'change' && l.correlation_id === cleared.headers.get('x-request-id'),
    )!;
    expect(metricsOf(change)).toEqual({
      ServersInMaintenance: { value: 0, unit: 'Count', dimensions: { cluster: 'shop' } },
      ServersDraining: { value: 0, unit: 'Count', dimensions: { cluster: 'shop' } },
      MaintenanceDuration: { value: [90], unit: 'Seconds', dimensions: { cluster: 'shop' } },
    });

    lines.length = 0;
    env.clock.now = T0 + 100_000;
    const drain = await env.call('PUT', `${C}/servers/db3/maintenance`, { mode: 'drain', ttl: '30s' });
    expect(drain.status).toBe(200);
    const set = parsed().find((l) => l.message === 'change')!;
    expect(metricsOf(set).ServersDraining!.value).toBe(1);
    // The sweeper's pass: the drain claim expired after 30 s (the gauge for each cluster, the claim's duration).
    lines.length = 0;
    env.clock.now = T0 + 145_000;
    // Reported lately: a stale (down) server keeps an expired claim.
    await reportAll(env, 'shop', ['db1', 'db2', 'db3'], { connections: 0 });
    await runSweep(env.deps);
    const swept = parsed().filter((l) => l.message === 'change' && l.cluster === 'shop');
    expect(swept.map((l) => metricsOf(l).DrainDuration?.value).filter(Boolean)).toEqual([[45]]);
    expect(swept.every((l) => metricsOf(l).ServersInMaintenance?.value === 0)).toBe(true);
  });

  it('a request it cannot route, or unauthenticated, still gets its line', async () => {
    lines.length = 0;
    const res = await env.call('GET', `${C}/servers`, undefined, { token: null });
    expect(res.status).toBe(401);
    expect(requestLine(res.headers.get('x-request-id')!)).toMatchObject({
      route: 'GET /v1/clusters/{c}/servers',
      status: 401,
      code: 'Unauthorized',
      actor: 'anonymous',
    });
  });
});

describe('no secret in any line', () => {
  it('bearer and basic credentials, a token in a query string, a webhook secret in a body: none is written', async () => {
    lines.length = 0;
    const wrong = `mct_${'x'.repeat(43)}`;
    const basic = `Basic ${Buffer.from(`admin:${env.admin}`).toString('base64')}`;
    await env.call('GET', `${C}/servers?token=${env.admin}`);
    await env.call('GET', `${C}/servers`, undefined, { token: wrong });
    await env.call('GET', `${C}/servers`, undefined, { token: null, headers: { authorization: basic } });
    await env.call('PUT', `${C}/servers/db9`, { role: 'replica', secret: 'hunter2-webhook-secret' });
    const output = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const secret of [env.admin, wrong, 'hunter2-webhook-secret']) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(createHash('sha256').update(secret).digest('hex'));
    }
    expect(output).not.toContain(basic.slice('Basic '.length));
    expect(output.toLowerCase()).not.toContain('authorization');
  });
});

describe('the task function', () => {
  it('writes the rollout, the execution and the step; a failed step counts by step', async () => {
    lines.length = 0;
    const payload = {
      task: 'drainNode',
      execution: 'arn:aws:states:eu-west-1:1:execution:node:r1-db2',
      state: { cluster: 'shop', rolloutId: 'r1', server: 'db2' },
    };
    await loggedTask(payload, async () => ({ outcome: 'draining' }));
    const failure = Object.assign(new Error('drain timed out'), { name: 'StepFailed.drain' });
    await expect(
      loggedTask(payload, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    const [ok, failed] = parsed();
    expect(ok).toMatchObject({
      message: 'task',
      correlation_id: payload.execution,
      rollout: 'r1',
      step: 'drainNode',
      server: 'db2',
      outcome: 'draining',
    });
    expect(ok!._aws).toBeUndefined();
    expect(failed).toMatchObject({ level: 'WARN', message: 'task failed', error: 'StepFailed.drain', rollout: 'r1' });
    expect(JSON.stringify(failed)).not.toContain('timed out');
    expect(metricsOf(failed!)).toEqual({ StepFailures: { value: 1, unit: 'Count', dimensions: { step: 'drain' } } });
  });

  it("a node that leaves a step reports the step's duration", () => {
    const state = {
      cluster: { id: 'shop', claims: {}, staleAfterSeconds: 60 },
      dcs: new Map(),
      servers: new Map(),
    } as any;
    const node = { server: 'db2', step: 'drain', outcome: 'in-progress', attempt: 1, stepStartedAt: T0 };
    const before = { rollout: {}, nodes: new Map([['db2', node]]) } as any;
    const after = { rollout: {}, nodes: new Map([['db2', { ...node, step: 'maintain', stepStartedAt: T0 + 12_000 }]]) };
    const groups = changeMetrics(state, before, { next: state, events: [], rollout: after } as any, T0 + 12_000);
    expect(groups).toContainEqual({ dimensions: { step: 'drain' }, metrics: { StepDuration: [12, 'Seconds'] } });
    seen.set('StepDuration', ['step']);
    // The same step polled again: nothing.
    expect(changeMetrics(state, before, { next: state, events: [], rollout: before }, T0 + 20_000)).toHaveLength(1);
  });
});

describe('a rollout run through the local engine', () => {
  it('writes a line per task (execution, rollout, step) and the duration of each node step it leaves', async () => {
    const rolloutEnv = await httpEnv({ waitMs: 20, retryMs: 0, aroundTask: loggedTask });
    const servers: { name: string; role: Role }[] = [
      { name: 'db1', role: 'primary' },
      { name: 'db2', role: 'replica' },
      { name: 'db3', role: 'replica' },
    ];
    await seedCluster(rolloutEnv, 'up', servers);
    const agent = new Agent(rolloutEnv, 'up', '10.11.7', servers, '10.11.6');
    await agent.reportAll();
    agent.start();
    try {
      lines.length = 0;
      const started = await rolloutEnv.call('POST', '/v1/clusters/up/rollouts', {
        targetVersion: '10.11.7',
        verify: { stableForSeconds: 0 },
      });
      expect(started.status).toBe(201);
      const done = await until(
        'the rollout to succeed',
        async () => (await rolloutEnv.call('GET', `/v1/clusters/up/rollouts/${started.body.id}`)).body,
        (r) => r.status === 'succeeded',
      );
      const tasks = parsed().filter((l) => l.message === 'task' && l.rollout === started.body.id);
      expect(new Set(tasks.map((l) => l.correlation_id))).toEqual(
        new Set([
          ...done.executions,
          ...rolloutEnv.engine
            .list()
            .filter((e) => e.machine === 'node')
            .map((e) => e.arn),
        ]),
      );
      for (const step of ['preflight', 'drainNode', 'triggerUpgrade', 'clearNode', 'finishRollout'])
        expect(tasks.map((l) => l.step)).toContain(step);
      expect(
        tasks
          .filter((l) => l.step === 'clearNode')
          .map((l) => l.server)
          .sort(),
      ).toEqual(['db1', 'db2', 'db3']);
      expect(parsed().filter((l) => l.message === 'task failed')).toEqual([]);

      const changes = parsed().filter((l) => l.message === 'change' && l._aws);
      const stepDurations = changes.flatMap((l) => {
        const m = metricsOf(l).StepDuration;
        return m ? [[m.dimensions.step, m.value] as const] : [];
      });
      // Each node left drain, maintain and verify; the primary's also its switchover.
      const counts: Record<string, number> = {};
      for (const [step] of stepDurations) counts[String(step)] = (counts[String(step)] ?? 0) + 1;
      expect(counts).toEqual({ switchover: 1, drain: 3, maintain: 3, verify: 3 });
      expect(stepDurations.every(([, seconds]) => typeof seconds === 'number' && seconds >= 0)).toBe(true);
      // Each server's maintenance by the rollout ended: three durations; the gauge went up and back to 0.
      const ended = changes.flatMap((l) => (metricsOf(l).MaintenanceDuration?.value as number[] | undefined) ?? []);
      expect(ended.length).toBeGreaterThanOrEqual(3);
      const gauge = changes.map((l) => metricsOf(l).ServersInMaintenance!.value as number);
      expect(Math.max(...gauge)).toBeGreaterThanOrEqual(1);
      expect(gauge.at(-1)).toBe(0);
    } finally {
      await agent.stop();
      await rolloutEnv.close();
    }
  });
});

describe('pretty lines', () => {
  it("on a terminal: the lines of the level asked for, with their metrics' values; debug lines not", () => {
    const shown: string[] = [];
    const saved = configureLogs({ format: 'pretty', level: 'info', metrics: true, write: (line) => shown.push(line) });
    try {
      log('debug', 'change', {}, [
        { dimensions: { cluster: 'shop' }, metrics: { ServersInMaintenance: [2, 'Count'] } },
      ]);
      log('info', 'request', { status: 200 }, [
        { dimensions: { family: 'health' }, metrics: { Requests: [1, 'Count'] } },
      ]);
    } finally {
      configureLogs(saved);
    }
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}request status=200 family=health Requests=1$/);
  });

  it('in JSON: a debug line that carries metrics is written all the same (CloudWatch reads them from it)', () => {
    const written: string[] = [];
    const saved = configureLogs({ format: 'json', level: 'info', metrics: true, write: (line) => written.push(line) });
    try {
      log('debug', 'change', {}, [
        { dimensions: { cluster: 'shop' }, metrics: { ServersInMaintenance: [2, 'Count'] } },
      ]);
      log('debug', 'no metrics', {});
    } finally {
      configureLogs(saved);
    }
    expect(written.map((l) => JSON.parse(l).message)).toEqual(['change']);
  });

  it('the same fields, one line, without the EMF metadata', () => {
    const line = pretty({
      level: 'INFO',
      message: 'request',
      timestamp: '2026-12-06T08:01:02.345Z',
      service: 'maintctl',
      route: 'PUT /v1/clusters/{c}/servers/{s}/maintenance',
      status: 409,
      code: 'BudgetExceeded',
      _aws: { CloudWatchMetrics: [] },
    });
    expect(line).toBe(
      '08:01:02.345 INFO  request route="PUT /v1/clusters/{c}/servers/{s}/maintenance" status=409 code=BudgetExceeded',
    );
  });
});

describe('the dashboard', () => {
  it('graphs every metric these runs emitted, by the same dimensions, and no other', () => {
    expect(Object.fromEntries([...seen].sort())).toEqual(
      Object.fromEntries(
        Object.entries(DASHBOARD_METRICS)
          .map(([name, { dimensions }]) => [name, [...dimensions]])
          .sort(),
      ),
    );
  });
});
