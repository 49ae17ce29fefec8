/**
 * R5 (README "Measured"): kill -9 the local server (`tsx bin/local.ts --data DIR`, DynamoDB Local persisted in DIR)
 * in the middle of a stream of maintenance writes, restart the same command on the same folder, and check:
 * - every acknowledged change is there (per server: the last acknowledged claim, or the one request that was
 *   in flight when the server died, if it was applied), in order, each with its audit event;
 * - the audit log is contiguous and replays to exactly the stored state (no change without its event);
 * - the restart stopped the DynamoDB Local the dead server left behind (its pid file): one remains.
 *
 * The crash is `kill -9 -PGID` of the server's process group (tsx, the node process it runs the server in,
 * esbuild), twice, each time at a random point of the load; DynamoDB Local, in its own process group, is
 * left behind holding the data folder, and the restart must stop it (it has the pid file) before starting
 * its own. A third round SIGKILLs DynamoDB Local itself under load: the server answers a clean 503 at once
 * until the restart brings it back on the same files. The emulator loses the last few transactions it had
 * acknowledged when SIGKILLed (DynamoDB on AWS acknowledges a write once it is durable), so that round checks
 * that only a tail of each server's acknowledged changes is missing, none in between, that nothing is
 * half-applied and that the log still replays to the state; the report counts what the emulator lost.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectServer } from '../../functions/domain/outcome.js';
import { freePort } from '../../local/dynamodb.js';
import { DEFAULT_TABLE } from '../../local/stack.js';
import { apiClient, mismatches, readStored } from '../support/api-client.js';
import { kill, prng, startLocal, stopLocal, type LocalProcess } from '../support/processes.js';
import { replayAudit } from '../support/audit-replay.js';
import { reported } from '../support/reliability-report.js';

const CLUSTER = 'dur';
const SERVERS = Array.from({ length: 24 }, (_, i) => ({
  name: `s${String(i + 1).padStart(2, '0')}`,
  dc: `dc${(i % 3) + 1}`,
}));
/** Parallel writers; each owns its own servers, so a server has at most one request in flight. */
const WORKERS = 4;

// ---------------------------------------------------------------------------------------------------------
// Processes

const dataDir = mkdtempSync(join(tmpdir(), 'maintctl-r5-'));
/** Where `--data DIR` puts DynamoDB Local's files (local/stack.ts). */
const dbPath = resolve(dataDir, 'dynamodb');
const admin = `mct_${randomBytes(32).toString('base64url')}`;

