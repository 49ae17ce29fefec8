/**
 * Real MariaDB servers with GTID replication, and a real HAProxy in front of them, on free 127.0.0.1 ports: what
 * the maintctl agent's tests, the bench and `npm run demo:mariadb` run it against. Debian's `mariadb-server` (10.11) and `haproxy` (2.6); Linux only (the
 * cleanup tells a server's pid from a reused one by its /proc command line).
 *
 * The servers are started and stopped by a script in the fleet's dir (`fleetctl`), from each server's mariadbd
 * command line kept in its dir, so that the agent's upgrade command, a process apart from the harness, restarts a
 * server exactly as the harness does. Every server and HAProxy run in their own sessions, out of reach of a Ctrl-C
 * of the test run; what is left of them when the test process ends, however it ends, is killed (see `guard`).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createConnection } from 'mariadb';
import { freePort } from './dynamodb.js';
import { guard } from './guard.js';

const run = promisify(execFile);

/**
 * What the agent's MariaDB user is granted: enough to observe (PROCESS for every user's sessions and
 * transactions, BINLOG MONITOR for the binlog position, SLAVE MONITOR for SHOW SLAVE STATUS) and to switch over
 * (READ_ONLY ADMIN for SET GLOBAL read_only, REPLICATION SLAVE ADMIN for STOP/START SLAVE, CHANGE MASTER and
 * gtid_slave_pos, RELOAD because RESET SLAVE still asks for it in 10.11, CONNECTION ADMIN to KILL other users'
 * sessions). MASTER_GTID_WAIT needs no privilege.
 */
const AGENT_GRANTS = [
  "GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'maintctl'@'127.0.0.1'",
  "GRANT READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, RELOAD, CONNECTION ADMIN ON *.* TO 'maintctl'@'127.0.0.1'",
];

interface Credentials {
  user: string;
  password: string;
}

interface MariaDbServer {
  name: string;
  port: number;
  dir: string;
  socket: string;
  /** The `--version=` it runs with (what VERSION() reports), or undefined for the binary's own version. */
  readonly version: string | undefined;
  /** Its mariadbd's pid, while it runs. */
  readonly pid: number | undefined;
}

export interface MariaDbFleet {
  /** In the order given: the first is the primary, the others replicate from it. */
  servers: MariaDbServer[];
  /** TCP users from 127.0.0.1 (also what HAProxy connects from), with random passwords. */
  users: { agent: Credentials; replication: Credentials; app: Credentials };
  /** Runs SQL on one server as its all-privileged admin (the OS user, root here, over the unix socket). */
  query<T = unknown>(name: string, sql: string, values?: unknown[]): Promise<T>;
  /** Until every other server has applied what `source` (default: the first server) has in its binlog. */
  sync(source?: string, timeoutMs?: number): Promise<void>;
  /**
   * Stops the server (SIGTERM, SIGKILL after 20 s) and starts it again with the same data dir, port and options;
   * with `version`, at that version from now on (mariadbd's `--version=`). Resolves once it answers.
   */
  restart(name: string, version?: string): Promise<void>;
  /** Stops a server without starting it again: `start(name)` does. */
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  /**
   * An executable to run as the agent's upgrade command: restarts server `$MAINTCTL_SERVER` at version
   * `$MAINTCTL_TARGET_VERSION` as `restart` does; exits 0 once it answers at that version, non-zero with the reason
   * on stderr otherwise.
   */
  upgradeCommand: string;
  /** Stops every server (also those the upgrade command started) and removes the fleet's dir. */
  close(): Promise<void>;
}

export interface HaproxyInstance {
  pid: number;
  runtimeApi: { host: '127.0.0.1'; port: number };
  /** Frontend of backend `writes` (the primary alone serves at first). */
  writePort: number;
  /** Frontend of backend `reads` (every server, round robin). */
  readPort: number;
  /** The configuration's text. */
  config: string;
  /** Sends one command to the runtime API; its answer. */
  command(line: string): Promise<string>;
  close(): Promise<void>;
}

// --- Cleanup however the test process ends --------------------------------------------------------------------

/** `guard` that also removes `dir` once it has run `cleanup` (`$0` in `cleanup` is `dir`). */
const guardDir = (dir: string, cleanup: string) => guard(`${cleanup}; rm -rf "$0"`, dir);

/**
 * The pid in a server's pid file while it runs that server: its command line names the server's dir (a zombie's
 * is empty, a reused pid's is another's).
 */
function serverPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'mariadbd.pid'), 'utf8'));
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

// --- MariaDB ----------------------------------------------------------------------------------------------------

