/**
 * A local HTTP server on 127.0.0.1 standing in for something the code under test calls (a webhook receiver, an
 * AWS API, a MaxScale REST API): it reads each request whole, hands it to the test, and sends the test's reply.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** The request target as sent: path and query, not decoded. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Header names and values as sent, in their order and case. */
  rawHeaders: string[];
  body: string;
}

export interface ServerReply {
  status: number;
  headers?: Record<string, string>;
  /** Nothing when absent. */
  body?: string;
}

export interface RecordingServer {
  server: Server;
  port: number;
  /** `127.0.0.1:<port>`. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral port of 127.0.0.1 (never another interface: tests reach nothing else). */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

/** Closes the server, keep-alive connections included (they would hold the close up). */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done, fail) => server.close((error) => (error ? fail(error) : done())));
}

/** `reply` answers each request (in arrival order); recording what it sees is the test's business. */
export async function recordingServer(reply: (request: ReceivedRequest) => ServerReply): Promise<RecordingServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = reply({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  const port = await listenLocal(server);
  return {
    server,
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
  };
}
