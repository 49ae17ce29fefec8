/**
 * The seed-commands tier for documents 003 (Cassandra operator) and 004 (GreptimeDB metasrv): the curl commands
 * are read from the documents at test time and run with the real `curl` binary against a local server whose
 * default Cassandra and GreptimeDB clusters are the demo fleet's. Only the host and port change, credentials
 * are added, placeholders are filled in, and the documented mistakes are mended (each said so below).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEFAULT_CLUSTERS, DEMO_FLEET, registerDemoFleet } from '../../local/demo.js';
import { createToken, httpEnv, type HttpEnv } from '../support/env.js';

const run = promisify(execFile);
const CURL = '/usr/bin/curl';
// A copy of ../shared/seeds (see test/fixtures/README.md).
const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));

const seedText = (prefix: string) => {
  const file = readdirSync(SEEDS).find((f) => f.startsWith(prefix) && f.endsWith('.txt'));
  if (!file) throw new Error(`no seed ${prefix}* in ${SEEDS}`);
  return readFileSync(`${SEEDS}${file}`, 'utf8');
};

interface Block {
  /** The prose between the previous block and this one. */
  before: string;
  body: string;
}

/** Every ```bash fenced block of a document, in order, with the prose that introduces it. */
function bashBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const fence = /```bash\n([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    blocks.push({ before: text.slice(last, m.index), body: m[1]! });
    last = m.index + m[0].length;
  }
  return blocks;
}

/** The curl command lines of a block (`\`-continued lines joined). */
const curlLines = (block: Block) =>
  block.body
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^curl\s/.test(l));

/** A command line split into argv the way a POSIX shell would (quotes and backslashes; no expansions needed here). */
function shellSplit(line: string): string[] {
  const args: string[] = [];
  let current: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && /["\\$`]/.test(line[i + 1] ?? '')) current += line[++i]!;
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current ??= '';
    } else if (c === '\\') {
      current = (current ?? '') + (line[++i] ?? '');
    } else if (/\s/.test(c)) {
      if (current !== undefined) args.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + c;
    }
  }
  if (quote) throw new Error(`unterminated quote in ${line}`);
  if (current !== undefined) args.push(current);
  return args;
}

let env: HttpEnv;
let port: number;
let token: string;

const POD = DEMO_FLEET.find((c) => c.id === DEMO_DEFAULT_CLUSTERS.cassandra)!.servers[0]!.name; // cassandra-dc1-0
const DC = 'dc1';
const DC_PODS = DEMO_FLEET.find((c) => c.id === DEMO_DEFAULT_CLUSTERS.cassandra)!
  .servers.filter((s) => s.dc === DC)
  .map((s) => s.name);

/**
 * What may change in a document's command: the host and port (the documents' `localhost:8889`,
 * `<PROBER_POD_NAME>:8889` and `localhost:3002` become our server) and the placeholders the document asks the
 * reader to fill in. Nothing else of the line is touched.
 */
function adapt(line: string): string {
  return line
    .replace(/(?:localhost|<PROBER_POD_NAME>):(?:8889|3002)\b/g, `127.0.0.1:${port}`)
    .replaceAll('<POD_NAME>', POD)
    .replaceAll('<DC_NAME>', DC);
}

interface CurlResult {
  code: number;
  stdout: string;
  status: number;
  contentType: string;
}

/**
 * Runs a command line with the real curl, adding the credentials maintctl requires. `-sS` (no progress meter)
 * and `-w '%{stderr}...'` (the status and Content-Type, written to stderr) only observe: they change neither
 * the request nor what curl prints on stdout.
 */
async function curl(line: string): Promise<CurlResult> {
  const [program, ...args] = shellSplit(line);
  expect(program).toBe('curl');
  const argv = [...args, '-H', `Authorization: Bearer ${token}`, '-sS', '-w', '%{stderr}%{http_code} %{content_type}'];
  try {
    const { stdout, stderr } = await run(CURL, argv, { timeout: 10_000 });
    const [status, contentType = ''] = stderr.trim().split(' ');
    return { code: 0, stdout, status: Number(status), contentType };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      status: 0,
      contentType: e.stderr ?? '',
    };
  }
}

