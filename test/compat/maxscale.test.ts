/**
 * The MaxScale REST API subset (docs/compat.md §1) as `maxctrl` sees it: real HTTP on 127.0.0.1 over DynamoDB
 * Local. The real maxctrl is not installable here (neither npm nor Debian ship it), so this file
 *  - replays what maxctrl 24.02 sent (fixtures/maxctrl/requests.log) byte for byte on a raw socket;
 *  - checks that the test double (test/support/maxctrl.ts) sends exactly those requests and prints exactly
 *    what maxctrl printed (fixtures/maxctrl/printed.txt), then runs printed.txt's commands against maintctl;
 *  - covers every row and bullet of §1 on the wire;
 *  - runs the maxctrl commands of the seed documents 000 and 002, mended where they are documented wrong.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, httpEnv, type HttpEnv } from '../support/env.js';
import { recordingServer } from '../support/recording-server.js';
import {
  formatHttpError,
  maxctrl,
  renderServer,
  renderServerList,
  SHOW_SERVER_ROWS,
  LIST_SERVERS_COLUMNS,
} from '../support/maxctrl.js';

// Copies of ../shared/seeds and ../shared/fixtures/maxctrl (see test/fixtures/README.md).
const FIXTURES = fileURLToPath(new URL('../fixtures/maxctrl/', import.meta.url));
const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));

const ENV_VAR = 'MAINTCTL_MAXSCALE_CLUSTER';
const JSON_TYPE = 'application/json';
const INVALID_STATE = '{"errors":[{"detail":"Invalid or missing value for the `state` parameter"}]}';
const ACCESS_DENIED = '{"errors":[{"detail":"Access denied"}]}';
const ADMIN_REQUIRED = '{"errors":[{"detail":"Administrative access required"}]}';

let env: HttpEnv;
let port: number;
let hostPort: string;
let operator: string;
let viewer: string;
const previousDefault = process.env[ENV_VAR];

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const adminBasic = () => basic('admin', env.admin);

/** The family reads its default cluster per request. */
async function withDefault<T>(cluster: string, run: () => Promise<T>): Promise<T> {
  const before = process.env[ENV_VAR];
  process.env[ENV_VAR] = cluster;
  try {
    return await run();
  } finally {
    process.env[ENV_VAR] = before;
  }
}

// ---------------------------------------------------------------- fixtures

interface LoggedRequest {
  method: 'GET' | 'PUT';
  url: string;
  httpVersion: string;
  headers: string[];
  body: string;
  status: number;
}

const REQUESTS: LoggedRequest[] = readFileSync(`${FIXTURES}requests.log`, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as LoggedRequest);

interface PrintedCommand {
  argv: string[];
  output: string;
  exit: number;
}

const PRINTED: PrintedCommand[] = [
  ...readFileSync(`${FIXTURES}printed.txt`, 'utf8')
    .split('===== request log =====')[0]!
    .matchAll(/^\$ maxctrl (.*)\n([\s\S]*?)^\[exit=(\d+)\]$/gm),
].map((m) => ({
  argv: m[1]!.trim().split(/\s+/),
  output: m[2]!.replace(/\n$/, ''),
  exit: Number(m[3]),
}));
const printed = (command: string) => PRINTED.find((p) => p.argv.join(' ').endsWith(command))!;

/** A cli-table drawing read back: its logical rows (multi-line cells joined with \n) and its line skeleton. */
function parseTable(text: string): { rows: string[][]; skeleton: string[] } {
  const lines = text.split('\n').filter((l) => /^[┌├└│]/.test(l));
  const rows: string[][] = [];
  let block: string[][] = [];
  const flush = () => {
    if (block.length)
      rows.push(
        block[0]!.map((_, i) =>
          block
            .map((cells) => cells[i]!)
            .join('\n')
            .replace(/\n+$/, ''),
        ),
      );
    block = [];
  };
  for (const line of lines) {
    if (line.startsWith('│'))
      block.push(
        line
          .slice(1, -1)
          .split('│')
          .map((c) => c.trim()),
      );
    else flush();
  }
  flush();
  // Each line reduced to its box characters: `┌─┬─┐`, `│ │ │`, `├─┼─┤`, `└─┴─┘`.
  const skeleton = lines.map((l) => l.replace(/─+/g, '─').replace(/│[^│]*(?=│)/g, '│ '));
  return { rows, skeleton };
}

const column = (table: { rows: string[][] }, name: string) => {
  const index = table.rows[0]!.indexOf(name);
  return table.rows.slice(1).map((r) => r[index]!);
};
const stateColumn = (stdout: string) =>
  Object.fromEntries(
    parseTable(stdout)
      .rows.slice(1)
      .map((r) => [r[0]!, r[LIST_SERVERS_COLUMNS.findIndex(([n]) => n === 'State')]!]),
  );

/** The JSON the recording server answered with, rebuilt from what maxctrl printed of it (printed.txt). */
const recordedServer = (id: string, port: number, connections: number, state: string, gtid: string | null) => ({
  id,
  type: 'servers',
  attributes: {
    state,
    state_details: null,
    parameters: { address: '127.0.0.1', port },
    statistics: { connections },
    gtid_current_pos: gtid,
  },
  relationships: { monitors: { data: [{ id: 'MariaDB-Monitor', type: 'monitors' }] } },
});
const RECORDED_LIST = {
  data: [
    recordedServer('server1', 3306, 2, 'Master, Running', '0-3000-8'),
    recordedServer('server2', 3307, 1, 'Maintenance, Running', '0-3000-8'),
    recordedServer('server3', 3308, 0, 'Down', null),
  ],
};
const RECORDED_SHOW = {
  data: {
    id: 'server2',
    type: 'servers',
    attributes: {
      state: 'Maintenance, Running',
      state_details: null,
      source: { file: '/etc/maxscale.cnf' },
      parameters: { address: '127.0.0.1', port: 3307, socket: null, rank: 'primary', priority: 0 },
      version_string: '10.6.15-MariaDB-log',
      uptime: 2372,
      last_event: 'master_up',
      triggered_at: 'Fri, 05 Jan 2024 07:23:54 GMT',
      master_id: -1,
      node_id: 3000,
      slaves: [],
      statistics: {
        connections: 1,
        total_connections: 1,
        max_connections: 1,
        active_operations: 0,
        routed_packets: 4,
        persistent_connections: 0,
        failed_auths: 0,
      },
    },
    relationships: {
      services: { data: [{ id: 'RW-Split-Router', type: 'services' }] },
      monitors: { data: [{ id: 'MariaDB-Monitor', type: 'monitors' }] },
    },
  },
};
const RECORDED_ERROR_BODY = JSON.stringify(
  JSON.parse(printed('set server server1 maintenance').output.split('\n').slice(1).join('\n')),
);

// ---------------------------------------------------------------- wire helpers

