/**
 * The workflow's task handlers (docs/workflow.md), one per step, each idempotent: a Step Functions retry or a
 * resumed execution repeats a step safely. Each reads the cluster and the rollout, lets the domain decide,
 * and writes both with the audit events in one transaction, acting as the rollout (`rollout:<id>`).
 *
 * Error names are what the ASL's Retry and Catch see: `Transient` (retried), `RolloutStopped` (an abort),
 * `StepFailed.<step>` (recorded as the node's or rollout's failure).
 */
import { DomainError, notFound } from '../domain/errors.js';
import type { Actor, ClusterState } from '../domain/model.js';
import {
  abortRollout,
  createAndClaim,
  failRollout,
  finishRollout,
  nextBatch,
  pauseAutomation,
  pauseRollout,
  plan,
  preflight,
  requireOwner,
} from '../domain/rollout/lifecycle.js';
import {
  changesNothing,
  nodeOf,
  rolloutHolder,
  RolloutStopped,
  StepFailed,
  type RolloutInput,
  type RolloutOutcome,
  type RolloutSnapshot,
  type UpgradeSpec,
} from '../domain/rollout/model.js';
import {
  beginNode,
  checkDrained,
  checkRoles,
  checkUpgraded,
  checkVerified,
  clearNode,
  drainNode,
  markUpgradeTriggered,
  recordNodeFailure,
  requestSwitchover,
} from '../domain/rollout/node-steps.js';
import { toDomainError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { TaskName, TaskOutput } from '../../workflows/machines.js';
import { pollWaitSeconds } from '../../workflows/poll.js';
import type { UpgradeAllowlist } from './allowlist.js';
import { newTimeId, parseRolloutInput, rolloutRef } from './input.js';
import type { UpgradeTrigger } from './upgrade.js';

export interface TaskDeps {
  store: Store;
  now: () => number;
  allow: UpgradeAllowlist;
  triggerUpgrade: UpgradeTrigger;
}

/** What `lambda:invoke` passes (the ASL's Payload): the task, the execution state and the execution's id. */
export interface TaskPayload {
  task: string;
  state: Record<string, unknown>;
  execution: string;
  /** A poll's check: its state's first wait, which later waits back off from. */
  pollSeconds?: number;
}

type LambdaTask = Exclude<TaskName, 'runBatch' | 'startSuccessor'>;
type Handler = (
  state: Record<string, unknown>,
  execution: string,
  deps: TaskDeps,
  payload: TaskPayload,
) => Promise<TaskOutput>;

/** The step a task belongs to, for failures the domain did not name itself. */
const STEP: Record<LambdaTask, string> = {
  preflight: 'preflight',
  pauseAutomation: 'pause-automation',
  plan: 'plan',
  nextBatch: 'next-batch',
  finishRollout: 'resume-automation',
  pauseRollout: 'pause',
  abortRollout: 'abort',
  failRollout: 'fail',
  beginNode: 'begin',
  requestSwitchover: 'switchover',
  checkRoles: 'wait-roles',
  drainNode: 'drain',
  checkDrained: 'wait-drained',
  triggerUpgrade: 'maintain',
  checkUpgraded: 'wait-upgraded',
  checkVerified: 'verify',
  clearNode: 'clear',
  recordNodeFailure: 'record-failure',
};

const actorFor = (rolloutId: string, execution: string): Actor => ({
  user: rolloutHolder(rolloutId),
  isAdmin: false,
  source: 'workflow',
  requestId: execution,
});

type Decide<A> = (state: ClusterState, snapshot: RolloutSnapshot, actor: Actor, now: number) => RolloutOutcome<A>;

/**
 * One step: read the cluster and the rollout, decide, write all of it in one transaction. A check (`readFirst`)
 * decides on a plain read first and, when it would write nothing (a poll that is still waiting), answers from
 * it without joining the cluster's write queue.
 */
async function step<A extends TaskOutput>(
  deps: TaskDeps,
  state: Record<string, unknown>,
  execution: string,
  nodes: 'all' | string[],
  decide: Decide<A>,
  readFirst = false,
): Promise<A> {
  const { cluster, rolloutId } = rolloutRef.parse(state);
  const actor = actorFor(rolloutId, execution);
  const owner = runningExecution(state, execution);
  const decideOn = (current: ClusterState | undefined, snapshot: RolloutSnapshot | undefined) => {
    if (!current) throw notFound(`cluster ${cluster}`);
    if (!snapshot) throw notFound(`rollout ${rolloutId}`);
    requireOwner(snapshot, owner);
    return decide(current, snapshot, actor, deps.now());
  };
  if (readFirst) {
    const [current, snapshot] = await Promise.all([
      deps.store.readCluster(cluster),
      deps.store.readRollout(cluster, rolloutId, nodes),
    ]);
    const preview = decideOn(current, snapshot);
    if (changesNothing(preview, current!, snapshot!)) return preview.answer;
  }
  const result = await deps.store.mutate(cluster, decideOn, {
    actor,
    rollout: { id: rolloutId, nodes },
    result: (outcome) => (outcome as RolloutOutcome<A>).answer,
  });
  return result.result;
}

/** The node machine's executions carry the rollout execution that started them; that one must still run the rollout. */
const STARTED_BY = 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID';
function runningExecution(state: Record<string, unknown>, execution: string): string {
  if (state.server === undefined) return execution;
  if (typeof state[STARTED_BY] !== 'string') throw new DomainError('InvalidInput', `a node task needs ${STARTED_BY}`);
  return state[STARTED_BY];
}

const serverOf = (state: Record<string, unknown>) => {
  if (typeof state.server !== 'string') throw new DomainError('InvalidInput', 'a node task needs a server');
  return state.server;
};

/** Step Functions' caught error: `Cause` is Lambda's JSON (`errorMessage`) or plain text. */
function failureOf(error: unknown): { step?: string; reason: string } | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { Error: name, Cause: cause } = error as { Error?: string; Cause?: string };
  let message = cause ?? '';
  try {
    message = (JSON.parse(message) as { errorMessage?: string }).errorMessage ?? message;
  } catch {
    // plain text
  }
  const step = name?.startsWith('StepFailed.') ? name.slice('StepFailed.'.length) : undefined;
  return { ...(step && { step }), reason: step ? message : `${name ?? 'Error'}: ${message}` };
}