/**
 * `fleetctl start|stop|kill SERVER`, `fleetctl restart SERVER [VERSION]`. A pid is the server's only while its
 * command line names the server's dir: once it has exited (a zombie's command line is empty) or been reused, it is
 * not. mariadbd runs in its own session (setsid) with its pid in its pid file at once, before it writes it itself.
 */
const FLEETCTL = `#!/usr/bin/env bash
set -euo pipefail
die() { echo "fleetctl: $*" >&2; exit 1; }
[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = restart ]; } || die "usage: fleetctl start|stop|kill SERVER | restart SERVER [VERSION]"
action=$1 name=$2 version=\${3:-}
dir=$(cd "$(dirname "$0")" && pwd)/$name
[ -f "$dir/mariadbd.args" ] || die "no server '$name' in this fleet"
[[ $version =~ ^[[:alnum:]._+~-]*$ ]] || die "not a version: '$version'"
admin=(--no-defaults "--socket=$dir/mariadb.sock" "--user=$(id -un)")

ours() { [ -n "$1" ] && grep -qaF -- "$dir/" "/proc/$1/cmdline" 2>/dev/null; }
pid_file() { cat "$dir/mariadbd.pid" 2>/dev/null || true; }

halt() {
  local pid; pid=$(pid_file)
  if ours "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    while ours "$pid"; do sleep 0.05; done
  fi
  rm -f "$dir/mariadbd.pid"
}

stop() {
  local pid; pid=$(pid_file)
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do ours "$pid" || break; sleep 0.1; done
    if ours "$pid"; then echo "fleetctl: $name still runs 20 s after SIGTERM: SIGKILL" >&2; fi
  fi
  halt
}

start() {
  local pid args want got; pid=$(pid_file)
  if ours "$pid"; then die "$name already runs (pid $pid)"; fi
  mapfile -t args < "$dir/mariadbd.args"
  setsid "\${args[@]}" </dev/null >>"$dir/mariadbd.out" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/mariadbd.pid"
  for _ in $(seq 1200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      { echo "fleetctl: $name exited while starting; $dir/error.log ends:"; tail -n 20 "$dir/error.log"; } >&2
      exit 1
    fi
    if mariadb-admin "\${admin[@]}" --connect-timeout=1 ping >/dev/null 2>&1; then
      want=$(sed -n 's/^--version=//p' "$dir/mariadbd.args")
      got=$(mariadb "\${admin[@]}" -N -B -e 'SELECT VERSION()')
      [ -z "$want" ] || [ "$got" = "$want" ] || die "$name answers at version $got, not $want"
      return 0
    fi
    sleep 0.05
  done
  die "$name did not answer within 60 s (see $dir/error.log)"
}

case $action in
  start) start ;;
  stop) stop ;;
  kill) halt ;;
  restart)
    stop
    if [ -n "$version" ]; then
      { grep -v -- '^--version=' "$dir/mariadbd.args"; echo "--version=$version"; } > "$dir/mariadbd.args.new"
      mv "$dir/mariadbd.args.new" "$dir/mariadbd.args"
    fi
    start ;;
  *) die "unknown action '$action'" ;;
esac
`;

const UPGRADE = `#!/bin/sh
[ -n "$MAINTCTL_SERVER" ] && [ -n "$MAINTCTL_TARGET_VERSION" ] || { echo "upgrade: MAINTCTL_SERVER and MAINTCTL_TARGET_VERSION must be set" >&2; exit 2; }
exec "$(dirname "$0")/fleetctl" restart "$MAINTCTL_SERVER" "$MAINTCTL_TARGET_VERSION"
`;

const NAME = /^[A-Za-z0-9_-]+$/;

// The admin is the OS user (root here): mariadb-install-db gives it unix_socket access with every privilege.
const ADMIN = userInfo().username;

// Small, so that three servers start in well under a second: InnoDB writes its temporary tablespace in full at
// every start.
const INNODB = [
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=8M',
  '--innodb-temp-data-file-path=ibtmp1:1M:autoextend',
];

let systemDatabase: Promise<string> | undefined;

