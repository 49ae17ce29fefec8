/**
 * A small stand-in for MaxScale's `maxctrl` 24.02 (not installable here: it is on neither npm nor Debian),
 * built from what the real one sent and printed (test/fixtures/maxctrl): the same requests on the
 * wire (method, `http://HOST/v1/...` with its query order, the headers axios 0.28 sends, in its order,
 * Basic auth) and the same printout (`OK`, cli-table tables in box characters, `Error: ...` + exit 1).
 *
 * Supported: `set server S <state> [--force]`, `clear server S <state>`, `list servers`, `show server S`;
 * options `--hosts`/`-h` (several, comma separated: each gets `GET /v1/` first, as maxctrl's cluster ping),
 * `--user`/`-u`, `--password`/`-p`, `--timeout`/`-t`, `--quiet`/`-q`, `--force`; both `--opt value` and
 * `--opt=value`. `--secure` and the `--tls-*` options are out of scope (TLS is tested elsewhere): they throw.
 */
import { Agent, request as httpRequest } from 'node:http';

export interface MaxctrlResult {
  /** What the terminal showed (maxctrl's output and its error line; colours off, as when not a TTY). */
  stdout: string;
  exitCode: number;
}

export interface MaxctrlOptions {
  hosts: string[];
  user: string;
  password: string;
  force: boolean;
  quiet: boolean;
  timeoutMs: number;
  /** The positional words: the command. */
  command: string[];
}

/** maxctrl's defaults (the real tool's; maintctl itself ships no such credentials). */
const DEFAULTS = { hosts: 'localhost:8989', user: 'admin', password: 'mariadb', timeoutMs: 10_000 };

const VALUE_OPTIONS: Record<string, 'hosts' | 'user' | 'password' | 'timeout'> = {
  '--hosts': 'hosts',
  '-h': 'hosts',
  '--user': 'user',
  '-u': 'user',
  '--password': 'password',
  '-p': 'password',
  '--timeout': 'timeout',
  '-t': 'timeout',
};

/** yargs-style parsing of the options maxctrl has; options may come anywhere on the line. */
export function parseArgv(argv: readonly string[]): MaxctrlOptions {
  const values: Partial<Record<'hosts' | 'user' | 'password' | 'timeout', string>> = {};
  const flags = { force: false, quiet: false };
  const command: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-') || word === '-') {
      command.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq > 0 ? word.slice(0, eq) : word;
    if (name === '--secure' || name.startsWith('--tls-')) {
      throw new Error(`maxctrl test double: ${name} is out of scope (TLS is covered by the HTTPS tests)`);
    }
    const key = VALUE_OPTIONS[name];
    if (key) {
      const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`maxctrl test double: ${name} needs a value`);
      values[key] = value;
    } else if (name === '--force') flags.force = eq > 0 ? word.slice(eq + 1) !== 'false' : true;
    else if (name === '--quiet' || name === '-q') flags.quiet = true;
    else throw new Error(`maxctrl test double: unknown option ${word}`);
  }
  return {
    hosts: (values.hosts ?? DEFAULTS.hosts).split(','),
    user: values.user ?? DEFAULTS.user,
    password: values.password ?? DEFAULTS.password,
    timeoutMs: values.timeout !== undefined ? Number(values.timeout) : DEFAULTS.timeoutMs,
    command,
    ...flags,
  };
}