interface Answer {
  status: number;
  text: string;
  type: string | null;
  headers: Headers;
}

/** One request the way a MaxScale REST client sends it; Basic admin credentials unless told. */
async function wire(
  method: 'GET' | 'PUT',
  path: string,
  options: { auth?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const auth = options.auth === undefined ? adminBasic() : options.auth;
  const res = await fetch(`${env.url}${path}`, {
    method,
    headers: {
      accept: 'application/json, text/plain, */*',
      ...(method === 'PUT' && { 'content-type': 'application/x-www-form-urlencoded' }),
      ...(auth !== null && { authorization: auth }),
      ...options.headers,
    },
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type'), headers: res.headers };
}

/** What maxctrl needs of a successful PUT: 204, no body, no Content-Type. */
function expect204(a: Answer): void {
  expect({ status: a.status, text: a.text, type: a.type }).toEqual({ status: 204, text: '', type: null });
}

function expectErrors(a: Answer, status: number, body: string | RegExp): void {
  expect(a.status).toBe(status);
  expect(a.type).toBe(JSON_TYPE);
  if (typeof body === 'string') expect(a.text).toBe(body);
  else {
    const parsed = JSON.parse(a.text) as { errors: { detail: string }[] };
    expect(parsed).toEqual({ errors: [{ detail: expect.stringMatching(body) }] });
  }
}

interface ServerSpec {
  name: string;
  role: 'primary' | 'replica';
  dc?: string;
  address?: string;
  port?: number;
  report?: { health: 'running' | 'down'; connections?: number; openTransactions?: number; version?: string };
}

/** Registers a cluster and its servers through the native API, and their agents' first reports. */
async function register(
  cluster: string,
  servers: ServerSpec[],
  budget?: { maxUnavailablePerDc: number },
): Promise<void> {
  const c = await env.call('PUT', `/v1/clusters/${cluster}`, { engine: 'mariadb', ...(budget && { budget }) });
  expect([200, 201]).toContain(c.status);
  for (const s of servers) {
    const r = await env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}`, {
      dc: s.dc ?? 'dc1',
      role: s.role,
      ...(s.address && { address: s.address }),
      ...(s.port && { port: s.port }),
    });
    expect(r.status).toBeLessThan(300);
  }
  for (const s of servers) if (s.report) await report(cluster, s.name, { role: s.role, ...s.report });
}

async function report(cluster: string, server: string, body: Record<string, unknown>): Promise<void> {
  const r = await env.call('PUT', `/v1/clusters/${cluster}/servers/${server}/status`, { health: 'running', ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/** db1 primary with open transactions, db2 and db3 replicas, one dc (whose default budget is 1). */
const standard = (cluster: string) =>
  register(cluster, [
    { name: 'db1', role: 'primary', report: { health: 'running', connections: 5, openTransactions: 2 } },
    { name: 'db2', role: 'replica', report: { health: 'running', connections: 3, openTransactions: 0 } },
    { name: 'db3', role: 'replica', report: { health: 'running', connections: 3, openTransactions: 0 } },
  ]);

let clusters = 0;
const fresh = (tag: string) => `${tag}-${++clusters}`;

/** A server's MaxScale state string, read the way maxctrl reads it. */
async function stateOf(cluster: string, server: string): Promise<string> {
  const a = await wire('GET', `/c/${cluster}/v1/servers/${server}`);
  expect(a.status).toBe(200);
  return (JSON.parse(a.text) as { data: { attributes: { state: string } } }).data.attributes.state;
}

const revision = async (cluster: string) => (await env.call('GET', `/v1/clusters/${cluster}`)).body.revision as number;

/** Writes the exact bytes on a fresh connection and reads one answer (status, headers, body). */
function exchange(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    let done = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0 || done) return;
      const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)![1]);
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = status === 204 || status === 304 ? 0 : Number(headers['content-length']);
      if (Number.isNaN(length)) return reject(new Error(`no Content-Length in ${statusLine}`));
      if (buffer.length < end + 4 + length) return;
      done = true;
      socket.destroy();
      resolve({ status, headers, body: buffer.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    socket.on('error', reject);
    socket.write(bytes, 'latin1');
  });
}

/** A logged request with our Host and credentials, everything else exactly as maxctrl sent it. */
function replayBytes(r: LoggedRequest): string {
  const headers: string[] = [];
  for (let i = 0; i < r.headers.length; i += 2) {
    const name = r.headers[i]!;
    const value = name === 'Host' ? hostPort : name === 'Authorization' ? adminBasic() : r.headers[i + 1]!;
    headers.push(`${name}: ${value}\r\n`);
  }
  return `${r.method} ${r.url} HTTP/${r.httpVersion}\r\n${headers.join('')}\r\n${r.body}`;
}

/** maxctrl against this server: the printed.txt way (`--hosts 127.0.0.1:PORT`) plus our credentials. */
const run = (args: string[], credentials: [user: string, secret: string] = ['admin', env.admin]) =>
  maxctrl(['--hosts', hostPort, '-u', credentials[0], '-p', credentials[1], ...args]);

beforeAll(async () => {
  env = await httpEnv();
  port = Number(new URL(env.url).port);
  hostPort = `127.0.0.1:${port}`;
  operator = await createToken(env.deps, 'operator', undefined, 'ms-operator');
  viewer = await createToken(env.deps, 'viewer', undefined, 'ms-viewer');
});
afterAll(async () => {
  if (previousDefault === undefined) delete process.env[ENV_VAR];
  else process.env[ENV_VAR] = previousDefault;
  await env?.close();
});

// ---------------------------------------------------------------- 1. requests.log, byte for byte

describe('replay of requests.log (what maxctrl 24.02 sent)', () => {
  const REPLAY = 'replay';

  beforeAll(async () => {
    // The recording's servers: server1 Master, server2 Slave, server3 Down. server3 being down already uses
    // one unit of a 3-server dc's default budget (1); the recording's MaxScale has no budget, so this
    // cluster allows 2 unavailable per dc, which lets the recorded sequence through.
    await register(
      REPLAY,
      [
        {
          name: 'server1',
          role: 'primary',
          address: '127.0.0.1',
          port: 3306,
          report: { health: 'running', connections: 2, openTransactions: 2, version: '10.6.15' },
        },
        {
          name: 'server2',
          role: 'replica',
          address: '127.0.0.1',
          port: 3307,
          report: { health: 'running', connections: 1, openTransactions: 0, version: '10.6.15' },
        },
        { name: 'server3', role: 'replica', address: '127.0.0.1', port: 3308, report: { health: 'down' } },
      ],
      { maxUnavailablePerDc: 2 },
    );
  });

  it('holds what the fixtures README says: six requests, empty bodies, PUTs with Content-Length 0', () => {
    expect(REQUESTS.map((r) => `${r.method} ${r.url} -> ${r.status}`)).toEqual([
      'PUT /v1/servers/server2/set?state=maintenance -> 204',
      'GET /v1/servers -> 200',
      'GET /v1/servers/server2 -> 200',
      'PUT /v1/servers/server2/clear?state=maintenance -> 204',
      'PUT /v1/servers/server2/set?force=yes&state=maintenance -> 204',
      'PUT /v1/servers/server1/set?state=maintenance -> 400',
    ]);
    for (const r of REQUESTS) {
      expect(r.body).toBe('');
      if (r.method === 'PUT') expect(r.headers.slice(-2)).toEqual(['Content-Length', '0']);
    }
  });

  it('answers each recorded request as maxctrl needs it (the default cluster, no /c/ prefix)', async () => {
    await withDefault(REPLAY, async () => {
      for (const r of REQUESTS.slice(0, -1)) {
        const a = await exchange(replayBytes(r));
        const what = `${r.method} ${r.url}`;
        expect(a.status, what).toBe(r.status);
        if (r.method === 'PUT') {
          // 204, nothing else: a body would make maxctrl print `[object Object]`.
          expect(a.body, what).toBe('');
          expect(a.headers['content-type'], what).toBeUndefined();
          expect(a.headers['content-length'] ?? '0', what).toBe('0');
          continue;
        }
        expect(a.headers['content-type'], what).toBe(JSON_TYPE);
        const doc = JSON.parse(a.body) as { data: unknown };
        const items = (r.url === '/v1/servers' ? doc.data : [doc.data]) as Record<string, any>[];
        if (r.url === '/v1/servers') expect(Array.isArray(doc.data)).toBe(true);
        else expect(Array.isArray(doc.data)).toBe(false);
        for (const item of items) {
          expect(item).toMatchObject({
            type: 'servers',
            id: expect.any(String),
            attributes: {
              parameters: { address: '127.0.0.1', port: expect.any(Number) },
              statistics: expect.any(Object),
            },
          });
          expect(item.relationships.monitors.data[0].id).toEqual(expect.any(String));
        }
        if (r.url === '/v1/servers') {
          // what `list servers` printed after `set server server2 maintenance`
          expect(items.map((i) => [i.id, i.attributes.state])).toEqual([
            ['server1', 'Master, Running'],
            ['server2', 'Maintenance, Running'],
            ['server3', 'Down'],
          ]);
        } else {
          expect(items[0]).toMatchObject({
            id: 'server2',
            attributes: { state: 'Maintenance, Running', parameters: { port: 3307 } },
          });
        }
      }
      expect(await stateOf(REPLAY, 'server2')).toBe('Maintenance, Running');
    });
  });

  it('accepts the primary the recording refused (400): it drains, then is in maintenance', async () => {
    // The recording server answered 400 as MaxScale's MariaDB Monitor does; maintctl follows the seed
    // documents instead (fixtures README): a primary is accepted and finishes its open transactions first.
    const last = REQUESTS.at(-1)!;
    expect(last).toMatchObject({ method: 'PUT', url: '/v1/servers/server1/set?state=maintenance', status: 400 });
    await withDefault(REPLAY, async () => {
      // Exactly as recorded, server2 is in maintenance and server3 is down: taking the primary out too would
      // leave 3 of 3 unavailable and no electable server; maintctl's budget refuses that, naming who uses it.
      const refused = await exchange(replayBytes(last));
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toBe(JSON_TYPE);
      expect(JSON.parse(refused.body)).toEqual({
        errors: [{ detail: expect.stringMatching(/budget.*server2.*server3/) }],
      });
      expect(await stateOf(REPLAY, 'server1')).toBe('Master, Running');

      // server3 comes back: the very same request is accepted.
      await report(REPLAY, 'server3', { role: 'replica', connections: 0, openTransactions: 0 });
      const accepted = await exchange(replayBytes(last));
      expect(accepted.status).toBe(204);
      expect(accepted.body).toBe('');
      expect(accepted.headers['content-type']).toBeUndefined();
      expect(await stateOf(REPLAY, 'server1')).toBe('Draining, Master, Running');
      await report(REPLAY, 'server1', { role: 'primary', connections: 2, openTransactions: 0 });
      expect(await stateOf(REPLAY, 'server1')).toBe('Maintenance, Running');
    });
  });
});

// ---------------------------------------------------------------- 2. the test double vs the fixtures; our tables

describe('test/support/maxctrl.ts against the fixtures', () => {
  it('sends exactly the requests maxctrl sent, and prints exactly what it printed', async () => {
    // A server that answers as the recording server did (statuses from requests.log, bodies rebuilt from printed.txt).
    const seen: { method: string; url: string; headers: string[]; body: string }[] = [];
    const recording = await recordingServer((req) => {
      seen.push({ method: req.method, url: req.url, headers: req.rawHeaders, body: req.body });
      const logged = REQUESTS[seen.length - 1];
      const body =
        req.method === 'GET'
          ? JSON.stringify(req.url === '/v1/servers' ? RECORDED_LIST : RECORDED_SHOW)
          : logged?.status === 400
            ? RECORDED_ERROR_BODY
            : '';
      return { status: logged?.status ?? 500, ...(body ? { headers: { 'content-type': JSON_TYPE } } : {}), body };
    });
    const at = recording.host;
    try {
      for (const p of PRINTED) {
        const argv = p.argv.map((a) => (a === '127.0.0.1:18989' ? at : a));
        // maxctrl's default credentials, as in the recording (Basic YWRtaW46bWFyaWFkYg== is admin:mariadb)
        const result = await maxctrl(argv);
        expect(result.exitCode, p.argv.join(' ')).toBe(p.exit);
        expect(result.stdout.replace(/\n$/, '').replaceAll(at, '127.0.0.1:18989'), p.argv.join(' ')).toBe(p.output);
      }
    } finally {
      await recording.close();
    }
    expect(seen).toEqual(
      REQUESTS.map((r) => ({
        method: r.method,
        url: r.url,
        body: r.body,
        headers: r.headers.map((h, i) => (i > 0 && r.headers[i - 1] === 'Host' ? at : h)),
      })),
    );
  });

  it('pings every host with GET /v1/ before it runs the command on any of them', async () => {
    const seen: string[] = [];
    const servers = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const server = await recordingServer((req) => {
          seen.push(`${name} ${req.method} ${req.url} ${req.headers['content-type'] ?? '-'}`);
          return { status: req.method === 'GET' ? 200 : 204 };
        });
        return { server, host: `${server.host}/c/${name}` };
      }),
    );
    try {
      const result = await maxctrl(['--hosts', servers.map((s) => s.host).join(','), 'set', 'server', 'db2', 'drain']);
      expect(result).toEqual({ exitCode: 0, stdout: `${servers[0]!.host}\nOK\n${servers[1]!.host}\nOK\n` });
    } finally {
      await Promise.all(servers.map(({ server }) => server.close()));
    }
    expect(seen.slice(0, 2).sort()).toEqual(['a GET /c/a/v1/ -', 'b GET /c/b/v1/ -']);
    expect(seen.slice(2).sort()).toEqual([
      'a PUT /c/a/v1/servers/db2/set?state=drain application/x-www-form-urlencoded',
      'b PUT /c/b/v1/servers/db2/set?state=drain application/x-www-form-urlencoded',
    ]);
  });

  it('draws tables and errors exactly as printed.txt', () => {
    expect(renderServerList(RECORDED_LIST)).toBe(printed('list servers').output);
    expect(renderServer(RECORDED_SHOW)).toBe(printed('show server server2').output);
    const error = printed('set server server1 maintenance');
    expect(
      `Error: ${formatHttpError('127.0.0.1:18989', 400, 'Bad Request', 'PUT', 'servers/server1/set?state=maintenance', RECORDED_ERROR_BODY)}`,
    ).toBe(error.output);
  });

  it("prints maintctl's answers to printed.txt's commands in the same shape", async () => {
    const PRINTED_CLUSTER = 'printed';
    // the recording's fleet, registered with the same addresses, ports and connection counts
    await register(
      PRINTED_CLUSTER,
      [
        {
          name: 'server1',
          role: 'primary',
          address: '127.0.0.1',
          port: 3306,
          report: { health: 'running', connections: 2, openTransactions: 0, version: '10.6.15' },
        },
        {
          name: 'server2',
          role: 'replica',
          address: '127.0.0.1',
          port: 3307,
          report: { health: 'running', connections: 1, openTransactions: 0, version: '10.6.15' },
        },
        { name: 'server3', role: 'replica', address: '127.0.0.1', port: 3308, report: { health: 'down' } },
      ],
      { maxUnavailablePerDc: 2 },
    );
    await withDefault(PRINTED_CLUSTER, async () => {
      for (const p of PRINTED) {
        // only the host:port and the credentials change
        const args = p.argv.slice(2);
        const ours = await run(args);
        const out = ours.stdout.replace(/\n$/, '');
        const what = args.join(' ');
        if (what === 'set server server1 maintenance') {
          // The recording's 400 is MaxScale refusing a primary; maintctl accepts primaries, but here server2 is
          // in maintenance and server3 is down, so its budget refuses (409). The error prints the same way.
          expect(ours.exitCode).toBe(1);
          const shape =
            /^Error: Server at http:\/\/127\.0\.0\.1:\d+ responded with \d{3} [A-Za-z ]+ to `PUT servers\/server1\/set\?state=maintenance`\n\{\n {4}"errors": \[\n {8}\{\n {12}"detail": ".+"\n {8}\}\n {4}\]\n\}$/;
          expect(p.output).toMatch(shape);
          expect(out).toMatch(shape);
          expect(out).toContain(`Server at http://${hostPort} responded with 409 Conflict to`);
          continue;
        }
        expect(ours.exitCode, what).toBe(p.exit);
        if (p.output === 'OK') {
          expect(out, what).toBe('OK');
          continue;
        }
        const theirs = parseTable(p.output);
        const mine = parseTable(out);
        if (what === 'list servers') {
          expect(mine.skeleton).toEqual(theirs.skeleton);
          expect(mine.rows[0]).toEqual(['Server', 'Address', 'Port', 'Connections', 'State', 'GTID', 'Monitor']);
          expect(mine.rows[0]).toEqual(theirs.rows[0]);
          expect(mine.rows.length).toBe(theirs.rows.length);
          for (const name of ['Server', 'Address', 'Port', 'Connections', 'State'])
            expect(column(mine, name), name).toEqual(column(theirs, name));
          expect(column(mine, 'Monitor')).toEqual(['maintctl', 'maintctl', 'maintctl']);
        } else {
          expect(what).toBe('show server server2');
          expect(mine.rows.map((r) => r[0])).toEqual(theirs.rows.map((r) => r[0]));
          expect(mine.rows.map((r) => r[0])).toEqual(SHOW_SERVER_ROWS.map(([name]) => name));
          expect(mine.rows.every((r) => r.length === 2)).toBe(true);
          const value = (t: { rows: string[][] }, key: string) => t.rows.find((r) => r[0] === key)![1];
          for (const key of [
            'Server',
            'Address',
            'Port',
            'State',
            'Current Connections',
            'Master ID',
            'Slave Server IDs',
          ])
            expect(value(mine, key), key).toBe(value(theirs, key));
          expect(value(mine, 'Monitors')).toBe('maintctl');
          expect(JSON.parse(value(mine, 'Parameters')!)).toMatchObject({ address: '127.0.0.1', port: 3307 });
        }
      }
    });
  });
});

