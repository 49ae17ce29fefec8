/**
 * The project's benchmark (`npm run bench`): P1 (DynamoDB round trips per API call), P2 (handler overhead of the
 * server list over the bare Query it makes), P3 (a conditional read ÷ the full list), P4 (each Lambda bundle's size
 * and load time, `bench/bundles.ts`, measured first while the machine is quiet), P5 (a 1,000-server rollout
 * through the ASL), P6 (Step Functions history per execution) and D1–D3 (the data plane on real MariaDB and
 * HAProxy, `bench/dataplane.ts`), in one run over its own in-memory DynamoDB
 * Local and local HTTP server. Prints a table, writes bench/results.json.
 * The machine is shared and noisy: every figure is a median, every comparison a ratio of interleaved samples.
 * Exits 0 when a target is missed (it reports); non-zero only when the run itself fails.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { serverJson } from '../functions/api/render.js';
import { clusterTag } from '../functions/api/mutation.js';
import { listQuery } from '../functions/api/list-query.js';
import { viewAll } from '../functions/domain/derive.js';
import type { Actor, EventDraft } from '../functions/domain/model.js';
import type { Outcome } from '../functions/domain/outcome.js';
import { registerCluster, registerServer } from '../functions/domain/registry.js';
import { reportStatus } from '../functions/domain/status.js';
import { hashToken, newTokenId, newTokenSecret } from '../functions/http/auth.js';
import type { Deps } from '../functions/deps.js';
import { validate } from '../functions/validate.js';
import type { Role } from '../functions/http/routes.js';
import { createDeps, dynamoClient } from '../functions/runtime.js';
import * as K from '../functions/store/keys.js';
import { ensureTable, startDynamoLocal } from '../local/dynamodb.js';
import { createRequestListener, startHttpServer } from '../local/http-server.js';
import { benchBundles, printBundles, type BundleFigure } from './bundles.js';
import { benchDataplane, dataplaneAvailable } from './dataplane.js';
import { benchRollout } from './rollout.js';
import { type FigureRow, writeFiguresIntoReadme } from './figures.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
/** The small cluster's samples are cheap (a few ms each): take more of them. */
const SMALL = { id: 'bench-small', servers: 20, samples: SAMPLES * 3, warmup: 100 };
const BIG = { id: 'bench-big', servers: 1000, samples: SAMPLES, warmup: 30 };
/** Servers per seeding transaction: each adds its server item and two events (register, first report). */
const SEED_BATCH = 25;
const WARMUP = 30;
/** P5's fleet (README "Measured": 1,000). */
const ROLLOUT_SERVERS = Number(process.env.BENCH_ROLLOUT_SERVERS ?? 1000);

// ---------------------------------------------------------------------------------------------- statistics

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

interface Samples {
  /** Wall time per call (ms). */
  wall: number[];
  /** This process's CPU time per call (ms, user + system): the Node side's own work, without the waits. */
  cpu: number[];
}

/**
 * Runs each measurement once per round, the order alternating between rounds (A B, B A, …) so neither always
 * runs first; returns the durations per measurement.
 */
async function interleaved(
  fns: Record<string, () => Promise<void>>,
  rounds: number,
  warmup = WARMUP,
): Promise<Record<string, Samples>> {
  const names = Object.keys(fns);
  const out: Record<string, Samples> = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [] }]));
  for (let r = 0; r < warmup + rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fns[name]!();
      const dt = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (r >= warmup) {
        out[name]!.wall.push(dt);
        out[name]!.cpu.push((c.user + c.system) / 1000);
      }
    }
  }
  return out;
}

const summary = (s: Samples) => ({
  samples: s.wall.length,
  medianMs: round(median(s.wall)),
  p10Ms: round(quantile(s.wall, 0.1)),
  p90Ms: round(quantile(s.wall, 0.9)),
  cpuMedianMs: round(median(s.cpu)),
});

