/**
 * The built `maintctl` CLI (dist/maintctl.mjs) as an operator runs it: a child process against a real HTTP
 * server over DynamoDB Local, with the demo fleet and its simulated agents (README "The `maintctl` CLI").
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { registerDemoFleet, startDemoAgents } from '../../local/demo.js';
import { httpEnv, type HttpEnv } from '../support/env.js';
import { until } from '../support/wait.js';

const CLI = join(process.cwd(), 'dist/maintctl.mjs');

let env: HttpEnv;
let stopAgents: () => void = () => undefined;
let cwd: string;
let noConfig: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI asynchronously (never spawnSync: the API server lives in this process and must keep answering).
 * `vars` overrides the environment; a value of undefined removes the variable.
 */
function cli(args: string[], vars: Record<string, string | undefined> = {}): Promise<Run> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base))
    if (k.startsWith('MAINTCTL_') || k === 'AWS_PROFILE' || k === 'DYNAMODB_ENDPOINT') delete base[k];
  const merged = { ...base, MAINTCTL_URL: env.url, MAINTCTL_TOKEN: env.admin, MAINTCTL_CONFIG: noConfig, ...vars };
  const childEnv = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** stderr without npm/node noise: the lines the CLI wrote. */
const errLines = (r: Run) => r.stderr.trim().split('\n').filter(Boolean);

/** A failure as the README's CLI section says: exit 1, nothing on stdout, one line on stderr, no stack trace. */
function expectFailure(r: Run, message: RegExp): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
  expect(r.stdout).toBe('');
  expect(errLines(r)).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/**
 * A usage error: commander prints `error: ...` then the configured hint `(see maintctl --help)`; the
 * explanation itself is one line, and there is no stack trace.
 */
function expectUsageError(r: Run, message: RegExp): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
  expect(r.stdout).toBe('');
  const lines = errLines(r);
  expect(lines[0]).toMatch(message);
  expect(lines.slice(1).every((l) => /see maintctl --help/.test(l))).toBe(true);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

async function ok(args: string[], vars?: Record<string, string | undefined>): Promise<string> {
  const r = await cli(args, vars);
  expect(r.status, `maintctl ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

type ServerJson = { name: string; health: string; state: string; claims: { holder: string }[] };
const servers = async (cluster: string) =>
  ((await env.call('GET', `/v1/clusters/${cluster}/servers`)).body as { servers: ServerJson[] }).servers;
/** The State column of `list servers --tsv` for one server. */
const tsvState = (out: string, server: string) =>
  out
    .split('\n')
    .map((l) => l.split('\t'))
    .find((f) => f[0] === server)?.[4];

beforeAll(async () => {
  const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status}): ${build.stdout}\n${build.stderr}`);
  cwd = mkdtempSync(join(tmpdir(), 'maintctl-cli-'));
  noConfig = join(cwd, 'no-such-config.json');
  env = await httpEnv({ waitMs: 100, retryMs: 0 });
  await registerDemoFleet(env.deps);
  stopAgents = await startDemoAgents(env.deps, env.url, 200);
  for (const cluster of ['demo-mariadb', 'demo-cassandra']) {
    await until(
      `${cluster} running`,
      () => servers(cluster),
      (s) => s.length > 0 && s.every((v) => v.health === 'running'),
    );
  }
});

