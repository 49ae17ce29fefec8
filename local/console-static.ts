/**
 * The web console's build (console/dist) at /console/, locally only (on AWS CloudFront serves it from S3):
 * sirv's content types and file index (only files the build wrote can be served, so no path traversal),
 * index.html for any sub-path without a file extension (the app routes it), no-cache for index.html and a
 * year's immutable cache for Vite's content-hashed assets. Refusals are the gateway's native JSON errors.
 */
import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv, { type RequestHandler } from 'sirv';
import { DomainError } from '../functions/domain/errors.js';

const CONSOLE_PREFIX = '/console';
const DEFAULT_DIR = fileURLToPath(new URL('../console/dist', import.meta.url));

/** How a refusal is answered (the local server's native JSON errors). */
export type Refuse = (error: DomainError, headers?: Record<string, string>) => void;

/**
 * A handler for /console and below; it answers false for other paths. The build is indexed again when its
 * index.html changes, so a rebuild while the server runs is picked up. MAINTCTL_CONSOLE_DIR serves another build.
 */
export function consoleHandler(dir = process.env.MAINTCTL_CONSOLE_DIR ?? DEFAULT_DIR) {
  let served: { built: number; handler: RequestHandler } | undefined;

  function current(): RequestHandler | undefined {
    let built: number;
    try {
      built = statSync(join(dir, 'index.html')).mtimeMs;
    } catch {
      return undefined;
    }
    if (served?.built !== built) {
      const handler = sirv(dir, {
        single: true,
        etag: true,
        setHeaders: (res, pathname) =>
          res.setHeader(
            'cache-control',
            pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          ),
      });
      served = { built, handler };
    }
    return served.handler;
  }

  return (req: IncomingMessage, res: ServerResponse, path: string, refuse: Refuse): boolean => {
    if (path !== CONSOLE_PREFIX && !path.startsWith(`${CONSOLE_PREFIX}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(new DomainError('MethodNotAllowed', `${req.method} is not allowed here: the console is read-only`), {
        allow: 'GET, HEAD',
      });
      return true;
    }
    if (path === CONSOLE_PREFIX) {
      res.writeHead(301, { location: `${CONSOLE_PREFIX}/` }).end();
      return true;
    }
    const handler = current();
    if (!handler) {
      refuse(
        new DomainError(
          'NotFound',
          `the web console is not built (no ${join(dir, 'index.html')}): run npm run build:console`,
        ),
      );
      return true;
    }
    // sirv reads the path from req.url: the normalised path without the prefix. Its files are small: no ranges.
    req.url = path.slice(CONSOLE_PREFIX.length);
    delete req.headers.range;
    handler(req, res, () => refuse(new DomainError('NotFound', `no console file ${path}`)));
    return true;
  };
}
