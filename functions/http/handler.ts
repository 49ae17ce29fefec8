/**
 * One wrapper for every family's Lambda: route lookup, input bounds and names (before any DynamoDB call),
 * authentication and authorization, then the operation; every error mapped to a status in one place.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { DomainError, invalid } from '../domain/errors.js';
import type { Actor } from '../domain/model.js';
import { checkName, OBJECT_ID } from '../domain/names.js';
import type { Deps } from '../deps.js';
import { log, type MetricGroup, statusClass } from '../telemetry.js';
import { validate } from '../validate.js';
import { authenticatorFor, authorize, type Principal } from './auth.js';
import { toDomainError } from '../store/errors.js';
import { errorBody, STATUS } from './errors.js';
import { findRoute, matchRoute, routeKey, type Family, type Method, type Route } from './routes.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiRequest {
  route: Route;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  rawBody: string;
  requestId: string;
  principal?: Principal;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Operation = (req: ApiRequest, deps: Deps) => Promise<ApiResponse>;
export type Operations = Record<string, Operation>;

/** How a family writes its errors: native JSON here; the compat families bring their own. */
export type ErrorFormat = (error: DomainError, req: Partial<ApiRequest>) => ApiResponse;

export const nativeErrors: ErrorFormat = (error) => ({
  status: STATUS[error.code],
  body: errorBody(error),
  ...(error.code === 'Unauthorized' && {
    headers: { 'www-authenticate': 'Bearer realm="maintctl", Basic realm="maintctl"' },
  }),
});

/** Path parameters are names with a pattern each; they are checked before anything touches DynamoDB. */
const PARAM_KIND = { c: 'cluster', s: 'server', pod: 'server', dc: 'dc' } as const;

function checkParams(params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) {
    if (name in PARAM_KIND) checkName(PARAM_KIND[name as keyof typeof PARAM_KIND], value);
    else if (!OBJECT_ID.test(value)) throw invalid(`invalid ${name}`, { [name]: value });
  }
}

function decodeBody(event: APIGatewayProxyEventV2): string {
  if (!event.body) return '';
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES)
    throw new DomainError('PayloadTooLarge', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  return bytes.toString('utf8');
}

export function jsonBody<S extends z.ZodMiniType>(req: ApiRequest, schema: S, emptyAs?: unknown): z.infer<S> {
  let value: unknown = emptyAs;
  if (req.rawBody.trim() !== '') {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
      throw new DomainError('UnsupportedMediaType', 'send the body as application/json');
    }
    try {
      value = JSON.parse(req.rawBody);
    } catch {
      throw invalid('the body is not valid JSON');
    }
  } else if (emptyAs === undefined) {
    throw invalid('a JSON body is required');
  }
  return validate(schema, value, 'body');
}

export const actorOf = (req: ApiRequest, source = 'api'): Actor => ({
  user: req.principal?.user ?? 'anonymous',
  isAdmin: req.principal?.role === 'admin',
  source,
  requestId: req.requestId,
});

function toResult(res: ApiResponse, requestId: string): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { 'x-request-id': requestId, ...res.headers };
  if (res.body === undefined) return { statusCode: res.status, headers, body: '' };
  if (typeof res.body === 'string')
    return {
      statusCode: res.status,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
      body: res.body,
    };
  return {
    statusCode: res.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(res.body),
  };
}