// ---------------------------------------------------------------------------------------------- HTTP client

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A keep-alive client on node:http (lighter than fetch, so the figure is mostly the server's). */
function httpClient(base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const url = new URL(base);
  const call = (
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    new Promise<HttpAnswer>((done, fail) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: {
            ...(token !== null && { authorization: `Bearer ${token}` }),
            ...(payload && { 'content-type': 'application/json', 'content-length': String(payload.length) }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(payload);
    });
  return { call, close: () => agent.destroy() };
}

const json = (a: HttpAnswer) => JSON.parse(a.body.toString('utf8') || 'null');

function expectStatus(a: HttpAnswer, status: number, what: string): HttpAnswer {
  if (a.status !== status)
    throw new Error(`${what}: expected ${status}, got ${a.status} ${a.body.toString('utf8').slice(0, 300)}`);
  return a;
}

// ---------------------------------------------------------------------------------------------- setup

function countRoundTrips(client: DynamoDBClient) {
  const counter = {
    commands: [] as string[],
    reset() {
      this.commands = [];
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counter.commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchCountRoundTrips' },
  );
  return counter;
}

async function createToken(deps: Deps, role: Role, clusters?: string[]): Promise<string> {
  const secret = newTokenSecret();
  await deps.store.putToken({
    id: newTokenId(),
    user: `bench-${role}-${newTokenId()}`,
    role,
    createdAt: deps.now(),
    hash: hashToken(secret),
    ...(clusters && { clusters }),
  });
  return secret;
}

const serverName = (i: number) => `db-${String(i).padStart(4, '0')}`;

/**
 * Seeds a cluster through the store and the domain rules (so the audit log matches the state): the cluster, then
 * its servers in batches, each registered and given a first running report, ≤ 90 items per transaction.
 */
async function seedCluster(deps: Deps, id: string, servers: number): Promise<void> {
  const actor: Actor = { user: 'bench', isAdmin: true, source: 'bench', requestId: `seed-${randomUUID()}` };
  const config = { engine: 'mariadb' as const, budget: {}, staleAfterSeconds: 86_400 };
  await deps.store.mutate(id, (state) => registerCluster(state, id, config, deps.now()), { actor, result: () => null });
  for (let start = 0; start < servers; start += SEED_BATCH) {
    await deps.store.mutate(
      id,
      (state) => {
        if (!state) throw new Error(`cluster ${id} vanished`);
        const now = deps.now();
        let next = state;
        const events: EventDraft[] = [];
        const apply = (o: Outcome) => {
          next = o.next;
          events.push(...o.events);
        };
        for (let i = start; i < Math.min(servers, start + SEED_BATCH); i++) {
          const name = serverName(i);
          apply(
            registerServer(
              next,
              name,
              {
                dc: `dc${(i % 3) + 1}`,
                role: i === 0 ? 'primary' : 'replica',
                address: `10.0.${i >> 8}.${i & 255}`,
                port: 3306,
              },
              now,
            ),
          );
          apply(
            reportStatus(
              next,
              name,
              {
                health: 'running',
                connections: 10 + (i % 50),
                openTransactions: i % 3,
                version: '10.11.6',
                replicationLagSeconds: i === 0 ? 0 : (i % 7) / 10,
              },
              now,
            ),
          );
        }
        return { next, events };
      },
      { actor, result: () => null },
    );
  }
}

// ---------------------------------------------------------------------------------------------- the run

type Row = FigureRow;

async function main() {
  const started = performance.now();
  const log = (message: string) =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

  log('P4: building each Lambda bundle as the stack does, timing its load in fresh processes');
  const p4: BundleFigure[] = await benchBundles((m) => log(m));

  log('starting DynamoDB Local (in memory)');
  const dynamo = await startDynamoLocal();
  const client = dynamoClient(dynamo.endpoint);
  const counter = countRoundTrips(client);
  const table = `bench-${randomUUID()}`;
  await ensureTable(client, table);
  const deps = createDeps(client, table);
  const server = await startHttpServer(deps, { port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = httpClient(base);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

  try {
    const admin = await createToken(deps, 'admin');
    const viewer = await createToken(deps, 'viewer');
    const agent = await createToken(deps, 'agent', [SMALL.id]);

    log(`seeding ${SMALL.servers} servers in ${SMALL.id}`);
    const t0 = performance.now();
    await seedCluster(deps, SMALL.id, SMALL.servers);
    log(`seeding ${BIG.servers} servers in ${BIG.id}`);
    await seedCluster(deps, BIG.id, BIG.servers);
    const seedMs = performance.now() - t0;
    // A few claims in the big cluster, so the list renders claims and the ETag carries a transition time.
    for (const i of [5, 6, 7]) {
      expectStatus(
        await http.call('PUT', `/v1/clusters/${BIG.id}/servers/${serverName(i)}/maintenance`, admin, {
          reason: 'bench',
          ttl: '2h',
        }),
        200,
        'seed claim',
      );
    }
    log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const rows: Row[] = [];
    for (const f of p4) {
      rows.push({
        id: 'P4',
        what: `${f.function} bundle; module load`,
        measured: `${(f.bytes / 1000).toFixed(0)} KB; ${f.loadMedianMs} ms`,
        target: '≤ 300 KB; ≤ 60 ms',
        pass: f.pass,
      });
    }

    // ------------------------------------------------------------------------------------------ P1
    log('P1: counting DynamoDB round trips per call');
    const count = async (fn: () => Promise<HttpAnswer>, status: number, what: string) => {
      counter.reset();
      expectStatus(await fn(), status, what);
      return [...counter.commands];
    };
    const S = `/v1/clusters/${SMALL.id}`;
    const B = `/v1/clusters/${BIG.id}`;
    // A token's first use in this process looks it up (one GetItem); later uses within TOKEN_CACHE_MS do not.
    const coldViewer = await createToken(deps, 'viewer');
    await http.call('GET', `${S}/servers`, viewer); // warms the viewer token the reads below use
    const p1 = {
      tokenCold: await count(() => http.call('GET', `${S}/servers`, coldViewer), 200, 'cold token read'),
      tokenWarm: await count(() => http.call('GET', `${S}/servers`, coldViewer), 200, 'warm token read'),
      read: await count(() => http.call('GET', `${S}/servers`, viewer), 200, 'read'),
      readBig: await count(() => http.call('GET', `${B}/servers`, viewer), 200, 'read big'),
      readConditional: [] as string[],
      serverMutation: await count(
        () => http.call('PUT', `${S}/servers/${serverName(3)}/maintenance`, admin, { reason: 'bench p1' }),
        200,
        'server mutation',
      ),
      serverClear: await count(
        () => http.call('DELETE', `${S}/servers/${serverName(3)}/maintenance`, admin),
        200,
        'server clear',
      ),
      dcMutation: await count(
        () => http.call('PUT', `${S}/dcs/dc2/maintenance`, admin, { reason: 'bench p1' }),
        200,
        'dc mutation',
      ),
      dcClear: await count(() => http.call('DELETE', `${S}/dcs/dc2/maintenance`, admin), 200, 'dc clear'),
      routineReport: [] as string[],
    };
    const etagSmall = (await http.call('GET', `${S}/servers`, viewer)).headers.etag as string;
    p1.readConditional = await count(
      () => http.call('GET', `${S}/servers`, viewer, undefined, { 'if-none-match': etagSmall }),
      304,
      'conditional read',
    );
    const report = {
      health: 'running',
      role: 'replica',
      connections: 12,
      openTransactions: 1,
      version: '10.11.6',
      replicationLagSeconds: 0.2,
    };
    await http.call('PUT', `${S}/servers/${serverName(4)}/status`, agent, report); // warms the agent token
    counter.reset();
    const routine = expectStatus(
      await http.call('PUT', `${S}/servers/${serverName(4)}/status`, agent, { ...report, connections: 17 }),
      200,
      'routine report',
    );
    p1.routineReport = [...counter.commands];
    if (json(routine).routingRelevant !== false) throw new Error('the routine report was judged routing-relevant');

    const eq = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    const MUT = ['QueryCommand', 'TransactWriteItemsCommand'];
    const p1Checks: [string, string[], string[]][] = [
      ['read GET servers (20)', p1.read, ['QueryCommand']],
      ['read GET servers (1,000)', p1.readBig, ['QueryCommand']],
      ['read If-None-Match (304)', p1.readConditional, ['GetItemCommand']],
      ['server maintenance set', p1.serverMutation, MUT],
      ['server maintenance clear', p1.serverClear, MUT],
      ['dc maintenance set', p1.dcMutation, MUT],
      ['dc maintenance clear', p1.dcClear, MUT],
      ['routine status report', p1.routineReport, ['UpdateItemCommand']],
    ];
    const short = (cmds: string[]) => (cmds.length ? cmds.map((c) => c.replace(/Command$/, '')).join('+') : 'none');
    for (const [what, got, want] of p1Checks) {
      rows.push({
        id: 'P1',
        what,
        measured: `${got.length} (${short(got)})`,
        target: `${want.length} (${short(want)})`,
        pass: eq(got, want),
      });
    }
    // Both calls are the same read (one Query): what else they made is the token check's.
    const tokenTrips = (cmds: string[]) => cmds.filter((c) => c !== 'QueryCommand');
    const warmExtra = tokenTrips(p1.tokenWarm);
    const coldExtra = tokenTrips(p1.tokenCold);
    rows.push({
      id: 'P1',
      what: 'warm token check (extra trips)',
      measured: `${warmExtra.length} (cold: ${coldExtra.length} ${short(coldExtra)})`,
      target: '0',
      pass: warmExtra.length === 0 && eq(p1.tokenWarm, ['QueryCommand']),
    });

    // ------------------------------------------------------------------------------------------ P2
    const bareQuery = (id: string) => async () => {
      const input: QueryCommandInput = {
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': K.PK },
        ExpressionAttributeValues: { ':pk': K.clusterPk(id) },
        ConsistentRead: true,
      };
      let ExclusiveStartKey: QueryCommandInput['ExclusiveStartKey'];
      let n = 0;
      do {
        const out = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey }));
        n += out.Items?.length ?? 0;
        ExclusiveStartKey = out.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      if (n === 0) throw new Error(`empty partition ${id}`);
    };
    const list =
      (id: string, headers: Record<string, string> = {}, status = 200) =>
      async () => {
        expectStatus(
          await http.call('GET', `/v1/clusters/${id}/servers`, viewer, undefined, headers),
          status,
          `GET ${id} servers`,
        );
      };
    const readCluster = (id: string) => async () => {
      await deps.store.readCluster(id);
    };

    const p2: Record<string, unknown> = {};
    for (const c of [SMALL, BIG]) {
      log(
        `P2: ${c.servers} servers, ${c.samples} interleaved samples each of the HTTP list, the bare Query and readCluster`,
      );
      const bytes = (await http.call('GET', `/v1/clusters/${c.id}/servers`, viewer)).body.length;
      const r = await interleaved(
        { http: list(c.id), query: bareQuery(c.id), readCluster: readCluster(c.id) },
        c.samples,
        c.warmup,
      );
      // (The token cache expires every TOKEN_CACHE_MS, so one HTTP sample in a few hundred also looks the token up.)
      const [h, q, rc] = [median(r.http!.wall), median(r.query!.wall), median(r.readCluster!.wall)];
      const ratio = h / q;
      p2[`servers${c.servers}`] = {
        cluster: c.id,
        responseBytes: bytes,
        http: summary(r.http!),
        bareQuery: summary(r.query!),
        readCluster: summary(r.readCluster!),
        ratio: round(ratio),
        ratioOverReadCluster: round(h / rc),
        nodeCpuOverheadMs: round(median(r.http!.cpu) - median(r.query!.cpu)),
      };
      rows.push({
        id: 'P2',
        what: `GET servers ÷ bare Query, ${c.servers.toLocaleString('en-US')} servers`,
        measured: `${ratio.toFixed(2)}× (${h.toFixed(2)} / ${q.toFixed(2)} ms)`,
        target: '≤ 1.3×',
        pass: ratio <= 1.3,
      });
    }

    // ------------------------------------------------------------------------------------------ P3
    log(`P3: ${SAMPLES} interleaved samples each of If-None-Match (304) and the full list, ${BIG.servers} servers`);
    const etagBig = expectStatus(await http.call('GET', `${B}/servers`, viewer), 200, 'etag').headers.etag as string;
    const p3r = await interleaved(
      { conditional: list(BIG.id, { 'if-none-match': etagBig }, 304), full: list(BIG.id) },
      SAMPLES,
    );
    const [cond, full] = [median(p3r.conditional!.wall), median(p3r.full!.wall)];
    const p3ratio = cond / full;
    const p3 = {
      cluster: BIG.id,
      etag: etagBig,
      conditional: summary(p3r.conditional!),
      full: summary(p3r.full!),
      ratio: round(p3ratio, 4),
    };
    rows.push({
      id: 'P3',
      what: 'If-None-Match (304) ÷ full list, 1,000 servers',
      measured: `${p3ratio.toFixed(3)}× (${cond.toFixed(2)} / ${full.toFixed(2)} ms)`,
      target: '≤ 0.1×',
      pass: p3ratio <= 0.1,
    });

    // ------------------------------------------------------------------------------------------ P5, P6
    const rollout = await benchRollout(deps, ROLLOUT_SERVERS, 25, log);
    rows.push({
      id: 'P5',
      what: `${rollout.servers.toLocaleString('en-US')}-server rollout through the ASL locally (waits 0)`,
      measured: `${rollout.wallSeconds} s, ${rollout.transitionsPerServer} transitions/server (${rollout.batches} batches, ${rollout.executions.rollout} executions + ${rollout.executions.node} node executions)`,
      target: 'completes; ≤ 20 transitions/server',
      pass: rollout.transitionsPerServer <= 20,
    });
    rows.push({
      id: 'P6',
      what: 'history events of one top-level execution, 10,000 servers',
      measured: `${rollout.tenThousand.eventsPerFullExecution.toLocaleString('en-US')} per execution × ${rollout.tenThousand.executions} (local count: ≤ ${rollout.awsHistory.maxTopLevel.toLocaleString('en-US')} top-level, ≤ ${rollout.awsHistory.maxNode} per node)`,
      target: '< 25,000',
      pass:
        rollout.tenThousand.eventsPerFullExecution < 25_000 &&
        rollout.awsHistory.maxTopLevel <= rollout.awsHistory.formulaPerFullExecution,
    });

    // ------------------------------------------------------------------------------------------ D1–D3
    const dataplane = dataplaneAvailable() ? await benchDataplane(deps, base, admin, log) : undefined;
    if (dataplane) {
      for (const mode of ['idle', 'load'] as const) {
        const d = dataplane.switchover[mode];
        const client = round(median(d.clientMs), 1);
        rows.push({
          id: mode === 'idle' ? 'D1' : 'D2',
          what: `switchover write pause ${mode === 'idle' ? 'idle' : 'under a steady write load'}: read-only → writable / as a client through HAProxy sees it`,
          measured: `${round(median(d.serverMs), 1)} ms / ${client} ms (median of ${d.clientMs.length}); ${d.failedReads} failed reads, ${d.lostWrites} lost of ${d.acknowledged.toLocaleString('en-US')} acknowledged writes`,
          target: '≤ 300 ms as a client sees it; 0 failed reads; 0 lost writes',
          pass: client <= 300 && d.failedReads === 0 && d.lostWrites === 0,
        });
      }
      const tick = (n: number) =>
        `${n} servers ${round(median(dataplane.tickMs[n]!), 1)} ms, ${dataplane.callsPerTick[n]} API calls`;
      rows.push({
        id: 'D3',
        what: "the agent's interval (probe, report, reconcile), medians",
        measured: `${tick(3)}; ${tick(100)}`,
        target: 'well within its 5 s interval',
        pass: median(dataplane.tickMs[100]!) < 2500,
      });
    } else {
      rows.push({
        id: 'D1–D3',
        what: 'the data plane (switchover, agent interval)',
        measured: 'not run: needs the mariadb-server and haproxy packages',
        target: '—',
        pass: true,
      });
    }

    // ------------------------------------------------------------------------------------------ breakdown
    log('breakdown: where the 1,000-server list spends its time in-process (no I/O)');
    const breakdown = await handlerBreakdown(deps, BIG.id, viewer);

    // ------------------------------------------------------------------------------------------ report
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      loadAverage: loadavg().map((x) => round(x, 2)),
      samplesPerMeasurement: { p2Small: SMALL.samples, p2Big: BIG.samples, p3: SAMPLES },
      warmupRoundsPerMeasurement: { p2Small: SMALL.warmup, p2Big: BIG.warmup, p3: WARMUP },
      seed: { servers: { [SMALL.id]: SMALL.servers, [BIG.id]: BIG.servers }, seconds: round(seedMs / 1000, 1) },
      p1,
      p2,
      p3,
      p4,
      p5p6: rollout,
      dataplane,
      breakdownMs: breakdown,
      table: rows,
      missed: rows.filter((r) => !r.pass).map((r) => `${r.id} ${r.what}`),
      totalSeconds: round((performance.now() - started) / 1000, 1),
    };
    writeFileSync(resolve(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFiguresIntoReadme(resolve(HERE, '../README.md'), results);
    // As `npm run lint` wants it (Biome pads the table's cells).
    spawnSync('npx', ['biome', 'format', '--write', 'README.md'], { cwd: resolve(HERE, '..'), stdio: 'ignore' });

    printTable(rows);
    printBundles(p4);
    console.log(
      "\nP2 detail (medians): wall ms of the HTTP list / bare Query / store.readCluster, and this process's extra CPU per HTTP call:",
    );
    for (const [k, v] of Object.entries(p2) as [
      string,
      {
        http: { medianMs: number };
        bareQuery: { medianMs: number };
        readCluster: { medianMs: number };
        nodeCpuOverheadMs: number;
        responseBytes: number;
      },
    ][]) {
      console.log(
        `  ${k.padEnd(12)} ${v.http.medianMs.toFixed(2)} / ${v.bareQuery.medianMs.toFixed(2)} / ${v.readCluster.medianMs.toFixed(2)} ms; +${v.nodeCpuOverheadMs.toFixed(2)} ms CPU; ${v.responseBytes.toLocaleString('en-US')} bytes`,
      );
    }
    console.log('\nIn-process breakdown of one 1,000-server list (medians, ms):');
    for (const [k, v] of Object.entries(breakdown)) console.log(`  ${k.padEnd(34)} ${v.toFixed(3)}`);
    const missed = rows.filter((r) => !r.pass);
    console.log(
      missed.length === 0
        ? '\nAll targets met.'
        : `\nMISSED ${missed.length} target(s):\n${missed.map((r) => `  ✗ ${r.id} ${r.what}: ${r.measured} (target ${r.target})`).join('\n')}`,
    );
    console.log(
      `\nWrote ${resolve(HERE, 'results.json')} and the README's figures (node ${process.version}, ${results.totalSeconds} s).`,
    );
  } finally {
    http.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    client.destroy();
    await dynamo.stop();
  }
}

/**
 * Medians of each in-process step the list route takes for the 1,000-server cluster, on a state read once:
 * validation, view derivation, rendering, the entity tag, serialisation, and the whole handler through the
 * request listener with a store that answers from memory (so no DynamoDB time at all).
 */
async function handlerBreakdown(deps: Deps, id: string, token: string): Promise<Record<string, number>> {
  const state = (await deps.store.readCluster(id))!;
  const now = Date.now();
  const time = (fn: () => unknown, n = 60) => {
    for (let i = 0; i < 10; i++) fn();
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      fn();
      xs.push(performance.now() - t0);
    }
    return round(median(xs));
  };
  const views = viewAll(state, now);
  const body = { cluster: state.cluster.id, revision: state.cluster.revision, servers: views.map(serverJson) };
  const text = JSON.stringify(body);
  const out: Record<string, number> = {
    'zod listQuery': time(() => validate(listQuery, {}, 'query')),
    'viewAll (derive 1,000 views)': time(() => viewAll(state, now)),
    'serverJson ×1,000 (render)': time(() => views.map(serverJson)),
    'clusterTag (transitionTimes)': time(() => clusterTag(state, now)),
    'JSON.stringify body': time(() => JSON.stringify(body)),
    'Buffer.from body (send)': time(() => Buffer.from(text, 'utf8')),
  };
  // The whole local server path with DynamoDB taken out: the same listener over a store that answers from memory
  // (the 1,000-server state, and the small cluster's for the fixed per-request cost).
  const small = (await deps.store.readCluster(SMALL.id))!;
  const store = Object.create(deps.store) as Deps['store'];
  store.readCluster = async (c: string) => (c === id ? state : c === SMALL.id ? small : undefined);
  const memoryDeps: Deps = { ...deps, store };
  const { createServer } = await import('node:http');
  const listenerServer = createServer(createRequestListener(memoryDeps));
  await new Promise<void>((done) => listenerServer.listen(0, '127.0.0.1', () => done()));
  const local = httpClient(`http://127.0.0.1:${(listenerServer.address() as AddressInfo).port}`);
  try {
    for (const [cluster, label, n] of [
      [id, 'HTTP list, store in memory (total)', 80],
      [SMALL.id, `same, ${SMALL.servers} servers`, 400],
    ] as const) {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        expectStatus(await local.call('GET', `/v1/clusters/${cluster}/servers`, token), 200, 'in-memory list');
        if (i >= n / 4) xs.push(performance.now() - t0);
      }
      out[label] = round(median(xs));
    }
  } finally {
    local.close();
    listenerServer.closeAllConnections();
    await new Promise((done) => listenerServer.close(done));
  }
  return out;
}

function printTable(rows: Row[]): void {
  const head = ['id', 'what', 'measured', 'target', 'pass'];
  const cells = rows.map((r) => [r.id, r.what, r.measured, r.target, r.pass ? 'yes' : 'NO ✗']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${cells.map(line).join('\n')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
