/**
 * S1, the auth matrix, generated from the route table: every route × every kind of credential, the compat
 * families' routes (docs/compat.md) included. The oracle is the contract (the README's API, docs/compat.md): public
 * routes are open; otherwise missing or bad credentials are 401, a role below the one the call needs is 403
 * (the route's role; operator for GreptimeDB's legacy `GET /admin/maintenance?enable=...`, a state change), a
 * token limited to other clusters is 403 on the cluster the call acts on (the `{c}` parameter, or for a compat
 * route without the `/c/{c}` prefix the family's default cluster, which this file points at its fixture);
 * anything else is allowed. Every 401/403 is in the family's own error format: native JSON, MaxScale's
 * `{"errors":[...]}`, Cassandra's and GreptimeDB's plain text.
 *
 * Forbidden calls are made against a fixture in which the mutations, had they got through, would change
 * something (all but POST .../failover: the fixture's cluster claim, there so that a clear would show, pauses
 * automation); the procedure manager's resume runs against a copy of the fixture whose procedures are paused.
 * The fixtures, the cluster list and the token list are compared before and after each call, and no DynamoDB
 * write may happen while it is in flight. Allowed reads (and the `ANY` routes, which answer 405 to the methods
 * their siblings do not take) run against the same fixtures and must change nothing either. Neither writes, so
 * both halves run a few calls at a time. Allowed changes run one at a time against throwaway clusters (copies of
 * the fixtures as seeded) and tokens, so they may mutate freely; a compat change must succeed there and change
 * the copy, which shows that the forbidden half would have seen it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ClusterState } from '../../functions/domain/model.js';
import type { Rollout } from '../../functions/domain/rollout/model.js';
import { saveWindow } from '../../functions/domain/windows.js';
import { event } from '../../functions/domain/outcome.js';
import { isCompat, ROUTES, routeKey, type Role, type Route, type RouteRole } from '../../functions/http/routes.js';
import {
  actsOnCluster,
  anyMethods,
  errorFormatProblems,
  mayChange,
  setDefaultClusters,
  unprefixed,
  type Reply,
} from '../support/compat.js';
import { TOKEN_CACHE_MS } from '../../functions/http/auth.js';
import { createDeps } from '../../functions/runtime.js';
import { freePort } from '../../local/dynamodb.js';
import { startHttpServer } from '../../local/http-server.js';
import { createToken, httpEnv, type HttpEnv } from '../support/env.js';
import { startLocal, stopLocal } from '../support/processes.js';
import { recordReliability } from '../support/reliability-report.js';
import { rolloutInput } from '../support/rollout-input.js';

/** The spec's linear order: viewer < agent < operator < admin. */
const ORDER: Role[] = ['viewer', 'agent', 'operator', 'admin'];
const rank = (role: Role) => ORDER.indexOf(role);

const MATRIX = 'matrix';
/** The same fixture with the procedure manager paused, so that a resume would change it. */
const PAUSED = 'matrix-paused';
const FIXTURES = [MATRIX, PAUSED] as const;
type Fixture = (typeof FIXTURES)[number];
const ELSEWHERE = 'elsewhere';
/** The fixture server and dc that the path parameters name: both carry a claim, so a clear would change them. */
const SERVER = 'db2';
const DC = 'dc2';

/**
 * Bodies that would succeed, and change the fixture, if the call got through. Native routes not listed get
 * `{}` (PUT/POST) or no body; a new route therefore still runs through the matrix. Compat calls carry no body.
 */
const BODIES: Record<string, unknown> = {
  'PUT /v1/clusters/{c}': { engine: 'mariadb', staleAfterSeconds: 7200 },
  'PUT /v1/clusters/{c}/servers/{s}': { dc: 'dc1', role: 'replica', port: 3307 },
  'PUT /v1/clusters/{c}/servers/{s}/maintenance': { reason: 'auth matrix', force: true },
  'PUT /v1/clusters/{c}/dcs/{dc}/maintenance': { reason: 'auth matrix', force: true },
  'PUT /v1/clusters/{c}/maintenance': { reason: 'auth matrix' },
  'PUT /v1/clusters/{c}/servers/{s}/status': { health: 'running', role: 'replica', connections: 7 },
  'POST /v1/tokens': { user: 'intruder', role: 'admin' },
};
const bodyOf = (route: Route) =>
  isCompat(route.family)
    ? undefined
    : routeKey(route) in BODIES
      ? BODIES[routeKey(route)]
      : route.method === 'PUT' || route.method === 'POST'
        ? {}
        : undefined;

