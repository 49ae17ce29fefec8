/**
 * Model-based tests of the rollout workflow (docs/workflow.md "From the model to ASL"). Paths come from the XState
 * machines through @xstate/graph, every poll loop and the batch loop taken 0, 1 and 2 times, error exits
 * chosen so every transition of the model is taken. Each path is then run twice over DynamoDB Local:
 *  1. the XState machine itself, its actors bound to the real task handlers;
 *  2. the generated ASL under aws-local-stepfunctions (waits and retries 0), the same handlers bound as
 *     `lambda:invoke` tasks.
 * Before each task call the test arranges the world (agents' reports, an operator's abort) so the real handler
 * answers what the path says; both runs must take exactly the path (the ASL's read from its event log).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor, type AnyStateMachine } from 'xstate';
import { createRollout } from '../../functions/domain/rollout/lifecycle.js';
import { BATCHES_PER_EXECUTION, type Rollout, type RolloutSnapshot } from '../../functions/domain/rollout/model.js';
import { runTask, type TaskDeps, type TaskPayload } from '../../functions/rollout/tasks.js';
import { localTaskDeps } from '../../local/workflow.js';
import { nodeMachine, rolloutMachine, type TaskOutput } from '../../workflows/machines.js';
import { MAX_POLL_SECONDS } from '../../workflows/poll.js';
import { testEnv, type TestEnv } from '../support/env.js';
import { applyStatusReport } from '../support/reports.js';
import { rolloutInput } from '../support/rollout-input.js';
import type { StatusReport } from '../../functions/domain/status.js';
import { registerCluster, registerServer } from '../../functions/domain/registry.js';
import {
  INJECTED_ERROR,
  isPoll,
  modelEdges,
  modelPaths,
  pathEdges,
  stateConfig,
  type ModelPath,
} from '../support/model-paths.js';

const TARGET = '2.0';
const OLD = '1.0';

let env: TestEnv;
let tasks: TaskDeps;
/** What the engine's tasks do: set per run (the ASL run's tasks go through it). */
let onTask: (payload: TaskPayload) => Promise<void> = async () => {};
let onStart: (machine: string) => Promise<void> = async () => {};
let sequence = 0;
/** Each poll check's answer in the ASL runs: how long the next Wait (`<Name>Again`, SecondsPath) lasts. */
const pollAnswers: { pollSeconds: number; waitSeconds: unknown }[] = [];

beforeAll(async () => {
  env = await testEnv({
    waitMs: 0,
    retryMs: 0,
    aroundTask: async (p, run) => {
      await onTask(p);
      const answer = await run();
      if (p.pollSeconds !== undefined)
        pollAnswers.push({ pollSeconds: p.pollSeconds, waitSeconds: answer.waitSeconds });
      return answer;
    },
    beforeStart: (m) => onStart(m),
  });
  tasks = localTaskDeps(env.deps);
});
afterAll(() => env?.engine.stopAll());

const actor = { user: 'model', isAdmin: true, source: 'test', requestId: 'model' };
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

async function register(
  cluster: string,
  engine: 'mariadb' | 'cassandra',
  servers: { name: string; role: 'primary' | 'replica' | 'member'; version: string }[],
) {
  await env.deps.store.mutate(
    cluster,
    (s) => registerCluster(s, cluster, { engine, budget: {}, staleAfterSeconds: 86400 }, env.deps.now()),
    { actor, result: () => null },
  );
  for (const s of servers) {
    await env.deps.store.mutate(
      cluster,
      (st) => registerServer(st!, s.name, { dc: 'dc1', role: s.role }, env.deps.now()),
      { actor, result: () => null },
    );
    await report(cluster, s.name, { role: s.role, version: s.version, connections: 2, openTransactions: 0 });
  }
}

/** An agent's status report, over the same rule the API applies. */
async function report(cluster: string, server: string, fields: Partial<StatusReport>) {
  await applyStatusReport(env.deps, cluster, server, fields);
}

/** Writes the rollout record as an operator's control or a past execution would have left it. */
async function forge(cluster: string, id: string, change: (r: RolloutSnapshot) => RolloutSnapshot) {
  await env.deps.store.mutate(
    cluster,
    (state, snapshot) => ({ next: state!, events: [], rollout: change(snapshot!) }),
    { actor, rollout: { id, nodes: 'all' }, result: () => null },
  );
}
const withStatus = (status: Rollout['status']) => (r: RolloutSnapshot) => ({ ...r, rollout: { ...r.rollout, status } });

/** A call the path makes: which task, and what it must answer. */
interface Call {
  task: string;
  expect: { outcome: string } | { error: string };
}

