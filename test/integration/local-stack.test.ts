/** `npm start` as a user runs it: a real process, DynamoDB Local, the printed token and curl, Ctrl-C, --demo. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb.js';

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'maintctl-'));
  dirs.push(d);
  return d;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
  token: string;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(TSX, ['bin/local.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  for (let i = 0; i < 300 && !/Ctrl-C stops it/.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
    await sleep(100);
  }
  const url = /running at (\S+)/.exec(out)?.[1];
  const token = env.MAINTCTL_ADMIN_TOKEN ?? /admin token[^:]*: (\S+)/.exec(out)?.[1];
  if (!url || !token) throw new Error(`no URL or token printed: ${out}`);
  return { child, output: () => out, url, token };
}

async function stop(s: Started): Promise<number | null> {
  const exited = new Promise<number | null>((done) => s.child.once('exit', (code) => done(code)));
  s.child.kill('SIGINT');
  return exited;
}

interface Answer {
  clusters: { id: string }[];
  health: string;
  state: string;
}
const json = async <T = Answer>(r: Promise<Response>) => (await (await r).json()) as T;

const javaProcessesFor = (dir: string) =>
  spawnSync('pgrep', ['-f', `DynamoDBLocal.*${dir}`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean).length;

describe('npm start', () => {
  it('prints the URL, a created admin token and a curl that works; keeps state and the token across restarts; Ctrl-C leaves no Java behind', async () => {
    const data = tempDir();
    const port = await freePort();
    const first = await start(['--port', String(port), '--data', data]);
    expect(first.url).toBe(`http://127.0.0.1:${port}`);
    expect(first.output()).toContain(`curl -s -H "Authorization: Bearer ${first.token}" ${first.url}/v1/clusters`);
    const auth = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' };
    expect(
      (await fetch(`${first.url}/v1/clusters/kept`, { method: 'PUT', headers: auth, body: '{"engine":"generic"}' }))
        .status,
    ).toBe(201);
    const basic = `Basic ${Buffer.from(`admin:${first.token}`).toString('base64')}`;
    expect((await fetch(`${first.url}/v1/clusters`, { headers: { authorization: basic } })).status).toBe(200);
    expect(javaProcessesFor(data)).toBe(1);
    expect(await stop(first)).toBe(0);
    expect(javaProcessesFor(data)).toBe(0);

    const second = await start(['--port', String(port), '--data', data]);
    expect(second.token).toBe(first.token);
    const list = await json(fetch(`${second.url}/v1/clusters`, { headers: auth }));
    expect(list.clusters.map((c) => c.id)).toEqual(['kept']);
    await stop(second);
  });

  it('takes MAINTCTL_ADMIN_TOKEN instead of creating one', async () => {
    const token = 'mct_given-token-for-this-test-0123456789abcdef';
    const s = await start(['--memory', '--data', tempDir(), '--port', String(await freePort())], {
      MAINTCTL_ADMIN_TOKEN: token,
    });
    // Not echoed: the output may end up in logs, and the user has it already.
    expect(s.output()).not.toContain(token);
    expect(s.output()).toContain('curl -s -H "Authorization: Bearer $MAINTCTL_ADMIN_TOKEN"');
    expect((await fetch(`${s.url}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await stop(s);
  });

  it('stops at once with a one-line instruction when java is missing', () => {
    const r = spawnSync(TSX, ['bin/local.ts', '--memory'], {
      env: { PATH: dirname(process.execPath) },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/nodedir/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/openjdk-17-jre-headless/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--demo registers the demo fleet, whose agents drain a primary set in maintenance through maxctrl within seconds', async () => {
    const s = await start(['--memory', '--demo', '--data', tempDir(), '--port', String(await freePort())]);
    const auth = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
    const ids = (await json(fetch(`${s.url}/v1/clusters`, { headers: auth }))).clusters.map((c) => c.id).sort();
    expect(ids).toEqual(['demo-cassandra', 'demo-greptime', 'demo-mariadb']);
    const servers = `${s.url}/v1/clusters/demo-mariadb/servers`;
    const allRunning = async () =>
      ((await (await fetch(servers, { headers: auth })).json()) as { servers: { health: string }[] }).servers.every(
        (v) => v.health === 'running',
      );
    for (let i = 0; i < 50 && !(await allRunning()); i++) await sleep(200);
    // maxctrl's own request (the MaxScale family defaults to demo-mariadb), Basic admin:<token>.
    const basic = { authorization: `Basic ${Buffer.from(`admin:${s.token}`).toString('base64')}` };
    const maxscaleState = async () =>
      (
        (await (await fetch(`${s.url}/v1/servers/db1`, { headers: basic })).json()) as {
          data: { attributes: { state: string } };
        }
      ).data.attributes.state;
    const set = await fetch(`${s.url}/v1/servers/db1/set?state=maintenance`, {
      method: 'PUT',
      headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' },
    });
    expect(set.status).toBe(204);
    const seen = new Set<string>([await maxscaleState()]);
    for (let i = 0; i < 60 && !seen.has('Maintenance, Running'); i++) {
      seen.add(await maxscaleState());
      await sleep(250);
    }
    expect([...seen]).toContain('Draining, Master, Running');
    expect([...seen]).toContain('Maintenance, Running');
    await stop(s);
  });

  it('--demo: a rollout of demo-mariadb, switchover included, finishes on its own within a minute', async () => {
    const s = await start([
      '--memory',
      '--demo',
      '--data',
      tempDir(),
      '--port',
      String(await freePort()),
      '--poll-interval',
      '0.5',
    ]);
    const auth = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
    const base = `${s.url}/v1/clusters/demo-mariadb`;
    const servers = async () =>
      (
        await json<{ servers: { name: string; role: string; health: string; version: string; claims: unknown[] }[] }>(
          fetch(`${base}/servers`, { headers: auth }),
        )
      ).servers;
    for (let i = 0; i < 50 && !(await servers()).every((v) => v.health === 'running'); i++) await sleep(200);
    const started = Date.now();
    const { id } = await json<{ id: string }>(
      fetch(`${base}/rollouts`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ targetVersion: '10.11.7', verify: { stableForSeconds: 2 } }),
      }),
    );
    type Rollout = { status: string; servers: { name: string; outcome: string }[] };
    let rollout: Rollout = { status: 'running', servers: [] };
    while (Date.now() - started < 60_000 && ['running', 'pausing'].includes(rollout.status)) {
      await sleep(1000);
      rollout = await json<Rollout>(fetch(`${base}/rollouts/${id}`, { headers: auth }));
    }
    expect(rollout.status).toBe('succeeded');
    expect(rollout.servers.map((n) => n.outcome)).toEqual(['upgraded', 'upgraded', 'upgraded']);
    const after = await servers();
    expect(after.every((v) => v.version === '10.11.7' && v.claims.length === 0)).toBe(true);
    expect(after.find((v) => v.name === 'db1')!.role).toBe('replica');
    await stop(s);
  });
});
