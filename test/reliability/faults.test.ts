/**
 * R2 (README "Measured"): the handlers reach DynamoDB Local through a loopback TCP proxy that drops, delays and resets
 * a share of their connections (10 % by default; test/support/fault-proxy.ts), while concurrent mixed requests
 * (native, MaxScale's and GreptimeDB's) hit one cluster and a rolling upgrade runs on another, its agents
 * reporting through the same faulty path.
 *
 * Asserted: every answer is a success, a refusal the domain names (409), or a clean 503 (native JSON
 * `{error:{code:"Unavailable"}}`, or the compat family's own format); the audit log of each cluster replays
 * to exactly its stored state (no change without its event, no event without its change) with the budget held
 * at every revision; the rollout either succeeds or stops safely — a node it did not verify still holds its
 * claim, the cluster's automation stays paused — and, the faults healed, a resume finishes it.
 *
 * FAULT_SEED=<n> replays the proxy's choices and the load (timing aside); FAULT_SHARE=<0..1> changes the share.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiClient, mismatches, readStored, type ApiClient } from '../support/api-client.js';
import { replayAudit } from '../support/audit-replay.js';
import { Agent, type Role } from '../support/agent.js';
import { errorFormatProblems } from '../support/compat.js';
import { httpEnv, seedCluster, type HttpEnv } from '../support/env.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { prng } from '../support/processes.js';
import { recordReliability } from '../support/reliability-report.js';
import { until } from '../support/wait.js';

const SEED = process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) : randomBytes(4).readUInt32BE();
const SHARE = Number(process.env.FAULT_SHARE ?? 0.1);
const REQUESTS = 300;
const STORM_SHARE = 0.8;
const STORM_REQUESTS = 60;
const CONCURRENCY = 32;
const V0 = '10.11.6';
const V1 = '10.11.7';

const LOAD = 'load';
const DCS = ['dc1', 'dc2', 'dc3', 'dc4'];
const LOAD_SERVERS = DCS.flatMap((dc) =>
  Array.from({ length: 4 }, (_, i) => ({
    name: `${dc}-db${i + 1}`,
    dc,
    role: (dc === 'dc1' && i === 0 ? 'primary' : 'replica') as Role,
  })),
);
const ROLL = 'roll';
const ROLL_SERVERS = [
  { name: 'r1', dc: 'dc1', role: 'primary' as Role },
  ...['r2', 'r3', 'r4', 'r5', 'r6'].map((name, i) => ({ name, dc: i < 2 ? 'dc1' : 'dc2', role: 'replica' as Role })),
];

let proxy: FaultProxy;
let env: HttpEnv;
let api: ApiClient;

beforeAll(async () => {
  const target = new URL(inject('dynamodbEndpoint'));
  proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) }, seed: SEED });
  // Waits of the workflow short, its retries immediate: the faults, not the clock, decide how it goes. A dropped
  // connection is given up after 1.5 s, not 5 (the same path, a third of the waiting).
  env = await httpEnv({ waitMs: 50, retryMs: 0 }, { dynamodbEndpoint: proxy.endpoint, requestTimeoutMs: 1500 });
  api = apiClient({ url: env.url, token: env.admin });
  await seedCluster(env, LOAD, LOAD_SERVERS);
  await seedCluster(env, ROLL, ROLL_SERVERS);
  for (const s of LOAD_SERVERS)
    await api.ok('PUT', `/v1/clusters/${LOAD}/servers/${s.name}/status`, {
      health: 'running',
      role: s.role,
      connections: 3,
      openTransactions: 0,
      version: V0,
    });
}, 120_000);

afterAll(async () => {
  proxy?.inject(0);
  await env?.close();
  await proxy?.close();
});

interface LoadRequest {
  kind: string;
  /** Whose error format its answers have. */
  family: 'native' | 'maxscale' | 'greptimedb';
  method: string;
  path: string;
  body?: unknown;
}