function lowerCase(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/**
 * The request's one line: route, status, actor (a user name, never a credential; no query string, no body), cluster,
 * the API Gateway request id; its metrics: requests and latency by family and status class, refusals by code.
 */
function logRequest(family: Family, req: LoggedRequest, status: number, latency: number, options: FamilyOptions) {
  let cluster = req.params?.c;
  try {
    cluster ??= req.route && options.clusterOf?.(req as ApiRequest);
  } catch {
    // a compat family's cluster from a request it refused: the line goes without it
  }
  const groups: MetricGroup[] = [
    {
      dimensions: { family, statusClass: statusClass(status) },
      metrics: { Requests: [1, 'Count'], Latency: [Math.round(latency * 10) / 10, 'Milliseconds'] },
    },
  ];
  if (req.code) groups.push({ dimensions: { code: req.code }, metrics: { Refusals: [1, 'Count'] } });
  // The agents' status reports (every few seconds per server) are debug lines: a terminal shows people's requests.
  log(
    status >= 500 ? 'error' : req.route?.throttled === 'status' ? 'debug' : 'info',
    'request',
    {
      correlation_id: req.requestId,
      route: req.route ? routeKey(req.route) : `${req.method} $default`,
      status,
      ...(req.code && { code: req.code }),
      actor: req.principal?.user ?? 'anonymous',
      ...(cluster && { cluster }),
    },
    groups,
  );
}

/**
 * The family of the routes that match `path` (with other methods than the request's): it answers the wrong
 * method, in its own format. `%` is escaped: only the routes' patterns count here, not whether parameters decode.
 */
export function familyOfPath(path: string, allowed: readonly Method[]): Family {
  const match = matchRoute(allowed[0] ?? '', path.replaceAll('%', '%25'));
  if (match.kind !== 'found') throw new Error(`no route matches ${path}`);
  return match.route.family;
}

/** A method the path's routes do not take: 405 with Allow, in the format of the family the path belongs to. */
function methodNotAllowed(format: ErrorFormat, method: string, allowed: readonly Method[]): ApiResponse {
  const res = format(new DomainError('MethodNotAllowed', `${method} is not allowed here`), {});
  return { ...res, headers: { ...res.headers, allow: allowed.join(', ') } };
}

interface Resolved {
  route?: Route;
  pathParameters?: Record<string, string | undefined>;
  /** A `$default` request for a path whose routes take other methods. */
  wrongMethod?: { family: Family; allowed: Method[] };
}

/**
 * The route API Gateway matched, or, for its `$default` route (paths it cannot route itself, such as maxctrl's
 * `GET /v1/` with its trailing slash, and wrong methods), the one the route table matches.
 */
function resolveRoute(event: APIGatewayProxyEventV2): Resolved {
  if (event.routeKey !== '$default') return { route: findRoute(event.routeKey), pathParameters: event.pathParameters };
  const match = matchRoute(event.requestContext.http.method, event.rawPath);
  if (match.kind === 'wrong-method')
    return { wrongMethod: { family: familyOfPath(event.rawPath, match.allowed), allowed: match.allowed } };
  return match.kind === 'found' ? { route: match.route, pathParameters: match.pathParameters } : {};
}

/** What the request's log line reads: as far as the request got, and the error code it was answered with. */
type LoggedRequest = Partial<ApiRequest> & { requestId: string; method?: string; code?: string };

export interface FamilyOptions {
  errors?: ErrorFormat;
  /** Where a route's cluster comes from when it is not the `{c}` path parameter (compat families). */
  clusterOf?: (req: ApiRequest) => string | undefined;
  /**
   * Other families' formats (native JSON otherwise) for the function of the `$default` route, which also gets
   * wrong methods on their paths.
   */
  otherErrors?: Partial<Record<Family, ErrorFormat>>;
}

/** The Lambda handler of one route family. `deps` is called once, lazily: module-scope clients. */
export function familyHandler(family: Family, operations: Operations, deps: () => Deps, options: FamilyOptions = {}) {
  const format = options.errors ?? nativeErrors;
  let resolved: Deps | undefined;
  const respond = async (event: APIGatewayProxyEventV2, req: LoggedRequest) => {
    const { requestId } = req;
    try {
      const { route, pathParameters, wrongMethod } = resolveRoute(event);
      if (wrongMethod) {
        req.code = 'MethodNotAllowed';
        const owner =
          wrongMethod.family === family ? format : (options.otherErrors?.[wrongMethod.family] ?? nativeErrors);
        return toResult(methodNotAllowed(owner, event.requestContext.http.method, wrongMethod.allowed), requestId);
      }
      const operation = route && operations[routeKey(route)];
      if (!route || route.family !== family || !operation)
        throw new DomainError('NotFound', `no route for ${event.requestContext?.http?.method} ${event.rawPath}`);
      req.route = route;
      req.headers = lowerCase(event.headers);
      req.params = { ...pathParameters } as Record<string, string>;
      req.query = { ...event.queryStringParameters } as Record<string, string>;
      req.rawBody = decodeBody(event);
      checkParams(req.params);
      const full = req as ApiRequest;
      resolved ??= deps();
      if (route.role !== 'public') {
        full.principal = await authenticatorFor(resolved).authenticate(req.headers.authorization);
        authorize(full.principal, route.role, options.clusterOf ? options.clusterOf(full) : full.params.c);
      }
      return toResult(await operation(full, resolved), requestId);
    } catch (error) {
      const known = toDomainError(error);
      req.code = known?.code ?? 'Internal';
      if (known) {
        if (known.code === 'Unavailable')
          log('warn', 'backend unavailable', { correlation_id: requestId, error: String(error) });
        return toResult(format(known, req), requestId);
      }
      log('error', 'unhandled error', {
        correlation_id: requestId,
        routeKey: event.routeKey,
        error: error instanceof Error ? error.stack : String(error),
      });
      return toResult(
        { status: 500, body: { error: { code: 'Internal', message: 'internal error', details: { requestId } } } },
        requestId,
      );
    }
  };
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const started = performance.now();
    const req: LoggedRequest = {
      requestId: event.requestContext?.requestId ?? 'local',
      method: event.requestContext?.http?.method,
    };
    const result = await respond(event, req);
    logRequest(family, req, result.statusCode ?? 200, performance.now() - started, options);
    return result;
  };
}
