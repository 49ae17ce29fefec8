/**
 * `maintctl agent` on real processes: three mariadbd with GTID replication (db1 → db2, db3), HAProxy with a write
 * and a read backend, `npm start -- --memory`, and the agent — in this process, one tick at a time, and as the
 * built CLI for the rolling upgrade under a client's load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { RuntimeApi } from '../../agent/haproxy.js';
import { freePort } from '../../local/dynamodb.js';
import { ClientLoad } from '../../local/client-load.js';
import { startHaproxy, startMariaDbFleet, type HaproxyInstance, type MariaDbFleet } from '../../local/fleet.js';
import { startLocal, stopLocal, type LocalProcess } from '../support/processes.js';
import { until } from '../support/wait.js';

const CLUSTER = 'shop';
const SERVERS = ['db1', 'db2', 'db3'];
const TARGET = '10.11.99';

let fleet: MariaDbFleet;
let haproxy: HaproxyInstance;
let stack: LocalProcess;
let admin: string;
let dir: string;
let configFile: string;
let agentEnv: NodeJS.ProcessEnv;
let proxy: RuntimeApi;
const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const server = async (name: string) => api('GET', `/v1/clusters/${CLUSTER}/servers/${name}`);
const proxyState = async (entry: string) =>
  (await proxy.servers()).find((s) => `${s.backend}/${s.server}` === entry)?.state;
/** Ticks until what `read` returns is `done` (a reading the database has not refreshed yet waits a tick). */
async function tickUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const tickThenRead = async () => {
    await agent.tick();
    return read();
  };
  return until(what, tickThenRead, done, 5000);
}
let agent: Agent;
const newAgent = (config: AgentConfig = loadAgentConfig(configFile, agentEnv)) =>
  new Agent(config, (level, message, fields) => logs.push({ level, message, ...(fields && { fields }) }));
/** A session through one of HAProxy's frontends that the read backend sent to `name`. */
async function sessionOn(name: string, port = haproxy.readPort): Promise<Connection> {
  const want = fleet.servers.find((s) => s.name === name)!.port;
  for (let i = 0; i < 12; i++) {
    const c = await createConnection({ host: '127.0.0.1', port, ...fleet.users.app, database: 'app' });
    c.on('error', () => undefined); // a session the agent closes fails its next query
    const [{ port: at }] = await c.query('SELECT @@port AS port');
    if (Number(at) === want) return c;
    await c.end();
  }
  throw new Error(`HAProxy never sent a session to ${name}`);
}