/** A datadir with the system tables, installed once per process and copied to every server: an install takes a second. */
function installedDatadir(): Promise<string> {
  systemDatabase ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maintctl-fleet-datadir-'));
    guardDir(dir, ':');
    const datadir = join(dir, 'data');
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--user=${ADMIN}`,
      '--auth-root-authentication-method=socket',
      `--auth-root-socket-user=${ADMIN}`,
      '--skip-test-db',
      ...INNODB,
    ]);
    return datadir;
  })();
  return systemDatabase;
}

/** `count` distinct free ports (a port just released may be handed out again). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function password(): string {
  return randomBytes(12).toString('hex');
}

/**
 * Starts `names.length` servers, the first the primary and the others its replicas (GTID, slave_pos), with the
 * agent's, the replication and the app's users and the database `app` (table `kv`) created on the primary and
 * replicated. `options.version`: the version every server reports at first.
 */
export async function startMariaDbFleet(names: string[], options: { version?: string } = {}): Promise<MariaDbFleet> {
  if (names.length === 0 || new Set(names).size !== names.length || !names.every((n) => NAME.test(n))) {
    throw new Error(`server names must be distinct and match ${NAME}: ${JSON.stringify(names)}`);
  }
  const ports = await freePorts(names.length);
  const root = await mkdtemp(join(tmpdir(), 'maintctl-fleet-'));
  const servers = names.map((name, i) => {
    const dir = join(root, name);
    return {
      name,
      port: ports[i]!,
      dir,
      socket: join(dir, 'mariadb.sock'),
      get version() {
        return /^--version=(.*)$/m.exec(readFileSync(join(dir, 'mariadbd.args'), 'utf8'))?.[1];
      },
      get pid() {
        return serverPid(dir);
      },
    };
  });
  // The data goes with the dir, so a clean shutdown is not worth the wait: SIGKILL.
  const guardian = guardDir(root, names.map((name) => `"$0/fleetctl" kill ${name}`).join('; '));
  const fleetctl = join(root, 'fleetctl');
  const server = (name: string) => {
    const found = servers.find((s) => s.name === name);
    if (!found) throw new Error(`no server ${name} in the fleet (${names.join(', ')})`);
    return found;
  };
  const ctl = async (action: string, name: string, ...rest: string[]) => {
    server(name);
    await run(fleetctl, [action, name, ...rest]);
  };
  const users = {
    agent: { user: 'maintctl', password: password() },
    replication: { user: 'repl', password: password() },
    app: { user: 'app', password: password() },
  };
  const fleet: MariaDbFleet = {
    servers,
    users,
    async query<T>(name: string, sql: string, values?: unknown[]) {
      const conn = await createConnection({
        socketPath: server(name).socket,
        user: ADMIN,
        bigIntAsNumber: true,
        insertIdAsNumber: true,
      });
      try {
        return (await conn.query(sql, values)) as T;
      } finally {
        await conn.end();
      }
    },
    async sync(source = names[0]!, timeoutMs = 20_000) {
      const [{ pos }] = await fleet.query<[{ pos: string }]>(source, 'SELECT @@gtid_binlog_pos AS pos');
      await Promise.all(
        names
          .filter((name) => name !== source)
          .map(async (name) => {
            const [{ r }] = await fleet.query<[{ r: number | null }]>(name, 'SELECT MASTER_GTID_WAIT(?, ?) AS r', [
              pos,
              timeoutMs / 1000,
            ]);
            if (r !== 0)
              throw new Error(`${name} did not reach ${source}'s GTID position ${pos} within ${timeoutMs} ms`);
          }),
      );
    },
    restart: (name, version) => ctl('restart', name, ...(version ? [version] : [])),
    stop: (name) => ctl('stop', name),
    start: (name) => ctl('start', name),
    upgradeCommand: join(root, 'upgrade'),
    close: () => guardian.release(),
  };

  try {
    writeFileSync(fleetctl, FLEETCTL);
    writeFileSync(fleet.upgradeCommand, UPGRADE);
    chmodSync(fleetctl, 0o755);
    chmodSync(fleet.upgradeCommand, 0o755);
    const template = await installedDatadir();
    servers.forEach((s, i) => {
      cpSync(template, join(s.dir, 'data'), { recursive: true });
      const args = [
        '/usr/sbin/mariadbd',
        '--no-defaults',
        `--user=${ADMIN}`,
        `--datadir=${s.dir}/data`,
        `--socket=${s.socket}`,
        `--pid-file=${s.dir}/mariadbd.pid`,
        `--log-error=${s.dir}/error.log`,
        `--port=${s.port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        `--server-id=${i + 1}`,
        '--log-bin=mariadb-bin',
        '--relay-log=relay-bin',
        '--log-slave-updates',
        '--binlog-format=ROW',
        '--gtid-strict-mode=1',
        '--max-connect-errors=1000000',
        // Every server starts read-only, as production configs have it: the primary is made writable below, and
        // one restarted later is not writable until someone (the agent) says so.
        '--read-only=1',
        ...INNODB,
        ...(options.version ? [`--version=${options.version}`] : []),
      ];
      writeFileSync(join(s.dir, 'mariadbd.args'), `${args.join('\n')}\n`);
    });
    await Promise.all(names.map((name) => ctl('start', name)));

    const [primary, ...replicas] = servers;
    const tcp = (c: Credentials) => `'${c.user}'@'127.0.0.1' IDENTIFIED BY '${c.password}'`;
    // Before any replica is attached: they replicate all of it, and every server's GTID position is the same.
    for (const sql of [
      'SET GLOBAL read_only = 0',
      `CREATE USER ${tcp(users.agent)}`,
      ...AGENT_GRANTS,
      `CREATE USER ${tcp(users.replication)}`,
      `GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'`,
      'CREATE DATABASE app',
      'CREATE TABLE app.kv (id BIGINT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(64) NOT NULL)',
      `CREATE USER ${tcp(users.app)}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON app.* TO 'app'@'127.0.0.1'`,
    ]) {
      await fleet.query(primary!.name, sql);
    }
    await Promise.all(
      replicas.map(async (r) => {
        // MASTER_CONNECT_RETRY=1: a replica whose primary restarts reconnects within a second, not the default 60 s.
        await fleet.query(
          r.name,
          "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
          [primary!.port, users.replication.user, users.replication.password],
        );
        await fleet.query(r.name, 'START SLAVE');
      }),
    );
    await fleet.sync();
    return fleet;
  } catch (error) {
    await fleet.close();
    throw error;
  }
}

