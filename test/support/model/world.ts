/**
 * The world the model-based test drives: the real local stack (HTTP on 127.0.0.1, the handlers, DynamoDB Local,
 * the local Step Functions engine, the local scheduler and the sweeper) on a clock the test controls, two clusters
 * and a set of tokens. Executions run in the background; `settle()` waits until each is either finished or
 * polling for something only a command can bring (a report, the clock), so every command meets a quiet world.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { TaskPayload } from '../../../functions/rollout/tasks.js';
import type { Role } from '../../../functions/http/routes.js';
import { startHttpServer } from '../../../local/http-server.js';
import type { TaskOutput } from '../../../workflows/machines.js';
import { createToken, testEnv, type TestEnv } from '../env.js';

export const V0 = '10.11.6';
export const V1 = '10.11.7';
export const V2 = '10.11.8';
/** Servers go stale after ten minutes without a report: the clock's longer steps can pass that. */
export const STALE_AFTER_SECONDS = 600;
/** The clock starts here (in the future: DynamoDB Local expires TTL items by the real clock). */
export const T0 = Date.parse('2040-03-02T00:00:00Z');

export interface ServerSpec {
  name: string;
  dc: string;
  role: 'primary' | 'replica' | 'member';
}

export const CLUSTERS: { id: string; engine: string; servers: ServerSpec[] }[] = [
  {
    id: 'alpha',
    engine: 'mariadb',
    servers: [
      { name: 'a1', dc: 'dc1', role: 'primary' },
      { name: 'a2', dc: 'dc1', role: 'replica' },
      { name: 'a3', dc: 'dc1', role: 'replica' },
      { name: 'a4', dc: 'dc2', role: 'replica' },
      { name: 'a5', dc: 'dc2', role: 'replica' },
    ],
  },
  {
    id: 'beta',
    engine: 'cassandra',
    servers: ['b1', 'b2', 'b3', 'b4']
      .map((name) => ({ name, dc: 'dc1', role: 'member' as const }))
      .concat(['b5', 'b6'].map((name) => ({ name, dc: 'dc2', role: 'member' as const }))),
  },
];

export interface TokenModel {
  id: string;
  secret: string;
  user: string;
  role: Role;
  clusters?: string[];
  revoked: boolean;
}

export interface Answer {
  status: number;
  body: any;
  requestId: string;
}

type Keyed = { pk?: { S?: string } };

/** A test env served over HTTP on 127.0.0.1. */
export interface ModelEnv extends TestEnv {
  url: string;
  close(): Promise<void>;
}

/**
 * Holds back a poll that answered "waiting" until something has changed since (a command, or another task's
 * progress), and knows when every execution is so held: the world is quiet.
 */
export class Quiescence {
  private generation = 0;
  private inFlight = 0;
  private readonly waiting = new Map<string, number>();
  private readonly held = new Set<string>();
  private wake: (() => void)[] = [];

  readonly around = async (payload: TaskPayload, run: () => Promise<TaskOutput>): Promise<TaskOutput> => {
    const key = `${payload.execution}/${payload.task}`;
    while (this.waiting.get(key) === this.generation) {
      this.held.add(payload.execution);
      await new Promise<void>((resolve) => this.wake.push(resolve));
      this.held.delete(payload.execution);
    }
    const at = this.generation;
    this.inFlight++;
    try {
      const output = await run();
      if (output.outcome === 'waiting') this.waiting.set(key, at);
      else this.changed(key);
      return output;
    } catch (error) {
      this.changed(key);
      throw error;
    } finally {
      this.inFlight--;
    }
  };

  /** Something changed: every held poll looks again. */
  changed(key?: string): void {
    if (key) this.waiting.delete(key);
    this.generation++;
    const wake = this.wake;
    this.wake = [];
    for (const resolve of wake) resolve();
  }

  /** Whether nothing runs: no task in flight, every running execution held or waiting for its children. */
  quiet(env: ModelEnv): boolean {
    if (this.inFlight > 0) return false;
    return env.engine
      .list()
      .every(
        (e) =>
          e.status !== 'RUNNING' ||
          this.held.has(e.arn) ||
          [...e.children].some((c) => env.engine.list().some((x) => x.arn === c && x.status === 'RUNNING')),
      );
  }

  get stamp(): number {
    return this.generation;
  }
}

/**
 * At most one execution runs a rollout: an execution is live from its successful Preflight until it ends or hands
 * over to its successor; a second live one is a violation.
 */
