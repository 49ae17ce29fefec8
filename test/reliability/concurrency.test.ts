/**
 * R1 (README "Measured"): 500 concurrent mixed maintenance requests on a 20-server cluster, split across two local
 * server processes (`bin/local.ts`) that share one DynamoDB Local and one table.
 *
 * Asserted: no answer ≥ 500; the audit log has contiguous revisions and, replayed in (revision, seq) order,
 * every event's `before` is what the log had built so far and the `after`s rebuild exactly the stored state;
 * and at every revision the disruption budget holds, judged by the domain's own rules (derive.ts, budget.ts)
 * on the state rebuilt from the log.
 *
 * Without the store's optimistic concurrency, two requests decided on the same revision both commit: one
 * request's change is missing from the log (an event's `before` is not what the log had built) and servers
 * of one dc go out of service together beyond the budget; this test then fails. (The store has two guards
 * that each suffice: the cluster item's `#rev = :rev`, and `attribute_not_exists` on the event's key, which
 * is numbered by the revision read. Either alone keeps this test green; it fails without both.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { apiClient, canon, mismatches, readStored, type ApiClient } from '../support/api-client.js';
import { replayAudit } from '../support/audit-replay.js';
import { reported } from '../support/reliability-report.js';
import { prng, startLocal, stopLocal, type LocalProcess } from '../support/processes.js';

const CLUSTER = 'fleet';
const DCS = ['dc1', 'dc2', 'dc3', 'dc4'];
const PER_DC = 5;
const SERVERS = DCS.flatMap((dc) =>
  Array.from({ length: PER_DC }, (_, i) => ({
    name: `db-${dc}-${i + 1}`,
    dc,
    role: dc === 'dc1' && i === 0 ? 'primary' : 'replica',
  })),
);
const PROCESSES = 2;
const REQUESTS = 500;
/**
 * The requests go in waves of WAVE sent at once, a wave every WAVE_INTERVAL_MS. WAVE = REQUESTS: all 500 are in
 * flight together (each process serialises its own mutations of a cluster, so the burst is worked off without
 * retry storms; the two processes still race each other for every revision).
 */
const WAVE = REQUESTS;
const WAVE_INTERVAL_MS = 500;

// ---------------------------------------------------------------------------------------------------------
// The load

interface LoadRequest {
  kind: string;
  delayMs: number;
  method: string;
  path: string;
  body?: unknown;
}

function loadRequest(rnd: () => number): Omit<LoadRequest, 'delayMs'> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const server = pick(SERVERS).name;
  const dc = pick(DCS);
  const reason = pick(['patch', 'kernel', 'disk']);
  const C = `/v1/clusters/${CLUSTER}`;
  const r = rnd();
  if (r < 0.25)
    return { kind: 'server-set', method: 'PUT', path: `${C}/servers/${server}/maintenance`, body: { reason } };
  if (r < 0.35)
    return {
      kind: 'server-drain',
      method: 'PUT',
      path: `${C}/servers/${server}/maintenance`,
      body: { mode: 'drain', reason },
    };
  if (r < 0.4)
    return {
      kind: 'server-force',
      method: 'PUT',
      path: `${C}/servers/${server}/maintenance`,
      body: { force: true, reason },
    };
  if (r < 0.68) return { kind: 'server-clear', method: 'DELETE', path: `${C}/servers/${server}/maintenance` };
  if (r < 0.76) return { kind: 'dc-set', method: 'PUT', path: `${C}/dcs/${dc}/maintenance`, body: { reason } };
  if (r < 0.84) return { kind: 'dc-clear', method: 'DELETE', path: `${C}/dcs/${dc}/maintenance` };
  if (r < 0.92) return { kind: 'cluster-set', method: 'PUT', path: `${C}/maintenance`, body: { reason } };
  return { kind: 'cluster-clear', method: 'DELETE', path: `${C}/maintenance` };
}

// ---------------------------------------------------------------------------------------------------------