const nodeTask =
  <A extends TaskOutput>(
    decide: (s: ClusterState, r: RolloutSnapshot, server: string, actor: Actor, now: number) => RolloutOutcome<A>,
    readFirst = false,
  ): Handler =>
  (state, execution, deps) => {
    const server = serverOf(state);
    return step(deps, state, execution, [server], (s, r, actor, now) => decide(s, r, server, actor, now), readFirst);
  };
/** A poll's check: usually a plain read; its answer says how long to wait before the next (it backs off). */
const checkTask =
  <A extends TaskOutput>(
    decide: (s: ClusterState, r: RolloutSnapshot, server: string, actor: Actor, now: number) => RolloutOutcome<A>,
  ): Handler =>
  async (state, execution, deps, payload) => {
    let waitedMs = 0;
    const answer = await nodeTask((s, r, server, actor, now) => {
      waitedMs = now - (r.nodes.get(server)?.stepStartedAt ?? now);
      return decide(s, r, server, actor, now);
    }, true)(state, execution, deps, payload);
    return { ...answer, waitSeconds: pollWaitSeconds(payload.pollSeconds ?? 0, waitedMs / 1000) };
  };

const TASKS: Record<LambdaTask, Handler> = {
  /**
   * A new execution claims its rollout: the API's (ids), or one it creates from the full input given in the Step
   * Functions console (created and claimed in one transaction; a retry finds it by its execution).
   */
  async preflight(state, execution, deps) {
    const startedBy = typeof state[STARTED_BY] === 'string' ? state[STARTED_BY] : undefined;
    let ref = rolloutRef.safeParse(state).data;
    let create: RolloutInput | undefined;
    if (!ref) {
      const { cluster, input } = parseRolloutInput(state, deps.allow);
      if (!cluster) throw new DomainError('InvalidInput', 'input: cluster is required');
      const mine = (await deps.store.listRollouts(cluster, { limit: 10 })).rollouts.find((r) =>
        r.executions.includes(execution),
      );
      ref = { cluster, rolloutId: mine?.id ?? newTimeId(deps.now()) };
      if (!mine) create = input;
    }
    const { cluster, rolloutId } = ref;
    // A rollout started from the console is the execution's own: it is its actor.
    const actor = create ? { ...actorFor(rolloutId, execution), user: execution } : actorFor(rolloutId, execution);
    // Preflight is where an execution claims the rollout: there is no owner to check yet.
    await deps.store.mutate(
      cluster,
      (current, snapshot) => {
        if (!current) throw notFound(`cluster ${cluster}`);
        if (create) {
          if (snapshot) throw new DomainError('Conflict', `rollout ${rolloutId} exists already`);
          return createAndClaim(current, rolloutId, create, execution, actor, deps.now());
        }
        if (!snapshot) throw notFound(`rollout ${rolloutId}`);
        return preflight(current, snapshot, execution, actor, deps.now(), startedBy);
      },
      { actor, rollout: { id: rolloutId, nodes: 'all' }, result: () => null },
    );
    return { outcome: 'ready', cluster, rolloutId };
  },
  pauseAutomation: (state, execution, deps) => step(deps, state, execution, [], pauseAutomation),
  plan: (state, execution, deps) => step(deps, state, execution, 'all', (s, r, _a, now) => plan(s, r, now)),
  async nextBatch(state, execution, deps) {
    const answer = await step(deps, state, execution, 'all', (s, r, _a, now) => nextBatch(s, r, now));
    return { servers: [], ...answer };
  },
  finishRollout: (state, execution, deps) => step(deps, state, execution, 'all', finishRollout),
  pauseRollout: (state, execution, deps) => step(deps, state, execution, 'all', pauseRollout),
  abortRollout: (state, execution, deps) => step(deps, state, execution, 'all', abortRollout),
  failRollout: (state, execution, deps) => {
    const caught = failureOf(state.error);
    const failure = caught && { step: caught.step ?? 'rollout', reason: caught.reason };
    return step(deps, state, execution, 'all', (s, r, _a, now) => failRollout(s, r, failure, now));
  },

  beginNode: nodeTask((s, r, server, _a, now) => beginNode(s, r, server, now), true),
  requestSwitchover: nodeTask(requestSwitchover),
  checkRoles: checkTask((s, r, server, _a, now) => checkRoles(s, r, server, now)),
  drainNode: nodeTask(drainNode),
  checkDrained: checkTask(checkDrained),
  async triggerUpgrade(state, execution, deps) {
    const server = serverOf(state);
    const { cluster, rolloutId } = rolloutRef.parse(state);
    let request: Parameters<UpgradeTrigger>[1] | undefined;
    let spec: UpgradeSpec | undefined;
    const answer = await step(deps, state, execution, [server], (s, r, actor, now) => {
      const outcome = markUpgradeTriggered(s, r, server, actor, now);
      const target = s.servers.get(server)!;
      spec = r.rollout.input.upgrade;
      request = {
        cluster,
        rolloutId,
        server,
        targetVersion: r.rollout.input.targetVersion,
        idempotencyKey: `${rolloutId}/${server}/${nodeOf(r, server).attempt}`,
        ...(target.address !== undefined && { address: target.address }),
        ...(target.port !== undefined && { port: target.port }),
      };
      return outcome;
    });
    await deps.triggerUpgrade(spec!, request!);
    return answer;
  },
  checkUpgraded: checkTask((s, r, server, _a, now) => checkUpgraded(s, r, server, now)),
  checkVerified: checkTask((s, r, server, _a, now) => checkVerified(s, r, server, now)),
  clearNode: nodeTask(clearNode),
  recordNodeFailure: (state, execution, deps, payload) => {
    const caught = failureOf(state.error);
    return nodeTask((s, r, server, _a, now) =>
      recordNodeFailure(s, r, server, caught?.reason ?? 'failed', now, caught?.step),
    )(state, execution, deps, payload);
  },
};

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/**
 * Runs one task and names its error for the ASL: the backend's trouble is `Transient` (retried with backoff);
 * an abort is `RolloutStopped`; anything else is `StepFailed.<step>` (caught, recorded, not retried).
 */
export async function runTask(payload: TaskPayload, deps: TaskDeps): Promise<TaskOutput> {
  const task = payload.task as LambdaTask;
  const handler = Object.hasOwn(TASKS, task) ? TASKS[task] : undefined;
  if (!handler) throw named('StepFailed.unknown', `unknown task ${String(payload.task)}`);
  try {
    return await handler(payload.state ?? {}, payload.execution, deps, payload);
  } catch (error) {
    if (error instanceof RolloutStopped) throw error;
    if (error instanceof StepFailed) throw named(`StepFailed.${error.step}`, error.message);
    const known = toDomainError(error);
    if (known?.code === 'Unavailable' || known?.code === 'Conflict') throw named('Transient', known.message);
    // A rejected start fails the execution with the refusal's own name (InvalidInput, RolloutConflict, ...).
    if (known && task === 'preflight') throw named(known.code, known.message);
    if (known) throw named(`StepFailed.${STEP[task]}`, `${known.code}: ${known.message}`);
    if (error instanceof Error && error.name === 'ZodError')
      throw named(`StepFailed.${STEP[task]}`, `InvalidInput: ${error.message}`);
    throw error;
  }
}
