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
  rollouts: 'functions/api/rollouts.ts',
  windows: 'functions/api/windows.ts',
  tokens: 'functions/api/tokens.ts',
  maxscale: 'functions/compat/maxscale.ts',
  cassandra: 'functions/compat/cassandra.ts',
  greptimedb: 'functions/compat/greptimedb.ts',
} as const;
export type Family = keyof typeof FAMILIES;
/** The drop-in compatible families (docs/compat.md): each answers in its own format. */
export const COMPAT_FAMILIES = ['maxscale', 'cassandra', 'greptimedb'] as const satisfies readonly Family[];
export type CompatFamily = (typeof COMPAT_FAMILIES)[number];
export const isCompat = (family: Family): family is CompatFamily =>
  (COMPAT_FAMILIES as readonly Family[]).includes(family);

/** `ANY` catches the other methods of a path (API Gateway prefers a route with the exact method). */
export type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE' | 'ANY';

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

/** A compat route, also under `/c/{c}` for clusters other than the family's configured default. */
const compat = (method: Method, path: string, role: RouteRole, family: CompatFamily): Route[] => [
  route(method, path, role, family),
  route(method, `/c/{c}${path}`, role, family),
];

export const ROUTES: readonly Route[] = [
  route('GET', '/v1/health', 'public', 'health'),
  route('GET', '/v1/openapi.json', 'public', 'health'),

  route('GET', '/v1/clusters', 'viewer', 'clusters'),
  route('GET', C, 'viewer', 'clusters'),
  route('PUT', C, 'admin', 'clusters'),
  route('DELETE', C, 'admin', 'clusters'),
  route('GET', `${C}/servers`, 'viewer', 'clusters'),
  route('GET', `${C}/servers/{s}`, 'viewer', 'clusters'),
  route('PUT', `${C}/servers/{s}`, 'admin', 'clusters'),
  route('PATCH', `${C}/servers/{s}`, 'admin', 'clusters'),
  route('DELETE', `${C}/servers/{s}`, 'admin', 'clusters'),
  // Integrations (functions/api/integrations.ts): Alertmanager silences, signed notification webhooks.
  route('GET', `${C}/alertmanager`, 'viewer', 'clusters'),
  route('PUT', `${C}/alertmanager`, 'admin', 'clusters'),
  route('GET', `${C}/notifications`, 'admin', 'clusters'),
  route('PUT', `${C}/notifications`, 'admin', 'clusters'),
  route('GET', `${C}/notifications/deliveries`, 'admin', 'clusters'),

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
  route('PUT', `${C}/agent-lease`, 'agent', 'maintenance'),

  route('GET', `${C}/events`, 'viewer', 'events'),

  route('POST', `${C}/rollouts`, 'operator', 'rollouts'),
  route('GET', `${C}/rollouts`, 'viewer', 'rollouts'),
  route('GET', `${C}/rollouts/{id}`, 'viewer', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/pause`, 'operator', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/resume`, 'operator', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/abort`, 'operator', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/servers/{s}/retry`, 'operator', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/servers/{s}/skip`, 'operator', 'rollouts'),
  route('POST', `${C}/rollouts/{id}/servers/{s}/upgrade-failure`, 'agent', 'rollouts'),

  route('POST', `${C}/windows`, 'operator', 'windows'),
  route('GET', `${C}/windows`, 'viewer', 'windows'),
  route('GET', `${C}/windows/{id}`, 'viewer', 'windows'),
  route('PUT', `${C}/windows/{id}`, 'operator', 'windows'),
  route('DELETE', `${C}/windows/{id}`, 'operator', 'windows'),
  route('POST', `${C}/windows/{id}/skip`, 'operator', 'windows'),

  route('POST', '/v1/tokens', 'admin', 'tokens'),
  route('GET', '/v1/tokens', 'admin', 'tokens'),
  route('DELETE', '/v1/tokens/{id}', 'admin', 'tokens'),

  // MaxScale REST API subset (maxctrl): docs/compat.md §1.
  ...compat('GET', '/v1/', 'viewer', 'maxscale'),
  ...compat('GET', '/v1/servers', 'viewer', 'maxscale'),
  ...compat('GET', '/v1/servers/{s}', 'viewer', 'maxscale'),
  ...compat('PUT', '/v1/servers/{s}/set', 'operator', 'maxscale'),
  ...compat('PUT', '/v1/servers/{s}/clear', 'operator', 'maxscale'),

  // Cassandra operator's maintenance API: §2.
  ...compat('GET', '/pods/{pod}', 'viewer', 'cassandra'),
  ...compat('PUT', '/pods/{pod}', 'operator', 'cassandra'),
  ...compat('DELETE', '/pods/{pod}', 'operator', 'cassandra'),
  ...compat('GET', '/dcs/{dc}', 'viewer', 'cassandra'),
  ...compat('PUT', '/dcs/{dc}', 'operator', 'cassandra'),
  ...compat('DELETE', '/dcs/{dc}', 'operator', 'cassandra'),
  ...compat('GET', '/config', 'viewer', 'cassandra'),
  // The operator's docs tell users to read the ConfigMap with PUT: a read, so a viewer's.
  ...compat('PUT', '/config', 'viewer', 'cassandra'),

  // GreptimeDB metasrv admin: §3. The legacy `GET ...?enable=` also changes state: the handler asks for operator.
  ...compat('GET', '/admin/maintenance', 'viewer', 'greptimedb'),
  ...compat('POST', '/admin/maintenance', 'operator', 'greptimedb'),
  ...compat('PUT', '/admin/maintenance', 'operator', 'greptimedb'),
  ...compat('GET', '/admin/maintenance/status', 'viewer', 'greptimedb'),
  ...compat('POST', '/admin/maintenance/enable', 'operator', 'greptimedb'),
  ...compat('POST', '/admin/maintenance/disable', 'operator', 'greptimedb'),
  ...compat('GET', '/admin/procedure-manager/status', 'viewer', 'greptimedb'),
  ...compat('POST', '/admin/procedure-manager/pause', 'operator', 'greptimedb'),
  ...compat('POST', '/admin/procedure-manager/resume', 'operator', 'greptimedb'),
  // Other methods on the suffix routes: 405, as metasrv answers.
  ...[
    '/admin/maintenance/status',
    '/admin/maintenance/enable',
    '/admin/maintenance/disable',
    '/admin/procedure-manager/status',
    '/admin/procedure-manager/pause',
    '/admin/procedure-manager/resume',
  ].flatMap((path) => compat('ANY', path, 'public', 'greptimedb')),
];

export const routeKey = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;

const compiled = ROUTES.map((r) => ({
  route: r,
  names: [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
  pattern: new RegExp(`^${r.path.replaceAll('.', '\\.').replace(/\{\w+\}/g, '([^/]+)')}$`),
}));

export type RouteMatch =
  | { kind: 'found'; route: Route; pathParameters: Record<string, string> }
  | { kind: 'wrong-method'; allowed: Method[] }
  | { kind: 'none' };

/** What API Gateway does: match the path, decode the parameters. */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: Method[] = [];
  let found: { route: Route; match: RegExpExecArray; names: string[] } | undefined;
  for (const { route: r, names, pattern } of compiled) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (r.method === method) {
      found = { route: r, match, names };
      break;
    }
    if (r.method === 'ANY') found ??= { route: r, match, names };
    else allowed.push(r.method);
  }
  if (!found) return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' };
  const pathParameters: Record<string, string> = {};
  try {
    found.names.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(found.match[i + 1]!);
    });
  } catch {
    return { kind: 'none' };
  }
  return { kind: 'found', route: found.route, pathParameters };
}

export const findRoute = (key: string): Route | undefined => ROUTES.find((r) => routeKey(r) === key);
