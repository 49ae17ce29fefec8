/**
 * A TCP proxy on 127.0.0.1 in front of DynamoDB Local that injects network faults (R2). Each chunk a client
 * sends (with the SDK's keep-alive connections, about one request) is, with probability `share`, the start of
 * a fault on its connection:
 * - `drop`: the chunk and everything after it vanish; the connection stays open and silent (the client's
 *   request timeout must end it);
 * - `delay`: the chunk is held back 50 ms to `maxDelayMs`, then delivered;
 * - `reset`: the chunk is delivered, and the connection is reset (TCP RST) once the first bytes of the answer
 *   arrive, so the client cannot tell whether its request was applied.
 * `inject(share)` sets the share (none at first, so a test can set up its data unharmed). The random choices come from a seeded generator, so a run can be replayed as far as timing allows.
 */
import net from 'node:net';
import { prng } from './processes.js';

export type FaultKind = 'drop' | 'delay' | 'reset';

export interface FaultProxyOptions {
  /** Where DynamoDB Local listens. */
  target: { host: string; port: number };
  seed: number;
  /** @default 1500 */
  maxDelayMs?: number;
}

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far, by kind, and chunks passed through. */
  readonly counts: Record<FaultKind | 'passed', number>;
  /** Injects faults into this share (0 to 1) of client chunks from now on; 0 stops. The proxy starts at 0. */
  inject(share: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = prng(options.seed);
  const maxDelayMs = options.maxDelayMs ?? 1500;
  const counts = { drop: 0, delay: 0, reset: 0, passed: 0 };
  const sockets = new Set<net.Socket>();
  let share = 0;

  const server = net.createServer((client) => {
    const upstream = net.connect(options.target.port, options.target.host);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    let dropped = false;
    let resetOnAnswer = false;
    let queue = Promise.resolve();

    client.on('data', (chunk) => {
      if (dropped) return;
      const fault: FaultKind | undefined =
        share > 0 && random() < share ? (['drop', 'delay', 'reset'] as const)[Math.floor(random() * 3)] : undefined;
      if (fault) counts[fault]++;
      else counts.passed++;
      if (fault === 'drop') {
        dropped = true;
        return;
      }
      if (fault === 'reset') resetOnAnswer = true;
      const delayMs = fault === 'delay' ? 50 + Math.floor(random() * (maxDelayMs - 50)) : 0;
      // In order: a delayed chunk holds back the ones after it.
      queue = queue.then(
        () =>
          new Promise<void>((done) =>
            setTimeout(() => {
              if (!upstream.destroyed) upstream.write(chunk);
              done();
            }, delayMs),
          ),
      );
    });
    upstream.on('data', (chunk) => {
      if (dropped) return;
      if (resetOnAnswer) {
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as net.AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    inject: (next) => {
      share = next;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((done) => server.close(done));
    },
  };
}
