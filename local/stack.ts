/** The whole control plane on one machine: DynamoDB Local, the table, the admin token, the sweeper, the API. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { hashToken, newTokenId, newTokenSecret } from '../functions/http/auth.js';
import type { Deps } from '../functions/deps.js';
import { createDeps, dynamoClient } from '../functions/runtime.js';
import { loggedTask } from '../functions/rollout/task-log.js';
import { runSweep } from '../functions/sweeper.js';
import { log } from '../functions/telemetry.js';
import { ensureTable, startDynamoLocal, type DynamoLocal } from './dynamodb.js';
import { startHttpServer } from './http-server.js';
import { LocalWindowScheduler } from './scheduler.js';
import { type LocalIntegrationOptions, type LocalIntegrations, startLocalIntegrations } from './integrations.js';
import { attachLocalRollouts, type LocalRolloutOptions, type LocalWorkflowEngine } from './workflow.js';

export const DEFAULT_PORT = 8989;
export const DEFAULT_TABLE = 'maintctl';

export interface LocalStackOptions {
  port?: number;
  /** State folder (DynamoDB Local's files, the pid file, the bootstrap token). */
  dataDir?: string;
  /** Keep state in memory only. */
  memory?: boolean;
  /** Use a DynamoDB that is already running (several local servers sharing one store). */
  dynamodbEndpoint?: string;
  table?: string;
  adminToken?: string;
  tls?: { cert: string; key: string };
  /** Milliseconds between sweeps; 0 turns the sweeper off. */
  sweepIntervalMs?: number;
  now?: () => number;
  /** The in-process rollout engine's settings (waits, allowlists, local upgrade functions). */
  rollouts?: LocalRolloutOptions;
  /** Alert silences (an Alertmanager URL) and notifications: the change feed's consumer. */
  integrations?: LocalIntegrationOptions;
}

export interface LocalStack {
  url: string;
  deps: Deps;
  /** Runs rollouts: the same ASL as on AWS, in-process. */
  engine: LocalWorkflowEngine;
  /** Fires the windows' phases. */
  windows: LocalWindowScheduler;
  /** The change feed and its consumer (silences, notifications). */
  integrations: LocalIntegrations;
  client: DynamoDBClient;
  adminToken: string;
  /** True when this start created the admin token. */
  adminTokenCreated: boolean;
  dynamodbEndpoint: string;
  server: Server;
  stop(): Promise<void>;
}

/** The bootstrap admin: MAINTCTL_ADMIN_TOKEN, else the one saved on first start, else a new one. */
async function ensureAdminToken(
  deps: Deps,
  given: string | undefined,
  tokenFile: string | undefined,
): Promise<{ token: string; created: boolean }> {
  const saved = tokenFile && existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  const token = given ?? saved ?? newTokenSecret();
  if (await deps.store.findTokenByHash(hashToken(token))) return { token, created: false };
  await deps.store.putToken({
    id: newTokenId(),
    user: 'admin',
    role: 'admin',
    createdAt: deps.now(),
    hash: hashToken(token),
  });
  if (!given && tokenFile) writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { token, created: given === undefined };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir ?? '.maintctl');
  mkdirSync(dataDir, { recursive: true });
  let dynamo: DynamoLocal | undefined;
  let endpoint = options.dynamodbEndpoint;
  if (!endpoint) {
    dynamo = options.memory
      ? await startDynamoLocal({ pidFile: resolve(dataDir, 'dynamodb-memory.pid') })
      : await startDynamoLocal({ dataDir: resolve(dataDir, 'dynamodb') });
    endpoint = dynamo.endpoint;
  }
  const table = options.table ?? DEFAULT_TABLE;
  const client = dynamoClient(endpoint);
  try {
    await ensureTable(client, table);
    const deps = createDeps(client, table, options.now);
    // Each task's line, as the task function writes it on Lambda.
    const around = options.rollouts?.aroundTask;
    const engine = attachLocalRollouts(deps, {
      ...options.rollouts,
      aroundTask: (payload, run) => loggedTask(payload, () => (around ? around(payload, run) : run())),
    });
    const windows = new LocalWindowScheduler(deps);
    const admin = await ensureAdminToken(
      deps,
      options.adminToken,
      options.memory || options.dynamodbEndpoint ? undefined : resolve(dataDir, 'admin-token'),
    );
    const port = options.port ?? DEFAULT_PORT;
    const server = await startHttpServer(deps, { port, ...(options.tls && { tls: options.tls }) });
    const address = server.address() as { port: number };
    const interval = options.sweepIntervalMs ?? 60_000;
    const sweeper =
      interval > 0
        ? setInterval(() => runSweep(deps).catch((e) => log('warn', 'sweep failed', { error: String(e) })), interval)
        : undefined;
    sweeper?.unref();
    if (interval > 0) windows.start();
    const integrations = startLocalIntegrations(
      deps,
      { client, endpoint, table },
      {
        reconcileIntervalMs: interval,
        ...(!options.memory && !options.dynamodbEndpoint && { positionsFile: resolve(dataDir, 'change-feed.json') }),
        ...options.integrations,
      },
    );
    return {
      url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`,
      deps,
      engine,
      windows,
      integrations,
      client,
      adminToken: admin.token,
      adminTokenCreated: admin.created,
      dynamodbEndpoint: endpoint,
      server,
      async stop() {
        if (sweeper) clearInterval(sweeper);
        await windows.stop();
        await integrations.stop();
        engine.stopAll();
        server.closeAllConnections();
        await new Promise((done) => server.close(done));
        client.destroy();
        await dynamo?.stop();
      },
    };
  } catch (error) {
    client.destroy();
    await dynamo?.stop();
    throw error;
  }
}