// ---------------------------------------------------------------- 3. docs/compat.md §1, row by row

describe('docs/compat.md §1 on the wire', () => {
  it('set and clear maintenance: 204, empty body, no Content-Type', async () => {
    const c = fresh('w-set');
    await standard(c);
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?state=maintenance`));
    expect(await stateOf(c, 'db2')).toBe('Maintenance, Running');
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?state=maintenance`));
    expect(await stateOf(c, 'db2')).toBe('Slave, Running');
  });

  it('takes query parameters in any order, sync=false and pretty=false, maint, any case', async () => {
    const c = fresh('w-query');
    await standard(c);
    const variants: [set: string, clear: string][] = [
      ['state=maintenance&sync=false', 'sync=false&state=maintenance'],
      ['pretty=false&state=MAINTENANCE&sync=false', 'state=Maintenance&pretty=false'],
      ['state=maint', 'state=MAINT'],
      ['sync=false&state=Maint&pretty=false', 'pretty=false&sync=false&state=maint'],
      ['force=yes&state=maintenance&sync=false', 'state=maintenance&force=yes'],
    ];
    for (const [set, clear] of variants) {
      expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?${set}`));
      expect(await stateOf(c, 'db2'), set).toBe('Maintenance, Running');
      expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?${clear}`));
      expect(await stateOf(c, 'db2'), clear).toBe('Slave, Running');
    }
    for (const [set, clear] of [
      ['state=drain', 'state=DRAIN'],
      ['pretty=false&state=Drain', 'state=drain&sync=false'],
    ] as const) {
      expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?${set}`));
      expect(await stateOf(c, 'db2'), set).toBe('Draining, Slave, Running');
      expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?${clear}`));
      expect(await stateOf(c, 'db2'), clear).toBe('Slave, Running');
    }
  });

  it('reads force as true for yes, true, on, 1 (any case); anything else is graceful', async () => {
    const c = fresh('w-force');
    await standard(c); // db1 is a primary with 2 open transactions
    for (const force of ['yes', 'true', 'on', '1', 'YES', 'True', 'On']) {
      expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?force=${force}&state=maintenance`));
      expect(await stateOf(c, 'db1'), `force=${force}`).toBe('Maintenance, Running');
      expect204(await wire('PUT', `/c/${c}/v1/servers/db1/clear?state=maintenance`));
      expect(await stateOf(c, 'db1')).toBe('Master, Running');
    }
    for (const force of ['no', 'false', 'off', '0', '']) {
      expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?state=maintenance&force=${force}`));
      expect(await stateOf(c, 'db1'), `force=${force}`).toBe('Draining, Master, Running');
      expect204(await wire('PUT', `/c/${c}/v1/servers/db1/clear?state=maintenance`));
    }
  });

  it('answers GET /v1/ with 200 and an empty body (several --hosts ping it), for a viewer too', async () => {
    const c = fresh('w-ping');
    await standard(c);
    for (const path of ['/v1/', `/c/${c}/v1/`]) {
      for (const auth of [adminBasic(), basic('ms-viewer', viewer)]) {
        const a = await withDefault(c, () => wire('GET', path, { auth }));
        expect({ status: a.status, text: a.text }).toEqual({ status: 200, text: '' });
      }
    }
  });

  it('pings every host with GET /v1/ first when given several --hosts, then runs on each', async () => {
    const a = fresh('w-multi');
    const b = fresh('w-multi');
    await standard(a);
    await standard(b);
    const hosts = [`${hostPort}/c/${a}`, `${hostPort}/c/${b}`];
    const result = await maxctrl([
      '--hosts',
      hosts.join(','),
      '-u',
      'admin',
      '-p',
      env.admin,
      'set',
      'server',
      'db2',
      'maintenance',
    ]);
    expect(result).toEqual({ exitCode: 0, stdout: `${hosts[0]}\nOK\n${hosts[1]}\nOK\n` });
    expect(await stateOf(a, 'db2')).toBe('Maintenance, Running');
    expect(await stateOf(b, 'db2')).toBe('Maintenance, Running');
    // a token limited to the first cluster: the second host refuses the ping, so nothing is changed anywhere
    const scoped = await createToken(env.deps, 'operator', [a], 'ms-only-a');
    const refused = await maxctrl([
      '--hosts',
      hosts.join(','),
      '-u',
      'ms-only-a',
      '-p',
      scoped,
      'clear',
      'server',
      'db2',
      'maintenance',
    ]);
    expect(refused).toEqual({
      exitCode: 1,
      stdout: `Error: Server at http://${hosts[1]} responded with 403 Forbidden to \`GET \`\n${JSON.stringify(JSON.parse(ADMIN_REQUIRED), null, 4)}\n`,
    });
    expect(await stateOf(a, 'db2')).toBe('Maintenance, Running');
    // a host that does not answer at all
    const down = await maxctrl([
      '--hosts',
      `${hosts[0]},127.0.0.1:1`,
      '-u',
      'admin',
      '-p',
      env.admin,
      'clear',
      'server',
      'db2',
      'maintenance',
    ]);
    expect(down.exitCode).toBe(1);
    expect(down.stdout).toMatch(/^Error: .*ECONNREFUSED/);
    expect(await stateOf(a, 'db2')).toBe('Maintenance, Running');
  });

  it('answers an unknown server (or cluster) with a bare 404', async () => {
    const c = fresh('w-404');
    await standard(c);
    for (const [method, path] of [
      ['GET', `/c/${c}/v1/servers/nosuch`],
      ['PUT', `/c/${c}/v1/servers/nosuch/set?state=maintenance`],
      ['PUT', `/c/${c}/v1/servers/nosuch/clear?state=maintenance`],
      ['PUT', `/c/${c}/v1/servers/nosuch/set?state=drain&force=yes`],
      ['GET', '/c/no-such-cluster/v1/servers'],
    ] as const) {
      const a = await wire(method, path);
      expect({ status: a.status, text: a.text, type: a.type }, `${method} ${path}`).toEqual({
        status: 404,
        text: '',
        type: null,
      });
    }
  });

  it("answers a missing or invalid state with 400 and MaxScale's error", async () => {
    const c = fresh('w-400');
    await standard(c);
    for (const path of [
      'set',
      'set?force=yes',
      'set?state=',
      'set?state=running',
      'set?state=master&force=yes',
      'set?state=maintenancex',
      'clear',
      'clear?state=slave',
    ]) {
      expectErrors(await wire('PUT', `/c/${c}/v1/servers/db2/${path}`), 400, INVALID_STATE);
    }
    expect(await stateOf(c, 'db2')).toBe('Slave, Running');
    // and maxctrl prints it as an error
    const printedError = await withDefault(c, () => run(['set', 'server', 'db2', 'running']));
    expect(printedError).toEqual({
      exitCode: 1,
      stdout: `Error: Server at http://${hostPort} responded with 400 Bad Request to \`PUT servers/db2/set?state=running\`\n${JSON.stringify(JSON.parse(INVALID_STATE), null, 4)}\n`,
    });
  });

  it('answers bad credentials with 401 Access denied and a Basic challenge, none for XMLHttpRequest', async () => {
    const c = fresh('w-401');
    await standard(c);
    const bad = [
      basic('admin', 'mariadb'), // maxctrl's defaults: maintctl ships no such credentials
      basic('admin', `${env.admin}x`),
      basic('someone-else', env.admin), // the right token under another user name
      `Bearer ${env.admin}x`,
      'Basic !!!',
      null,
    ];
    for (const auth of bad) {
      for (const [method, path] of [
        ['GET', `/c/${c}/v1/servers`],
        ['PUT', `/c/${c}/v1/servers/db2/set?state=maintenance`],
        ['GET', '/v1/'],
      ] as const) {
        const what = `${method} ${path} with ${auth}`;
        const a = await withDefault(c, () => wire(method, path, { auth }));
        expectErrors(a, 401, ACCESS_DENIED);
        expect(a.headers.get('www-authenticate'), what).toBe('Basic realm="maxscale"');
        const xhr = await withDefault(c, () =>
          wire(method, path, { auth, headers: { 'X-Requested-With': 'XMLHttpRequest' } }),
        );
        expectErrors(xhr, 401, ACCESS_DENIED);
        expect(xhr.headers.get('www-authenticate'), what).toBeNull();
      }
    }
    expect(await stateOf(c, 'db2')).toBe('Slave, Running');
    // maxctrl with its default credentials
    const defaults = await maxctrl(['--hosts', `${hostPort}/c/${c}`, 'list', 'servers']);
    expect(defaults).toEqual({
      exitCode: 1,
      stdout: `Error: Server at http://${hostPort}/c/${c} responded with 401 Unauthorized to \`GET servers\`\n${JSON.stringify(JSON.parse(ACCESS_DENIED), null, 4)}\n`,
    });
  });

  it('answers a viewer 403 Administrative access required on set and clear, 200 on reads', async () => {
    const c = fresh('w-403');
    await standard(c);
    const asViewer = basic('ms-viewer', viewer);
    for (const path of [
      'set?state=maintenance',
      'set?force=yes&state=maintenance',
      'clear?state=maintenance',
      'set?state=drain',
      'clear?state=drain',
    ]) {
      expectErrors(await wire('PUT', `/c/${c}/v1/servers/db2/${path}`, { auth: asViewer }), 403, ADMIN_REQUIRED);
    }
    for (const path of [`/c/${c}/v1/servers`, `/c/${c}/v1/servers/db2`, `/c/${c}/v1/`]) {
      expect((await wire('GET', path, { auth: asViewer })).status, path).toBe(200);
    }
    expect((await run(['--hosts', `${hostPort}/c/${c}`, 'list', 'servers'], ['ms-viewer', viewer])).exitCode).toBe(0);
    // an operator may; an operator limited to another cluster may not
    expect204(
      await wire('PUT', `/c/${c}/v1/servers/db2/set?state=maintenance`, { auth: basic('ms-operator', operator) }),
    );
    const elsewhere = await createToken(env.deps, 'operator', ['somewhere-else'], 'ms-scoped');
    expectErrors(
      await wire('PUT', `/c/${c}/v1/servers/db2/clear?state=maintenance`, { auth: basic('ms-scoped', elsewhere) }),
      403,
      ADMIN_REQUIRED,
    );
    expect(await stateOf(c, 'db2')).toBe('Maintenance, Running');
  });

  it('answers a budget refusal with 409 naming the servers using the budget, and changes nothing', async () => {
    const c = fresh('w-budget');
    await standard(c); // one dc of 3: at most 1 unavailable
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?state=maintenance`));
    const before = await revision(c);
    const refused = await wire('PUT', `/c/${c}/v1/servers/db3/set?state=maintenance&force=yes`);
    expectErrors(refused, 409, /budget.*\bdb2\b.*\bdb3\b/);
    expect(await stateOf(c, 'db3')).toBe('Slave, Running');
    expect(await revision(c)).toBe(before);
    const printedRefusal = await run(['--hosts', `${hostPort}/c/${c}`, 'set', 'server', 'db3', 'drain']);
    expect(printedRefusal.exitCode).toBe(1);
    expect(printedRefusal.stdout).toMatch(
      new RegExp(
        `^Error: Server at http://${hostPort}/c/${c} responded with 409 Conflict to \`PUT servers/db3/set\\?state=drain\`\\n\\{\\n {4}"errors": \\[`,
      ),
    );
  });

  it('answers a clear of a server held by its dc with 409 naming the holder', async () => {
    const c = fresh('w-held');
    await register(c, [
      { name: 'a1', dc: 'dc1', role: 'primary', report: { health: 'running', connections: 4, openTransactions: 0 } },
      { name: 'a2', dc: 'dc1', role: 'replica', report: { health: 'running', connections: 4 } },
      { name: 'a3', dc: 'dc1', role: 'replica', report: { health: 'running', connections: 4 } },
      { name: 'b1', dc: 'dc2', role: 'replica', report: { health: 'running', connections: 4 } },
      { name: 'b2', dc: 'dc2', role: 'replica', report: { health: 'running', connections: 4 } },
      { name: 'b3', dc: 'dc2', role: 'replica', report: { health: 'running', connections: 4 } },
    ]);
    const dc = await env.call('PUT', `/v1/clusters/${c}/dcs/dc2/maintenance`, { override: true, reason: 'rack move' });
    expect(dc.status).toBe(200);
    expect(await stateOf(c, 'b1')).toBe('Maintenance, Running');
    const before = await revision(c);
    for (const state of ['maintenance', 'drain']) {
      expectErrors(await wire('PUT', `/c/${c}/v1/servers/b1/clear?state=${state}`), 409, /held by dc \(manual\)/);
    }
    expect(await stateOf(c, 'b1')).toBe('Maintenance, Running');
    expect(await revision(c)).toBe(before);
  });

  it('treats clearing what is not there as a no-op 204 (no change, no event)', async () => {
    const c = fresh('w-noop');
    await standard(c);
    const before = await revision(c);
    const events = (await env.call('GET', `/v1/clusters/${c}/events`)).body.events.length as number;
    for (const path of ['db2/clear?state=maintenance', 'db2/clear?state=drain', 'db1/clear?state=maint&sync=false']) {
      expect204(await wire('PUT', `/c/${c}/v1/servers/${path}`));
    }
    // clearing drain where the claim is maintenance: not there either; the maintenance stays
    expect204(await wire('PUT', `/c/${c}/v1/servers/db3/set?state=maintenance`));
    const afterSet = await revision(c);
    expect204(await wire('PUT', `/c/${c}/v1/servers/db3/clear?state=drain`));
    expect(await stateOf(c, 'db3')).toBe('Maintenance, Running');
    expect(await revision(c)).toBe(afterSet);
    expect(afterSet).toBe(before + 1);
    expect((await env.call('GET', `/v1/clusters/${c}/events`)).body.events.length).toBe(events + 1);
  });

  it('removes a drain claim with clear ... drain; a drained replica reads Drained, Slave, Running', async () => {
    const c = fresh('w-drain');
    await standard(c);
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?state=drain`));
    expect(await stateOf(c, 'db2')).toBe('Draining, Slave, Running');
    await report(c, 'db2', { role: 'replica', connections: 0 });
    expect(await stateOf(c, 'db2')).toBe('Drained, Slave, Running');
    // clear maintenance does not remove a drain claim
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?state=maintenance`));
    expect(await stateOf(c, 'db2')).toBe('Drained, Slave, Running');
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?state=drain`));
    expect(await stateOf(c, 'db2')).toBe('Slave, Running');
    expect((await env.call('GET', `/v1/clusters/${c}/servers/db2`)).body.claims).toEqual([]);
  });

  it('shows a graceful primary Draining, Master, Running until drained, and forced Maintenance at once', async () => {
    const c = fresh('w-primary');
    await standard(c); // db1: 2 open transactions
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?state=maintenance`));
    expect(await stateOf(c, 'db1')).toBe('Draining, Master, Running');
    await report(c, 'db1', { role: 'primary', connections: 5, openTransactions: 1 });
    expect(await stateOf(c, 'db1')).toBe('Draining, Master, Running');
    await report(c, 'db1', { role: 'primary', connections: 5, openTransactions: 0 });
    expect(await stateOf(c, 'db1')).toBe('Maintenance, Running');
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/clear?state=maintenance`));
    expect(await stateOf(c, 'db1')).toBe('Master, Running');

    await report(c, 'db1', { role: 'primary', connections: 5, openTransactions: 3 });
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?force=yes&state=maintenance`));
    expect(await stateOf(c, 'db1')).toBe('Maintenance, Running');
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/clear?state=maintenance`));

    // a pending primary escalated with --force: in maintenance at once
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?state=maintenance`));
    expect(await stateOf(c, 'db1')).toBe('Draining, Master, Running');
    expect204(await wire('PUT', `/c/${c}/v1/servers/db1/set?force=yes&state=maintenance`));
    expect(await stateOf(c, 'db1')).toBe('Maintenance, Running');
  });

  it('acts on /c/{cluster}/v1/... for a non-default cluster, and on the default one without prefix', async () => {
    const main = fresh('w-default');
    const other = fresh('w-other');
    await standard(main);
    await register(other, [
      { name: 'db2', role: 'replica', address: '10.0.0.12', port: 3306, report: { health: 'running', connections: 7 } },
      { name: 'x1', role: 'primary', address: '10.0.0.11', port: 3306, report: { health: 'running', connections: 1 } },
      { name: 'x3', role: 'replica', report: { health: 'running' } },
    ]);
    await withDefault(main, async () => {
      const list = await wire('GET', `/c/${other}/v1/servers`);
      expect(list.status).toBe(200);
      const doc = JSON.parse(list.text) as { links: { self: string }; data: { id: string; links: { self: string } }[] };
      expect(doc.data.map((d) => d.id)).toEqual(['db2', 'x1', 'x3']);
      expect(doc.data[0]!.links.self).toBe(`http://${hostPort}/c/${other}/v1/servers/db2/`);
      const plain = JSON.parse((await wire('GET', '/v1/servers')).text) as { data: { id: string }[] };
      expect(plain.data.map((d) => d.id)).toEqual(['db1', 'db2', 'db3']);

      // db2 exists in both: the prefix picks the cluster
      expect204(await wire('PUT', `/c/${other}/v1/servers/db2/set?state=maintenance`));
      expect(await stateOf(other, 'db2')).toBe('Maintenance, Running');
      expect(await stateOf(main, 'db2')).toBe('Slave, Running');
      const listed = await maxctrl([
        '--hosts',
        `${hostPort}/c/${other}`,
        '-u',
        'admin',
        '-p',
        env.admin,
        'list',
        'servers',
      ]);
      expect(stateColumn(listed.stdout)).toEqual({
        db2: 'Maintenance, Running',
        x1: 'Master, Running',
        x3: 'Slave, Running',
      });
      expect(column(parseTable(listed.stdout), 'Address')).toEqual(['10.0.0.12', '10.0.0.11', '']);
      expect(stateColumn((await run(['list', 'servers'])).stdout)).toEqual({
        db1: 'Master, Running',
        db2: 'Slave, Running',
        db3: 'Slave, Running',
      });
    });
  });

  it('records every change in the audit log with source compat:maxscale and the user', async () => {
    const c = fresh('w-audit');
    await standard(c);
    const asOperator = basic('ms-operator', operator);
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?state=maintenance`, { auth: asOperator }));
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/set?force=yes&state=maintenance`, { auth: asOperator }));
    expect204(await wire('PUT', `/c/${c}/v1/servers/db2/clear?state=maintenance`, { auth: asOperator }));
    expect((await withDefault(c, () => run(['set', 'server', 'db3', 'drain']))).stdout).toBe('OK\n');
    const { body } = await env.call('GET', `/v1/clusters/${c}/events`);
    const events = body.events as { action: string; source: string; actor: string; target: string }[];
    const compat = events.filter((e) => e.source === 'compat:maxscale');
    expect(compat.map((e) => [e.action, e.target, e.actor])).toEqual([
      ['set-maintenance', 'server:db3', 'admin'],
      ['clear-maintenance', 'server:db2', 'ms-operator'],
      ['update-maintenance', 'server:db2', 'ms-operator'],
      ['set-maintenance', 'server:db2', 'ms-operator'],
    ]);
    // every maintenance change of this cluster came through the family
    expect(events.filter((e) => /maintenance/.test(e.action))).toEqual(compat);
  });

  it("answers a wrong method on a MaxScale path with 405, Allow and MaxScale's error; native paths keep the native 405", async () => {
    const c = fresh('w-405');
    await standard(c);
    const before = await revision(c);
    for (const [method, path, allow] of [
      ['POST', `/c/${c}/v1/servers/db2`, 'GET'],
      ['DELETE', `/c/${c}/v1/servers`, 'GET'],
      ['POST', `/c/${c}/v1/`, 'GET'],
      ['GET', `/c/${c}/v1/servers/db2/set`, 'PUT'],
      ['POST', '/v1/servers/db1', 'GET'],
      ['DELETE', '/v1/servers', 'GET'],
    ] as const) {
      const res = await withDefault(c, () =>
        fetch(`${env.url}${path}`, { method, headers: { authorization: adminBasic() } }),
      );
      const a = {
        status: res.status,
        text: await res.text(),
        type: res.headers.get('content-type'),
        headers: res.headers,
      };
      expectErrors(a, 405, /not allowed/);
      expect(a.headers.get('allow'), `${method} ${path}`).toBe(allow);
    }
    expect(await revision(c)).toBe(before);
    // the /v1 prefix is shared: a wrong method on a native path is the native JSON 405
    const native = await fetch(`${env.url}/v1/clusters/${c}/servers`, {
      method: 'POST',
      headers: { authorization: adminBasic() },
    });
    expect(native.status).toBe(405);
    expect(native.headers.get('content-type')).toBe(JSON_TYPE);
    expect(native.headers.get('allow')).toBe('GET');
    expect(((await native.json()) as { error: unknown }).error).toMatchObject({ code: 'MethodNotAllowed' });
  });
});