/**
 * Query strings that make a compat call change the fixture had it got through (keyed by the unprefixed route):
 * MaxScale's set updates db2's claim (no reason, not forced) and its clear removes it; GreptimeDB's enable
 * updates the cluster claim and its disable removes it.
 */
const QUERIES: Record<string, string> = {
  'PUT /v1/servers/{s}/set': 'state=maintenance',
  'PUT /v1/servers/{s}/clear': 'state=maintenance',
  'POST /admin/maintenance': 'enable=true',
  'PUT /admin/maintenance': 'enable=false',
};

/** One row of the matrix: a route, called one way. */
interface Call {
  route: Route;
  /** The methods sent: the route's, or for an `ANY` route the ones none of its siblings takes (one per credential, in turn). */
  methods: string[];
  query: string;
  /** The role the call needs. */
  role: RouteRole;
  /** The fixture it is made against. */
  fixture: Fixture;
  /** Whether it changes state when it gets through. */
  changes: boolean;
}

function callsOf(route: Route): Call[] {
  const base = unprefixed(route.path);
  const methods = route.method === 'ANY' ? anyMethods(route) : [route.method];
  const fixture: Fixture =
    route.family === 'greptimedb' && base === '/admin/procedure-manager/resume' ? PAUSED : MATRIX;
  const call = (query: string, role: RouteRole): Call => ({
    route,
    methods,
    query,
    role,
    fixture,
    changes: mayChange(route, methods[0]!, new URLSearchParams(query)),
  });
  const query = QUERIES[`${route.method} ${base}`] ?? '';
  // GreptimeDB's legacy form: a GET that reads without `enable` and changes maintenance mode with it.
  if (route.family === 'greptimedb' && route.method === 'GET' && base === '/admin/maintenance')
    return [call('', route.role), call('enable=false', 'operator')];
  return [call(query, route.role)];
}

const CALLS: Call[] = ROUTES.flatMap(callsOf);

type Scope = 'all' | 'this' | 'other';
interface Credential {
  name: string;
  /** Undefined: the credential does not identify anyone (expect 401 on non-public routes). */
  role?: Role;
  scope: Scope;
  /** The Authorization header for a call on `cluster`, or undefined for none. */
  header(cluster: string, route: Route, index: number): Promise<string | undefined>;
}

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let env: HttpEnv;
/** Every secret this file creates: none of them may ever show up in a listing or in the table. */
const secrets: string[] = [];
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

async function token(role: Role, clusters?: string[], user = unique(role)): Promise<{ user: string; secret: string }> {
  const secret = await createToken(env.deps, role, clusters, user);
  secrets.push(secret);
  return { user, secret };
}

/** A token made through the API, for its id. */
async function apiToken(body: Record<string, unknown>): Promise<{ id: string; secret: string; body: any }> {
  const res = await env.call('POST', '/v1/tokens', body);
  expect(res.status).toBe(201);
  secrets.push(res.body.token);
  return { id: res.body.id, secret: res.body.token, body: res.body };
}