const table = `r1-${randomUUID()}`;
const admin = `mct_${randomBytes(32).toString('base64url')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'maintctl-r1-'));
const processes: LocalProcess[] = [];
/** The API through one of the processes, as the admin. */
const api = (p: LocalProcess): ApiClient => apiClient({ url: p.url, token: admin });

beforeAll(async () => {
  const endpoint = inject('dynamodbEndpoint');
  const args = ['--dynamodb-endpoint', endpoint, '--table', table, '--sweep-interval', '0', '--data', dataDir];
  // One after the other: the first creates the table and the admin token, the others find them.
  for (let i = 0; i < PROCESSES; i++)
    processes.push(
      await startLocal({ port: await freePort(), args, adminToken: admin, timeoutMs: 60_000, stopOnTimeout: true }),
    );

  const first = api(processes[0]!);
  await first.ok('PUT', `/v1/clusters/${CLUSTER}`, { engine: 'mariadb', staleAfterSeconds: 3600 });
  for (const s of SERVERS)
    await first.ok('PUT', `/v1/clusters/${CLUSTER}/servers/${s.name}`, { dc: s.dc, role: s.role });
  for (const s of SERVERS) {
    await first.ok('PUT', `/v1/clusters/${CLUSTER}/servers/${s.name}/status`, {
      health: 'running',
      role: s.role,
      connections: 0,
      openTransactions: 0,
      version: '10.11.6',
    });
  }
});

afterAll(async () => {
  await Promise.all(processes.map(stopLocal));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('R1: concurrent mixed requests through several local server processes', () => {
  it('loses no update, never exceeds the budget, never answers ≥ 500', async () => {
    const seed = randomBytes(4).readUInt32BE();
    let answered = 0;
    await reported(
      'r1-concurrency',
      () => ({
        tier: 'R1 concurrency (two server processes)',
        seed,
        cases: answered,
        faults: 0,
        invariants: [
          'no answer ≥ 500',
          'audit log contiguous, no lost update',
          'budget held at every revision',
          'log replays to the stored state',
          'both processes show the replayed claims',
        ],
      }),
      async () => {
        const rnd = prng(seed);
        const requests = Array.from({ length: REQUESTS }, (_, i) => ({
          ...loadRequest(rnd),
          delayMs: Math.floor(i / WAVE) * WAVE_INTERVAL_MS,
        }));
        const seedRevision = (await api(processes[0]!).ok<{ revision: number }>('GET', `/v1/clusters/${CLUSTER}`))
          .revision;

        let inFlight = 0;
        let peak = 0;
        const started = performance.now();
        const answers = await Promise.all(
          requests.map(async (req, i) => {
            const p = api(processes[i % processes.length]!);
            // In waves (see WAVE): each wave sent at once, while the earlier ones are still in flight.
            if (req.delayMs > 0) await sleep(req.delayMs);
            const t0 = performance.now();
            inFlight++;
            peak = Math.max(peak, inFlight);
            try {
              const res = await p.call(req.method, req.path, req.body);
              return {
                req,
                status: res.status,
                code: (res.body as { error?: { code?: string } } | undefined)?.error?.code,
                ms: performance.now() - t0,
              };
            } catch (error) {
              return { req, status: 0, code: `no answer: ${(error as Error).message}`, ms: performance.now() - t0 };
            } finally {
              inFlight--;
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        answered = answers.length;

        const tally: Record<string, number> = {};
        for (const a of answers)
          tally[`${a.status}${a.code ? ` ${a.code}` : ''}`] =
            (tally[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1;
        const byKind: Record<string, Record<string, number>> = {};
        for (const a of answers) {
          byKind[a.req.kind] ??= {};
          const counts = byKind[a.req.kind]!;
          counts[a.status] = (counts[a.status] ?? 0) + 1;
        }

        const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
        const first = api(processes[0]!);
        const events = await first.allEvents(CLUSTER);
        const log = replayAudit(CLUSTER, events);
        const finalRevision = (await first.ok<{ revision: number }>('GET', `/v1/clusters/${CLUSTER}`)).revision;
        const changes: Record<string, number> = {};
        for (const e of events.filter((x) => x.revision > seedRevision)) {
          const key = `${e.action} ${e.target.replace(/:.*/, ':')}`;
          changes[key] = (changes[key] ?? 0) + 1;
        }
        console.log(
          `R1 seed ${seed}: ${REQUESTS} requests over ${processes.length} processes in ${seconds.toFixed(1)} s (peak ${peak} in flight; latency median ${latencies[latencies.length >> 1]!.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms); answers ${JSON.stringify(tally)}; ` +
            `by kind ${JSON.stringify(byKind)}; revisions ${seedRevision} → ${finalRevision}: changes ${JSON.stringify(changes)}, ${events.length} events in the log`,
        );

        // 0 answers ≥ 500 (and every request answered); refusals are 409s the domain names.
        const failures = answers.filter((a) => a.status === 0 || a.status >= 500);
        expect(peak).toBeGreaterThanOrEqual(WAVE);
        expect(failures.map((a) => `${a.req.method} ${a.req.path}: ${a.status} ${a.code ?? ''}`)).toEqual([]);
        expect(
          answers
            .filter(
              (a) =>
                a.status !== 200 &&
                !(a.status === 409 && ['Conflict', 'BudgetExceeded', 'HeldByOthers'].includes(a.code!)),
            )
            .map((a) => `${a.req.kind}: ${a.status} ${a.code}`),
        ).toEqual([]);
        // Revisions contiguous, every `before` what the log had built, the budget held at every revision.
        expect(log.problems.slice(0, 12), `${log.problems.length} problems in the log`).toEqual([]);
        expect(log.revisions).toBe(finalRevision);

        // Replaying the `after`s gives exactly the stored state: every server, dc and the cluster.
        const stored = await readStored(inject('dynamodbEndpoint'), table, CLUSTER);
        expect(stored.cluster.revision).toBe(finalRevision);
        const differ = mismatches(stored, log.projections);
        expect(differ, `${differ.length} targets differ`).toEqual([]);
        const replayed = new Map([...log.projections].map(([k, v]) => [k, canon(v)]));
        expect(stored.servers.size).toBe(SERVERS.length);

        // And what the API shows (from the other process) agrees with the replay, claim holder by claim holder.
        const other = api(processes[processes.length - 1]!);
        const listed = await other.ok<{
          revision: number;
          servers: { name: string; claims: { holder: string; scope: string; mode: string; reason?: string }[] }[];
        }>('GET', `/v1/clusters/${CLUSTER}/servers`);
        expect(listed.revision).toBe(finalRevision);
        for (const s of listed.servers) {
          const own = (
            replayed.get(`server:${s.name}`) as { claims: Record<string, { mode: string; reason?: string }> }
          ).claims;
          const dc =
            (
              replayed.get(`dc:${SERVERS.find((x) => x.name === s.name)!.dc}`) as
                | { claims: Record<string, { mode: string; reason?: string }> }
                | undefined
            )?.claims ?? {};
          const fromLog = [
            ...Object.entries(own).map(([h, c]) => `server ${h} ${c.mode} ${c.reason ?? ''}`),
            ...Object.entries(dc).map(([h, c]) => `dc ${h} ${c.mode} ${c.reason ?? ''}`),
          ].sort();
          expect(s.claims.map((c) => `${c.scope} ${c.holder} ${c.mode} ${c.reason ?? ''}`).sort(), s.name).toEqual(
            fromLog,
          );
        }
        const cluster = await other.ok<{ maintenance: { claims: { holder: string }[] } }>(
          'GET',
          `/v1/clusters/${CLUSTER}`,
        );
        const clusterClaims = (replayed.get('cluster') as { claims: Record<string, unknown> }).claims;
        expect(cluster.maintenance.claims.map((c) => c.holder).sort()).toEqual(Object.keys(clusterClaims).sort());

        // The load did change things: servers, dcs and the cluster, claims set and cleared.
        expect(finalRevision - seedRevision).toBeGreaterThan(20);
        const load = events.filter((e) => e.revision > seedRevision);
        for (const [what, test] of [
          ['server', /^server:/],
          ['dc', /^dc:/],
          ['cluster', /^cluster$/],
        ] as const) {
          expect(load.filter((e) => test.test(e.target)).length, `changes to a ${what}`).toBeGreaterThan(0);
        }
        expect(load.filter((e) => e.action === 'clear-maintenance').length, 'clears').toBeGreaterThan(0);
      },
    );
  }, 120_000);
});