function loadRequest(rnd: () => number): LoadRequest {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const server = pick(LOAD_SERVERS).name;
  const dc = pick(DCS);
  const C = `/v1/clusters/${LOAD}`;
  const r = rnd();
  if (r < 0.2)
    return {
      kind: 'server-set',
      family: 'native',
      method: 'PUT',
      path: `${C}/servers/${server}/maintenance`,
      body: { reason: 'r2' },
    };
  if (r < 0.25)
    return {
      kind: 'server-force',
      family: 'native',
      method: 'PUT',
      path: `${C}/servers/${server}/maintenance`,
      body: { force: true },
    };
  if (r < 0.45)
    return { kind: 'server-clear', family: 'native', method: 'DELETE', path: `${C}/servers/${server}/maintenance` };
  if (r < 0.5) return { kind: 'dc-set', family: 'native', method: 'PUT', path: `${C}/dcs/${dc}/maintenance`, body: {} };
  if (r < 0.55) return { kind: 'dc-clear', family: 'native', method: 'DELETE', path: `${C}/dcs/${dc}/maintenance` };
  if (r < 0.6)
    return {
      kind: 'status',
      family: 'native',
      method: 'PUT',
      path: `${C}/servers/${server}/status`,
      body: { health: 'running', connections: Math.floor(rnd() * 50), openTransactions: 0, version: V0 },
    };
  if (r < 0.72) return { kind: 'list', family: 'native', method: 'GET', path: `${C}/servers` };
  if (r < 0.8)
    return {
      kind: 'maxscale-set',
      family: 'maxscale',
      method: 'PUT',
      path: `/c/${LOAD}/v1/servers/${server}/set?state=maintenance`,
    };
  if (r < 0.88)
    return {
      kind: 'maxscale-clear',
      family: 'maxscale',
      method: 'PUT',
      path: `/c/${LOAD}/v1/servers/${server}/clear?state=maintenance`,
    };
  if (r < 0.92)
    return {
      kind: 'greptimedb-status',
      family: 'greptimedb',
      method: 'GET',
      path: `/c/${LOAD}/admin/maintenance/status`,
    };
  if (r < 0.96)
    return { kind: 'cluster-set', family: 'native', method: 'PUT', path: `${C}/maintenance`, body: { reason: 'r2' } };
  return { kind: 'cluster-clear', family: 'native', method: 'DELETE', path: `${C}/maintenance` };
}

interface Outcome {
  req: LoadRequest;
  status: number;
  problems: string[];
}