async function ok(res: Promise<{ status: number; body: any }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`fixture ${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

/**
 * A cluster in which every mutation of the route table would succeed and change something: two dcs of three
 * servers, all reported running, a claim on db2, a claim on dc2 and a cluster claim (all forced or bounded, so
 * nothing changes with time while the file runs); with `paused`, the procedure manager paused too.
 */
async function seedFixture(cluster: string, paused = false): Promise<void> {
  await ok(env.call('PUT', `/v1/clusters/${cluster}`, { engine: 'mariadb', staleAfterSeconds: 86400 }), cluster);
  const servers = [
    { name: 'db1', dc: 'dc1', role: 'primary' },
    { name: 'db2', dc: 'dc1', role: 'replica' },
    { name: 'db3', dc: 'dc1', role: 'replica' },
    { name: 'db4', dc: 'dc2', role: 'replica' },
    { name: 'db5', dc: 'dc2', role: 'replica' },
    { name: 'db6', dc: 'dc2', role: 'replica' },
  ];
  for (const s of servers)
    await ok(env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}`, { dc: s.dc, role: s.role }), s.name);
  for (const s of servers)
    await ok(
      env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}/status`, {
        health: 'running',
        role: s.role,
        connections: 1,
        openTransactions: 0,
      }),
      `report ${s.name}`,
    );
  await ok(
    env.call('PUT', `/v1/clusters/${cluster}/servers/${SERVER}/maintenance`, { reason: 'fixture', force: true }),
    'server claim',
  );
  await ok(
    env.call('PUT', `/v1/clusters/${cluster}/dcs/${DC}/maintenance`, { reason: 'fixture', force: true }),
    'dc claim',
  );
  await ok(env.call('PUT', `/v1/clusters/${cluster}/maintenance`, { reason: 'fixture' }), 'cluster claim');
  if (paused) await ok(env.call('POST', `/c/${cluster}/admin/procedure-manager/pause`), 'procedures paused');
  await seedRollout(cluster);
  await env.deps.store.mutate(
    cluster,
    (state) =>
      saveWindow(state!, undefined, {
        id: WINDOW_ID,
        cluster,
        name: 'matrix',
        schedule: 'cron(0 3 ? * SUN *)',
        timezone: 'UTC',
        duration: 'PT1H',
        durationMs: 3_600_000,
        action: 'maintenance',
        targets: { servers: ['db4'], dcs: [] },
        enabled: true,
        actor: 'matrix',
        createdAt: Date.now(),
        updatedAt: Date.now(),
        version: 0,
      }),
    {
      actor: { user: 'admin', isAdmin: true, source: 'test', requestId: `window-${cluster}` },
      window: WINDOW_ID,
      result: () => null,
    },
  );
}
const WINDOW_ID = 'matrix-window';

/** A paused rollout record (no execution runs it), for the rollout routes' `{id}`. */
const ROLLOUT_ID = 'matrix-rollout';
async function seedRollout(cluster: string): Promise<void> {
  const now = Date.now();
  const rollout: Rollout = {
    id: ROLLOUT_ID,
    cluster,
    status: 'paused',
    actor: 'matrix',
    createdAt: now,
    updatedAt: now,
    input: rolloutInput({ targetVersion: '9.9.9', servers: ['db4'] }),
    batch: -1,
    batchCount: 0,
    batchesThisExecution: 0,
    executions: [],
    alreadyUpgraded: [],
    version: 0,
  };
  await env.deps.store.mutate(
    cluster,
    (state) => ({ next: state!, events: [], rollout: { rollout, nodes: new Map() } }),
    {
      actor: { user: 'admin', isAdmin: true, source: 'test', requestId: `rollout-${cluster}` },
      rollout: { id: ROLLOUT_ID, nodes: [] },
      result: () => null,
    },
  );
}
/** Rollout and window routes name the seeded ones; the token route names a token. */
const idFor = (route: Route, token: string) =>
  route.path.includes('/rollouts/') ? ROLLOUT_ID : route.path.includes('/windows/') ? WINDOW_ID : token;

/** The fixtures as stored once seeded, before any call of the matrix: what the throwaway clusters copy. */
const pristine = new Map<Fixture, ClusterState>();

/**
 * A throwaway copy of a fixture under another name: the fixture as it was seeded, written as one new cluster in
 * one store transaction (seeding it through the API again would take some twenty transactions).
 */
async function cloneFixture(fixture: Fixture, cluster: string): Promise<string> {
  const source = pristine.get(fixture);
  if (!source) throw new Error(`no fixture ${fixture}`);
  const actor = { user: 'admin', isAdmin: true, source: 'test', requestId: `clone-${cluster}` };
  await env.deps.store.mutate(
    cluster,
    (state) => {
      if (state) throw new Error(`${cluster} exists`);
      const next = { ...source, cluster: { ...source.cluster, id: cluster, revision: 0, createdAt: env.deps.now() } };
      return { next, events: [event('register-cluster', { kind: 'cluster' }, undefined, next)] };
    },
    { actor, result: () => undefined },
  );
  return cluster;
}

/** The servers and revision of one cluster, read with the admin token. */
async function clusterSnapshot(cluster: string) {
  const res = await env.call('GET', `/v1/clusters/${cluster}/servers`);
  expect(res.status).toBe(200);
  return { revision: res.body.revision as number, servers: res.body.servers };
}

/** What a forbidden call (or an allowed read) must leave alone, read with the admin token. */
async function snapshot() {
  const [matrix, paused, clusters, tokens] = await Promise.all([
    clusterSnapshot(MATRIX),
    clusterSnapshot(PAUSED),
    env.call('GET', '/v1/clusters'),
    env.call('GET', '/v1/tokens'),
  ]);
  expect([clusters.status, tokens.status]).toEqual([200, 200]);
  return { matrix, paused, clusters: clusters.body.clusters, tokens: tokens.body.tokens };
}

const paramNames = (route: Route) => [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

function pathOf(route: Route, values: Record<string, string>, query = ''): string {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`the auth matrix has no fixture value for {${name}} (${routeKey(route)})`);
    return encodeURIComponent(value);
  });
  return query ? `${path}?${query}` : path;
}

async function send(route: Route, path: string, authorization: string | undefined) {
  return env.call(route.method, path, bodyOf(route), {
    token: null,
    headers: authorization === undefined ? {} : { authorization },
  });
}

/** A matrix call as a client of its family makes it, answered raw (the error format is part of the check). */
async function sendCall(route: Route, method: string, path: string, authorization: string | undefined) {
  const body = bodyOf(route);
  const headers: Record<string, string> = {
    ...(authorization !== undefined && { authorization }),
    ...(body !== undefined && { 'content-type': 'application/json' }),
    // maxctrl's PUTs: a form content type and no body.
    ...(route.family === 'maxscale' && method === 'PUT' && { 'content-type': 'application/x-www-form-urlencoded' }),
  };
  const res = await fetch(`${env.url}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const reply: Reply = { status: res.status, headers: Object.fromEntries(res.headers), text };
  return { ...reply, formatProblems: () => errorFormatProblems(route.family, reply, { method, headers }) };
}

