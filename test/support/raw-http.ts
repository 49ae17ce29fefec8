/**
 * One HTTP(S) request exactly as written, through node:http rather than fetch: the path is sent untouched (no
 * `..` resolved, nothing re-encoded), any header may be sent, and the answer's bytes come back as they were.
 */
import { type Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawOptions {
  headers?: Record<string, string>;
  /** Sent with its content-length. */
  body?: Buffer | string;
  /** E.g. a keep-alive agent, to reuse one connection. */
  agent?: Agent;
  /** For https: the certificate authority the server's certificate must chain to. */
  ca?: string | Buffer;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8. */
  text: string;
}

/** `base` is the server (`http://127.0.0.1:PORT` or `https://…`); `path` goes on the request line as given. */
export function rawHttp(base: string, method: string, path: string, options: RawOptions = {}): Promise<RawAnswer> {
  const { protocol, hostname, port } = new URL(base);
  const send = protocol === 'https:' ? httpsRequest : httpRequest;
  const { body, agent, ca } = options;
  return new Promise((done, fail) => {
    const req = send(
      {
        host: hostname,
        port,
        method,
        path,
        ...(agent && { agent }),
        ...(ca && { ca }),
        headers: {
          ...options.headers,
          ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          done({ status: res.statusCode ?? 0, headers: res.headers, body: bytes, text: bytes.toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}