/** State and process group of a process, from /proc (undefined once it is gone). */
function stat(pid: number): { state: string; pgid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, , pgid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** The DynamoDB Local (Java) processes serving this test's data folder, and their ports. */
function dynamoLocals(): { pid: number; port: number }[] {
  return pids().flatMap((pid) => {
    const args = cmdline(pid);
    if (!alive(pid) || !args.some((a) => a.includes('DynamoDBLocal')) || args[args.indexOf('-dbPath') + 1] !== dbPath)
      return [];
    return [{ pid, port: Number(args[args.indexOf('-port') + 1]) }];
  });
}

/** Live members of a process group (tsx, the node process running the server, DynamoDB Local's Java). */
function group(pgid: number): number[] {
  return pids().filter((pid) => stat(pid)?.pgid === pgid && alive(pid));
}

let port: number;
let current: LocalProcess | undefined;
const started: ChildProcess[] = [];

/** The command under test, always the same: `tsx bin/local.ts --port P --data DIR`, in its own process group. */
function startServer(): Promise<LocalProcess> {
  return startLocal({
    port,
    args: ['--data', dataDir, '--sweep-interval', '0'],
    adminToken: admin,
    timeoutMs: 90_000,
    onSpawn: (child) => started.push(child),
  });
}

async function waitGone(check: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (!check()) return true;
  return !check();
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

/** The API of the server running now, as the admin. */
const api = apiClient({ url: () => current!.url, token: admin, nonJson: 'throw' });

// ---------------------------------------------------------------------------------------------------------
// The load, and what was acknowledged

/** The manual claim a server should have: its reason, or null for none. */
type Claim = string | null;

interface Track {
  /** Every change acknowledged (or, after a crash, found applied), in order. */
  history: Claim[];
  /** The request in flight when the server died, if any: its claim if it was applied. */
  inFlight?: Claim;
}

const tracks = new Map(SERVERS.map((s) => [s.name, { history: [null] } as Track]));
const last = (t: Track) => t.history.at(-1)!;
let requestNo = 0;
const tally: Record<string, number> = {};

/** Set, update (a new reason) or clear maintenance on the workers' servers until `stop()` says so. */
async function load(rnd: () => number, stop: () => boolean, onAck: () => void): Promise<void> {
  const worker = async (w: number) => {
    const mine = SERVERS.filter((_, i) => i % WORKERS === w);
    while (!stop()) {
      const server = mine[Math.floor(rnd() * mine.length)]!.name;
      const track = tracks.get(server)!;
      const clear = last(track) !== null && rnd() < 0.6;
      const intended: Claim = clear ? null : `r${++requestNo}`;
      track.inFlight = intended;
      const path = `/v1/clusters/${CLUSTER}/servers/${server}/maintenance`;
      let status: number;
      try {
        status = (clear ? await api.call('DELETE', path) : await api.call('PUT', path, { reason: intended })).status;
      } catch (error) {
        if (stop()) return; // the server died under this request: it stays in flight
        throw error;
      }
      tally[status] = (tally[status] ?? 0) + 1;
      if (status === 503 && stop()) return; // DynamoDB died under this request: applied or not, it stays in flight
      if (status === 200) {
        track.history.push(intended);
        delete track.inFlight;
        onAck();
      } else if (status === 409) {
        delete track.inFlight; // lost the race too often: nothing changed
      } else {
        throw new Error(`${clear ? 'DELETE' : 'PUT'} ${path}: ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
}

/** After a restart: the state holds every acknowledged change and equals the audit log's replay. */
async function verify(
  round: string,
  emulatorKilled = false,
): Promise<{ events: number; revision: number; inFlightApplied: number; lostToEmulator: number }> {
  const events = await api.allEvents(CLUSTER);

  // The log: contiguous revisions, each event's `before` what the log had built so far.
  const log = replayAudit(CLUSTER, events);
  expect(log.problems, round).toEqual([]);
  const { projections, revisions: revision } = log;

  // The stored state, read straight from DynamoDB Local, is the replay of the log.
  const [dynamo, ...more] = dynamoLocals();
  expect(more, `${round}: one DynamoDB Local for the data folder`).toEqual([]);
  const stored = await readStored(`http://127.0.0.1:${dynamo!.port}`, DEFAULT_TABLE, CLUSTER);
  expect(stored.cluster.revision, round).toBe(revision);
  expect(mismatches(stored, projections), round).toEqual([]);

  // Every acknowledged change is there, in order, each with its event; a request in flight at the kill either
  // applied (then it is the last change, with its event) or did not (then nothing of it is anywhere).
  const lost: string[] = [];
  let inFlightApplied = 0;
  let lostToEmulator = 0;
  for (const s of SERVERS) {
    const track = tracks.get(s.name)!;
    const claimOf = (p: unknown): Claim =>
      (p as { claims?: Record<string, { reason?: string }> } | null)?.claims?.manual?.reason ?? null;
    const logged = [
      null,
      ...events
        .filter((e) => e.target === `server:${s.name}` && /maintenance$/.test(e.action))
        .map((e) => claimOf(e.after)),
    ];
    const storedClaim = claimOf(projectServer(stored.servers.get(s.name)));
    if ('inFlight' in track && logged.length === track.history.length + 1 && logged.at(-1) === track.inFlight) {
      track.history.push(track.inFlight!);
      inFlightApplied++;
    }
    delete track.inFlight;
    // DynamoDB Local SIGKILLed loses the last transactions it acknowledged (the emulator's limit; DynamoDB
    // acknowledges a write once it is durable): then only a tail may be missing, never a change in between.
    if (
      emulatorKilled &&
      logged.length < track.history.length &&
      isDeepStrictEqual(logged, track.history.slice(0, logged.length))
    ) {
      lostToEmulator += track.history.length - logged.length;
      track.history = logged;
    }
    if (!isDeepStrictEqual(logged, track.history))
      lost.push(`${s.name}: acknowledged ${JSON.stringify(track.history)}, logged ${JSON.stringify(logged)}`);
    if (storedClaim !== last(track)) lost.push(`${s.name}: stored ${storedClaim}, expected ${last(track)}`);
  }
  expect(lost, round).toEqual([]);

  // What the API answers agrees.
  const listed = await api.ok<{
    revision: number;
    servers: { name: string; claims: { holder: string; reason?: string }[] }[];
  }>('GET', `/v1/clusters/${CLUSTER}/servers`);
  expect(listed.revision).toBe(revision);
  for (const s of listed.servers) {
    expect(s.claims.find((c) => c.holder === 'manual')?.reason ?? null, s.name).toBe(last(tracks.get(s.name)!));
  }
  return { events: events.length, revision, inFlightApplied, lostToEmulator };
}

/** Runs the load until `acks` changes are acknowledged, then crashes the server with `crash` (mid-load). */
async function loadThenCrash(
  rnd: () => number,
  acks: number,
  crash: () => void,
): Promise<{ acked: number; inFlight: number }> {
  let count = 0;
  let killed = false;
  await load(
    rnd,
    () => killed,
    () => {
      if (++count === acks) {
        crash();
        killed = true;
      }
    },
  );
  return { acked: count, inFlight: [...tracks.values()].filter((t) => 'inFlight' in t).length };
}

// ---------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  port = await freePort();
  current = await startServer();
  await api.ok('PUT', `/v1/clusters/${CLUSTER}`, { engine: 'generic', budget: { maxUnavailablePerDc: 100 } });
  for (const s of SERVERS) await api.ok('PUT', `/v1/clusters/${CLUSTER}/servers/${s.name}`, { dc: s.dc });
});

afterAll(async () => {
  for (const child of started) {
    for (const pid of group(child.pid!)) kill(pid, 'SIGKILL');
  }
  for (const { pid } of dynamoLocals()) kill(pid, 'SIGKILL');
  await waitGone(() => dynamoLocals().length > 0, 5000);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('R5: kill -9 the local server, then DynamoDB Local, mid-load; restart on the same data folder', () => {
  it('loses nothing acknowledged, leaves no half-applied change, and leaves one DynamoDB Local', async () => {
    const seed = randomBytes(4).readUInt32BE();
    const rnd = prng(seed);
    const rounds: { acked: number; inFlight: number; events: number; inFlightApplied: number; restartMs: number }[] =
      [];
    let lostToEmulator = 0;
    await reported(
      'r5-durability',
      () => ({
        tier: 'R5 durability (kill -9 server, DynamoDB Local)',
        seed,
        cases: rounds.reduce((n, r) => n + r.acked + r.inFlight, 0),
        faults: rounds.length,
        invariants: [
          'every acknowledged change is there (server killed)',
          'nothing half-applied, only a tail lost (DynamoDB Local killed)',
          'the log replays to the stored state',
          'a clean 503 at once while DynamoDB is down',
          'one DynamoDB Local after the restart',
        ],
        detail: `acknowledged changes DynamoDB Local lost when SIGKILLed: ${lostToEmulator}`,
      }),
      async () => {
        for (const round of ['first', 'second']) {
          const [leftover, ...others] = dynamoLocals();
          expect(others).toEqual([]);
          const pgid = current!.child.pid!;
          expect(group(pgid)).not.toContain(leftover!.pid); // DynamoDB Local is in its own process group
          const crash = await loadThenCrash(rnd, 20 + Math.floor(rnd() * 60), () => kill(-pgid, 'SIGKILL'));
          expect(await waitGone(() => group(pgid).length > 0, 5000)).toBe(true);
          expect(alive(leftover!.pid)).toBe(true);

          const t0 = performance.now();
          current = await startServer();
          const restartMs = performance.now() - t0;
          const [restarted, ...extra] = dynamoLocals();
          expect(extra, 'no second DynamoDB Local').toEqual([]);
          expect(restarted!.pid).not.toBe(leftover!.pid);
          expect(alive(leftover!.pid)).toBe(false);
          const checked = await verify(`after the ${round} restart`);
          rounds.push({ ...crash, events: checked.events, inFlightApplied: checked.inFlightApplied, restartMs });
        }

        // Third: kill -9 DynamoDB Local under the running server. Until it is back the server answers a clean 503
        // at once; the restart of the same command brings it back on the same files.
        {
          const [dynamo] = dynamoLocals();
          const crash = await loadThenCrash(rnd, 20 + Math.floor(rnd() * 60), () => kill(dynamo!.pid, 'SIGKILL'));
          expect(await waitGone(() => alive(dynamo!.pid), 5000)).toBe(true);
          const t0 = performance.now();
          const answer = await api.call('PUT', `/v1/clusters/${CLUSTER}/servers/${SERVERS[0]!.name}/maintenance`, {
            reason: 'while DynamoDB is down',
          });
          const answeredMs = performance.now() - t0;
          expect(answer.status).toBe(503);
          expect((answer.body as { error: { code: string } }).error.code).toBe('Unavailable');
          expect(answeredMs, 'a 503 at once, not after the SDK gives up on a dead port').toBeLessThan(5000);
          await stopLocal(current!);
          const t1 = performance.now();
          current = await startServer();
          const restartMs = performance.now() - t1;
          const checked = await verify('after DynamoDB Local was killed', true);
          lostToEmulator = checked.lostToEmulator;
          rounds.push({ ...crash, events: checked.events, inFlightApplied: checked.inFlightApplied, restartMs });
        }

        // A clean stop (SIGTERM) stops its DynamoDB Local too.
        const pgid3 = current!.child.pid!;
        kill(-pgid3, 'SIGTERM');
        expect(await waitGone(() => group(pgid3).length > 0, 15_000)).toBe(true);
        expect(dynamoLocals()).toEqual([]);

        console.log(
          `R5 seed ${seed}: ${rounds.map((r, i) => `crash ${i + 1} after ${r.acked} acknowledged changes, ${r.inFlight} in flight (${r.inFlightApplied} of them applied), restart ${(r.restartMs / 1000).toFixed(1)} s, log then ${r.events} events`).join('; ')}; DynamoDB Local lost ${lostToEmulator} acknowledged; answers ${JSON.stringify(tally)}`,
        );
      },
    );
  }, 180_000);
});