// ---- the credentials ----------------------------------------------------------------------------------------

let admin: { user: string; secret: string };
/** Per (role, scope, cluster): tokens are cheap but there is no need for one per call. */
const tokenCache = new Map<string, Promise<{ user: string; secret: string }>>();
const scoped = (role: Role, scope: Scope, cluster: string) => {
  const clusters = scope === 'all' ? undefined : [scope === 'this' ? cluster : ELSEWHERE];
  const key = `${role}/${clusters?.join(',') ?? '*'}`;
  if (!tokenCache.has(key)) tokenCache.set(key, token(role, clusters));
  return tokenCache.get(key)!;
};

/** Malformed headers, each carrying the admin secret somewhere: none may be read as that admin. */
const MALFORMED: [string, (secret: string) => string][] = [
  ['unknown scheme', (secret) => `Token ${secret}`],
  ['bearer without a token', () => 'Bearer'],
  ['Basic without a colon', (secret) => `Basic ${Buffer.from(secret).toString('base64')}`],
  ['Basic not base64', () => 'Basic !!!'],
  ['no scheme', (secret) => secret],
  ['Basic with an empty user', (secret) => `Basic ${Buffer.from(`:${secret}`).toString('base64')}`],
];

const bearerOf = (role: Role, scope: Scope): Credential => ({
  name: `${role}${scope === 'this' ? ' of this cluster' : scope === 'other' ? ' limited to another cluster' : ''}`,
  role,
  scope,
  header: async (cluster) => `Bearer ${(await scoped(role, scope, cluster)).secret}`,
});

const CREDENTIALS: Credential[] = [
  { name: 'no credentials', scope: 'all', header: async () => undefined },
  { name: 'bad token', scope: 'all', header: async () => `Bearer mct_${randomBytes(32).toString('base64url')}` },
  {
    name: 'malformed Authorization',
    scope: 'all',
    header: async (_c, _r, i) => MALFORMED[i % MALFORMED.length]![1](admin.secret),
  },
  {
    name: 'Basic with the admin token but another user',
    scope: 'all',
    header: async () => basic('intruder', admin.secret),
  },
  bearerOf('viewer', 'all'),
  bearerOf('agent', 'this'),
  bearerOf('agent', 'other'),
  bearerOf('operator', 'all'),
  bearerOf('operator', 'other'),
  bearerOf('admin', 'all'),
  {
    name: 'Basic operator (user:token)',
    role: 'operator',
    scope: 'all',
    header: async (cluster) => {
      const t = await scoped('operator', 'all', cluster);
      return basic(t.user, t.secret);
    },
  },
];

type Expected = 'allowed' | 401 | 403;
/** The spec, not the implementation: see the file comment. */
function expected(call: Call, credential: Credential): Expected {
  if (call.role === 'public') return 'allowed';
  if (!credential.role) return 401;
  if (rank(credential.role) < rank(call.role)) return 403;
  if (credential.scope === 'other' && actsOnCluster(call.route)) return 403;
  return 'allowed';
}