/** The task calls a path makes, in order: one per visit of a task or polling state. */
function callsOf(machine: AnyStateMachine, path: ModelPath): Call[] {
  const calls: Call[] = [];
  path.states.forEach((state, i) => {
    const config = stateConfig(machine, state);
    if (!config.invoke) return;
    const step = path.steps[i]!;
    const expect =
      step.event.type === 'poll'
        ? { outcome: 'waiting' }
        : step.event.error
          ? { error: step.event.error.name }
          : { outcome: step.event.output!.outcome };
    calls.push({ task: config.invoke.src, expect });
  });
  return calls;
}

/** The ASL states a path visits, through docs/workflow.md's mapping (a Task that fails goes straight to its Catch). */
function aslStatesOf(machine: AnyStateMachine, path: ModelPath): string[] {
  return path.states.flatMap((state, i) => {
    const config = stateConfig(machine, state) as {
      invoke?: { onDone?: unknown };
      meta?: { poll?: { check: string; choice: string } };
    };
    const failed = path.steps[i]?.event.error !== undefined;
    // A poll's second and later rounds wait in `<Name>Again` (as long as the check said).
    const wait = config.meta?.poll && path.states[i - 1] === state ? `${state}Again` : state;
    if (config.meta?.poll)
      return failed ? [wait, config.meta.poll.check] : [wait, config.meta.poll.check, config.meta.poll.choice];
    const done = config.invoke?.onDone;
    return Array.isArray(done) && done.length > 1 && !failed ? [state, `${state}Outcome`] : [state];
  });
}

/** The world a path runs in, and what to do before each of its calls. */
interface World {
  input: Record<string, unknown>;
  arrange(call: Call, payload: TaskPayload): Promise<void>;
}

// -------------------------------------------------------------------------------------------------------------
// One node: db1 primary, db2 and db3 replicas at the old version, db4 a replica already upgraded (the switchover
// target, and a node with nothing to do).

async function nodeWorld(path: ModelPath): Promise<World> {
  const cluster = `node-${++sequence}`;
  await register(cluster, 'mariadb', [
    { name: 'db1', role: 'primary', version: OLD },
    { name: 'db2', role: 'replica', version: OLD },
    { name: 'db3', role: 'replica', version: OLD },
    { name: 'db4', role: 'replica', version: TARGET },
  ]);
  const id = `r${sequence}`;
  const input = rolloutInput({
    targetVersion: TARGET,
    servers: ['db1', 'db2', 'db4'],
    drainTimeoutSeconds: 60,
    verify: { stableForSeconds: 0, maxReplicationLagSeconds: 10, timeoutSeconds: 600 },
  });
  await env.deps.store.mutate(cluster, (s) => createRollout(s!, id, input, actor, env.deps.now()), {
    actor,
    rollout: { id, nodes: [] },
    result: () => null,
  });
  const execution = `arn:aws:states:local:000000000000:execution:maintctl-rollout:setup-${sequence}`;
  for (const task of ['preflight', 'pauseAutomation', 'plan'])
    await runTask({ task, state: { cluster, rolloutId: id }, execution }, tasks);

  const begin = path.steps[0]!.event.output?.outcome;
  const server = begin === 'primary' ? 'db1' : begin === 'done' ? 'db4' : 'db2';
  // The node's execution was started by the rollout's, which must still be the rollout's latest.
  return {
    input: { cluster, rolloutId: id, server, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: execution },
    async arrange(call) {
      if ('error' in call.expect) {
        if (call.expect.error === 'RolloutStopped') return forge(cluster, id, withStatus('aborting'));
        throw named(INJECTED_ERROR, `injected into ${call.task}`);
      }
      const outcome = call.expect.outcome;
      if (call.task === 'checkRoles' && outcome === 'switched') {
        await report(cluster, 'db1', { role: 'replica' });
        await report(cluster, 'db4', { role: 'primary' });
      }
      if (call.task === 'checkDrained') {
        await report(cluster, server, { connections: outcome === 'drained' ? 0 : 3 });
        if (outcome === 'forced') env.clock.now = env.deps.now() + 61_000;
      }
      if (call.task === 'checkUpgraded' && outcome === 'upgraded') await report(cluster, server, { version: TARGET });
      if (call.task === 'checkVerified')
        await report(cluster, server, { replicationLagSeconds: outcome === 'verified' ? 0 : 50 });
    },
  };
}

// -------------------------------------------------------------------------------------------------------------
// The rollout: five Cassandra members; as many pending as the path's batches need, the rest already upgraded.

async function autoArrange(cluster: string, payload: TaskPayload) {
  const server = payload.state.server as string;
  if (payload.task === 'checkDrained') await report(cluster, server, { connections: 0 });
  if (payload.task === 'checkUpgraded') await report(cluster, server, { version: TARGET });
  if (payload.task === 'checkVerified') await report(cluster, server, { replicationLagSeconds: 0 });
}