export class ExecutionWatch {
  private readonly live = new Map<string, Set<string>>();
  readonly violations: string[] = [];

  constructor(private readonly env: () => ModelEnv) {}

  /** After a task of a rollout execution answered. */
  observe(payload: TaskPayload): void {
    if (payload.task !== 'preflight') return;
    const rolloutId = String(payload.state.rolloutId ?? '');
    const live = this.live.get(rolloutId) ?? new Set<string>();
    this.live.set(rolloutId, live);
    const predecessor = payload.state.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID;
    for (const arn of live) {
      if (arn !== payload.execution && arn !== predecessor)
        this.violations.push(`rollout ${rolloutId}: execution ${payload.execution} claimed it while ${arn} runs it`);
    }
    live.add(payload.execution);
    const execution = this.env()
      .engine.list()
      .find((e) => e.arn === payload.execution);
    void execution?.done.then(() => live.delete(payload.execution));
  }

  /** A successor is being started: its predecessor stops running the rollout. */
  handOver(input: Record<string, unknown>): void {
    const from = input.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID;
    if (typeof from === 'string') this.live.get(String(input.rolloutId))?.delete(from);
  }
}

export interface World {
  env: ModelEnv;
  quiet: Quiescence;
  executions: ExecutionWatch;
  /** The bootstrap admin first; then the tokens the sequence created. */
  tokens: TokenModel[];
  /** The checks' own viewer token, outside the commands' reach. */
  observer: string;
  /** The scheduler's and sweeper's last pass. */
  lastTick: number;
  /** Every answer's status, for the report. */
  answers: Map<number, number>;
  /** Request ids of refused requests (4xx) since the last check: they must have written nothing. */
  refused: { requestId: string; what: string }[];
  violations: string[];
  log: string[];
  /** The partition keys written since the last check: what the checks need to look at again. */
  written: Set<string>;
  /** How often each audit action happened: what the sequences reached. */
  reached: Map<string, number>;
  /** Where the time goes (ms): setting the world up, the commands, settling, checking. */
  timing: { setup: number; act: number; settle: number; check: number };
}

/** The seeded table of the first world, written into each next one's (much faster than seeding it again). */
let template: { items: Record<string, unknown>[]; tokens: TokenModel[]; observer: string } | undefined;