const cases = CALLS.flatMap((call, r) =>
  CREDENTIALS.map((credential, k) => {
    const index = r * CREDENTIALS.length + k;
    return {
      call,
      credential,
      index,
      method: call.methods[index % call.methods.length]!,
      expect: expected(call, credential),
    };
  }),
);
type Case = (typeof cases)[number];
const forbidden = cases.filter((c) => c.expect !== 'allowed');
const allowedReads = cases.filter((c) => c.expect === 'allowed' && !c.call.changes);
const allowedChanges = cases.filter((c) => c.expect === 'allowed' && c.call.changes);
const name = (c: Case) =>
  `${c.call.route.method === 'ANY' ? `ANY(${c.method})` : c.method} ${c.call.route.path}${c.call.query ? `?${c.call.query}` : ''} × ${c.credential.name}${c.credential.name.startsWith('malformed') ? ` (${MALFORMED[c.index % MALFORMED.length]![0]})` : ''} → ${c.expect}`;

let victim: { id: string; secret: string };

beforeAll(async () => {
  env = await httpEnv();
  admin = { user: 'admin', secret: env.admin };
  secrets.push(env.admin);
  await seedFixture(MATRIX);
  await seedFixture(PAUSED, true);
  for (const fixture of FIXTURES) pristine.set(fixture, (await env.deps.store.readCluster(fixture))!);
  await ok(env.call('PUT', `/v1/clusters/${ELSEWHERE}`, { engine: 'generic' }), ELSEWHERE);
  victim = await apiToken({ user: 'victim', role: 'viewer' });
  // Every credential the forbidden half and the reads use exists before the first snapshot.
  for (const fixture of FIXTURES) for (const c of CREDENTIALS) await c.header(fixture, ROUTES[0]!, 0);
});
/** For `npm run reliability`'s report: every case of the matrix and the checks around it, and which failed. */
const run = { cases: 0, failed: [] as string[] };
afterEach(({ task }) => {
  run.cases++;
  if (task.result?.errors?.length) run.failed.push(task.name);
});

afterAll(async () => {
  recordReliability('s1-auth', {
    tier: 'S1/S2 auth matrix over the route table',
    cases: run.cases,
    faults: 0,
    invariants: [
      "forbidden: 401/403 in the family's format, nothing written, state unchanged",
      'allowed: reaches the operation',
      'Basic = bearer',
      'revoked: refused (here at once, elsewhere within the cache lifetime)',
      'secrets: shown once, stored hashed, never logged',
    ],
    violations: run.failed,
  });
  await env?.close();
});

describe('the matrix covers the route table', () => {
  it('has a case for every route and credential, and both outcomes for every non-public route', () => {
    expect(cases).toHaveLength(CALLS.length * CREDENTIALS.length);
    expect(new Set(CALLS.map((c) => c.route))).toEqual(new Set(ROUTES));
    for (const route of ROUTES) {
      const outcomes = new Set(cases.filter((c) => c.call.route === route).map((c) => c.expect));
      if (route.role === 'public') expect([...outcomes]).toEqual(['allowed']);
      else expect([...outcomes].sort()).toEqual(expect.arrayContaining([401, 'allowed']));
      // A cluster-limited token is refused wherever the route acts on a cluster, the compat families included.
      if (route.role !== 'public' && actsOnCluster(route)) expect(outcomes).toContain(403);
    }
    for (const call of CALLS.filter((c) => c.route.method === 'ANY')) expect(call.methods.length).toBeGreaterThan(0);
    expect(
      CALLS.some((c) => c.route.family === 'greptimedb' && c.route.method === 'GET' && c.role === 'operator'),
    ).toBe(true);
    expect(forbidden.length).toBeGreaterThan(0);
    expect(allowedReads.length).toBeGreaterThan(0);
    expect(allowedChanges.length).toBeGreaterThan(0);
  });
});

/**
 * The compat families' default cluster is process-wide: calls in flight at the same time must agree on it.
 * Calls on the same cluster share the lease; one on another cluster waits its turn (first come, first served).
 */
class DefaultClusterLease {
  private current: string | undefined;
  private holders = 0;
  private readonly queue: { cluster: string; admit: () => void }[] = [];

  async run<T>(cluster: string, fn: () => Promise<T>): Promise<T> {
    if (this.queue.length > 0 || (this.holders > 0 && this.current !== cluster))
      await new Promise<void>((admit) => this.queue.push({ cluster, admit }));
    else {
      this.current = cluster;
      this.holders++;
    }
    setDefaultClusters(cluster);
    try {
      return await fn();
    } finally {
      if (--this.holders === 0) this.admitNext();
    }
  }

  private admitNext(): void {
    const head = this.queue[0];
    if (!head) return;
    this.current = head.cluster;
    while (this.queue[0]?.cluster === head.cluster) {
      this.holders++;
      this.queue.shift()!.admit();
    }
  }
}
const defaults = new DefaultClusterLease();

