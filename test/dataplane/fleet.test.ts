/** The data-plane harness itself: real MariaDB servers replicating by GTID, and HAProxy in front of them. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaproxy, startMariaDbFleet, type HaproxyInstance, type MariaDbFleet } from '../../local/fleet.js';

const run = promisify(execFile);

/** Whether the process runs (a zombie waiting for its parent to reap it does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('MariaDB fleet and HAProxy', () => {
  let fleet: MariaDbFleet;
  let haproxy: HaproxyInstance;

  beforeAll(async () => {
    fleet = await startMariaDbFleet(['db1', 'db2', 'db3']);
    haproxy = await startHaproxy(fleet, { primary: 'db1' });
  });

  afterAll(async () => {
    await haproxy?.close();
    await fleet?.close();
  });

  const port = (name: string) => fleet.servers.find((s) => s.name === name)!.port;

  async function asUser<T>(user: 'app' | 'agent', to: number, use: (c: Connection) => Promise<T>): Promise<T> {
    const conn = await createConnection({
      host: '127.0.0.1',
      port: to,
      ...fleet.users[user],
      bigIntAsNumber: true,
      insertIdAsNumber: true,
    });
    try {
      return await use(conn);
    } finally {
      await conn.end();
    }
  }

  const insert = (v: string) => asUser('app', port('db1'), (c) => c.query('INSERT INTO app.kv (v) VALUES (?)', [v]));

  async function expectReplicating(name: string) {
    const [status] = await fleet.query<Record<string, unknown>[]>(name, 'SHOW SLAVE STATUS');
    expect(status).toMatchObject({
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'Yes',
      Using_Gtid: 'Slave_Pos',
      Master_Port: port('db1'),
    });
  }

  it('starts a writable primary and two read-only replicas at its GTID position', async () => {
    const [primary] = await fleet.query<{ ro: number; pos: string }[]>(
      'db1',
      'SELECT @@read_only AS ro, @@gtid_binlog_pos AS pos',
    );
    expect(primary!.ro).toBe(0);
    for (const name of ['db2', 'db3']) {
      await expectReplicating(name);
      expect(await fleet.query(name, 'SELECT @@read_only AS ro, @@gtid_binlog_pos AS pos')).toEqual([
        { ro: 1, pos: primary!.pos },
      ]);
    }
    expect(await fleet.query('db3', 'SHOW TABLES FROM app')).toEqual([{ Tables_in_app: 'kv' }]);
  });

  it('replicates a row written on the primary to both replicas', async () => {
    const { insertId } = await insert('replicated');
    await fleet.sync();
    for (const name of ['db2', 'db3']) {
      expect(await fleet.query(name, 'SELECT v FROM app.kv WHERE id = ?', [insertId])).toEqual([{ v: 'replicated' }]);
    }
  });

  it('refuses the app writes on a read-only replica', async () => {
    await expect(
      asUser('app', port('db2'), (c) => c.query("INSERT INTO app.kv (v) VALUES ('no')")),
    ).rejects.toMatchObject({ errno: 1290 });
  });

  it("grants the agent what a status report and a switchover's statements need", async () => {
    const app = await createConnection({ host: '127.0.0.1', port: port('db3'), ...fleet.users.app });
    const killed = new Promise((done) => app.on('error', done));
    try {
      await app.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      const { user, password } = fleet.users.replication;
      await asUser('agent', port('db3'), async (c) => {
        await c.query('SHOW SLAVE STATUS');
        await c.query('SHOW MASTER STATUS');
        expect(
          await c.query('SELECT USER AS user FROM information_schema.PROCESSLIST WHERE ID = ?', [app.threadId]),
        ).toEqual([{ user: 'app' }]);
        expect(
          await c.query('SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [
            app.threadId,
          ]),
        ).toEqual([{ n: 1 }]);
        await c.query('SET GLOBAL read_only = 1');
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
        await c.query('SET GLOBAL gtid_slave_pos = @@gtid_slave_pos');
        await c.query(
          "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
          [port('db1'), user, password],
        );
        await c.query('START SLAVE');
        const [{ pos }] = await fleet.query<[{ pos: string }]>('db1', 'SELECT @@gtid_binlog_pos AS pos');
        expect(await c.query('SELECT MASTER_GTID_WAIT(?, 10) AS r', [pos])).toEqual([{ r: 0 }]);
        await c.query(`KILL ${app.threadId}`);
      });
      await expect(killed).resolves.toMatchObject({ code: 'ER_SOCKET_UNEXPECTED_CLOSE' });
    } finally {
      app.destroy();
    }
    await expectReplicating('db3');
  });

  it('restarts a server at another version, which then catches up', async () => {
    await fleet.restart('db2', '10.11.99');
    expect(await fleet.query('db2', 'SELECT VERSION() AS v, @@read_only AS ro')).toEqual([{ v: '10.11.99', ro: 1 }]);
    expect(fleet.servers[1]!.version).toBe('10.11.99');
    const { insertId } = await insert('after restart');
    await fleet.sync();
    expect(await fleet.query('db2', 'SELECT v FROM app.kv WHERE id = ?', [insertId])).toEqual([{ v: 'after restart' }]);
    await expectReplicating('db2');
  });

  it('keeps the version over a stop and a start', async () => {
    const before = fleet.servers[1]!.pid;
    await fleet.stop('db2');
    expect(fleet.servers[1]!.pid).toBeUndefined();
    expect(running(before!)).toBe(false);
    await expect(fleet.query('db2', 'SELECT 1')).rejects.toThrow();
    await fleet.start('db2');
    expect(await fleet.query('db2', 'SELECT VERSION() AS v')).toEqual([{ v: '10.11.99' }]);
  });

  it('upgrades a server with the upgrade command, run as the agent runs it', async () => {
    const before = fleet.servers[2]!.pid;
    const env = { ...process.env, MAINTCTL_SERVER: 'db3', MAINTCTL_TARGET_VERSION: '10.11.99' };
    await run(fleet.upgradeCommand, { env });
    expect(running(before!)).toBe(false);
    expect(await fleet.query('db3', 'SELECT VERSION() AS v')).toEqual([{ v: '10.11.99' }]);
    const { insertId } = await insert('after upgrade');
    await fleet.sync();
    expect(await fleet.query('db3', 'SELECT v FROM app.kv WHERE id = ?', [insertId])).toEqual([{ v: 'after upgrade' }]);

    await expect(run(fleet.upgradeCommand, { env: { ...env, MAINTCTL_SERVER: 'db9' } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("no server 'db9'"),
    });
    await expect(run(fleet.upgradeCommand, { env: { ...env, MAINTCTL_TARGET_VERSION: '' } })).rejects.toMatchObject({
      code: 2,
    });
  });

  it('routes the write port to the primary and the read port round robin', async () => {
    const through = (p: number) =>
      asUser('app', p, async (c) => ((await c.query('SELECT @@port AS port')) as [{ port: number }])[0].port);
    expect(await through(haproxy.writePort)).toBe(port('db1'));
    const { insertId } = await asUser('app', haproxy.writePort, (c) =>
      c.query("INSERT INTO app.kv (v) VALUES ('through haproxy')"),
    );
    expect(await fleet.query('db1', 'SELECT v FROM app.kv WHERE id = ?', [insertId])).toEqual([
      { v: 'through haproxy' },
    ]);
    const reads = [];
    for (let i = 0; i < 6; i++) reads.push(await through(haproxy.readPort));
    expect(new Set(reads.slice(0, 3))).toEqual(new Set(fleet.servers.map((s) => s.port)));
    expect(reads.slice(3)).toEqual(reads.slice(0, 3));
  });

  it('answers show servers state on the runtime API, at level admin', async () => {
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...; op 2: running, 0: stopped; admin
    // bits 1: maintenance set at run time, 4: `disabled` in the configuration.
    const state = async (backend: string, server: string) => {
      const fields = (await haproxy.command('show servers state'))
        .split('\n')
        .map((line) => line.split(' '))
        .find((f) => f[1] === backend && f[3] === server);
      return { op: fields?.[5], admin: fields?.[6] };
    };
    expect(await state('writes', 'db1')).toEqual({ op: '2', admin: '0' });
    expect(await state('writes', 'db2')).toEqual({ op: '0', admin: '5' });
    expect(await state('writes', 'db3')).toEqual({ op: '0', admin: '5' });
    for (const name of ['db1', 'db2', 'db3']) expect(await state('reads', name)).toEqual({ op: '2', admin: '0' });

    await haproxy.command('set server writes/db2 state ready');
    expect(await state('writes', 'db2')).toEqual({ op: '2', admin: '4' });
    await haproxy.command('set server writes/db2 state maint');
    expect(await state('writes', 'db2')).toEqual({ op: '0', admin: '5' });
  });

  it('leaves no process or dir behind once closed', async () => {
    const pids = [haproxy.pid, ...fleet.servers.map((s) => s.pid!)];
    expect(pids.every(running)).toBe(true);
    await haproxy.close();
    await fleet.close();
    expect(pids.filter(running)).toEqual([]);
    expect(fleet.servers.filter((s) => existsSync(s.dir))).toEqual([]);
  });
});
