/**
 * The one route table. The local server serves exactly these routes and the CDK stack creates exactly these
 * API Gateway routes, each integrated with its family's function. Every route states its role explicitly.
 */
export const ROLES = ['viewer', 'agent', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type RouteRole = Role | 'public';

/** One Lambda function per family; `entry` is its handler module (bundled by the CDK stack). */
export const FAMILIES = {
  health: 'functions/api/health.ts',
  clusters: 'functions/api/clusters.ts',
  maintenance: 'functions/api/maintenance.ts',
  events: 'functions/api/events.ts',
  tokens: 'functions/api/tokens.ts',
} as const;
export type Family = keyof typeof FAMILIES;

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface Route {
  method: Method;
  path: string;
  role: RouteRole;
  family: Family;
  /** Routes with their own stage throttle (agents' reports must not starve operators). */
  throttled?: 'status';
}

const route = (method: Method, path: string, role: RouteRole, family: Family, extra: Partial<Route> = {}): Route => ({
  method,
  path,
  role,
  family,
  ...extra,
});

const C = '/v1/clusters/{c}';

export const ROUTES: readonly Route[] = [
  route('GET', '/v1/health', 'public', 'health'),

  route('GET', '/v1/clusters', 'viewer', 'clusters'),
  route('GET', C, 'viewer', 'clusters'),
  route('PUT', C, 'admin', 'clusters'),
  route('DELETE', C, 'admin', 'clusters'),
  route('GET', `${C}/servers`, 'viewer', 'clusters'),
  route('GET', `${C}/servers/{s}`, 'viewer', 'clusters'),
  route('PUT', `${C}/servers/{s}`, 'admin', 'clusters'),
  route('DELETE', `${C}/servers/{s}`, 'admin', 'clusters'),

  route('PUT', `${C}/servers/{s}/maintenance`, 'operator', 'maintenance'),
  route('DELETE', `${C}/servers/{s}/maintenance`, 'operator', 'maintenance'),
  route('PUT', `${C}/dcs/{dc}/maintenance`, 'operator', 'maintenance'),
  route('DELETE', `${C}/dcs/{dc}/maintenance`, 'operator', 'maintenance'),
  route('GET', `${C}/maintenance`, 'viewer', 'maintenance'),
  route('PUT', `${C}/maintenance`, 'operator', 'maintenance'),
  route('DELETE', `${C}/maintenance`, 'operator', 'maintenance'),
  route('PUT', `${C}/servers/{s}/status`, 'agent', 'maintenance', { throttled: 'status' }),
  route('GET', `${C}/failover`, 'viewer', 'maintenance'),
  route('POST', `${C}/failover`, 'operator', 'maintenance'),
  route('POST', `${C}/switchover`, 'operator', 'maintenance'),

  route('GET', `${C}/events`, 'viewer', 'events'),

  route('POST', '/v1/tokens', 'admin', 'tokens'),
  route('GET', '/v1/tokens', 'admin', 'tokens'),
  route('DELETE', '/v1/tokens/{id}', 'admin', 'tokens'),
];

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;

const compiled = ROUTES.map((r) => ({
  route: r,
  names: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
  pattern: new RegExp(`^${r.path.replace(/\{\w+\}/g, '([^/]+)')}$`),
}));

export type RouteMatch =
  | { kind: 'found'; route: Route; pathParameters: Record<string, string> }
  | { kind: 'wrong-method'; allowed: Method[] }
  | { kind: 'none' };

/** What API Gateway does: match the path, decode the parameters. */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: Method[] = [];
  for (const { route: r, names, pattern } of compiled) {
    const m = pattern.exec(path);
    if (!m) continue;
    if (r.method !== method) {
      allowed.push(r.method);
      continue;
    }
    const pathParameters: Record<string, string> = {};
    try {
      names.forEach((name, i) => (pathParameters[name] = decodeURIComponent(m[i + 1]!)));
    } catch {
      return { kind: 'none' };
    }
    return { kind: 'found', route: r, pathParameters };
  }
  return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' };
}

export const findRoute = (key: string): Route | undefined => ROUTES.find((r) => routeKey(r) === key);
