/**
 * P5 and P6 (README "Measured"): a 1,000-server rollout through the real ASL in-process (waits and retries 0, the
 * task handlers over DynamoDB Local, an in-process agent that reports drained and upgraded when asked), and the
 * Step Functions history each execution would have on AWS, counted from the local event logs with AWS's
 * documented events per state type, then computed for 10,000 servers.
 */
import { performance } from 'node:perf_hooks';
import type { Actor, EventDraft } from '../functions/domain/model.js';
import type { Outcome } from '../functions/domain/outcome.js';
import { registerCluster, registerServer } from '../functions/domain/registry.js';
import { BATCHES_PER_EXECUTION, MAX_BATCH_SIZE } from '../functions/domain/rollout/model.js';
import { reportStatus, type StatusReport } from '../functions/domain/status.js';
import type { Deps } from '../functions/deps.js';
import type { TaskPayload } from '../functions/rollout/tasks.js';
import { LocalWorkflowEngine, localTaskDeps, type LocalExecution } from '../local/workflow.js';
import { runTask } from '../functions/rollout/tasks.js';
import type { AslDefinition } from '../workflows/asl.js';

const actor: Actor = { user: 'bench', isAdmin: true, source: 'bench', requestId: 'bench-rollout' };

/**
 * History events per state type on AWS (Step Functions' execution history): a Lambda Task is Entered,
 * Scheduled, Started, Succeeded, Exited; a `.sync`/StartExecution Task adds Submitted; Choice, Wait, Pass and
 * Succeed are Entered and Exited; a Map is Entered, Started, Succeeded, Exited, plus Started and Succeeded per
 * iteration; the execution itself adds Started and Succeeded.
 */
export const AWS_EVENTS = {
  lambdaTask: 5,
  executionTask: 6,
  choice: 2,
  wait: 2,
  succeed: 2,
  fail: 2,
  map: 4,
  mapIteration: 2,
  execution: 2,
};

function eventsOfState(state: { Type: string; Resource?: unknown }): number {
  if (state.Type === 'Task')
    return String(state.Resource).includes(':states:::states:') ? AWS_EVENTS.executionTask : AWS_EVENTS.lambdaTask;
  if (state.Type === 'Map') return AWS_EVENTS.map;
  return (
    { Choice: AWS_EVENTS.choice, Wait: AWS_EVENTS.wait, Succeed: AWS_EVENTS.succeed, Fail: AWS_EVENTS.fail, Pass: 2 }[
      state.Type
    ] ?? 2
  );
}

/** The AWS history length of one local execution, from its event log and its definition. */
export function awsHistoryEvents(execution: LocalExecution, definition: AslDefinition): number {
  const types = new Map<string, { Type: string; Resource?: unknown }>();
  const collect = (states: AslDefinition['States']) => {
    for (const [name, state] of Object.entries(states)) {
      types.set(name, state);
      if (state.ItemProcessor) collect((state.ItemProcessor as AslDefinition).States);
    }
  };
  collect(definition.States);
  let total = AWS_EVENTS.execution;
  for (const event of execution.events) {
    if (event.type === 'StateEntered')
      total += eventsOfState(types.get((event as { state: { name: string } }).state.name)!);
    if (event.type === 'MapIterationStarted') total += AWS_EVENTS.mapIteration;
  }
  return total;
}

/** The top-level execution's history for a fleet, per AWS's events per state (P6 on paper). */
export function topLevelHistory(servers: number, batchSize = MAX_BATCH_SIZE) {
  const perNode = AWS_EVENTS.mapIteration + AWS_EVENTS.executionTask + AWS_EVENTS.succeed; // iteration, RunNode, NodeEnded
  const perBatch = AWS_EVENTS.lambdaTask + AWS_EVENTS.choice + AWS_EVENTS.map + batchSize * perNode; // NextBatch(+Outcome), the Map
  const fixed = AWS_EVENTS.execution + 3 * AWS_EVENTS.lambdaTask; // Preflight, PauseAutomation, Plan
  const ending = AWS_EVENTS.lambdaTask + AWS_EVENTS.choice + AWS_EVENTS.executionTask + AWS_EVENTS.succeed; // NextBatch, StartSuccessor, Continued
  const batches = Math.ceil(servers / batchSize);
  const executions = Math.ceil(batches / BATCHES_PER_EXECUTION);
  return {
    batches,
    executions,
    eventsPerFullExecution: fixed + BATCHES_PER_EXECUTION * perBatch + ending,
    perNode,
    perBatch,
  };
}