// ---------------------------------------------------------------- 4. the seed documents' maxctrl commands

/** The ```-fenced blocks of a seed document that contain a maxctrl command. */
function maxctrlBlocks(file: string): string[] {
  const text = readFileSync(`${SEEDS}${file}`, 'utf8');
  return [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /\bmaxctrl\b/.test(b));
}

const seedFile = (prefix: string) =>
  readFileSync(`${SEEDS}README.md`, 'utf8').match(new RegExp(`${prefix}_[0-9a-f]+\\.txt`))![0];

/** A block's words: `\` continuations joined, the `$` prompt dropped; the first word must be maxctrl. */
function words(block: string): string[] {
  const all = block.replace(/\\\n/g, ' ').trim().split(/\s+/);
  if (all[0] === '$') all.shift();
  expect(all[0]).toBe('maxctrl');
  return all.slice(1);
}

const CONNECTION = /^(--hosts|-h|--user|-u|--password|-p)(=|$)/;
const CONNECTION_KIND: Record<string, 'hosts' | 'user' | 'password'> = {
  '--hosts': 'hosts',
  '-h': 'hosts',
  '--user': 'user',
  '-u': 'user',
  '--password': 'password',
  '-p': 'password',
};
const TLS = /^(--secure$|--tls-)/;

/**
 * The document's command with only the host, the port and the credentials changed. `--secure` and the
 * `--tls-*` client-certificate options are dropped: HTTPS (`--tls-cert`/`--tls-key` on the local server)
 * is covered by the TLS tests, this file talks plain HTTP.
 */