/** Calls `c` against its fixture: the answer, and the DynamoDB writes and the state around the call. */
async function callOnFixture(c: Case) {
  const cluster = c.call.fixture;
  const path = pathOf(
    c.call.route,
    { c: cluster, s: SERVER, pod: SERVER, dc: DC, id: idFor(c.call.route, victim.id) },
    c.call.query,
  );
  const authorization = await c.credential.header(cluster, c.call.route, c.index);
  return defaults.run(cluster, async () => {
    const before = await snapshot();
    const writesBefore = env.writes.length;
    const res = await sendCall(c.call.route, c.method, path, authorization);
    const wrote = env.writes.slice(writesBefore);
    const after = await snapshot();
    return { res, wrote, before, after };
  });
}

/*
 * The forbidden calls and the allowed reads run a few at a time (describe.concurrent): none of them may write
 * anything, so a write or a change seen while one is in flight fails it (and perhaps a neighbour too).
 */
describe.concurrent("forbidden calls: 401/403 in the family's error format, and nothing changes", () => {
  it.each(forbidden.map((c) => [name(c), c] as const))('%s', async (_name, c) => {
    const { res, wrote, before, after } = await callOnFixture(c);

    expect(res.status, res.text).toBe(c.expect);
    expect(res.formatProblems(), `${res.headers['content-type']} ${res.text}`).toEqual([]);
    expect(wrote).toEqual([]);
    expect(after).toEqual(before);
  });
});

describe.concurrent('allowed reads reach the operation and change nothing (ANY routes: 405)', () => {
  it.each(allowedReads.map((c) => [name(c), c] as const))('%s', async (_name, c) => {
    const { res, wrote, before, after } = await callOnFixture(c);

    if (c.call.route.method === 'ANY') {
      expect(res.status, res.text).toBe(405);
      expect(res.formatProblems(), `${res.headers['content-type']} ${res.text}`).toEqual([]);
    } else {
      expect(res.status, res.text).toBeGreaterThanOrEqual(200);
      expect(res.status, res.text).toBeLessThan(300);
    }
    expect(wrote).toEqual([]);
    expect(after).toEqual(before);
  });
});

describe('allowed changes reach the operation (throwaway clusters and tokens)', () => {
  it.each(allowedChanges.map((c) => [name(c), c] as const))('%s', async (_name, c) => {
    const { route } = c.call;
    const values: Record<string, string> = { s: SERVER, pod: SERVER, dc: DC };
    // A fresh copy of the case's fixture wherever the call acts on a cluster.
    if (actsOnCluster(route)) values.c = await cloneFixture(c.call.fixture, unique('sandbox'));
    if (paramNames(route).includes('id'))
      values.id = idFor(route, (await apiToken({ user: unique('throwaway'), role: 'viewer' })).id);
    const cluster = values.c ?? MATRIX;
    setDefaultClusters(cluster);
    const authorization = await c.credential.header(cluster, route, c.index);
    const before = isCompat(route.family) ? await clusterSnapshot(cluster) : undefined;
    const res = await sendCall(route, c.method, pathOf(route, values, c.call.query), authorization);

    expect(res.status, res.text).not.toBe(401);
    expect(res.status, res.text).not.toBe(403);
    expect(res.status, res.text).toBeLessThan(500);
    if (res.status >= 400 && !isCompat(route.family))
      expect(JSON.parse(res.text)?.error?.code).not.toMatch(/^(Unauthorized|Forbidden)$/);
    if (before) {
      // On a fresh copy of the fixture every compat change succeeds and changes it: the forbidden half would have seen it.
      expect(res.status, res.text).toBeGreaterThanOrEqual(200);
      expect(res.status, res.text).toBeLessThan(300);
      expect((await clusterSnapshot(cluster)).revision).toBeGreaterThan(before.revision);
    }
  });
});