/** A world on the DynamoDB Local at `dynamodbEndpoint` (the run's, unless given). */
export async function createWorld(dynamodbEndpoint?: string): Promise<World> {
  const began = performance.now();
  let env!: ModelEnv;
  const quiet = new Quiescence();
  const executions = new ExecutionWatch(() => env);
  const base = await testEnv(
    {
      waitMs: 0,
      retryMs: 0,
      aroundTask: async (payload, run) => {
        const output = await quiet.around(payload, run);
        executions.observe(payload);
        return output;
      },
      beforeStart: (machine, input) => {
        if (machine === 'rollout') executions.handOver(input);
      },
    },
    { ...(dynamodbEndpoint && { dynamodbEndpoint }) },
  );
  base.clock.now = T0;
  const server = await startHttpServer(base.deps, { port: 0 });
  env = {
    ...base,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      base.engine.stopAll();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      base.client.destroy();
    },
  };
  const world: World = {
    env,
    quiet,
    executions,
    tokens: [],
    observer: '',
    lastTick: T0,
    answers: new Map(),
    written: new Set(),
    reached: new Map(),
    refused: [],
    violations: [],
    log: [],
    timing: { setup: 0, act: 0, settle: 0, check: 0 },
  };
  env.client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const input = args.input as {
        Item?: Keyed;
        Key?: Keyed;
        TransactItems?: Record<string, { Item?: Keyed; Key?: Keyed }>[];
      };
      const keys = [
        input.Item,
        input.Key,
        ...(input.TransactItems ?? []).flatMap((t) => Object.values(t).flatMap((x) => [x.Item, x.Key])),
      ];
      for (const k of keys) if (k?.pk?.S) world.written.add(k.pk.S);
      return out;
    },
    { step: 'initialize', name: 'recordWrittenKeys' },
  );
  const doc = DynamoDBDocumentClient.from(env.client);
  if (template) {
    for (let i = 0; i < template.items.length; i += 25) {
      await doc.send(
        new BatchWriteCommand({
          RequestItems: { [env.table]: template.items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
    world.tokens = template.tokens.map((t) => ({ ...t }));
    world.observer = template.observer;
  } else {
    await seed(world);
    world.observer = await createToken(env.deps, 'viewer', undefined, 'observer');
    template = {
      items: (await doc.send(new ScanCommand({ TableName: env.table, ConsistentRead: true }))).Items!,
      tokens: world.tokens.map((t) => ({ ...t })),
      observer: world.observer,
    };
  }
  await env.windows.tick();
  world.written.clear();
  world.log.length = 0;
  world.answers.clear();
  env.roundTrips.reset();
  world.timing.setup = performance.now() - began;
  return world;
}

/** Two clusters registered and reported, and a token of each kind, through the API. */
async function seed(world: World): Promise<void> {
  const admin = await createToken(world.env.deps, 'admin', undefined, 'admin');
  world.tokens = [
    {
      id: (await world.env.deps.store.listTokens())[0]!.id,
      secret: admin,
      user: 'admin',
      role: 'admin',
      revoked: false,
    },
  ];
  for (const cluster of CLUSTERS) {
    await call(world, world.tokens[0]!, 'PUT', `/v1/clusters/${cluster.id}`, {
      engine: cluster.engine,
      staleAfterSeconds: STALE_AFTER_SECONDS,
    });
    for (const s of cluster.servers)
      await call(world, world.tokens[0]!, 'PUT', `/v1/clusters/${cluster.id}/servers/${s.name}`, {
        dc: s.dc,
        role: s.role,
      });
  }
  const tokens: Omit<TokenModel, 'id' | 'secret' | 'revoked'>[] = [
    { user: 'ops', role: 'operator' },
    { user: 'alpha-ops', role: 'operator', clusters: ['alpha'] },
    { user: 'alpha-admin', role: 'admin', clusters: ['alpha'] },
    { user: 'watcher', role: 'viewer' },
    { user: 'agent-alpha', role: 'agent', clusters: ['alpha'] },
    { user: 'agent-beta', role: 'agent', clusters: ['beta'] },
  ];
  for (const t of tokens) {
    const created = await call(world, world.tokens[0]!, 'POST', '/v1/tokens', t);
    world.tokens.push({ ...t, id: created.body.id, secret: created.body.token, revoked: false });
  }
  for (const cluster of CLUSTERS) {
    const agent = agentOf(world, cluster.id);
    for (const s of cluster.servers)
      await call(world, agent, 'PUT', `/v1/clusters/${cluster.id}/servers/${s.name}/status`, {
        health: 'running',
        role: s.role,
        version: V0,
        connections: 1,
        openTransactions: 0,
        replicationLagSeconds: 0,
      });
  }
}

export const agentOf = (world: World, cluster: string) => world.tokens.find((t) => t.user === `agent-${cluster}`)!;

/** A request with a token; every answer must be below 500, a revoked token's a 401. */
export async function call(
  world: World,
  token: TokenModel,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${world.env.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token.secret}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  const answer = { status: res.status, body: parsed as any, requestId: res.headers.get('x-request-id') ?? '' };
  world.answers.set(answer.status, (world.answers.get(answer.status) ?? 0) + 1);
  const what = `${method} ${path} as ${token.user}${token.revoked ? ' (revoked)' : ''} → ${answer.status}`;
  world.log.push(`  ${what}${answer.status >= 400 ? ` ${JSON.stringify(answer.body).slice(0, 160)}` : ''}`);
  if (answer.status >= 500) world.violations.push(`an answer ≥ 500: ${what} ${text.slice(0, 300)}`);
  if (token.revoked && answer.status !== 401) world.violations.push(`a revoked token was accepted: ${what}`);
  if (answer.status >= 400 && answer.status < 500) world.refused.push({ requestId: answer.requestId, what });
  return answer;
}

/** Waits until every execution is done or held waiting for a command; a world that never quiets is a finding. */
export async function settle(world: World, timeoutMs = 20_000): Promise<void> {
  world.quiet.changed();
  if (!world.env.engine.list().some((e) => e.status === 'RUNNING')) return;
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  let stamp = -1;
  while (calm < 3) {
    await sleep(2);
    const quiet = world.quiet.quiet(world.env);
    calm = quiet && world.quiet.stamp === stamp ? calm + 1 : 0;
    stamp = world.quiet.stamp;
    if (Date.now() > deadline) {
      const running = world.env.engine
        .list()
        .filter((e) => e.status === 'RUNNING')
        .map((e) => e.arn.split(':').at(-1));
      throw new Error(`the world did not quiet within ${timeoutMs / 1000} s (running: ${running.join(', ')})`);
    }
  }
}
