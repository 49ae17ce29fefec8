/**
 * One MariaDB (or MySQL) server as the agent sees it, through the official `mariadb` connector: one connection,
 * opened again when it breaks, for the status probe and the switchover's statements.
 */
import { createConnection, type Connection } from 'mariadb';

export interface Endpoint {
  host: string;
  port: number;
}

export interface Credentials {
  user: string;
  password: string;
}

export type Probe =
  | { health: 'down'; error: string }
  | {
      health: 'running';
      role: 'primary' | 'replica';
      readOnly: boolean;
      /** Replicating from another server (an IO or SQL thread configured). */
      replicating: boolean;
      connections: number;
      openTransactions: number;
      version: string;
      replicationLagSeconds: number | undefined;
    };

/**
 * Client sessions only: not the server's own threads, replication (a replica's threads, a primary's binlog dump
 * threads) or this connection. A client still logging in counts: it is a session on its way.
 */
const PROBE_SQL = `SELECT @@read_only AS readOnly, VERSION() AS version,
  (SELECT COUNT(*) FROM information_schema.PROCESSLIST
     WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler')
       AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker')) AS connections,
  (SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
     WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND p.USER <> 'system user') AS openTransactions`;

/** `10.11.6-MariaDB-0+deb12u1` → `10.11.6`: the version rollouts name. */
export const releaseOf = (version: string) => /^\d+(\.\d+)*/.exec(version)?.[0] ?? version;

const row = <T>(rows: unknown) => (rows as T[])[0];

export class MariaDbServer {
  private connection: Connection | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly credentials: Credentials,
    private readonly timeoutMs: number,
  ) {}

  private async open(): Promise<Connection> {
    if (this.connection?.isValid()) return this.connection;
    this.connection?.destroy();
    this.connection = undefined;
    const connection = await createConnection({
      ...this.endpoint,
      ...this.credentials,
      connectTimeout: this.timeoutMs,
      socketTimeout: 0,
      // BIGINT counts as numbers; the agent's statements are its own, never a user's.
      bigIntAsNumber: true,
      insertIdAsNumber: true,
    });
    // A connection the server closes while idle (a restart) says so by an event: the next call opens another.
    connection.on('error', () => {
      if (this.connection === connection) this.connection = undefined;
    });
    this.connection = connection;
    return connection;
  }

  /** A statement that fails or outlasts `timeoutMs` drops the connection (the next call opens a new one). */
  async query<T = unknown>(sql: string, values?: unknown[], timeoutMs = this.timeoutMs): Promise<T> {
    const connection = await this.open();
    let timer: NodeJS.Timeout | undefined;
    try {
      return (await Promise.race([
        connection.query(sql, values),
        new Promise<never>(
          (_, fail) => (timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
        ),
      ])) as T;
    } catch (error) {
      if (!(error as { sqlState?: string }).sqlState) {
        connection.destroy();
        if (this.connection === connection) this.connection = undefined;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async probe(): Promise<Probe> {
    try {
      const status = row<{ readOnly: number; version: string; connections: number; openTransactions: number }>(
        await this.query(PROBE_SQL),
      )!;
      const replica = row<Record<string, unknown>>(await this.query('SHOW REPLICA STATUS'));
      const lag = replica?.Seconds_Behind_Master ?? replica?.Seconds_Behind_Source;
      const replicating = replica !== undefined && (replica.Master_Host ?? replica.Source_Host) !== '';
      const readOnly = Number(status.readOnly) === 1;
      return {
        health: 'running',
        // Writable and replicating from nobody: the primary. Anything else takes no writes from the proxy.
        role: !readOnly && !replicating ? 'primary' : 'replica',
        readOnly,
        replicating,
        connections: Number(status.connections),
        openTransactions: Number(status.openTransactions),
        version: releaseOf(status.version),
        replicationLagSeconds: replicating ? (lag === null || lag === undefined ? undefined : Number(lag)) : 0,
      };
    } catch (error) {
      return { health: 'down', error: (error as Error).message.split('\n')[0]! };
    }
  }

  /** The GTID position of everything this server has written to its binary log. */
  async binlogPosition(): Promise<string> {
    return row<{ pos: string }>(await this.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos'))!.pos;
  }

  /** True when this replica has applied `position` within `timeoutSeconds`. */
  async waitForPosition(position: string, timeoutSeconds: number): Promise<boolean> {
    const result = row<{ r: number }>(
      await this.query('SELECT MASTER_GTID_WAIT(?, ?) AS r', [position, timeoutSeconds], (timeoutSeconds + 5) * 1000),
    )!;
    return Number(result.r) === 0;
  }

  async setReadOnly(readOnly: boolean, timeoutSeconds: number): Promise<void> {
    // Setting read_only waits for open write transactions: bounded, so a switchover can give up.
    await this.query(`SET SESSION lock_wait_timeout = ${Math.ceil(timeoutSeconds)}`);
    await this.query(`SET GLOBAL read_only = ${readOnly ? 1 : 0}`, undefined, (timeoutSeconds + 5) * 1000);
  }

  /** Stops replicating and forgets its primary: a standalone server, still read-only. */
  async stopReplicating(): Promise<void> {
    await this.query('STOP SLAVE');
    await this.query('RESET SLAVE ALL');
  }

  /**
   * Replicates from `primary` by GTID. A former primary first takes its own binlog position as the position it
   * replicates from (it has applied everything it wrote).
   */
  async replicateFrom(primary: Endpoint, replication: Credentials, formerPrimary: boolean): Promise<void> {
    await this.query('STOP SLAVE');
    if (formerPrimary) await this.query('SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos');
    await this.query(
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos',
      [primary.host, primary.port, replication.user, replication.password],
    );
    await this.query('START SLAVE');
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    await connection?.end().catch(() => connection.destroy());
  }
}