describe('compat challenges', () => {
  it('MaxScale challenges Basic realm="maxscale", except an XMLHttpRequest', async () => {
    setDefaultClusters(MATRIX);
    for (const path of ['/v1/servers', `/c/${MATRIX}/v1/servers`]) {
      const plain = await fetch(`${env.url}${path}`);
      expect(plain.status).toBe(401);
      expect(plain.headers.get('www-authenticate')).toBe('Basic realm="maxscale"');
      expect(await plain.json()).toEqual({ errors: [{ detail: 'Access denied' }] });
      const xhr = await fetch(`${env.url}${path}`, { headers: { 'x-requested-with': 'XMLHttpRequest' } });
      expect(xhr.status).toBe(401);
      expect(xhr.headers.get('www-authenticate')).toBeNull();
      expect(await xhr.json()).toEqual({ errors: [{ detail: 'Access denied' }] });
    }
  });

  it('Cassandra and GreptimeDB take Basic credentials like bearer tokens, and refuse a wrong secret', async () => {
    setDefaultClusters(MATRIX);
    const t = await token('viewer');
    for (const path of [
      '/pods/db1',
      '/config',
      '/admin/maintenance/status',
      `/c/${MATRIX}/admin/procedure-manager/status`,
    ]) {
      expect(
        (await fetch(`${env.url}${path}`, { headers: { authorization: basic(t.user, t.secret) } })).status,
        path,
      ).toBe(200);
      const wrong = await fetch(`${env.url}${path}`, { headers: { authorization: basic(t.user, `${t.secret}x`) } });
      expect(wrong.status, path).toBe(401);
      expect(wrong.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(wrong.headers.get('www-authenticate')).toBeTruthy();
    }
  });
});

describe('Basic credentials', () => {
  it('work like the bearer token of the same user, for every role', async () => {
    const routes = [
      ROUTES.find((r) => r.role === 'viewer')!,
      ROUTES.find((r) => r.role === 'admin' && r.method === 'GET' && !paramNames(r).length)!,
    ];
    for (const role of ORDER) {
      const t = await token(role);
      for (const route of routes) {
        const path = pathOf(route, { c: MATRIX });
        const viaBearer = await send(route, path, `Bearer ${t.secret}`);
        const viaBasic = await send(route, path, basic(t.user, t.secret));
        const viaLowerCase = await send(
          route,
          path,
          `basic ${Buffer.from(`${t.user}:${t.secret}`).toString('base64')}`,
        );
        expect(viaBearer.status).toBe(rank(role) >= rank(route.role as Role) ? 200 : 403);
        expect([viaBasic.status, viaLowerCase.status]).toEqual([viaBearer.status, viaBearer.status]);
      }
    }
  });

  it('are refused with the right user and a wrong secret', async () => {
    const res = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, {
      token: null,
      headers: { authorization: basic(admin.user, `${admin.secret}x`) },
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('Unauthorized');
  });
});

describe('revocation', () => {
  it('refuses a revoked token at once on the same process', async () => {
    const t = await apiToken({ user: 'revokee', role: 'operator' });
    const warm = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, { token: t.secret });
    expect(warm.status).toBe(200); // the token is now in the Authenticator's cache

    const revoke = await env.call('DELETE', `/v1/tokens/${t.id}`);
    expect(revoke.status).toBe(200);

    const bearer = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, { token: t.secret });
    expect(bearer.status).toBe(401);
    expect(bearer.body.error.code).toBe('Unauthorized');
    expect(bearer.headers.get('www-authenticate')).toBeTruthy();
    const viaBasic = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, {
      token: null,
      headers: { authorization: basic('revokee', t.secret) },
    });
    expect(viaBasic.status).toBe(401);

    const again = await env.call('DELETE', `/v1/tokens/${t.id}`);
    expect(again.status).toBe(404);
    const listed = await env.call('GET', '/v1/tokens');
    expect(listed.body.tokens.map((x: { id: string }) => x.id)).not.toContain(t.id);
  });
});

describe('revocation seen by another process', () => {
  it(`is honoured there once its token cache entry expires (${TOKEN_CACHE_MS / 1000} s), not before`, async () => {
    // A second process: its own Authenticator (and cache) over the same table, on its own clock.
    const clock = { now: Date.now() };
    const other = createDeps(env.client, env.table, () => clock.now);
    const server = await startHttpServer(other, { port: 0 });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const t = await apiToken({ user: 'revokee-elsewhere', role: 'viewer' });
      const read = () =>
        fetch(`${url}/v1/clusters/${MATRIX}`, { headers: { authorization: `Bearer ${t.secret}` } }).then(
          (r) => r.status,
        );
      expect(await read()).toBe(200); // cached there now
      expect((await env.call('DELETE', `/v1/tokens/${t.id}`)).status).toBe(200);
      clock.now += TOKEN_CACHE_MS - 1000;
      expect(await read()).toBe(200); // within the cache's lifetime, as the README says
      clock.now += 2000;
      expect(await read()).toBe(401);
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });
});

