/**
 * The compat families (docs/compat.md) as the auth matrix and the fuzzer see them: which cluster an unprefixed
 * compat route acts on, which requests change state, and the oracle for each family's error format.
 */
import { expect } from 'vitest';
import { DEFAULT_CLUSTER_ENV } from '../../functions/compat/common.js';
import {
  COMPAT_FAMILIES,
  isCompat,
  ROUTES,
  type Family,
  type Method,
  type Route,
} from '../../functions/http/routes.js';

/** Points every compat family's default cluster (read per request) at `cluster`. */
export function setDefaultClusters(cluster: string): void {
  for (const family of COMPAT_FAMILIES) process.env[DEFAULT_CLUSTER_ENV[family]] = cluster;
}

/** The cluster a route acts on: its `{c}`, else (compat routes without the prefix) the family's default. */
export const actsOnCluster = (route: Route) => route.path.includes('{c}') || isCompat(route.family);

/** The path without the `/c/{c}` prefix: the same operation as the unprefixed compat route. */
export const unprefixed = (path: string) => path.replace(/^\/c\/\{c\}/, '');

/** The concrete methods an `ANY` route answers (405): every method that no sibling route of its path takes. */
export function anyMethods(
  route: Route,
  candidates: readonly string[] = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
): string[] {
  const siblings = new Set<Method>(ROUTES.filter((r) => r.path === route.path && r !== route).map((r) => r.method));
  return candidates.filter((m) => !siblings.has(m as Method));
}

/**
 * Whether a request on `route` may change state if it succeeds. Reads are GETs, except GreptimeDB's legacy
 * `GET /admin/maintenance?enable=...`; Cassandra's `PUT /config` is a read.
 */
export function mayChange(route: Route, method: string, query: URLSearchParams): boolean {
  const path = unprefixed(route.path);
  if (route.method === 'ANY') return false;
  if (route.family === 'greptimedb' && method === 'GET' && path === '/admin/maintenance') return query.has('enable');
  if (route.family === 'cassandra' && path === '/config') return false;
  return method !== 'GET' && method !== 'HEAD';
}

