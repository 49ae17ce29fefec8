/** Test wiring over the run's DynamoDB Local: a fresh table per call, real handlers, a real HTTP server. */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { hashToken, newTokenId, newTokenSecret } from '../../functions/http/auth.js';
import type { Deps } from '../../functions/deps.js';
import type { Role } from '../../functions/http/routes.js';
import { createDeps, dynamoClient } from '../../functions/runtime.js';
import { ensureTable } from '../../local/dynamodb.js';
import { IntegrationStore } from '../../functions/store/integrations.js';
import { startHttpServer } from '../../local/http-server.js';
import { attachLocalRollouts, type LocalRolloutOptions, type LocalWorkflowEngine } from '../../local/workflow.js';
import { LocalWindowScheduler } from '../../local/scheduler.js';

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

export interface TestEnv {
  client: DynamoDBClient;
  table: string;
  deps: Deps;
  /** DynamoDB round trips since the last reset (counted by an SDK middleware). */
  roundTrips: { count: number; commands: string[]; reset(): void };
  /** Successful DynamoDB writes, in order (counted around each whole command, retries included). */
  writes: string[];
  clock: { now: number | undefined };
  /** The in-process Step Functions running this env's rollouts. */
  engine: LocalWorkflowEngine;
  /** The local scheduler of this env's windows (not started: tests call `tick()` after moving the clock). */
  windows: LocalWindowScheduler;
}

export interface EnvOptions {
  /** Where the handlers reach DynamoDB: the run's DynamoDB Local unless a test puts something in between. */
  dynamodbEndpoint?: string;
  /** One DynamoDB attempt's limit (default 5 s, as deployed). */
  requestTimeoutMs?: number;
}

/** Rollouts in tests poll every 100 ms and retry at once, unless a test says otherwise. */
export async function testEnv(rollouts: LocalRolloutOptions = {}, options: EnvOptions = {}): Promise<TestEnv> {
  const client = dynamoClient(options.dynamodbEndpoint ?? inject('dynamodbEndpoint'), options);
  const table = `t-${randomUUID()}`;
  await ensureTable(client, table);
  const roundTrips = {
    count: 0,
    commands: [] as string[],
    reset() {
      this.count = 0;
      this.commands = [];
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      roundTrips.count++;
      roundTrips.commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countRoundTrips' },
  );
  const writes: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (WRITE_COMMANDS.has(context.commandName ?? '')) writes.push(context.commandName!);
      return out;
    },
    { step: 'initialize', name: 'recordWrites' },
  );
  const clock = { now: undefined as number | undefined };
  const deps = createDeps(client, table, () => clock.now ?? Date.now());
  // The integrations' settings routes (on AWS they make this store from TABLE_NAME; locally the stack gives it).
  deps.integrations = new IntegrationStore(client, table);
  const engine = attachLocalRollouts(deps, { waitMs: 100, retryMs: 0, ...rollouts });
  return { client, table, deps, roundTrips, writes, clock, engine, windows: new LocalWindowScheduler(deps) };
}

export async function createToken(
  deps: Deps,
  role: Role,
  clusters?: string[],
  user = `${role}-${newTokenId()}`,
): Promise<string> {
  const secret = newTokenSecret();
  await deps.store.putToken({
    id: newTokenId(),
    user,
    role,
    createdAt: deps.now(),
    hash: hashToken(secret),
    ...(clusters && { clusters }),
  });
  return secret;
}

export interface HttpEnv extends TestEnv {
  url: string;
  admin: string;
  close(): Promise<void>;
  /** fetch against the local server with a bearer token (admin unless given). */
  call(
    method: string,
    path: string,
    body?: unknown,
    options?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function httpEnv(rollouts: LocalRolloutOptions = {}, options: EnvOptions = {}): Promise<HttpEnv> {
  const env = await testEnv(rollouts, options);
  const server = await startHttpServer(env.deps, { port: 0 });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = await createToken(env.deps, 'admin', undefined, 'admin');
  return {
    ...env,
    url,
    admin,
    async close() {
      env.engine.stopAll();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      env.client.destroy();
    },
    async call(method, path, body, options = {}) {
      const token = options.token === undefined ? admin : options.token;
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token !== null && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
        ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}

/** Registers a cluster and its servers through the API. */
export async function seedCluster(
  env: HttpEnv,
  cluster: string,
  servers: { name: string; dc?: string; role?: 'primary' | 'replica' | 'member' }[],
  engine = 'mariadb',
): Promise<void> {
  const res = await env.call('PUT', `/v1/clusters/${cluster}`, { engine });
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`seed cluster: ${res.status} ${JSON.stringify(res.body)}`);
  for (const s of servers) {
    const r = await env.call('PUT', `/v1/clusters/${cluster}/servers/${s.name}`, {
      dc: s.dc ?? 'dc1',
      role: s.role ?? 'replica',
    });
    if (r.status >= 300) throw new Error(`seed server: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** Reports every server running (the first report makes them electable). */
export async function reportAll(
  env: HttpEnv,
  cluster: string,
  names: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  for (const name of names) {
    const r = await env.call('PUT', `/v1/clusters/${cluster}/servers/${name}/status`, { health: 'running', ...extra });
    if (r.status !== 200) throw new Error(`report: ${r.status} ${JSON.stringify(r.body)}`);
  }
}
