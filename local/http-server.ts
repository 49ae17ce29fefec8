/**
 * The local stand-in for API Gateway: serves exactly the route table, turning each request into the same
 * payload-2.0 event the Lambda gets and calling the same family handler.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FAMILY_OPERATIONS, FAMILY_OPTIONS } from '../functions/api/index.js';
import { DomainError } from '../functions/domain/errors.js';
import { familyHandler, familyOfPath, MAX_BODY_BYTES, nativeErrors } from '../functions/http/handler.js';
import type { Deps } from '../functions/deps.js';
import { FAMILIES, matchRoute, routeKey, type Family } from '../functions/http/routes.js';
import { consoleHandler } from './console-static.js';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const TEXT_TYPES = /^(application\/(json|[\w.+-]+\+json|x-www-form-urlencoded|xml)|text\/)/i;

/**
 * The request target as API Gateway reads it: a target starting with `/` is a path, even one starting with `//`
 * (which `new URL(target, base)` would read as an authority, and throw on when that is no valid host).
 */
function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  return new URL(target.startsWith('/') ? `http://localhost${target}` : target, 'http://localhost');
}

function buildEvent(
  req: IncomingMessage,
  body: Buffer,
  key: string,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const url = requestUrl(req);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const text = TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie && { cookies: req.headers.cookie.split(/;\s*/) }),
    headers,
    ...(url.search && { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length && { pathParameters }),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(body.length > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body =
    result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(result.statusCode ?? 200, { ...headers, 'content-length': body.length });
  res.end(body);
}

const nativeError = (error: DomainError, headers: Record<string, string> = {}) => {
  const r = nativeErrors(error, {});
  return {
    statusCode: r.status,
    headers: { 'content-type': 'application/json', ...r.headers, ...headers },
    body: JSON.stringify(r.body),
  };
};

export interface LocalServerOptions {
  port: number;
  host?: string;
  tls?: { cert: string; key: string };
}

export function createRequestListener(deps: Deps) {
  const handlers = new Map<Family, Handler>(
    (Object.keys(FAMILIES) as Family[]).map((family) => [
      family,
      familyHandler(family, FAMILY_OPERATIONS[family], () => deps, FAMILY_OPTIONS[family]),
    ]),
  );
  const serveConsole = consoleHandler();
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Keep one byte past the limit: the route's own handler then answers 413 in its family's format.
    req.on('data', (chunk: Buffer) => {
      if (size <= MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES + 1 - size));
      size += chunk.length;
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      void (async () => {
        try {
          let path: string;
          try {
            path = requestUrl(req).pathname;
          } catch {
            return send(res, nativeError(new DomainError('NotFound', 'no route for this request target')));
          }
          if (path === '/' && req.method === 'GET')
            return send(res, { statusCode: 302, headers: { location: '/console/' }, body: '' });
          if (serveConsole(req, res, path, (error, headers) => send(res, nativeError(error, headers)))) return;
          const match = matchRoute(req.method ?? 'GET', path);
          if (match.kind === 'none')
            return send(res, nativeError(new DomainError('NotFound', `no route for ${req.method} ${path}`)));
          // What API Gateway's `$default` route gets: the handler of the path's family answers 405, in that family's format.
          if (match.kind === 'wrong-method')
            return send(
              res,
              await handlers.get(familyOfPath(path, match.allowed))!(buildEvent(req, Buffer.alloc(0), '$default', {})),
            );
          const key = routeKey(match.route);
          send(
            res,
            await handlers.get(match.route.family)!(buildEvent(req, Buffer.concat(chunks), key, match.pathParameters)),
          );
        } catch (error) {
          console.error(error);
          if (!res.headersSent)
            send(res, {
              statusCode: 500,
              headers: { 'content-type': 'application/json' },
              body: '{"error":{"code":"Internal","message":"internal error"}}',
            });
        }
      })();
    });
  };
}

export async function startHttpServer(deps: Deps, options: LocalServerOptions): Promise<Server> {
  const listener = createRequestListener(deps);
  const server = options.tls
    ? createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, listener)
    : createHttpServer(listener);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host ?? '127.0.0.1', () => done());
  });
  return server;
}