beforeAll(async () => {
  // One after the other: the fleet's free ports are picked while the stack's is already taken.
  admin = randomBytes(24).toString('hex');
  stack = await startLocal({
    port: await freePort(),
    args: ['--memory', '--poll-interval', '0.2', '--sweep-interval', '1'],
    adminToken: admin,
    timeoutMs: 60_000,
    stopOnTimeout: true,
  });
  fleet = await startMariaDbFleet(SERVERS);
  haproxy = await startHaproxy(fleet, { primary: 'db1' });
  proxy = new RuntimeApi(`127.0.0.1:${haproxy.runtimeApi.port}`);

  await api('PUT', `/v1/clusters/${CLUSTER}`, { engine: 'mariadb' });
  for (const s of fleet.servers)
    await api('PUT', `/v1/clusters/${CLUSTER}/servers/${s.name}`, {
      role: s.name === 'db1' ? 'primary' : 'replica',
      address: '127.0.0.1',
      port: s.port,
    });
  const { token } = await api('POST', '/v1/tokens', { user: 'agent-shop', role: 'agent', clusters: [CLUSTER] });

  dir = mkdtempSync(join(tmpdir(), 'maintctl-agent-'));
  writeFileSync(join(dir, 'agent.token'), token);
  chmodSync(join(dir, 'agent.token'), 0o600);
  agentEnv = { DB_PASSWORD: fleet.users.agent.password, REPL_PASSWORD: fleet.users.replication.password };
  configFile = join(dir, 'agent.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      url: stack.url,
      cluster: CLUSTER,
      tokenFile: 'agent.token',
      intervalSeconds: 0.5,
      mariadb: {
        user: fleet.users.agent.user,
        passwordEnv: 'DB_PASSWORD',
        replication: { user: fleet.users.replication.user, passwordEnv: 'REPL_PASSWORD' },
        switchoverTimeoutSeconds: 10,
        servers: Object.fromEntries(fleet.servers.map((s) => [s.name, `127.0.0.1:${s.port}`])),
      },
      haproxy: [
        {
          runtimeApi: `127.0.0.1:${haproxy.runtimeApi.port}`,
          writeBackends: ['writes'],
          servers: Object.fromEntries(SERVERS.map((n) => [n, [`writes/${n}`, `reads/${n}`]])),
        },
      ],
      upgrade: { command: [fleet.upgradeCommand], timeoutSeconds: 120 },
    }),
  );
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([stack && stopLocal(stack), haproxy?.close(), fleet?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the agent on real MariaDB and HAProxy', () => {
  beforeAll(() => {
    agent = newAgent();
  });
  afterAll(() => agent?.stop());

  it('reports each server: health, role from replication, client sessions, open transactions, version, lag', async () => {
    const app = await createConnection({
      host: '127.0.0.1',
      port: fleet.servers[1]!.port,
      ...fleet.users.app,
      database: 'app',
    });
    const writer = await createConnection({
      host: '127.0.0.1',
      port: fleet.servers[0]!.port,
      ...fleet.users.app,
      database: 'app',
    });
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO kv (v) VALUES ('open')");
      await tickUntil(
        'the open transaction reported',
        () => server('db1'),
        (s) => s.openTransactions === 1,
      );
      const [db1, db2, db3] = await Promise.all(SERVERS.map(server));
      const version = (await fleet.query<{ v: string }[]>('db1', 'SELECT VERSION() AS v'))[0]!.v.split('-')[0];
      expect(db1).toMatchObject({
        health: 'running',
        role: 'primary',
        version,
        openTransactions: 1,
        connections: 1,
        replicationLagSeconds: 0,
        state: 'Master, Running',
      });
      expect(db2).toMatchObject({
        health: 'running',
        role: 'replica',
        version,
        openTransactions: 0,
        connections: 1,
        replicationLagSeconds: 0,
        state: 'Slave, Running',
      });
      expect(db3).toMatchObject({ role: 'replica', connections: 0 });
      await writer.query('COMMIT');
      expect(
        await tickUntil(
          'the commit reported',
          () => server('db1'),
          (s) => s.openTransactions === 0,
        ),
      ).toMatchObject({ connections: 1 });
    } finally {
      await Promise.all([app.end(), writer.end()]);
    }
    // Only the leaseholder acts; it holds the lease from its first tick.
    expect(logs.some((l) => l.message.startsWith('lease'))).toBe(false);
  });

  it("a replica's graceful maintenance: drain while its sessions last, then maint; cleared: ready", async () => {
    const session = await sessionOn('db2');
    await api('PUT', `/v1/clusters/${CLUSTER}/servers/db2/maintenance`, { reason: 'kernel patch' });
    await agent.tick();
    expect(await proxyState('reads/db2')).toBe('drain');
    expect((await session.query('SELECT 1 AS one'))[0].one).toBe(1); // not cut off
    await session.end();
    await agent.tick();
    expect(await proxyState('reads/db2')).toBe('maint');
    expect(await proxyState('writes/db2')).toBe('maint'); // a replica takes no writes anyway
    await api('DELETE', `/v1/clusters/${CLUSTER}/servers/db2/maintenance`);
    await agent.tick();
    expect(await proxyState('reads/db2')).toBe('ready');
    expect(await proxyState('writes/db2')).toBe('maint');
  });

  it('a primary with an open transaction stays "Draining, Master, Running" until it commits; then Maintenance', async () => {
    const session = await sessionOn('db1', haproxy.writePort);
    await session.query('BEGIN');
    await session.query("INSERT INTO kv (v) VALUES ('in flight')");
    await tickUntil(
      'the open transaction reported',
      () => server('db1'),
      (s) => s.openTransactions === 1,
    );
    await api('PUT', `/v1/clusters/${CLUSTER}/servers/db1/maintenance`, { reason: 'hardware check' });
    for (let i = 0; i < 3; i++) {
      await agent.tick();
      expect((await server('db1')).state).toBe('Draining, Master, Running');
      expect(await proxyState('writes/db1')).toBe('drain');
    }
    await session.query('COMMIT');
    // InnoDB refreshes INNODB_TRX at most every 100 ms: the commit shows in the next reading after that.
    await tickUntil(
      'db1 in maintenance',
      () => server('db1'),
      (s) => s.state === 'Maintenance, Running',
    );
    expect(await proxyState('writes/db1')).toBe('drain'); // its session is still open
    await session.end();
    await agent.tick();
    expect(await proxyState('writes/db1')).toBe('maint');
    expect(await proxyState('reads/db1')).toBe('maint');
    await api('DELETE', `/v1/clusters/${CLUSTER}/servers/db1/maintenance`);
    await agent.tick();
    expect(await proxyState('writes/db1')).toBe('ready');
  });

  it('a forced maintenance closes the sessions at once', async () => {
    const session = await sessionOn('db3');
    await api('PUT', `/v1/clusters/${CLUSTER}/servers/db3/maintenance`, { reason: 'disk failing', force: true });
    await agent.tick();
    expect(await proxyState('reads/db3')).toBe('maint');
    await expect(session.query('SELECT 1')).rejects.toThrow();
    session.destroy();
    await api('DELETE', `/v1/clusters/${CLUSTER}/servers/db3/maintenance`);
    await agent.tick();
    expect(await proxyState('reads/db3')).toBe('ready');
  });

  it("corrects a state set by hand in HAProxy, and says so in its log and the server's report", async () => {
    await proxy.setState('reads', 'db2', 'maint');
    await proxy.setState('writes', 'db3', 'ready');
    await agent.tick();
    expect(await proxyState('reads/db2')).toBe('ready');
    expect(await proxyState('writes/db3')).toBe('maint');
    const corrected = logs.filter((l) => l.message === 'corrected drift on HAProxy').map((l) => l.fields?.entry);
    expect(corrected).toEqual(expect.arrayContaining(['reads/db2', 'writes/db3']));
    expect((await server('db2')).proxy).toMatch(/reads\/db2: found maint \(changed by hand\), set ready/);
  });

  it('a second agent only reports: the lease is held, it changes nothing in HAProxy', async () => {
    const second = newAgent();
    try {
      await proxy.setState('reads', 'db3', 'drain');
      await second.tick();
      expect(await proxyState('reads/db3')).toBe('drain');
      expect(logs.some((l) => l.message === 'lease: held by another agent: reporting only')).toBe(true);
      await agent.tick();
      expect(await proxyState('reads/db3')).toBe('ready');
    } finally {
      await second.stop();
    }
  });

  it('switches over on GTID replication: the target promoted, the others and the old primary replicating from it, writes moved', async () => {
    await api('POST', `/v1/clusters/${CLUSTER}/switchover`, { to: 'db2' });
    await agent.tick();
    expect((await api('GET', `/v1/clusters/${CLUSTER}/failover`)).pendingSwitchover).toBeNull();
    expect(await server('db2')).toMatchObject({ role: 'primary' });
    expect(await server('db1')).toMatchObject({ role: 'replica' });
    expect(await proxyState('writes/db2')).toBe('ready');
    expect(await proxyState('writes/db1')).toBe('maint');
    const write = await sessionOn('db2', haproxy.writePort);
    await write.query("INSERT INTO kv (v) VALUES ('after switchover')");
    await write.end();
    await fleet.sync('db2');
    for (const name of ['db1', 'db3']) {
      const [status] = await fleet.query<Record<string, unknown>[]>(name, 'SHOW SLAVE STATUS');
      expect(status).toMatchObject({
        Master_Port: fleet.servers[1]!.port,
        Slave_IO_Running: 'Yes',
        Slave_SQL_Running: 'Yes',
      });
      expect(await fleet.query(name, "SELECT v FROM app.kv WHERE v = 'after switchover'")).toHaveLength(1);
    }
    expect(agent.lastSwitchover!.proxy).toBeGreaterThan(0);
  });

  it('gives up cleanly when the target cannot catch up in time, and completes once it can', async () => {
    await agent.stop(); // its lease goes; an agent with a 1 s switchover timeout takes over
    const config = loadAgentConfig(configFile, agentEnv);
    const impatient = newAgent({ ...config, mariadb: { ...config.mariadb, switchoverTimeoutSeconds: 1 } });
    await fleet.query('db3', 'STOP SLAVE SQL_THREAD');
    try {
      await fleet.query('db2', "INSERT INTO app.kv (v) VALUES ('db3 cannot apply this yet')");
      await api('POST', `/v1/clusters/${CLUSTER}/switchover`, { to: 'db3' });
      await impatient.tick();
      expect(logs.some((l) => l.message.startsWith('switchover given up'))).toBe(true);
      expect((await fleet.query<{ ro: number }[]>('db2', 'SELECT @@read_only AS ro'))[0]!.ro).toBe(0); // writable again
      expect(await fleet.query('db3', 'SHOW SLAVE STATUS')).toHaveLength(1); // still a replica
      expect(await proxyState('writes/db2')).toBe('ready');
      expect(await proxyState('writes/db3')).toBe('maint');
      expect((await api('GET', `/v1/clusters/${CLUSTER}/failover`)).pendingSwitchover).toMatchObject({ to: 'db3' });
    } finally {
      await fleet.query('db3', 'START SLAVE SQL_THREAD');
      await impatient.stop();
    }
    agent = newAgent();
    await agent.tick();
    expect((await api('GET', `/v1/clusters/${CLUSTER}/failover`)).pendingSwitchover).toBeNull();
    expect(await server('db3')).toMatchObject({ role: 'primary' });
    expect(await proxyState('writes/db3')).toBe('ready');
    expect(await proxyState('writes/db2')).toBe('maint');
    await agent.stop();
  });

  it('two writable servers (one made so by hand): the write backends are left as they are, and it says so', async () => {
    agent = newAgent();
    const before = await proxy.servers();
    await fleet.query('db1', 'STOP SLAVE');
    await fleet.query('db1', 'RESET SLAVE ALL');
    await fleet.query('db1', 'SET GLOBAL read_only = 0');
    try {
      await agent.tick();
      expect(
        logs.some((l) => l.message === 'primary: db1 and db3 are all writable: write backends left as they are'),
      ).toBe(true);
      expect((await proxy.servers()).filter((e) => e.backend === 'writes')).toEqual(
        before.filter((e) => e.backend === 'writes'),
      );
    } finally {
      await fleet.query('db1', 'SET GLOBAL read_only = 1');
      await fleet.query(
        'db1',
        `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${fleet.servers[2]!.port}, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos`,
        [fleet.users.replication.user, fleet.users.replication.password],
      );
      await fleet.query('db1', 'START SLAVE');
    }
    await agent.tick();
    expect(logs.some((l) => l.message === 'primary: ok again')).toBe(true);
    await agent.stop();
  });
});

