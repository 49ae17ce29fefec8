/**
 * S1, the auth matrix, generated from the route table: every route × every kind of credential. The oracle is
 * the spec (api-native.md): public routes are open; otherwise missing or bad credentials are 401, a role below
 * the route's role is 403, a token limited to other clusters is 403 on `{c}` routes; anything else is allowed.
 * Forbidden calls are made against a fixture in which the mutations, had they got through, would change
 * something (all but POST .../failover: the fixture's cluster claim, there so that a clear would show, pauses
 * automation), and the fixture, the cluster list and the token list are compared before and after. Allowed
 * calls run against throwaway clusters and tokens, so they may mutate freely.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey, type Role, type Route } from '../../functions/http/routes.js';
import { createToken, httpEnv, type HttpEnv } from '../support/env.js';

/** The spec's linear order: viewer < agent < operator < admin. */
const ORDER: Role[] = ['viewer', 'agent', 'operator', 'admin'];
const rank = (role: Role) => ORDER.indexOf(role);

const MATRIX = 'matrix';
const ELSEWHERE = 'elsewhere';
/** The fixture server and dc that the path parameters name: both carry a claim, so a clear would change them. */
const SERVER = 'db2';
const DC = 'dc2';

/**
 * Bodies that would succeed, and change the fixture, if the call got through. Routes not listed get `{}`
 * (PUT/POST) or no body; a new route therefore still runs through the matrix.
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
const bodyOf = (route: Route) => (routeKey(route) in BODIES ? BODIES[routeKey(route)] : route.method === 'PUT' || route.method === 'POST' ? {} : undefined);

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
 * nothing changes with time while the file runs).
 */
async function seedFixture(cluster: string): Promise<void> {
  await ok(env.call('PUT', `/v1/clusters/${cluster}`, { engine: 'mariadb', staleAfterSeconds: 86400 }), cluster);
  const servers = [
    { name: 'db1', dc: 'dc1', role: 'primary' },
    { name: 'db2', dc: 'dc1', role: 'replica' },
    { name: 'db3', dc: 'dc1', role: 'replica' },
    { name: 'db4', dc: 'dc2', role: 'replica' },
    { name: 'db5', dc: 'dc2', role: 'replica' },
    { name: 'db6', dc: 'dc2', role: 'replica' },
  ];
  for (const s of servers) await ok(env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}`, { dc: s.dc, role: s.role }), s.name);
  for (const s of servers) await ok(env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}/status`, { health: 'running', role: s.role, connections: 1, openTransactions: 0 }), `report ${s.name}`);
  await ok(env.call('PUT', `/v1/clusters/${cluster}/servers/${SERVER}/maintenance`, { reason: 'fixture', force: true }), 'server claim');
  await ok(env.call('PUT', `/v1/clusters/${cluster}/dcs/${DC}/maintenance`, { reason: 'fixture', force: true }), 'dc claim');
  await ok(env.call('PUT', `/v1/clusters/${cluster}/maintenance`, { reason: 'fixture' }), 'cluster claim');
}

/** What a forbidden call must leave alone, read with the admin token. */
async function snapshot() {
  const [servers, clusters, tokens] = await Promise.all([
    env.call('GET', `/v1/clusters/${MATRIX}/servers`),
    env.call('GET', '/v1/clusters'),
    env.call('GET', '/v1/tokens'),
  ]);
  expect([servers.status, clusters.status, tokens.status]).toEqual([200, 200, 200]);
  return { revision: servers.body.revision, servers: servers.body.servers, clusters: clusters.body.clusters, tokens: tokens.body.tokens };
}

const paramNames = (route: Route) => [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

function pathOf(route: Route, values: Record<string, string>): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`the auth matrix has no fixture value for {${name}} (${routeKey(route)})`);
    return encodeURIComponent(value);
  });
}