async function rolloutWorld(path: ModelPath): Promise<World> {
  const cluster = `rollout-${++sequence}`;
  const batches = path.states.filter((s) => s === 'RunBatch').length;
  const pending = batches + (path.states.includes('ResumeAutomation') ? 0 : 1);
  await register(
    cluster,
    'cassandra',
    [0, 1, 2, 3, 4].map((i) => ({ name: `s${i}`, role: 'member' as const, version: i < pending ? OLD : TARGET })),
  );
  const id = `r${sequence}`;
  const input = rolloutInput({
    targetVersion: TARGET,
    drainTimeoutSeconds: 60,
    verify: { stableForSeconds: 0, timeoutSeconds: 600 },
  });
  await env.deps.store.mutate(cluster, (s) => createRollout(s!, id, input, actor, env.deps.now()), {
    actor,
    rollout: { id, nodes: [] },
    result: () => null,
  });
  return {
    input: { cluster, rolloutId: id },
    async arrange(call, payload) {
      if (payload.state.server !== undefined) return autoArrange(cluster, payload);
      if ('error' in call.expect) {
        // An abort that lands before the first batch: the step itself refuses.
        if (call.expect.error === 'RolloutStopped') return forge(cluster, id, withStatus('aborting'));
        throw named(INJECTED_ERROR, `injected into ${call.task}`);
      }
      const outcome = call.expect.outcome;
      if (call.task !== 'nextBatch') return;
      if (outcome === 'pause') await forge(cluster, id, withStatus('pausing'));
      if (outcome === 'abort') await forge(cluster, id, withStatus('aborting'));
      if (outcome === 'continue')
        await forge(cluster, id, (r) => ({
          ...r,
          rollout: { ...r.rollout, batchesThisExecution: BATCHES_PER_EXECUTION },
        }));
      if (outcome === 'fail') {
        await forge(cluster, id, (r) => {
          const batch = Math.max(r.rollout.batch, 0);
          const server = r.plan![batch]![0]!;
          const nodes = new Map(r.nodes).set(server, {
            server,
            step: 'verify',
            outcome: 'failed',
            reason: 'arranged',
            attempt: 1,
            version: r.nodes.get(server)?.version ?? 0,
          });
          return {
            ...r,
            nodes,
            rollout: { ...r.rollout, batch, batchesThisExecution: Math.max(r.rollout.batchesThisExecution, 1) },
          };
        });
      }
    },
  };
}

// -------------------------------------------------------------------------------------------------------------
// The two runs

/** Calls a task as the path expects, checking its answer; `runBatch` runs the batch's nodes as a Map would. */
async function call(
  world: World,
  expected: Call | undefined,
  payload: TaskPayload,
  lastServers: string[],
): Promise<TaskOutput> {
  if (!expected || expected.task !== payload.task)
    throw new Error(`the model called ${payload.task}, the path expects ${expected?.task ?? 'nothing'}`);
  if (payload.task === 'runBatch') {
    for (const server of lastServers) {
      for (const task of [
        'beginNode',
        'drainNode',
        'checkDrained',
        'triggerUpgrade',
        'checkUpgraded',
        'checkVerified',
        'clearNode',
      ]) {
        const nodePayload = {
          ...payload,
          task,
          state: { ...payload.state, server, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: payload.execution },
        };
        await world.arrange(expected, nodePayload);
        await runTask(nodePayload, tasks);
      }
    }
    return { outcome: 'ran' };
  }
  if (payload.task === 'startSuccessor') {
    if ('error' in expected.expect) throw named(INJECTED_ERROR);
    return { outcome: 'started' };
  }
  await world.arrange(expected, payload);
  try {
    const output = await runTask(payload, tasks);
    expect({ task: payload.task, outcome: output.outcome }).toEqual({ task: payload.task, ...expected.expect });
    return output;
  } catch (error) {
    if (!('error' in expected.expect)) throw error;
    if (expected.expect.error !== INJECTED_ERROR) expect((error as Error).name).toBe(expected.expect.error);
    throw error;
  }
}