async function seedFleet(deps: Pick<Deps, 'store' | 'now'>, id: string, servers: number, dcs: number): Promise<void> {
  await deps.store.mutate(
    id,
    (s) => registerCluster(s, id, { engine: 'cassandra', budget: {}, staleAfterSeconds: 86_400 }, deps.now()),
    { actor, result: () => null },
  );
  for (let start = 0; start < servers; start += 25) {
    await deps.store.mutate(
      id,
      (state) => {
        let next = state!;
        const events: EventDraft[] = [];
        const apply = (o: Outcome) => {
          next = o.next;
          events.push(...o.events);
        };
        for (let i = start; i < Math.min(servers, start + 25); i++) {
          const name = `node-${String(i).padStart(4, '0')}`;
          apply(registerServer(next, name, { dc: `dc${i % dcs}`, role: 'member' }, deps.now()));
          apply(reportStatus(next, name, { health: 'running', connections: 3, version: '4.1.5' }, deps.now()));
        }
        return { next, events };
      },
      { actor, result: () => null },
    );
  }
}

/** The agent: drained when the workflow checks, upgraded when it waits for the version. */
async function agent(deps: Pick<Deps, 'store' | 'now'>, payload: TaskPayload, target: string): Promise<void> {
  const { cluster, server } = payload.state as { cluster: string; server?: string };
  const report: Partial<StatusReport> | undefined =
    payload.task === 'checkDrained'
      ? { connections: 0 }
      : payload.task === 'checkUpgraded'
        ? { version: target }
        : undefined;
  if (!server || !report) return;
  await deps.store.mutate(
    cluster,
    (state) => {
      const s = state!.servers.get(server)!;
      return reportStatus(
        state!,
        server,
        { health: 'running', connections: s.connections ?? 0, version: s.version ?? '', ...report },
        deps.now(),
      );
    },
    { actor, result: () => null },
  );
}

export interface RolloutBench {
  servers: number;
  batchSize: number;
  batches: number;
  wallSeconds: number;
  executions: { rollout: number; node: number };
  transitionsPerServer: number;
  awsHistory: { maxTopLevel: number; maxNode: number; formulaPerFullExecution: number };
  tenThousand: ReturnType<typeof topLevelHistory>;
}

export async function benchRollout(
  deps: Pick<Deps, 'store' | 'now'>,
  servers = 1000,
  batchSize = 25,
  log: (m: string) => void = () => {},
): Promise<RolloutBench> {
  const cluster = 'bench-rollout';
  const target = '4.1.6';
  log(`P5: seeding ${servers} servers in 4 dcs`);
  await seedFleet(deps, cluster, servers, 4);
  const tasks = localTaskDeps(deps);
  const engine = new LocalWorkflowEngine({
    waitMs: 0,
    retryMs: 0,
    runTask: async (p) => {
      await agent(deps, p, target);
      return runTask(p, tasks);
    },
  });
  log(`P5: a rollout of ${servers} servers, batches of ${batchSize}, through the ASL`);
  const started = performance.now();
  const first = engine.start('rollout', { cluster, targetVersion: target, batchSize, verify: { stableForSeconds: 0 } });
  await first.done;
  await engine.idle();
  const wallSeconds = (performance.now() - started) / 1000;
  const rollouts = engine.list().filter((e) => e.machine === 'rollout');
  const nodes = engine.list().filter((e) => e.machine === 'node');
  const failed = engine.list().filter((e) => e.status !== 'SUCCEEDED');
  if (failed.length > 0) {
    const {
      rollouts: [record],
    } = await deps.store.listRollouts(cluster, { limit: 1 });
    throw new Error(
      `P5: ${failed.length} executions did not succeed: ${JSON.stringify(failed[0]!.error)} ${JSON.stringify(record?.failure)} ${JSON.stringify(failed[0]!.events.filter((e) => e.type === 'StateFailed' || e.type === 'StateCaught').map((e) => [(e as { state: { name: string } }).state.name, (e as { Error?: string }).Error, String((e as { Cause?: unknown }).Cause).slice(0, 300)]))}`,
    );
  }
  const rolloutId = String(rollouts[0]!.output && (rollouts[0]!.output as { rolloutId?: string }).rolloutId);
  const snapshot = await deps.store.readRollout(cluster, rolloutId);
  if (snapshot?.rollout.status !== 'succeeded') throw new Error(`P5: the rollout ended ${snapshot?.rollout.status}`);
  const transitions = engine.list().reduce((n, e) => n + e.events.filter((x) => x.type === 'StateEntered').length, 0);
  const history = (e: LocalExecution) => awsHistoryEvents(e, engine.definitions[e.machine]);
  const formula = topLevelHistory(servers, batchSize);
  return {
    servers,
    batchSize,
    batches: snapshot.rollout.batchCount,
    wallSeconds: Number(wallSeconds.toFixed(1)),
    executions: { rollout: rollouts.length, node: nodes.length },
    transitionsPerServer: Number((transitions / servers).toFixed(2)),
    awsHistory: {
      maxTopLevel: Math.max(...rollouts.map(history)),
      maxNode: Math.max(...nodes.map(history)),
      formulaPerFullExecution: formula.eventsPerFullExecution,
    },
    tenThousand: topLevelHistory(10_000),
  };
}