export interface Reply {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * The request headers maxctrl 24.02 sends (axios 0.28 on node), names and order as in requests.log:
 * Accept, [Content-Type], User-Agent, Host, Authorization, Connection, [Content-Length: 0 on a PUT].
 */
export function maxctrlHeaders(method: 'GET' | 'PUT', host: string, user: string, password: string): string[] {
  const headers = ['Accept', 'application/json, text/plain, */*'];
  if (method === 'PUT') headers.push('Content-Type', 'application/x-www-form-urlencoded');
  headers.push(
    'User-Agent',
    'axios/0.28.0',
    'Host',
    host,
    'Authorization',
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    'Connection',
    'keep-alive',
  );
  if (method === 'PUT') headers.push('Content-Length', '0');
  return headers;
}

/** One request to `http://HOST/v1/<resource>`, as maxctrl builds it (`'http://' + host + '/v1/' + resource`). */
function send(
  host: string,
  method: 'GET' | 'PUT',
  resource: string,
  opts: MaxctrlOptions,
  agent: Agent,
): Promise<Reply> {
  const url = new URL(`http://${host}/v1/${resource}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port || 80,
        method,
        path: url.pathname + url.search,
        // An array keeps the names' case and order, and node adds no header of its own.
        headers: maxctrlHeaders(method, url.host, opts.user, opts.password),
        agent,
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

class MaxctrlError extends Error {}

const parse = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** maxctrl's error line for an HTTP error, then the body as 4-space JSON when there is one. */
export function formatHttpError(
  host: string,
  status: number,
  statusText: string,
  method: string,
  resource: string,
  body: string,
): string {
  const line = `Server at http://${host} responded with ${status} ${statusText} to \`${method} ${resource}\``;
  const data = parse(body);
  if (data === undefined) return line;
  return `${line}\n${typeof data === 'string' ? data : JSON.stringify(data, null, 4)}`;
}

async function call(
  host: string,
  method: 'GET' | 'PUT',
  resource: string,
  opts: MaxctrlOptions,
  agent: Agent,
): Promise<unknown> {
  const reply = await send(host, method, resource, opts, agent).catch((error: Error) => {
    throw new MaxctrlError(error.message);
  });
  if (reply.status < 200 || reply.status >= 300) {
    throw new MaxctrlError(formatHttpError(host, reply.status, reply.statusText, method, resource, reply.text));
  }
  return parse(reply.text);
}

// ---- printing, as cli-table draws it ----

/** A cell as maxctrl shows it: arrays joined, objects as 4-space JSON, null and undefined empty. */
function cell(value: unknown, arraySeparator: string): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value) && typeof value[0] !== 'object') return value.join(arraySeparator);
  if (typeof value === 'object') return JSON.stringify(value, null, 4);
  return String(value);
}

/** cli-table's default look: box characters, one space of padding, a rule between every row. */
export function drawTable(rows: readonly (readonly string[])[], head?: readonly string[]): string {
  const all = head ? [head, ...rows] : [...rows];
  const columns = Math.max(0, ...all.map((r) => r.length));
  const lines = (text: string | undefined) => (text ?? '').split('\n');
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...all.flatMap((r) => lines(r[i]).map((l) => l.length))),
  );
  const rule = (left: string, mid: string, right: string) =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  const rowText = (r: readonly string[]) => {
    const cells = widths.map((_, i) => lines(r[i]));
    const height = Math.max(1, ...cells.map((c) => c.length));
    return Array.from(
      { length: height },
      (_, k) => `│${cells.map((c, i) => ` ${(c[k] ?? '').padEnd(widths[i]!)} `).join('│')}│`,
    ).join('\n');
  };
  return [rule('┌', '┬', '┐'), all.map(rowText).join(`\n${rule('├', '┼', '┤')}\n`), rule('└', '┴', '┘')].join('\n');
}