beforeAll(async () => {
  env = await httpEnv();
  port = Number(new URL(env.url).port);
  token = await createToken(env.deps, 'operator', undefined, 'seed-operator');
  await registerDemoFleet(env.deps);
  process.env.MAINTCTL_CASSANDRA_CLUSTER = DEMO_DEFAULT_CLUSTERS.cassandra;
  process.env.MAINTCTL_GREPTIMEDB_CLUSTER = DEMO_DEFAULT_CLUSTERS.greptimedb;
});
afterAll(async () => {
  delete process.env.MAINTCTL_CASSANDRA_CLUSTER;
  delete process.env.MAINTCTL_GREPTIMEDB_CLUSTER;
  await env?.close();
});

describe('003: the Cassandra operator maintenance API commands', () => {
  const blocks = bashBlocks(seedText('003_'));
  // `kubectl port-forward pods/<PROBER_POD_NAME> 8889:8889` only connects localhost:8889 to the operator's prober
  // pod in a Kubernetes cluster: it is how the reader reaches the server, which here is the host and port we
  // substitute. There is no Kubernetes cluster (nor a prober pod) to run it against, so kubectl blocks are skipped.
  const kubectl = blocks.filter((b) => /^\s*kubectl\s/m.test(b.body));
  const commands = blocks.flatMap(curlLines);
  const find = (pattern: RegExp) => {
    const found = commands.filter((c) => pattern.test(c));
    expect(found, `${pattern}`).toHaveLength(1);
    return found[0]!;
  };

  it('the document has the expected blocks: one kubectl, six curl commands', () => {
    expect(kubectl).toHaveLength(1);
    expect(commands).toHaveLength(6);
    expect(blocks).toHaveLength(kubectl.length + commands.length);
  });

  it('PUT, GET and DELETE /pods/<POD_NAME> answer 200 with {"<pod>":true}, {"inMaintenance":...}, {"<pod>":false}', async () => {
    const put = find(/-X PUT \S*\/pods\/<POD_NAME>$/);
    const get = find(/-X GET \S*\/pods\/<POD_NAME>$/);
    const del = find(/-X DELETE \S*\/pods\/<POD_NAME>$/);

    expect(await curl(adapt(put))).toEqual({
      code: 0,
      status: 200,
      contentType: 'application/json',
      stdout: `{"${POD}":true}`,
    });
    expect(await curl(adapt(get))).toEqual({
      code: 0,
      status: 200,
      contentType: 'application/json',
      stdout: '{"inMaintenance":true}',
    });
    expect(await curl(adapt(del))).toEqual({
      code: 0,
      status: 200,
      contentType: 'application/json',
      stdout: `{"${POD}":false}`,
    });
    expect(await curl(adapt(get))).toEqual({
      code: 0,
      status: 200,
      contentType: 'application/json',
      stdout: '{"inMaintenance":false}',
    });
  });

  it('PUT /dcs/<DC_NAME> puts every pod of the dc in maintenance, and both /config commands list them', async () => {
    const dc = find(/-X PUT \S*\/dcs\/<DC_NAME>$/);
    // The document tells users to read the ConfigMap with `PUT /config` (the original server only had GET):
    // maintctl answers both, so the commands run as written.
    const configs = commands.filter((c) => /\/config$/.test(c));
    expect(configs).toHaveLength(2);
    for (const c of configs) expect(c).toMatch(/^curl -X PUT /);
    expect(configs.some((c) => c.includes('<PROBER_POD_NAME>:8889'))).toBe(true);

    const configMap = (pods: string[]) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${DEMO_DEFAULT_CLUSTERS.cassandra}-maintenance-configmap` },
        data: Object.fromEntries(pods.map((p) => [p, 'true'])),
      });
    for (const c of configs)
      expect(await curl(adapt(c))).toEqual({
        code: 0,
        status: 200,
        contentType: 'application/json',
        stdout: configMap([]),
      });

    expect(await curl(adapt(dc))).toEqual({
      code: 0,
      status: 200,
      contentType: 'application/json',
      stdout: JSON.stringify(DC_PODS.map((p) => ({ [p]: true }))),
    });
    expect(DC_PODS).toEqual(['cassandra-dc1-0', 'cassandra-dc1-1', 'cassandra-dc1-2']);
    for (const c of configs)
      expect(await curl(adapt(c))).toEqual({
        code: 0,
        status: 200,
        contentType: 'application/json',
        stdout: configMap(DC_PODS),
      });

    // the pod commands see the dc's maintenance too ("the dc resource methods follow the same logic")
    expect((await curl(adapt(find(/-X GET \S*\/pods\/<POD_NAME>$/)))).stdout).toBe('{"inMaintenance":true}');
    const events = (await env.call('GET', `/v1/clusters/${DEMO_DEFAULT_CLUSTERS.cassandra}/events?limit=1`)).body
      .events;
    expect(events[0]).toMatchObject({
      action: 'set-maintenance',
      target: `dc:${DC}`,
      source: 'compat:cassandra',
      actor: 'seed-operator',
    });
  });
});

describe('004: the GreptimeDB metasrv maintenance mode commands', () => {
  const blocks = bashBlocks(seedText('004_'));
  /** Each curl command with the output the document expects, taken from the "expected output" block after it. */
  const steps = blocks.flatMap((block, i) => {
    const lines = curlLines(block);
    if (lines.length === 0) return [];
    const next = blocks[i + 1];
    expect(next && /expected output/i.test(next.before) && curlLines(next).length === 0).toBe(true);
    return lines.map((line) => ({ line, expected: next!.body.trim() }));
  });

  it('the document has three commands, each with its expected output', () => {
    expect(steps.map((s) => s.expected)).toEqual(['{"enabled":true}', '{"enabled":false}', '{"enabled":false}']);
    expect(steps.map((s) => shellSplit(s.line).slice(0, 3))).toEqual([
      ['curl', '-X', 'POST'],
      ['curl', '-X', 'POST'],
      ['curl', '-X', 'GET'],
    ]);
  });

  it('the status command has the documented doubled colon, which curl itself rejects', async () => {
    const status = steps[2]!.line;
    expect(status).toContain('http:://localhost:3002/admin/maintenance');
    // Run as written (host and port changed only), curl refuses the URL: exit 3, "URL using bad/illegal format".
    const asWritten = await curl(adapt(status));
    expect(asWritten.code).toBe(3);
    expect(asWritten.stdout).toBe('');
  });

  it('each command prints exactly the documented output, and the mode is what the document says', async () => {
    const paths: string[] = [];
    for (const { line, expected } of steps) {
      // The document's `http:://` (a doubled colon: seeds/README.md) is mended to `http://`; nothing else changes.
      const mended = line.replace('http:://', 'http://');
      const result = await curl(adapt(mended));
      expect(result).toEqual({ code: 0, status: 200, contentType: 'application/json', stdout: expected });
      paths.push(new URL(shellSplit(adapt(mended))[3]!).pathname);
      // after each step the mode reads as the command said
      const view = (await env.call('GET', `/v1/clusters/${DEMO_DEFAULT_CLUSTERS.greptimedb}/failover`)).body;
      expect(view.paused).toBe(expected === '{"enabled":true}');
    }
    expect(paths).toEqual(['/admin/maintenance', '/admin/maintenance', '/admin/maintenance']);
    const { events } = (await env.call('GET', `/v1/clusters/${DEMO_DEFAULT_CLUSTERS.greptimedb}/events?limit=2`)).body;
    expect(events.map((e: { action: string }) => e.action)).toEqual(['clear-maintenance', 'set-maintenance']);
    for (const e of events)
      expect(e).toMatchObject({ target: 'cluster', source: 'compat:greptimedb', actor: 'seed-operator' });
  });

  it('enabling pauses automatic failover for the demo cluster while it lasts (what the document promises)', async () => {
    const enable = adapt(steps[0]!.line);
    expect((await curl(enable)).stdout).toBe('{"enabled":true}');
    const refused = await env.call('POST', `/v1/clusters/${DEMO_DEFAULT_CLUSTERS.greptimedb}/failover`, {
      dryRun: true,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('Paused');
    expect((await curl(adapt(steps[1]!.line))).stdout).toBe('{"enabled":false}');
    const again = await env.call('POST', `/v1/clusters/${DEMO_DEFAULT_CLUSTERS.greptimedb}/failover`, { dryRun: true });
    expect(again.body.error?.code).not.toBe('Paused');
  });
});