afterAll(async () => {
  stopAgents();
  await env?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

describe('maintctl CLI', () => {
  it('sets, shows, lists and clears server maintenance; a second replica is refused with the API message', async () => {
    expect(
      await ok(['-c', 'demo-mariadb', 'set', 'server', 'db2', 'maintenance', '--reason', 'r', '--ttl', '1h']),
    ).toBe('OK\n');
    const table = await ok(['-c', 'demo-mariadb', 'list', 'servers']);
    expect(table).toMatch(/│ Server\s+│ Address/);
    expect(table.split('\n').find((l) => l.includes(' db2 '))).toMatch(/Maintenance/);
    expect(table.split('\n').find((l) => l.includes(' db3 '))).not.toMatch(/Maintenance/);
    const show = await ok(['-c', 'demo-mariadb', 'show', 'server', 'db2']);
    expect(show).toMatch(/│ Field\s+│ Value/);
    expect(show).toMatch(/Maintenance/);

    const refused = await cli(['-c', 'demo-mariadb', 'set', 'server', 'db3', 'maintenance']);
    expectFailure(refused, /^maintctl: .*\(409 BudgetExceeded\)$/m);
    expect((await servers('demo-mariadb')).find((s) => s.name === 'db3')!.claims).toEqual([]);

    expect(await ok(['-c', 'demo-mariadb', 'clear', 'server', 'db2', 'maintenance'])).toBe('OK\n');
    expect(tsvState(await ok(['-c', 'demo-mariadb', '--tsv', 'list', 'servers']), 'db2')).not.toMatch(/Maintenance/);
    expect((await servers('demo-mariadb')).every((s) => s.claims.length === 0)).toBe(true);
  });

  it('sets and clears dc maintenance; turns cluster maintenance on and off', async () => {
    expect(await ok(['-c', 'demo-cassandra', 'set', 'dc', 'dc1', 'maintenance', '--reason', 'rack swap'])).toBe('OK\n');
    const during = await ok(['-c', 'demo-cassandra', '--tsv', 'list', 'servers']);
    for (const i of [0, 1, 2]) expect(tsvState(during, `cassandra-dc1-${i}`)).toMatch(/Maintenance/);
    for (const i of [0, 1, 2]) expect(tsvState(during, `cassandra-dc2-${i}`)).not.toMatch(/Maintenance/);
    expect(await ok(['-c', 'demo-cassandra', 'clear', 'dc', 'dc1', 'maintenance'])).toBe('OK\n');
    const after = await ok(['-c', 'demo-cassandra', '--tsv', 'list', 'servers']);
    for (const i of [0, 1, 2]) expect(tsvState(after, `cassandra-dc1-${i}`)).not.toMatch(/Maintenance/);

    expect(await ok(['-c', 'demo-cassandra', 'cluster', 'maintenance', 'status'])).toBe('cluster maintenance: off\n');
    expect(
      await ok(['-c', 'demo-cassandra', 'cluster', 'maintenance', 'on', '--reason', 'upgrade', '--ttl', '1h']),
    ).toMatch(/^cluster maintenance: on/);
    expect(await ok(['-c', 'demo-cassandra', 'cluster', 'maintenance', 'status'])).toMatch(/^cluster maintenance: on/);
    expect(JSON.parse(await ok(['-c', 'demo-cassandra', '--json', 'cluster', 'maintenance', 'status'])).paused).toBe(
      true,
    );
    expect(await ok(['-c', 'demo-cassandra', 'cluster', 'maintenance', 'off'])).toBe('cluster maintenance: off\n');
  });

  it('creates, lists and deletes a window; lists events', async () => {
    const created = await ok([
      '-c',
      'demo-mariadb',
      'window',
      'create',
      '--name',
      'sunday',
      '--schedule',
      'cron(30 2 ? * SUN *)',
      '--timezone',
      'Europe/Berlin',
      '--duration',
      'PT2H',
      '--servers',
      'db2',
    ]);
    const id = /^window (\S+) created; next: (.+)$/m.exec(created)?.[1];
    expect(id, created).toBeTruthy();
    const listed = await ok(['-c', 'demo-mariadb', 'list', 'windows']);
    expect(listed).toContain(id!);
    expect(listed).toContain('cron(30 2 ? * SUN *)');
    expect(listed).toContain('Europe/Berlin');
    const tsv = (await ok(['-c', 'demo-mariadb', '--tsv', 'list', 'windows'])).trim().split('\n');
    expect(
      tsv
        .find((l) => l.startsWith(`${id}\t`))!
        .split('\t')
        .slice(1, 6),
    ).toEqual(['sunday', 'maintenance', 'cron(30 2 ? * SUN *)', 'Europe/Berlin', 'PT2H']);
    expect(await ok(['-c', 'demo-mariadb', 'window', 'delete', id!])).toBe('OK\n');
    expect(await ok(['-c', 'demo-mariadb', 'list', 'windows'])).not.toContain(id!);

    const events = await ok(['-c', 'demo-mariadb', 'list', 'events']);
    expect(events).toMatch(/│ at\s+│ revision\s+│ action/);
    expect(events).toContain('db2');
    const parsed = JSON.parse(await ok(['-c', 'demo-mariadb', '--json', 'list', 'events'])) as {
      events: { reason?: string }[];
    };
    expect(parsed.events.length).toBeGreaterThan(0);
  });

  it('creates a token whose secret is printed once and works; a revoked token is refused', async () => {
    const out = await ok(['token', 'create', '--user', 'alice', '--role', 'operator', '--clusters', 'demo-mariadb']);
    const m = /^token (\S+) for alice \(operator\): (\S+)$/m.exec(out);
    expect(m, out).toBeTruthy();
    const [, id, secret] = m!;
    expect(out).toMatch(/shown once/);
    const tokens = await ok(['token', 'list']);
    expect(tokens).toContain(id!);
    expect(tokens).not.toContain(secret!);

    const asAlice = { MAINTCTL_TOKEN: secret };
    expect(await ok(['-c', 'demo-mariadb', 'list', 'servers'], asAlice)).toContain('db1');
    // An operator limited to demo-mariadb: other clusters are not hers.
    expect((await cli(['-c', 'demo-cassandra', 'list', 'servers'], asAlice)).status).toBe(1);

    expect(await ok(['token', 'revoke', id!])).toBe('OK\n');
    expectFailure(
      await cli(['-c', 'demo-mariadb', 'list', 'servers'], asAlice),
      /^maintctl: invalid credentials \(401 Unauthorized\)$/m,
    );
  });

  it('--json parses, --tsv has no header and tab-separated fields', async () => {
    const clusters = JSON.parse(await ok(['--json', 'list', 'clusters'])) as { clusters: { id: string }[] };
    expect(clusters.clusters.map((c) => c.id).sort()).toEqual(['demo-cassandra', 'demo-greptime', 'demo-mariadb']);
    const list = JSON.parse(await ok(['-c', 'demo-mariadb', '--json', 'list', 'servers'])) as {
      servers: { name: string }[];
    };
    expect(list.servers.map((s) => s.name).sort()).toEqual(['db1', 'db2', 'db3']);

    const tsv = (await ok(['--tsv', 'list', 'clusters'])).split('\n').slice(0, -1);
    expect(tsv).toHaveLength(3);
    expect(tsv.some((l) => /^id\b/.test(l))).toBe(false);
    for (const line of tsv) expect(line.split('\t')).toHaveLength(4);
    expect(tsv.map((l) => l.split('\t')[0]).sort()).toEqual(['demo-cassandra', 'demo-greptime', 'demo-mariadb']);
    // Not trimmed: an empty last field (no claims) leaves a trailing tab.
    const servers = (await ok(['-c', 'demo-mariadb', '--tsv', 'list', 'servers'])).split('\n').slice(0, -1);
    expect(servers).toHaveLength(3);
    expect(servers.some((l) => l.startsWith('Server\t'))).toBe(false);
    for (const line of servers) expect(line.split('\t')).toHaveLength(9);
    expect(
      servers
        .find((l) => l.startsWith('db1\t'))!
        .split('\t')
        .slice(1, 3),
    ).toEqual(['db1.demo.internal', '3306']);

    expectUsageError(await cli(['--json', '--tsv', 'list', 'clusters']), /cannot be used with/);
  });

  it('bad usage, an unreachable API and a bad token: exit 1, a one-line explanation, no stack trace', async () => {
    const [unknown, missing, batch, mode, port] = await Promise.all([
      cli(['frobnicate']),
      cli(['-c', 'demo-mariadb', 'show', 'server']),
      cli(['-c', 'demo-mariadb', 'rollout', 'start', '--version', '1', '--batch-size', '0']),
      cli(['-c', 'demo-mariadb', 'set', 'server', 'db2', 'nonsense']),
      freePort(),
    ]);
    expectUsageError(unknown, /^error: unknown command 'frobnicate'/);
    expectUsageError(missing, /^error: missing required argument 'name'/);
    expectUsageError(
      batch,
      /^error: option '--batch-size <n>' argument '0' is invalid\. must be a positive whole number/,
    );
    expectUsageError(
      mode,
      /^error: command-argument value 'nonsense' is invalid for argument 'mode'\. must be one of maintenance, drain/,
    );

    // A watch interval that is no number (or 0) would poll the API in a tight loop.
    for (const bad of await Promise.all(
      ['abc', '0', '-1'].map((v) => cli(['-c', 'demo-mariadb', 'rollout', 'watch', 'r1', `--interval=${v}`])),
    )) {
      expectUsageError(
        bad,
        /^error: option '--interval <seconds>' argument '.*' is invalid\. must be a number of seconds/,
      );
    }

    const [unreachable, badToken, noCluster, badUrl] = await Promise.all([
      cli(['-c', 'demo-mariadb', 'list', 'servers'], { MAINTCTL_URL: `http://127.0.0.1:${port}` }),
      cli(['--token', 'mct_not-a-token', 'list', 'clusters']),
      cli(['list', 'servers']),
      cli(['--url', 'ftp://nowhere', 'list', 'clusters']),
    ]);
    expectFailure(
      unreachable,
      new RegExp(`^maintctl: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`, 'm'),
    );
    expectFailure(badToken, /^maintctl: invalid credentials \(401 Unauthorized\)$/m);
    expectFailure(noCluster, /^maintctl: which cluster\? give --cluster C/m);
    expectFailure(badUrl, /^maintctl: invalid --url ftp:\/\/nowhere$/m);
  });

  it('--help on every verb exits 0 with an example', async () => {
    const verbs = [
      ['list'],
      ['show'],
      ['set'],
      ['clear'],
      ['cluster'],
      ['rollout', 'start'],
      ['rollout', 'watch'],
      ['rollout', 'pause'],
      ['rollout', 'resume'],
      ['rollout', 'abort'],
      ['rollout', 'retry'],
      ['rollout', 'skip'],
      ['window', 'create'],
      ['window', 'delete'],
      ['window', 'skip'],
      ['token', 'create'],
      ['token', 'list'],
      ['token', 'revoke'],
      ['bootstrap'],
    ];
    const runs = await Promise.all(verbs.map((v) => cli([...v, '--help'])));
    runs.forEach((r, i) => {
      const what = verbs[i]!.join(' ');
      expect(r.status, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stdout, what).toContain(`Usage: maintctl ${what}`);
      expect(r.stdout, what).toContain('Example:');
      expect(r.stdout, what).toMatch(new RegExp(`Example:\\n  maintctl (--cluster shop )?${what}`));
    });
  });

  it('reads a 0600 config file with url, token and cluster; refuses one others can read', async () => {
    const config = join(cwd, 'config.json');
    writeFileSync(config, JSON.stringify({ url: env.url, token: env.admin, cluster: 'demo-mariadb' }));
    const fromFile = { MAINTCTL_CONFIG: config, MAINTCTL_URL: undefined, MAINTCTL_TOKEN: undefined };
    chmodSync(config, 0o644);
    expectFailure(
      await cli(['list', 'servers'], fromFile),
      new RegExp(`^maintctl: .*chmod 600 ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
    );
    chmodSync(config, 0o600);
    const out = await ok(['--tsv', 'list', 'servers'], fromFile);
    expect(
      out
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[0])
        .sort(),
    ).toEqual(['db1', 'db2', 'db3']);
    // Flags still win over the file.
    expectFailure(await cli(['--token', 'mct_wrong', 'list', 'servers'], fromFile), /invalid credentials/);
  });

  it("bootstrap writes an admin token into the table with the caller's credentials and prints it once", async () => {
    const aws = {
      DYNAMODB_ENDPOINT: inject('dynamodbEndpoint'),
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'dummy',
      AWS_SECRET_ACCESS_KEY: 'dummy',
      AWS_SESSION_TOKEN: undefined,
      MAINTCTL_URL: undefined,
      MAINTCTL_TOKEN: undefined,
    };
    const out = await ok(['bootstrap', '--table', env.table], aws);
    const m = /^admin token (\S+) \(user admin\): (\S+)$/m.exec(out);
    expect(m, out).toBeTruthy();
    expect(out.split(m![2]!)).toHaveLength(2);
    const listed = await ok(['--json', 'token', 'list'], { MAINTCTL_TOKEN: m![2] });
    expect((JSON.parse(listed) as { tokens: { id: string; role: string }[] }).tokens).toContainEqual(
      expect.objectContaining({ id: m![1], role: 'admin' }),
    );

    expectFailure(
      await cli(['bootstrap', '--table', 'no-such-table'], aws),
      /^maintctl: could not write to table no-such-table: /m,
    );
  });

  it('starts a rollout and watches it to completion with progress lines', async () => {
    await until(
      'demo-mariadb free',
      () => servers('demo-mariadb'),
      (s) => s.every((v) => v.health === 'running' && v.claims.length === 0),
    );
    const started = await ok(['-c', 'demo-mariadb', 'rollout', 'start', '--version', '10.11.7', '--stable-for', '1']);
    const id = /^rollout (\S+) started \(maintctl --cluster demo-mariadb rollout watch \1\)$/m.exec(started)?.[1];
    expect(id, started).toBeTruthy();
    const t0 = Date.now();
    const watch = await cli(['-c', 'demo-mariadb', 'rollout', 'watch', id!, '--interval', '0.5']);
    expect(watch.status, `${watch.stdout}\n${watch.stderr}`).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(watch.stderr).toBe('');
    const lines = watch.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d \w+ · batch \d+\/\d+ · .+ · \d+\/3 done$/);
    expect(lines.at(-1)).toMatch(/succeeded · batch \d+\/\d+ · — · 3\/3 done$/);
    const seen = watch.stdout;
    for (const server of ['db1', 'db2', 'db3'])
      expect(seen).toMatch(
        new RegExp(`${server}: (switchover|wait-roles|drain|wait-drained|maintain|wait-upgraded|verify|clear)`),
      );

    const shown = await ok(['-c', 'demo-mariadb', '--tsv', 'show', 'rollout', id!]);
    expect(
      shown
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 1).concat(l.split('\t').slice(2, 4))),
    ).toEqual(['db1', 'db2', 'db3'].map((s) => expect.arrayContaining([s, 'done', 'upgraded'])));
    expect(await ok(['-c', 'demo-mariadb', 'list', 'rollouts'])).toMatch(
      new RegExp(`${id}\\s+│ succeeded\\s+│ 10\\.11\\.7`),
    );
    // A finished rollout cannot be paused: the API's message, exit 1.
    expectFailure(await cli(['-c', 'demo-mariadb', 'rollout', 'pause', id!]), /^maintctl: .*\(409 \w+\)$/m);
  }, 75_000);
});