describe('no secret in any log line', () => {
  it("the local server's output never holds a token secret or its hash, whatever the requests", async () => {
    const admin = `mct_${randomBytes(32).toString('base64url')}`;
    const local = await startLocal({
      port: await freePort(),
      args: [
        '--dynamodb-endpoint',
        inject('dynamodbEndpoint'),
        '--table',
        `logs-${randomBytes(4).toString('hex')}`,
        '--sweep-interval',
        '0',
      ],
      adminToken: admin,
      timeoutMs: 60_000,
      stopOnTimeout: true,
    });
    try {
      const call = (method: string, path: string, authorization?: string, body?: unknown) =>
        fetch(`${local.url}${path}`, {
          method,
          headers: {
            ...(authorization && { authorization }),
            ...(body !== undefined && { 'content-type': 'application/json' }),
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      const created = (await (
        await call('POST', '/v1/tokens', `Bearer ${admin}`, { user: 'logged', role: 'operator' })
      ).json()) as { id: string; token: string };
      const wrong = `mct_${randomBytes(32).toString('base64url')}`;
      const secrets = [admin, created.token, wrong];
      const answers = await Promise.all([
        call('GET', '/v1/clusters', `Bearer ${created.token}`),
        call('GET', '/v1/clusters', `Bearer ${wrong}`),
        call('GET', '/v1/clusters', basic('logged', wrong)),
        call('GET', '/v1/clusters', basic('admin', admin)),
        call('PUT', '/v1/clusters/logs', `Bearer ${created.token}`, { engine: 'mariadb' }), // forbidden: operator
        call('PUT', '/v1/clusters/logs', `Bearer ${admin}`, '{not json'),
        call('GET', `/v1/clusters/logs?token=${created.token}`, `Bearer ${admin}`),
        call('GET', '/c/logs/v1/servers', basic('logged', wrong)),
        call('GET', '/c/logs/admin/maintenance', `Bearer ${wrong}`),
        call('DELETE', `/v1/tokens/${created.id}`, `Bearer ${admin}`),
        call('GET', '/v1/clusters', `Bearer ${created.token}`),
      ]);
      expect(answers.map((a) => a.status).filter((s) => s >= 500)).toEqual([]);
      await stopLocal(local);
      const output = local.output();
      expect(output.length, 'the server did log something').toBeGreaterThan(0);
      for (const secret of secrets) {
        expect(output).not.toContain(secret);
        expect(output).not.toContain(createHash('sha256').update(secret).digest('hex'));
        expect(output).not.toContain(Buffer.from(`logged:${secret}`).toString('base64'));
      }
    } finally {
      await stopLocal(local);
    }
  });
});

describe('token secrets', () => {
  it('appear only in the answer to POST /v1/tokens', async () => {
    const created = await apiToken({ user: 'shown-once', role: 'viewer', clusters: [MATRIX] });
    expect(created.body).toMatchObject({
      id: expect.any(String),
      user: 'shown-once',
      role: 'viewer',
      clusters: [MATRIX],
      token: expect.any(String),
    });
    expect(created.secret.length).toBeGreaterThanOrEqual(32);
    // The secret is the credential.
    expect((await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, { token: created.secret })).status).toBe(200);

    const list = await env.call('GET', '/v1/tokens');
    const entry = list.body.tokens.find((t: { id: string }) => t.id === created.id);
    expect(entry).toMatchObject({ user: 'shown-once', role: 'viewer', clusters: [MATRIX] });
    expect(JSON.stringify(list.body)).not.toContain(created.secret);

    const revoked = await env.call('DELETE', `/v1/tokens/${created.id}`);
    expect(revoked.status).toBe(200);
    expect(JSON.stringify(revoked.body)).not.toContain(created.secret);
  });

  it('never show up in the token list, as the secret or as its hash', async () => {
    const list = await env.call('GET', '/v1/tokens');
    expect(list.status).toBe(200);
    expect(list.body.tokens.length).toBeGreaterThan(5);
    const text = JSON.stringify(list.body);
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256(secret));
    }
    for (const t of list.body.tokens) {
      expect(Object.keys(t)).not.toEqual(expect.arrayContaining(['hash']));
      expect(Object.keys(t)).not.toEqual(expect.arrayContaining(['token']));
      expect(Object.keys(t)).not.toEqual(expect.arrayContaining(['secret']));
      expect(t).toMatchObject({ id: expect.any(String), user: expect.any(String), role: expect.any(String) });
    }
  });

  it('are stored hashed: no item in the table holds a secret', async () => {
    const items: string[] = [];
    let ExclusiveStartKey: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const out = await env.client.send(new ScanCommand({ TableName: env.table, ExclusiveStartKey }));
      for (const item of out.Items ?? []) items.push(JSON.stringify(item));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const all = items.join('\n');
    expect(all).toContain(victim.id); // the scan does see the tokens
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