async function runModel(machine: AnyStateMachine, path: ModelPath, world: World): Promise<string[]> {
  const calls = callsOf(machine, path);
  let next = 0;
  let lastServers: string[] = [];
  const execution = `arn:aws:states:local:000000000000:execution:model:${++sequence}`;
  const visited: string[] = [];
  const srcs = Object.values(machine.config.states as Record<string, { invoke?: { src: string } }>).flatMap((s) =>
    s.invoke ? [s.invoke.src] : [],
  );
  const provided = machine.provide({
    actors: Object.fromEntries(
      srcs.map((src) => [
        src,
        fromPromise(async () => {
          const expected = calls[next++];
          const output = await call(world, expected, { task: src, state: world.input, execution }, lastServers);
          if (src === 'nextBatch') lastServers = (output.servers as string[] | undefined) ?? [];
          // The check said "not yet": time passes (Step Functions' Wait), then the machine polls again.
          if (expected && 'outcome' in expected.expect && expected.expect.outcome === 'waiting')
            setTimeout(() => running.send({ type: 'poll' }), 0);
          return output;
        }),
      ]),
    ),
  });
  const running = createActor(provided, { input: world.input });
  let last = '';
  running.subscribe((snapshot) => {
    const key = `${String(snapshot.value)}#${snapshot.context.polls}#${snapshot.context.batches ?? 0}`;
    if (key !== last) visited.push(String(snapshot.value));
    last = key;
  });
  running.start();
  await waitFor(running, (s) => s.status === 'done', { timeout: 20_000 });
  expect(next, 'every expected call was made').toBe(calls.length);
  return visited;
}

async function runAsl(machine: AnyStateMachine, path: ModelPath, world: World): Promise<string[]> {
  // RunBatch is the Map: its nodes' tasks arrange themselves.
  const calls = callsOf(machine, path).filter((c) => c.task !== 'runBatch');
  let next = 0;
  const name = machine.id === 'Node' ? 'node' : 'rollout';
  let main = '';
  onTask = async (payload) => {
    // A batch's node executions arrange themselves; a successor is not this path's: it is stopped.
    if (name === 'rollout' && payload.state.server !== undefined)
      return world.arrange({ task: payload.task, expect: { outcome: 'auto' } }, payload);
    main ||= payload.execution; // the first task runs before start() returns
    if (payload.execution !== main) {
      env.engine.stop(payload.execution);
      throw named('Stopped', 'not this path');
    }
    const expected = calls[next++];
    if (!expected || expected.task !== payload.task)
      throw new Error(`the ASL called ${payload.task}, the path expects ${expected?.task ?? 'nothing'}`);
    await world.arrange(expected, payload);
  };
  onStart = async (started) => {
    if (started !== 'rollout') return;
    const expected = calls[next++];
    if (expected?.task !== 'startSuccessor') throw new Error('an unexpected successor');
    if ('error' in expected.expect) throw named('StepFunctions.InvalidExecutionInput', 'injected');
  };
  main = '';
  const execution = env.engine.start(name, world.input);
  await execution.done;
  expect(main).toBe(execution.arn);
  expect(next, 'every expected call was made').toBe(calls.length);
  return execution.events
    .filter((e) => e.type === 'StateEntered' && !('index' in e && e.index !== undefined))
    .map((e) => (e as { state: { name: string } }).state.name);
}

const cases = [
  {
    machine: nodeMachine as AnyStateMachine,
    paths: modelPaths(nodeMachine, { cluster: 'c', rolloutId: 'r', server: 's' }),
    world: nodeWorld,
  },
  {
    machine: rolloutMachine as AnyStateMachine,
    paths: modelPaths(rolloutMachine, { cluster: 'c', rolloutId: 'r' }),
    world: rolloutWorld,
  },
];

describe.each(cases)('$machine.id machine', ({ machine, paths, world }) => {
  it('the paths take every transition of the model, and every loop 0, 1 and 2 times', () => {
    const taken = new Set(paths.flatMap(pathEdges));
    expect(modelEdges(machine).filter((e) => !taken.has(e))).toEqual([]);
    const loops = new Set(paths.map((p) => p.k));
    expect([...loops].sort()).toEqual([0, 1, 2]);
    for (const state of Object.keys(machine.config.states as object).filter((s) => isPoll(machine, s))) {
      for (const k of [0, 1, 2])
        expect(
          paths.some((p) => p.k === k && p.states.filter((v) => v === state).length === k + 1),
          `${state} × ${k}`,
        ).toBe(true);
    }
  });

  it.each(
    paths.map(
      (p) =>
        [
          `K=${p.k} ${p.states.join(' > ')} (${p.steps.map((s) => s.event.output?.outcome ?? s.event.error?.name ?? s.event.type).join(', ')})`,
          p,
        ] as const,
    ),
  )('%s', async (_name, path) => {
    env.clock.now = undefined;
    const xstate = await runModel(machine, path, await world(path));
    expect(xstate).toEqual(path.states);
    env.clock.now = undefined;
    const asl = await runAsl(machine, path, await world(path));
    expect(asl).toEqual(aslStatesOf(machine, path));
  });
});

it("every poll check answers the next wait, from its state's interval up to MAX_POLL_SECONDS", () => {
  expect(pollAnswers.length).toBeGreaterThan(20);
  for (const { pollSeconds, waitSeconds } of pollAnswers) {
    expect(waitSeconds).toBeGreaterThanOrEqual(pollSeconds);
    expect(waitSeconds).toBeLessThanOrEqual(MAX_POLL_SECONDS);
  }
});