// --- HAProxy ------------------------------------------------------------------------------------------------------

/** Sends one runtime API command over its own connection (HAProxy closes it after the answer). */
function runtimeCommand(port: number, line: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy(new Error(`HAProxy runtime API: no answer to "${line}"`)));
    socket.on('connect', () => socket.end(`${line}\n`));
    socket.on('data', (d) => (answer += d));
    socket.on('error', fail);
    socket.on('close', () => done(answer));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

/**
 * HAProxy in TCP mode in front of the fleet: `writePort` → backend `writes` (every server, all but `primary`
 * disabled, i.e. in maintenance), `readPort` → backend `reads` (every server, round robin). The runtime API is at
 * `level admin` on a TCP port.
 */
export async function startHaproxy(fleet: MariaDbFleet, options: { primary: string }): Promise<HaproxyInstance> {
  if (!fleet.servers.some((s) => s.name === options.primary))
    throw new Error(`no server ${options.primary} in the fleet`);
  const [apiPort, writePort, readPort] = (await freePorts(3)) as [number, number, number];
  const servers = (disabled: (name: string) => boolean) =>
    fleet.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}${disabled(s.name) ? ' disabled' : ''}`);
  const config = [
    'global',
    `  stats socket ipv4@127.0.0.1:${apiPort} level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  retries 3',
    '  option redispatch',
    // No health checks: the agent under test decides which server serves, through the runtime API; checks would
    // take servers in and out behind its back.
    'frontend writes_in',
    `  bind 127.0.0.1:${writePort}`,
    '  default_backend writes',
    'frontend reads_in',
    `  bind 127.0.0.1:${readPort}`,
    '  default_backend reads',
    'backend writes',
    ...servers((name) => name !== options.primary),
    'backend reads',
    '  balance roundrobin',
    ...servers(() => false),
    '',
  ].join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'maintctl-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  // -db: in the foreground, so its pid is the child's; detached: in its own process group, like the servers.
  const child = spawn('haproxy', ['-db', '-f', file], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const failed = await new Promise<Error | undefined>((done) =>
    child.once('spawn', () => done(undefined)).once('error', done),
  );
  if (failed) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy did not start: ${failed.message}`);
  }
  const guardian = guardDir(dir, `kill -9 -${child.pid}`);
  const instance: HaproxyInstance = {
    pid: child.pid!,
    runtimeApi: { host: '127.0.0.1', port: apiPort },
    writePort,
    readPort,
    config,
    command: (line) => runtimeCommand(apiPort, line),
    async close() {
      await Promise.all([guardian.release(), exited]);
    },
  };

  for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await instance.close();
      throw new Error(`haproxy exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    const state = await instance.command('show servers state').catch(() => '');
    if (/^\d+ writes /m.test(state) && (await accepts(writePort)) && (await accepts(readPort))) return instance;
    if (Date.now() > deadline) {
      await instance.close();
      throw new Error(`haproxy did not answer within 10 s:\n${output}`);
    }
  }
}