/** `_.get`: a dotted path with `[n]` indexes. */
function get(value: unknown, path: string): unknown {
  let v: unknown = value;
  for (const part of path.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

interface Resource {
  id?: unknown;
  attributes?: Record<string, unknown>;
  relationships?: Record<string, { data?: { id: string }[] }>;
}

/** `state`, and `", " + state_details` when the server gives details. */
const stateOf = (r: Resource) => {
  const details = get(r, 'attributes.state_details');
  return `${cell(get(r, 'attributes.state'), ', ')}${details ? `, ${cell(details, ', ')}` : ''}`;
};

/** `list servers`: the columns and JSON paths of docs/compat.md §1. */
export const LIST_SERVERS_COLUMNS: [name: string, value: (r: Resource) => string][] = [
  ['Server', (r) => cell(r.id, ', ')],
  ['Address', (r) => cell(get(r, 'attributes.parameters.address'), ', ')],
  ['Port', (r) => cell(get(r, 'attributes.parameters.port'), ', ')],
  ['Connections', (r) => cell(get(r, 'attributes.statistics.connections'), ', ')],
  ['State', stateOf],
  ['GTID', (r) => cell(get(r, 'attributes.gtid_current_pos'), ', ')],
  ['Monitor', (r) => cell(get(r, 'relationships.monitors.data[0].id'), ', ')],
];

export function renderServerList(body: unknown): string {
  const data = get(body, 'data');
  if (!Array.isArray(data)) throw new Error('list servers: `data` is not an array');
  return drawTable(
    (data as Resource[]).map((r) => LIST_SERVERS_COLUMNS.map(([, value]) => value(r))),
    LIST_SERVERS_COLUMNS.map(([name]) => name),
  );
}

const ids = (r: Resource, relation: string) => (r.relationships?.[relation]?.data ?? []).map((d) => d.id);

/** `show server S`: the rows printed.txt shows, in its order, from the JSON:API document. */
export const SHOW_SERVER_ROWS: [name: string, value: (r: Resource) => unknown][] = [
  ['Server', (r) => r.id],
  ['Source', (r) => get(r, 'attributes.source.file')],
  ['Address', (r) => get(r, 'attributes.parameters.address')],
  ['Port', (r) => get(r, 'attributes.parameters.port')],
  ['State', stateOf],
  ['Version', (r) => get(r, 'attributes.version_string')],
  ['Uptime', (r) => get(r, 'attributes.uptime')],
  ['Last Event', (r) => get(r, 'attributes.last_event')],
  ['Triggered At', (r) => get(r, 'attributes.triggered_at')],
  ['Services', (r) => ids(r, 'services')],
  ['Monitors', (r) => ids(r, 'monitors')],
  ['Master ID', (r) => get(r, 'attributes.master_id')],
  ['Node ID', (r) => get(r, 'attributes.node_id')],
  ['Slave Server IDs', (r) => get(r, 'attributes.slaves')],
  ['Current Connections', (r) => get(r, 'attributes.statistics.connections')],
  ['Total Connections', (r) => get(r, 'attributes.statistics.total_connections')],
  ['Max Connections', (r) => get(r, 'attributes.statistics.max_connections')],
  ['Statistics', (r) => get(r, 'attributes.statistics')],
  ['Parameters', (r) => get(r, 'attributes.parameters')],
];

export function renderServer(body: unknown): string {
  const data = get(body, 'data');
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new Error('show server: `data` is not an object');
  // maxctrl's key/value list joins array parts with new lines.
  return drawTable(SHOW_SERVER_ROWS.map(([name, value]) => [name, cell(value(data as Resource), '\n')]));
}

/** What `maxctrl <argv>` does: the same requests, the same printout, its exit code. */
export async function maxctrl(argv: readonly string[]): Promise<MaxctrlResult> {
  const opts = parseArgv(argv);
  const agent = new Agent({ keepAlive: true });
  try {
    const run = commandOf(opts);
    // Several hosts: maxctrl pings each with `GET /v1/` before it runs the command on all of them.
    if (opts.hosts.length > 1) await settled(opts.hosts.map((host) => call(host, 'GET', '', opts, agent)));
    const outputs = await settled(
      opts.hosts.map(async (host) => (opts.hosts.length > 1 ? `${host}\n` : '') + (await run(host, agent))),
    );
    return { stdout: opts.quiet ? '' : `${outputs.join('\n')}\n`, exitCode: 0 };
  } catch (error) {
    if (!(error instanceof MaxctrlError)) throw error;
    return { stdout: `Error: ${error.message}\n`, exitCode: 1 };
  } finally {
    agent.destroy();
  }
}

/** Every request runs to its end (none is cut off by another's failure); the first failure is the answer. */
async function settled<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

type Run = (host: string, agent: Agent) => Promise<string>;

function commandOf(opts: MaxctrlOptions): Run {
  const [verb, noun, ...rest] = opts.command;
  const usage = () => new Error(`maxctrl test double: unsupported command: ${opts.command.join(' ')}`);
  if ((verb === 'set' || verb === 'clear') && noun === 'server' && rest.length === 2) {
    const [server, state] = rest as [string, string];
    // What maxctrl 24.02 sent (requests.log): `set?force=yes&state=maintenance` with --force.
    const query =
      verb === 'set' && opts.force
        ? `force=yes&state=${encodeURIComponent(state)}`
        : `state=${encodeURIComponent(state)}`;
    const resource = `servers/${encodeURIComponent(server)}/${verb}?${query}`;
    return async (host, agent) => {
      const body = await call(host, 'PUT', resource, opts, agent);
      // A PUT answered with a body: maxctrl prints the object, i.e. `[object Object]` (docs/compat.md).
      return body === undefined ? 'OK' : String(body);
    };
  }
  if (verb === 'list' && noun === 'servers' && rest.length === 0) {
    return async (host, agent) => renderServerList(await call(host, 'GET', 'servers', opts, agent));
  }
  if (verb === 'show' && noun === 'server' && rest.length === 1) {
    const resource = `servers/${encodeURIComponent(rest[0]!)}`;
    return async (host, agent) => renderServer(await call(host, 'GET', resource, opts, agent));
  }
  throw usage();
}
