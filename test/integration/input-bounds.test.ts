/**
 * Numbers a client sends, at their extremes, over real HTTP and DynamoDB Local: a `rate(...)` too long to compute
 * with and a number DynamoDB cannot store (a magnitude below 1e-130 underflows) are a 400 naming the field and the
 * limit, never a 500, and change nothing (no write: no window, no rollout, no audit event). At the limits, what is
 * accepted is stored and read back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';

const C = 'bounded';
const START = '2040-01-01T00:00:00Z';

let env: HttpEnv;

beforeAll(async () => {
  env = await httpEnv({ waitMs: 20, retryMs: 0 });
  env.clock.now = Date.parse('2039-12-01T00:00:00Z');
  await seedCluster(env, C, [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
  await reportAll(env, C, ['db1'], { role: 'primary', version: '10.11.6', connections: 0, openTransactions: 0 });
  await reportAll(env, C, ['db2', 'db3'], { role: 'replica', version: '10.11.6', connections: 0, openTransactions: 0 });
});
afterAll(() => env?.close());

/** Everything a refused request must leave as it was. */
async function snapshot() {
  const [servers, windows, rollouts, events] = await Promise.all(
    [
      `/v1/clusters/${C}/servers`,
      `/v1/clusters/${C}/windows`,
      `/v1/clusters/${C}/rollouts`,
      `/v1/clusters/${C}/events`,
    ].map((p) => env.call('GET', p)),
  );
  return { servers: servers!.body, windows: windows!.body, rollouts: rollouts!.body, events: events!.body };
}

const window = (body: Record<string, unknown>) => ({
  name: 'w',
  duration: 'PT2H',
  startDate: START,
  targets: { servers: ['db2'] },
  ...body,
});

describe('refused: a 400 naming the field and the limit, nothing written', () => {
  const cases: [string, string, string, unknown, RegExp][] = [
    [
      'a window every 99999999999 days',
      'POST',
      `/v1/clusters/${C}/windows`,
      window({ schedule: 'rate(99999999999 days)' }),
      /^schedule: rate\(99999999999 days\) is too long: at most 365 days \(8760 hours, 525600 minutes\)$/,
    ],
    [
      'a window every 366 days',
      'POST',
      `/v1/clusters/${C}/windows`,
      window({ schedule: 'rate(366 days)' }),
      /^schedule: rate\(366 days\) is too long: at most 365 days/,
    ],
    [
      'a window every 525601 minutes',
      'POST',
      `/v1/clusters/${C}/windows`,
      window({ schedule: 'rate(525601 minutes)' }),
      /^schedule: rate\(525601 minutes\) is too long: at most 365 days/,
    ],
    [
      'a window every 10^240 minutes',
      'POST',
      `/v1/clusters/${C}/windows`,
      window({ schedule: `rate(${'9'.repeat(240)} minutes)` }),
      /is too long: at most 365 days/,
    ],
    [
      'a rollout with maxReplicationLagSeconds 1e-200',
      'POST',
      `/v1/clusters/${C}/rollouts`,
      { targetVersion: '10.11.7', verify: { maxReplicationLagSeconds: 1e-200 } },
      /verify\.maxReplicationLagSeconds: must be 0 or of magnitude between 1e-130 and 1e125/,
    ],
    [
      'a rollout window with maxReplicationLagSeconds 1e-131',
      'POST',
      `/v1/clusters/${C}/windows`,
      window({
        schedule: 'rate(1 day)',
        action: 'rollout',
        targets: undefined,
        rollout: { targetVersion: '10.11.7', verify: { maxReplicationLagSeconds: 1e-131 } },
      }),
      /verify\.maxReplicationLagSeconds: must be 0 or of magnitude between 1e-130/,
    ],
    [
      'a status report with replicationLagSeconds 1e-200',
      'PUT',
      `/v1/clusters/${C}/servers/db2/status`,
      { health: 'running', replicationLagSeconds: 1e-200 },
      /replicationLagSeconds: must be 0 or of magnitude between 1e-130 and 1e125/,
    ],
    [
      'a ttl of 99999999999 days',
      'PUT',
      `/v1/clusters/${C}/servers/db2/maintenance`,
      { ttl: '99999999999d' },
      /ttl must be between 1 second and 30 days/,
    ],
  ];

  it.each(cases)('%s', async (_what, method, path, body, message) => {
    await env.call('GET', `/v1/clusters/${C}`); // the token cached: the refusal itself costs nothing
    const before = await snapshot();
    const writes = env.writes.length;
    const res = await env.call(method, path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body.error.code).toBe('InvalidInput');
    expect(res.body.error.message).toMatch(message);
    expect(env.writes.length).toBe(writes);
    expect(await snapshot()).toEqual(before);
    expect(before.windows.windows).toEqual([]);
    expect(before.rollouts.rollouts).toEqual([]);
  });
});

describe('accepted at the limits: stored and read back', () => {
  it('a window every 365 days lists its next starts; a rollout window keeps maxReplicationLagSeconds 1e-130', async () => {
    const res = await env.call(
      'POST',
      `/v1/clusters/${C}/windows`,
      window({
        schedule: 'rate(365 days)',
        action: 'rollout',
        targets: undefined,
        rollout: { targetVersion: '10.11.7', verify: { maxReplicationLagSeconds: 1e-130 } },
      }),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const read = await env.call('GET', `/v1/clusters/${C}/windows/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.rollout.verify.maxReplicationLagSeconds).toBe(1e-130);
    expect(read.body.next.map((n: { start: { utc: string } }) => n.start.utc)).toEqual([
      '2040-01-01T00:00:00.000Z',
      '2040-12-31T00:00:00.000Z',
      '2041-12-31T00:00:00.000Z',
    ]);
    expect((await env.call('DELETE', `/v1/clusters/${C}/windows/${res.body.id}`)).status).toBe(204);
  });

  it('a status report with replicationLagSeconds 1e-130 (and 0) is stored', async () => {
    for (const lag of [1e-130, 0]) {
      const res = await env.call('PUT', `/v1/clusters/${C}/servers/db3/status`, {
        health: 'running',
        role: 'replica',
        replicationLagSeconds: lag,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });
});