export interface Reply {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface RequestSeen {
  method: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

const header = (reply: Reply, name: string) => {
  const v = reply.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

const parse = (text: string): { ok: true; value: any } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

/**
 * What is wrong with a ≥ 400 answer in `family`'s error format (README "API reference", docs/compat.md); empty when
 * nothing is. Native: JSON `{error:{code,message}}`. MaxScale: JSON `{"errors":[{"detail"}]}` (401 `Access
 * denied` with `WWW-Authenticate: Basic realm="maxscale"` unless the request says XMLHttpRequest, 403
 * `Administrative access required`), an unknown server a 404 with an empty body. Cassandra and GreptimeDB: plain
 * text; GreptimeDB's one JSON refusal is the 409 `{"enabled":true}` with an X-Maintctl-Reason header. Every
 * 401 but MaxScale's XHR one challenges with WWW-Authenticate. `gateway`: an answer no route gave (no such
 * route, wrong method, a body over the limit), which the local stand-in for API Gateway writes as native JSON.
 */
export function errorFormatProblems(family: Family | 'gateway', reply: Reply, request: RequestSeen): string[] {
  if (reply.status < 400) return [];
  const problems: string[] = [];
  const type = header(reply, 'content-type') ?? '';
  const challenge = header(reply, 'www-authenticate');
  const head = request.method === 'HEAD';
  const json = /^application\/json(;|$)/i.test(type);
  const plain = /^text\/plain(;|$)/i.test(type);

  if (family === 'maxscale') {
    const xhr = request.headers['x-requested-with']?.toLowerCase() === 'xmlhttprequest';
    if (reply.status === 404) {
      if (reply.text !== '') problems.push('a MaxScale 404 must have an empty body');
      return problems;
    }
    if (!json) problems.push(`a MaxScale error must be application/json, not ${JSON.stringify(type)}`);
    if (!head) {
      const p = parse(reply.text);
      const errors = p.ok ? p.value?.errors : undefined;
      if (!Array.isArray(errors) || errors.length === 0 || !errors.every((e: any) => typeof e?.detail === 'string')) {
        problems.push('a MaxScale error must be {"errors":[{"detail":"..."}]}');
      } else if (reply.status === 401 && errors[0].detail !== 'Access denied')
        problems.push('a MaxScale 401 must say Access denied');
      else if (reply.status === 403 && errors[0].detail !== 'Administrative access required')
        problems.push('a MaxScale 403 must say Administrative access required');
    }
    if (reply.status === 401 && !xhr && challenge !== 'Basic realm="maxscale"')
      problems.push(`a MaxScale 401 must challenge Basic realm="maxscale", not ${challenge}`);
    if (reply.status === 401 && xhr && challenge !== undefined)
      problems.push('a MaxScale 401 to an XMLHttpRequest must not challenge');
    return problems;
  }

  if (family === 'cassandra' || family === 'greptimedb') {
    const heldRefusal = family === 'greptimedb' && reply.status === 409 && json;
    if (heldRefusal) {
      const p = parse(reply.text);
      if (!head && !(p.ok && JSON.stringify(p.value) === '{"enabled":true}'))
        problems.push('the only GreptimeDB JSON refusal is the 409 {"enabled":true}');
      if (!header(reply, 'x-maintctl-reason'))
        problems.push('a GreptimeDB 409 {"enabled":true} must say why in X-Maintctl-Reason');
      return problems;
    }
    if (!plain) problems.push(`a ${family} error must be text/plain, not ${JSON.stringify(type)}`);
    if (!head && reply.text.trim() === '') problems.push(`a ${family} error must say what is wrong`);
    if (!head && reply.status === 401 && reply.text.trim() !== 'Unauthorized')
      problems.push(`a ${family} 401 must say Unauthorized`);
    if (reply.status === 401 && !challenge) problems.push(`a ${family} 401 must have WWW-Authenticate`);
    return problems;
  }

  if (!json) problems.push(`a native error must be application/json, not ${JSON.stringify(type)}`);
  if (!head) {
    const p = parse(reply.text);
    if (!p.ok) problems.push('a native error body must be JSON');
    else if (typeof p.value?.error?.code !== 'string' || typeof p.value.error.message !== 'string')
      problems.push('a native error must be {error:{code,message}}');
    else if (reply.status === 401 && p.value.error.code !== 'Unauthorized')
      problems.push('a native 401 must have the code Unauthorized');
    else if (reply.status === 403 && p.value.error.code !== 'Forbidden')
      problems.push('a native 403 must have the code Forbidden');
  }
  if (reply.status === 401 && !challenge) problems.push('a native 401 must have WWW-Authenticate');
  return problems;
}

export const JSON_TYPE = 'application/json';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

/** An answer's exact bytes, as curl would show them. */
export interface RawAnswer {
  status: number;
  text: string;
  type: string | null;
  headers: Headers;
}

/** One request as curl would send it, with `token` unless the options name another (`null`: no credentials). */
export async function rawRequest(
  url: string,
  token: string,
  method: string,
  path: string,
  options: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const bearer = options.token === undefined ? token : options.token;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(bearer !== null && { authorization: `Bearer ${bearer}` }), ...options.headers },
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type'), headers: res.headers };
}

/** A JSON answer with exactly these bytes. */
export function expectJson(res: RawAnswer, body: string, status = 200): void {
  expect({ status: res.status, type: res.type, text: res.text }).toEqual({ status, type: JSON_TYPE, text: body });
}

/** A plain-text error (the originals' format): status, text/plain, and the text (exact line or pattern). */
export function expectText(res: RawAnswer, status: number, text: string | RegExp): void {
  expect(res.status).toBe(status);
  expect(res.type).toBe(TEXT_TYPE);
  if (typeof text === 'string') expect(res.text).toBe(`${text}\n`);
  else expect(res.text).toMatch(text);
}