async function send(route: Route, path: string, authorization: string | undefined) {
  return env.call(route.method, path, bodyOf(route), { token: null, headers: authorization === undefined ? {} : { authorization } });
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
  { name: 'malformed Authorization', scope: 'all', header: async (_c, _r, i) => MALFORMED[i % MALFORMED.length]![1](admin.secret) },
  { name: 'Basic with the admin token but another user', scope: 'all', header: async () => basic('intruder', admin.secret) },
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
function expected(route: Route, credential: Credential): Expected {
  if (route.role === 'public') return 'allowed';
  if (!credential.role) return 401;
  if (rank(credential.role) < rank(route.role)) return 403;
  if (credential.scope === 'other' && paramNames(route).includes('c')) return 403;
  return 'allowed';
}

const cases = ROUTES.flatMap((route, r) =>
  CREDENTIALS.map((credential, k) => ({ route, credential, index: r * CREDENTIALS.length + k, expect: expected(route, credential) })),
);
const forbidden = cases.filter((c) => c.expect !== 'allowed');
const allowed = cases.filter((c) => c.expect === 'allowed');
const name = (c: (typeof cases)[number]) =>
  `${routeKey(c.route)} × ${c.credential.name}${c.credential.name.startsWith('malformed') ? ` (${MALFORMED[c.index % MALFORMED.length]![0]})` : ''} → ${c.expect}`;

let victim: { id: string; secret: string };

beforeAll(async () => {
  env = await httpEnv();
  admin = { user: 'admin', secret: env.admin };
  secrets.push(env.admin);
  await seedFixture(MATRIX);
  await ok(env.call('PUT', `/v1/clusters/${ELSEWHERE}`, { engine: 'generic' }), ELSEWHERE);
  victim = await apiToken({ user: 'victim', role: 'viewer' });
  // Every credential the forbidden half uses exists before the first snapshot.
  for (const c of CREDENTIALS) await c.header(MATRIX, ROUTES[0]!, 0);
});
afterAll(() => env?.close());

describe('the matrix covers the route table', () => {
  it('has a case for every route and credential, and both outcomes for every non-public route', () => {
    expect(cases).toHaveLength(ROUTES.length * CREDENTIALS.length);
    for (const route of ROUTES) {
      const outcomes = new Set(cases.filter((c) => c.route === route).map((c) => c.expect));
      if (route.role === 'public') expect([...outcomes]).toEqual(['allowed']);
      else expect([...outcomes].sort()).toEqual(expect.arrayContaining([401, 'allowed']));
    }
    expect(forbidden.length).toBeGreaterThan(0);
  });
});

describe('forbidden calls: 401/403, a JSON error, and nothing changes', () => {
  it.each(forbidden.map((c) => [name(c), c] as const))('%s', async (_name, c) => {
    const path = pathOf(c.route, { c: MATRIX, s: SERVER, dc: DC, id: victim.id });
    const authorization = await c.credential.header(MATRIX, c.route, c.index);
    const before = await snapshot();
    const res = await send(c.route, path, authorization);
    const after = await snapshot();

    expect(res.status, JSON.stringify(res.body)).toBe(c.expect);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ error: { code: c.expect === 401 ? 'Unauthorized' : 'Forbidden', message: expect.any(String) } });
    if (c.expect === 401) expect(res.headers.get('www-authenticate')).toBeTruthy();
    expect(after).toEqual(before);
  });
});

describe('allowed calls reach the operation (throwaway clusters and tokens)', () => {
  it.each(allowed.map((c) => [name(c), c] as const))('%s', async (_name, c) => {
    const names = paramNames(c.route);
    const values: Record<string, string> = { s: SERVER, dc: DC };
    if (names.includes('c')) {
      values.c = unique('sandbox');
      await seedFixture(values.c);
    }
    if (names.includes('id')) values.id = (await apiToken({ user: unique('throwaway'), role: 'viewer' })).id;
    const authorization = await c.credential.header(values.c ?? MATRIX, c.route, c.index);
    const res = await send(c.route, pathOf(c.route, values), authorization);

    expect(res.status, JSON.stringify(res.body)).not.toBe(401);
    expect(res.status, JSON.stringify(res.body)).not.toBe(403);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    if (res.status >= 400) expect(res.body?.error?.code).not.toMatch(/^(Unauthorized|Forbidden)$/);
  });
});

describe('Basic credentials', () => {
  it('work like the bearer token of the same user, for every role', async () => {
    const routes = [ROUTES.find((r) => r.role === 'viewer')!, ROUTES.find((r) => r.role === 'admin' && r.method === 'GET' && !paramNames(r).length)!];
    for (const role of ORDER) {
      const t = await token(role);
      for (const route of routes) {
        const path = pathOf(route, { c: MATRIX });
        const viaBearer = await send(route, path, `Bearer ${t.secret}`);
        const viaBasic = await send(route, path, basic(t.user, t.secret));
        const viaLowerCase = await send(route, path, `basic ${Buffer.from(`${t.user}:${t.secret}`).toString('base64')}`);
        expect(viaBearer.status).toBe(rank(role) >= rank(route.role as Role) ? 200 : 403);
        expect([viaBasic.status, viaLowerCase.status]).toEqual([viaBearer.status, viaBearer.status]);
      }
    }
  });

  it('are refused with the right user and a wrong secret', async () => {
    const res = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, { token: null, headers: { authorization: basic(admin.user, `${admin.secret}x`) } });
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
    const viaBasic = await env.call('GET', `/v1/clusters/${MATRIX}`, undefined, { token: null, headers: { authorization: basic('revokee', t.secret) } });
    expect(viaBasic.status).toBe(401);

    const again = await env.call('DELETE', `/v1/tokens/${t.id}`);
    expect(again.status).toBe(404);
    const listed = await env.call('GET', '/v1/tokens');
    expect(listed.body.tokens.map((x: { id: string }) => x.id)).not.toContain(t.id);
  });
});

describe('token secrets', () => {
  it('appear only in the answer to POST /v1/tokens', async () => {
    const created = await apiToken({ user: 'shown-once', role: 'viewer', clusters: [MATRIX] });
    expect(created.body).toMatchObject({ id: expect.any(String), user: 'shown-once', role: 'viewer', clusters: [MATRIX], token: expect.any(String) });
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