async function send(req: LoadRequest): Promise<Outcome> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${env.admin}`,
    ...(req.body !== undefined && { 'content-type': 'application/json' }),
  };
  try {
    const res = await fetch(`${env.url}${req.path}`, {
      method: req.method,
      headers,
      ...(req.body !== undefined && { body: JSON.stringify(req.body) }),
    });
    const text = await res.text();
    const reply = { status: res.status, headers: Object.fromEntries(res.headers), text };
    const problems = errorFormatProblems(req.family === 'native' ? 'maintenance' : req.family, reply, {
      method: req.method,
      headers,
    });
    const code =
      res.status >= 400 && req.family === 'native'
        ? (JSON.parse(text) as { error: { code: string } }).error.code
        : undefined;
    if (res.status >= 500 && res.status !== 503) problems.push(`a ${res.status}`);
    if (res.status === 503 && code !== undefined && code !== 'Unavailable')
      problems.push(`a 503 with the code ${code}`);
    if (
      res.status >= 400 &&
      res.status < 500 &&
      !(res.status === 409 || (req.family === 'maxscale' && res.status === 403))
    )
      problems.push(`an unexpected ${res.status} ${text}`);
    return { req, status: res.status, problems };
  } catch (error) {
    return { req, status: 0, problems: [`no answer: ${(error as Error).message}`] };
  }
}

/** Starts the rollout; a 503 may still have started it (the answer was lost), so look before trying again. */
async function startRollout(): Promise<string> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const res = await api.call('POST', `/v1/clusters/${ROLL}/rollouts`, {
      targetVersion: V1,
      batchSize: 2,
      verify: { stableForSeconds: 0 },
    });
    if (res.status === 201) return (res.body as { id: string }).id;
    const listed = await api.call('GET', `/v1/clusters/${ROLL}/rollouts`);
    const existing = listed.status === 200 ? (listed.body as { rollouts: { id: string }[] }).rollouts[0] : undefined;
    if (existing) return existing.id;
    if (res.status !== 503) throw new Error(`rollout start: ${res.status} ${JSON.stringify(res.body)}`);
  }
  throw new Error('rollout start: 503 twenty times');
}

async function readRollout(id: string): Promise<any> {
  return until(
    `rollout ${id}`,
    () => api.call('GET', `/v1/clusters/${ROLL}/rollouts/${id}`),
    (r) => r.status === 200,
  ).then((r) => r.body);
}

async function sendAll(requests: LoadRequest[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) outcomes.push(await send(requests[next++]!));
    }),
  );
  return outcomes;
}

const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];

describe('R2: network faults between the handlers and DynamoDB', () => {
  it('answers each request with a success, a named refusal or a clean 503, loses no audit event, and the rollout finishes or stops safely', async () => {
    const agent = new Agent(env, ROLL, V1, ROLL_SERVERS, V0);
    await agent.reportAll();
    expect(agent.errors).toEqual([]);
    agent.start();
    const rnd = prng(SEED);
    const requests = Array.from({ length: REQUESTS }, () => loadRequest(rnd));

    proxy.inject(SHARE);
    const rolloutId = await startRollout();
    const outcomes = await sendAll(requests);
    // The rollout carries on under faults until it ends one way or the other.
    let rollout = await until(
      `rollout ${rolloutId} to end under faults`,
      () => readRollout(rolloutId),
      (r) => TERMINAL.includes(r.status) && r.executions.length > 0,
      180_000,
    );
    await Promise.all(env.engine.list().map((e) => e.done));
    const underFaults = rollout.status;
    // A storm: most connections faulty, so that the SDK's own retries run out and clients see 503s.
    proxy.inject(STORM_SHARE);
    const storm = await sendAll(Array.from({ length: STORM_REQUESTS }, () => loadRequest(rnd)));
    proxy.inject(0);
    outcomes.push(...storm);
    const faults = { ...proxy.counts };

    // Stopped safely: a node the rollout claimed and did not finish still holds the claim (never cleared
    // unverified), and automation stays paused.
    const stopProblems: string[] = [];
    if (rollout.status !== 'succeeded') {
      const holder = `rollout:${rolloutId}`;
      const claimedEver = new Set(
        (await api.allEvents(ROLL))
          .filter(
            (e) => e.target.startsWith('server:') && holder in ((e.after as { claims?: object } | null)?.claims ?? {}),
          )
          .map((e) => e.target.slice('server:'.length)),
      );
      const listed = await api.ok<{ servers: { name: string; claims: { holder: string }[] }[] }>(
        'GET',
        `/v1/clusters/${ROLL}/servers`,
      );
      const claimedNow = new Set(
        listed.servers.filter((s) => s.claims.some((c) => c.holder === holder)).map((s) => s.name),
      );
      for (const node of rollout.servers as { name: string; outcome: string; step: string }[]) {
        const finished = ['upgraded', 'already-upgraded', 'skipped'].includes(node.outcome);
        if (!finished && claimedEver.has(node.name) && !claimedNow.has(node.name))
          stopProblems.push(`${node.name} (${node.step}, ${node.outcome}) was cleared unverified`);
      }
      const failover = await api.ok<{ paused: boolean }>('GET', `/v1/clusters/${ROLL}/failover`);
      if (rollout.status === 'failed' && !failover.paused)
        stopProblems.push('automation resumed after a failed rollout');
      // Healed, a resume (after a retry of the failed node) finishes it.
      if (rollout.failure?.server)
        await api.ok('POST', `/v1/clusters/${ROLL}/rollouts/${rolloutId}/servers/${rollout.failure.server}/retry`);
      await api.ok('POST', `/v1/clusters/${ROLL}/rollouts/${rolloutId}/resume`);
      rollout = await until(
        `rollout ${rolloutId} to finish after a resume`,
        () => readRollout(rolloutId),
        (r) => r.status === 'succeeded' || r.status === 'failed',
        120_000,
      );
    }
    await agent.stop();

    // Every log replays to exactly what is stored, with the budget held at every revision.
    const logProblems: string[] = [];
    for (const cluster of [LOAD, ROLL]) {
      const log = replayAudit(cluster, await api.allEvents(cluster));
      const stored = await readStored(inject('dynamodbEndpoint'), env.table, cluster);
      logProblems.push(
        ...log.problems.map((p) => `${cluster}: ${p}`),
        ...mismatches(stored, log.projections).map((p) => `${cluster}: ${p}`),
      );
      if (log.revisions !== stored.cluster.revision)
        logProblems.push(`${cluster}: the log has ${log.revisions} revisions, the cluster ${stored.cluster.revision}`);
    }

    const answerProblems = outcomes.flatMap((o) => o.problems.map((p) => `${o.req.method} ${o.req.path}: ${p}`));
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o.status] = (tally[o.status] ?? 0) + 1;
    const stormTally: Record<string, number> = {};
    for (const o of storm) stormTally[o.status] = (stormTally[o.status] ?? 0) + 1;
    const detail = `storm (${STORM_SHARE * 100} %) answers ${JSON.stringify(stormTally)}; all answers ${JSON.stringify(tally)}; faults ${JSON.stringify(faults)}; rollout ${underFaults} under faults, then ${rollout.status}`;
    console.log(`R2 seed ${SEED}: ${detail}`);
    recordReliability('r2-faults', {
      tier: 'R2 faults (proxy before DynamoDB Local)',
      seed: SEED,
      cases: outcomes.length,
      faults: faults.drop + faults.delay + faults.reset,
      invariants: [
        'success, named 409 or clean 503 in the family format',
        'audit log replays to the stored state',
        'budget held at every revision',
        'a stopped rollout keeps its claims and automation paused',
        'a resume finishes it',
      ],
      violations: [
        ...answerProblems,
        ...logProblems,
        ...stopProblems,
        ...(rollout.status === 'succeeded' ? [] : [`rollout ended ${rollout.status}`]),
      ],
      detail,
    });

    expect(outcomes).toHaveLength(REQUESTS + STORM_REQUESTS);
    expect(stormTally[503] ?? 0, 'the storm ran the SDK out of retries: clients saw 503s').toBeGreaterThan(0);
    expect(faults.drop + faults.delay + faults.reset, 'faults injected').toBeGreaterThan(SHARE > 0 ? 10 : -1);
    expect(answerProblems.slice(0, 10), `${answerProblems.length} bad answers`).toEqual([]);
    expect(logProblems.slice(0, 10), `${logProblems.length} log problems`).toEqual([]);
    expect(stopProblems).toEqual([]);
    expect(rollout.status).toBe('succeeded');
  }, 400_000);
});