/**
 * The built CLI, as an operator runs it; under coreutils' `timeout`, so that it cannot outlive a test run that dies
 * before stopping it (`timeout` passes a SIGTERM on, and answers with the agent's exit status).
 */
function startCliAgent(): { child: ChildProcess; output: () => string } {
  const child = spawn('timeout', ['600', process.execPath, 'dist/maintctl.mjs', 'agent', '--config', configFile], {
    env: { ...process.env, ...agentEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output };
}

describe("a rolling upgrade of the three servers under a client's reads and writes", () => {
  it('0 failed reads, 0 lost acknowledged writes; every server at the new version, the primary moved, automation resumed', {
    timeout: 240_000,
  }, async () => {
    const cli = startCliAgent();
    const load = new ClientLoad({
      host: '127.0.0.1',
      readPort: haproxy.readPort,
      writePort: haproxy.writePort,
      ...fleet.users.app,
      readers: 2,
      writeEveryMs: 5,
    }).start();
    let stopped = false;
    try {
      await until(
        'the agent reporting',
        () => server('db1'),
        (s) => s.reportedAt !== undefined && Date.now() - Date.parse(s.reportedAt) < 2000,
      );
      const primaryBefore = (await api('GET', `/v1/clusters/${CLUSTER}/failover`)).primary;
      const started = await api('POST', `/v1/clusters/${CLUSTER}/rollouts`, {
        targetVersion: TARGET,
        upgrade: { kind: 'wait-for-report', timeoutSeconds: 120 },
        verify: { stableForSeconds: 1, timeoutSeconds: 60 },
        drainTimeoutSeconds: 30,
      });
      const rollout = await until(
        'the rollout to finish',
        () => api('GET', `/v1/clusters/${CLUSTER}/rollouts/${started.id}`),
        (r) => ['succeeded', 'failed', 'aborted', 'paused'].includes(r.status),
        150_000,
      );
      expect(rollout.status, JSON.stringify(rollout, null, 1) + cli.output().slice(-4000)).toBe('succeeded');
      const result = await load.stop();
      stopped = true;

      expect(result.failedReads).toEqual([]);
      expect(result.reads).toBeGreaterThan(100);
      expect(result.acknowledged.length).toBeGreaterThan(100);
      const primaryAfter = (await api('GET', `/v1/clusters/${CLUSTER}/failover`)).primary;
      expect(primaryAfter).not.toBe(primaryBefore);
      await fleet.sync(primaryAfter);
      for (const name of SERVERS) {
        const stored = new Set(
          (await fleet.query<{ v: string }[]>(name, "SELECT v FROM app.kv WHERE v LIKE 'w-%'")).map((r) => r.v),
        );
        expect(
          result.acknowledged.filter((v) => !stored.has(v)),
          `acknowledged writes missing on ${name}`,
        ).toEqual([]);
        expect(await server(name)).toMatchObject({ version: TARGET, health: 'running', maintenance: false });
      }
      expect((await api('GET', `/v1/clusters/${CLUSTER}/maintenance`)).paused).toBe(false);
      expect(cli.output()).toContain('switchover done');
      expect(cli.output()).not.toContain(fleet.users.agent.password);
    } finally {
      if (!stopped) await load.stop();
      cli.child.kill('SIGTERM');
      const killer = setTimeout(() => cli.child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((done) =>
        cli.child.exitCode !== null ? done(cli.child.exitCode) : cli.child.once('exit', done),
      );
      clearTimeout(killer);
      expect(code).toBe(0);
      expect(cli.output()).toContain('agent stopped');
    }
  });

  /** The replica the failing upgrade leaves out of service. */
  let failedServer = '';

  it("a failing upgrade command fails the node with its exit status and stderr's last lines; the server stays out", async () => {
    const config = loadAgentConfig(configFile, agentEnv);
    const failing = newAgent({
      ...config,
      upgrade: {
        command: [
          'sh',
          '-c',
          'echo "fetching $MAINTCTL_TARGET_VERSION for $MAINTCTL_SERVER" >&2; echo "E: Unable to locate package" >&2; exit 3',
        ],
        timeoutSeconds: 30,
      },
    });
    try {
      // A replica (the rolling upgrade moved the primary to whichever replica ranked first).
      const { primary } = await api('GET', `/v1/clusters/${CLUSTER}/failover`);
      failedServer = ['db2', 'db3'].find((s) => s !== primary)!;
      const started = await api('POST', `/v1/clusters/${CLUSTER}/rollouts`, {
        targetVersion: '10.11.100',
        servers: [failedServer],
        upgrade: { kind: 'wait-for-report', timeoutSeconds: 120 },
      });
      const path = `/v1/clusters/${CLUSTER}/rollouts/${started.id}`;
      const rollout = await until(
        'the rollout to fail',
        async () => {
          await failing.tick();
          return api('GET', path);
        },
        (r) => r.status === 'failed',
        60_000,
      );
      expect(rollout.servers[0]).toMatchObject({ name: failedServer, outcome: 'failed', step: 'wait-upgraded' });
      expect(rollout.servers[0].reason).toBe(
        `upgrade command exited with 3: fetching 10.11.100 for ${failedServer}\nE: Unable to locate package`,
      );
      await failing.tick();
      expect(await server(failedServer)).toMatchObject({ maintenance: true, version: TARGET });
      expect(await proxyState(`reads/${failedServer}`)).toBe('maint');
    } finally {
      await failing.stop();
    }
  });

  it('with maintctl unreachable, HAProxy stays as it is: nothing returns to service, drift is left alone', async () => {
    const agent = newAgent();
    try {
      await agent.tick();
      expect(await proxyState(`reads/${failedServer}`)).toBe('maint'); // held by the failed rollout
      await stopLocal(stack);
      await proxy.setState('reads', 'db1', 'drain');
      const before = await proxy.servers();
      for (let i = 0; i < 3; i++) await agent.tick();
      expect(await proxy.servers()).toEqual(before);
      expect(logs.filter((l) => l.message.startsWith('control plane: unreachable'))).toHaveLength(1); // once per change
    } finally {
      await agent.stop();
    }
  });
});

describe('maintctl agent with a bad configuration', () => {
  it('exits 2 with one line naming the key', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        url: 'http://127.0.0.1:1',
        cluster: 'shop',
        tokenFile: 'agent.token',
        mariadb: { user: 'x', passwordEnv: 'DB_PASSWORD', servers: { db1: 'nowhere' } },
      }),
    );
    const child = spawn(process.execPath, ['dist/maintctl.mjs', 'agent', '--config', bad], {
      env: { ...process.env, ...agentEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/mariadb\.servers\.db1: must be host:port/);
  });
});
