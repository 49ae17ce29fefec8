/**
 * An application's traffic through HAProxy, as a short-lived-connection app makes it: every read and every write
 * on a connection of its own. It counts failed reads, keeps every acknowledged write, and measures the longest
 * time writes were unavailable (from the last acknowledged write before a gap to the first after it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mariadb';

export interface LoadOptions {
  host: string;
  readPort: number;
  writePort: number;
  user: string;
  password: string;
  readers?: number;
  /** Pause between two writes (0: back to back). */
  writeEveryMs?: number;
  /** Written values are `<tag>-<n>`: loads running side by side use different tags. */
  tag?: string;
}

export interface LoadResult {
  reads: number;
  failedReads: string[];
  /** Every write the server acknowledged, in order. */
  acknowledged: string[];
  failedWrites: number;
  /** The longest gap between two acknowledged writes, ms. */
  longestWriteGapMs: number;
}

export class ClientLoad {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly result: LoadResult = {
    reads: 0,
    failedReads: [],
    acknowledged: [],
    failedWrites: 0,
    longestWriteGapMs: 0,
  };
  private lastAck: number | undefined;

  constructor(private readonly options: LoadOptions) {}

  private async once(port: number, sql: string, values?: unknown[]): Promise<void> {
    const connection = await createConnection({
      host: this.options.host,
      port,
      user: this.options.user,
      password: this.options.password,
      database: 'app',
      connectTimeout: 5000,
      socketTimeout: 10_000,
    });
    connection.on('error', () => undefined); // a closed connection fails its query; the event says it again
    try {
      await connection.query(sql, values);
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  }

  start(): this {
    const { readers = 2, writeEveryMs = 0 } = this.options;
    for (let i = 0; i < readers; i++) {
      this.loops.push(
        (async () => {
          while (!this.stopped) {
            try {
              await this.once(this.options.readPort, 'SELECT v FROM kv ORDER BY id DESC LIMIT 1');
              this.result.reads++;
            } catch (error) {
              this.result.failedReads.push(`${new Date().toISOString()} ${(error as Error).message}`);
            }
          }
        })(),
      );
    }
    this.loops.push(
      (async () => {
        for (let seq = 0; !this.stopped; seq++) {
          const value = `${this.options.tag ?? 'w'}-${seq}`;
          try {
            await this.once(this.options.writePort, 'INSERT INTO kv (v) VALUES (?)', [value]);
            const now = performance.now();
            if (this.lastAck !== undefined)
              this.result.longestWriteGapMs = Math.max(this.result.longestWriteGapMs, now - this.lastAck);
            this.lastAck = now;
            this.result.acknowledged.push(value);
          } catch {
            // Not acknowledged: the application tries the next one (a retry would be the same value again).
            this.result.failedWrites++;
          }
          if (writeEveryMs > 0) await sleep(writeEveryMs);
        }
      })(),
    );
    return this;
  }

  /** Writes so far, and the longest gap since the last `resetGap()`. */
  get current(): Readonly<LoadResult> {
    return this.result;
  }

  /** Starts measuring the longest write gap afresh (e.g. just before a switchover). */
  resetGap(): void {
    this.result.longestWriteGapMs = 0;
  }

  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.result;
  }
}