function localize(args: string[], user: string, password: string): string[] {
  const value = { hosts: hostPort, user, password };
  const given = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (TLS.test(a)) continue;
    const m = CONNECTION.exec(a);
    if (!m) {
      out.push(a);
      continue;
    }
    if (m[2] !== '=') i++; // `--opt value`
    const kind = CONNECTION_KIND[m[1]!]!;
    given.add(kind);
    out.push(`--${kind}=${value[kind]}`);
  }
  const missing = (['hosts', 'user', 'password'] as const)
    .filter((k) => !given.has(k))
    .flatMap((k) => [`--${k}`, value[k]]);
  return [...missing, ...out];
}

/** What is left of a command once connection and TLS options are set aside. */
function withoutConnection(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = CONNECTION.exec(args[i]!);
    if (m) {
      if (m[2] !== '=') i++;
    } else if (!TLS.test(args[i]!)) out.push(args[i]!);
  }
  return out;
}

describe("the seed documents' maxctrl commands", () => {
  it('000 (MaxCtrl, graceful and --force): mended, then OK and the documented states', async () => {
    const blocks = maxctrlBlocks(seedFile('000'));
    expect(blocks).toHaveLength(2);
    // Documented mistakes (seeds README): the multi-line commands lack their `\` continuations ...
    for (const block of blocks) {
      const lines = block.trim().split('\n');
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(0, -1).some((l) => !l.trimEnd().endsWith('\\'))).toBe(true);
    }
    // ... and the "Forcing" block lacks its `set server server1 maintenance --force` line.
    expect(blocks[1]).not.toMatch(/set server/);
    const mend = (block: string) =>
      block
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .join(' \\\n');
    const graceful = words(mend(blocks[0]!));
    const forced = [...words(mend(blocks[1]!)), 'set', 'server', 'server1', 'maintenance', '--force'];
    expect(graceful.slice(-4)).toEqual(['set', 'server', 'server1', 'maintenance']);
    expect(graceful.filter((a) => TLS.test(a))).toEqual([
      '--secure',
      '--tls-key=/certs/client-key.pem',
      '--tls-cert=/certs/client-cert.pem',
      '--tls-ca-cert=/certs/ca.pem',
    ]);

    // The documents' REST user, with a maintctl token as its password: only the password changes.
    const user = 'maxscale_rest_admin';
    expect(graceful).toContain(`--user=${user}`);
    const token = await createToken(env.deps, 'admin', undefined, user);
    const cluster = fresh('seed-000');
    await register(cluster, [
      { name: 'server1', role: 'primary', report: { health: 'running', connections: 12, openTransactions: 3 } },
      { name: 'server2', role: 'replica', report: { health: 'running', connections: 8 } },
      { name: 'server3', role: 'replica', report: { health: 'running', connections: 8 } },
    ]);
    const list = async () => stateColumn((await run(['list', 'servers'], [user, token])).stdout);

    await withDefault(cluster, async () => {
      const command = localize(graceful, user, token);
      expect(withoutConnection(command)).toEqual(withoutConnection(graceful));
      expect(await maxctrl(command)).toEqual({ stdout: 'OK\n', exitCode: 0 });
      // "If the specified server is a primary server, then MaxScale will allow open transactions to complete
      // before closing any connections."
      expect((await list()).server1).toBe('Draining, Master, Running');
      await report(cluster, 'server1', { role: 'primary', connections: 12, openTransactions: 0 });
      expect((await list()).server1).toBe('Maintenance, Running');

      // back in service, with open transactions again, for the "Forcing" block (this reset is ours)
      expect(await run(['clear', 'server', 'server1', 'maintenance'], [user, token])).toEqual({
        stdout: 'OK\n',
        exitCode: 0,
      });
      await report(cluster, 'server1', { role: 'primary', connections: 12, openTransactions: 3 });
      expect((await list()).server1).toBe('Master, Running');

      const forcedCommand = localize(forced, user, token);
      expect(withoutConnection(forcedCommand)).toEqual(withoutConnection(forced));
      expect(await maxctrl(forcedCommand)).toEqual({ stdout: 'OK\n', exitCode: 0 });
      // "When --force is used, MaxScale immediately closes all connections, even if the server is a primary
      // server with open transactions."
      expect(await list()).toEqual({
        server1: 'Maintenance, Running',
        server2: 'Slave, Running',
        server3: 'Slave, Running',
      });
      expect((await env.call('GET', `/v1/clusters/${cluster}/servers/server1`)).body.closeConnections).toBe(true);
    });
  });

  it('002 (ColumnStore node maintenance): set, set --force, list shows Maintenance, clear, list does not', async () => {
    const blocks = maxctrlBlocks(seedFile('002'));
    expect(blocks.map((b) => words(b).join(' '))).toEqual([
      'set server mcs3 maintenance',
      'set server mcs3 maintenance --force',
      'list servers',
      'clear server mcs3 maintenance',
      'list servers',
    ]);
    const cluster = fresh('seed-002');
    await register(cluster, [
      { name: 'mcs1', role: 'primary', report: { health: 'running', connections: 10, openTransactions: 1 } },
      { name: 'mcs2', role: 'replica', report: { health: 'running', connections: 6 } },
      { name: 'mcs3', role: 'replica', report: { health: 'running', connections: 6 } },
    ]);
    await withDefault(cluster, async () => {
      // The documents use maxctrl's default host and credentials: only those are added.
      let inMaintenance = false;
      for (const block of blocks) {
        const args = words(block);
        const command = localize(args, 'admin', env.admin);
        expect(withoutConnection(command)).toEqual(args);
        const result = await maxctrl(command);
        expect(result.exitCode, args.join(' ')).toBe(0);
        if (args[0] === 'set' || args[0] === 'clear') {
          expect(result.stdout).toBe('OK\n');
          inMaintenance = args[0] === 'set';
          continue;
        }
        // "If the node is properly in maintenance mode, then the State column will show Maintenance";
        // after the clear, "the State column no longer shows Maintenance".
        const states = stateColumn(result.stdout);
        expect(Object.keys(states)).toEqual(['mcs1', 'mcs2', 'mcs3']);
        if (inMaintenance) expect(states.mcs3!.split(', ')).toContain('Maintenance');
        else expect(states.mcs3!.split(', ')).not.toContain('Maintenance');
        expect(states.mcs3).toBe(inMaintenance ? 'Maintenance, Running' : 'Slave, Running');
        expect(states.mcs1).toBe('Master, Running');
        expect(states.mcs2).toBe('Slave, Running');
      }
      expect(inMaintenance).toBe(false);
    });
  });
});
