/**
 * The local Step Functions: the same ASL as on AWS, run in-process by aws-local-stepfunctions. Each Lambda task
 * is bound to its handler through `lambda:invoke`'s `{ Payload }` shape and error naming (Error = the error's
 * name, Cause = Lambda's JSON), so Retry and Catch see what they would see on AWS. Child executions (a batch's
 * nodes) and successors go through this same engine; waits and retry intervals can be shortened.
 */
import { StateMachine, type RunOptions, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { StepFailed } from '../functions/domain/rollout/model.js';
import type { Deps } from '../functions/deps.js';
import {
  executionName,
  type ExecutionState,
  type ExecutionStatus,
  type WorkflowEngine,
} from '../functions/rollout/engine.js';
import { allowlistFromEnv, type UpgradeAllowlist } from '../functions/rollout/allowlist.js';
import { runTask, type TaskDeps, type TaskPayload } from '../functions/rollout/tasks.js';
import { upgradeTrigger, type UpgradeRequest } from '../functions/rollout/upgrade.js';
import { taskBindings, workflowDefinitions, type AslDefinition } from '../workflows/asl.js';
import type { TaskOutput } from '../workflows/machines.js';

type EventLog = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];
export type MachineName = 'rollout' | 'node';

export interface LocalEngineOptions {
  runTask: (payload: TaskPayload) => Promise<TaskOutput>;
  /** Every Wait state lasts this long (ms) instead of its Seconds. */
  waitMs?: number;
  /** Every retry waits this long (ms) instead of its backoff. */
  retryMs?: number;
  /** Runs before every StartExecution a state starts (tests inject faults here). */
  beforeStart?: (machine: MachineName, input: Record<string, unknown>) => void | Promise<void>;
  /** The clock executions' end times are read from (the control plane's). */
  now?: () => number;
}

export interface LocalExecution {
  arn: string;
  machine: MachineName;
  input: Record<string, unknown>;
  status: ExecutionStatus;
  /** When it ended (epoch ms, the engine's clock). */
  stoppedAt?: number;
  output?: unknown;
  error?: { Error: string; Cause: string };
  /** The library's event log (per-state entered/exited/failed/retried/caught events). */
  events: EventLog[];
  /** The `.sync` child executions it is waiting for (a batch's nodes). */
  children: ReadonlySet<string>;
  /** Resolves when the execution ends. */
  done: Promise<LocalExecution>;
}

const ACCOUNT = 'arn:aws:states:local:000000000000';
const machineArn = (m: MachineName) => `${ACCOUNT}:stateMachine:maintctl-${m}`;
const executionArn = (m: MachineName, name: string) => `${ACCOUNT}:execution:maintctl-${m}:${name}`;
const TASK_FUNCTION = 'arn:aws:lambda:local:000000000000:function:maintctl-tasks';

type LocalHandler = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>[string];
/** The library types task input and output as plain JSON; ours are the shapes of `lambda:invoke` and StartExecution. */
const localHandler = <I, O>(fn: (input: I) => Promise<O>) => fn as unknown as LocalHandler;

const named = (name: string, message: string) => Object.assign(new Error(message), { name });
/** What Step Functions reports for a Lambda that threw. */
const lambdaError = (error: Error) =>
  named(error.name, JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] }));

let compiled:
  | { definitions: Record<MachineName, AslDefinition>; machines: Record<MachineName, StateMachine> }
  | undefined;

/** The two state machines, generated and validated once per process (an engine's executions share them). */
function compiledMachines() {
  if (!compiled) {
    const definitions = workflowDefinitions({
      functionName: () => TASK_FUNCTION,
      nodeStateMachineArn: machineArn('node'),
    });
    compiled = {
      definitions,
      machines: {
        rollout: new StateMachine(definitions.rollout as unknown as StateMachineDefinition),
        node: new StateMachine(definitions.node as unknown as StateMachineDefinition),
      },
    };
  }
  return compiled;
}

export class LocalWorkflowEngine implements WorkflowEngine {
  readonly definitions: Record<MachineName, AslDefinition>;
  private readonly machines: Record<MachineName, StateMachine>;
  private readonly executions = new Map<string, LocalExecution & { abort: () => void }>();
  private sequence = 0;

  constructor(private readonly options: LocalEngineOptions) {
    ({ definitions: this.definitions, machines: this.machines } = compiledMachines());
  }

  executionId(name: string): string {
    return executionArn('rollout', name);
  }

  async startRollout(ref: { cluster: string; rolloutId: string }, name: string): Promise<string> {
    return this.start('rollout', ref, name).arn;
  }

  async describeExecution(arn: string): Promise<ExecutionState | undefined> {
    const execution = this.executions.get(arn);
    return (
      execution && {
        status: execution.status,
        ...(execution.stoppedAt !== undefined && { stoppedAt: execution.stoppedAt }),
      }
    );
  }

  /** StartExecution; as on AWS, a name already started answers that execution. */
  start(machine: MachineName, input: Record<string, unknown>, name?: string): LocalExecution {
    const executionName = name ?? `${String(input.rolloutId ?? 'console')}-${++this.sequence}`;
    const arn = executionArn(machine, executionName);
    const existing = this.executions.get(arn);
    if (existing) return existing;
    const definition = this.definitions[machine];
    const children = new Set<string>();
    const run = this.machines[machine].run(input as never, {
      overrides: this.overrides(definition, children),
      noThrowOnAbort: true,
      context: {
        Execution: { Id: arn, Name: executionName, Input: input as never, StartTime: new Date().toISOString() },
        StateMachine: { Id: machineArn(machine), Name: `maintctl-${machine}` },
      },
    });
    const events: EventLog[] = [];
    const logging = (async () => {
      for await (const event of run.eventLogs) events.push(event);
    })();
    const now = this.options.now ?? Date.now;
    const execution: LocalExecution & { abort: () => void } = {
      arn,
      machine,
      input,
      status: 'RUNNING',
      events,
      children,
      abort: () => {
        Object.assign(execution, { status: 'ABORTED', stoppedAt: now() });
        run.abort();
        for (const child of children) this.stop(child);
      },
      done: undefined as unknown as Promise<LocalExecution>,
    };
    execution.done = run.result
      .then(
        (output) => {
          if (execution.status === 'RUNNING')
            Object.assign(execution, { status: 'SUCCEEDED', stoppedAt: now(), output });
          return execution;
        },
        (error: Error & { cause?: { name?: string; message?: string } }) => {
          if (execution.status === 'RUNNING') {
            const cause = error.cause ?? error;
            Object.assign(execution, {
              status: 'FAILED',
              stoppedAt: now(),
              error: { Error: cause.name ?? 'Error', Cause: cause.message ?? '' },
            });
          }
          return execution;
        },
      )
      .then(async (e) => {
        await logging;
        return e;
      });
    this.executions.set(arn, execution);
    return execution;
  }

  /** StopExecution: the execution ends ABORTED; its `.sync` children are stopped too. */
  stop(arn: string): void {
    const execution = this.executions.get(arn);
    if (execution?.status === 'RUNNING') execution.abort();
  }

  /** On shutdown: the sweeper of the next start marks their rollouts aborted (nothing runs them any more). */
  stopAll(): void {
    for (const execution of this.executions.values()) this.stop(execution.arn);
  }

  list(): LocalExecution[] {
    return [...this.executions.values()];
  }

  /** Resolves once no execution is running (successors included). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.list().filter((e) => e.status === 'RUNNING');
      if (running.length === 0) return;
      await Promise.all(running.map((e) => e.done));
    }
  }

  private overrides(definition: AslDefinition, children: Set<string>) {
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    const handlers: Record<string, LocalHandler> = {};
    const visit = (states: AslDefinition['States']) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Wait' && this.options.waitMs !== undefined) waits[name] = this.options.waitMs;
        if (state.Retry && this.options.retryMs !== undefined) retries[name] = this.options.retryMs;
        if (state.ItemProcessor) visit((state.ItemProcessor as AslDefinition).States);
      }
    };
    visit(definition.States);
    for (const [name, task] of Object.entries(taskBindings(definition))) {
      handlers[name] = localHandler(async (params: { Payload: TaskPayload }) => {
        try {
          return { Payload: await this.options.runTask({ ...params.Payload, task }), StatusCode: 200 };
        } catch (error) {
          throw lambdaError(error as Error);
        }
      });
    }
    handlers.RunNode = localHandler(async (params: { Input: Record<string, unknown> }) => {
      await this.options.beforeStart?.('node', params.Input);
      const child = this.start(
        'node',
        params.Input,
        executionName(`${String(params.Input.rolloutId)}-${String(params.Input.server)}`, Date.now() + ++this.sequence),
      );
      children.add(child.arn);
      const ended = await child.done;
      children.delete(child.arn);
      if (ended.status !== 'SUCCEEDED')
        throw named('States.TaskFailed', JSON.stringify({ status: ended.status, ...ended.error }));
      return { ExecutionArn: ended.arn, Output: ended.output, Status: ended.status };
    });
    handlers.StartSuccessor = localHandler(async (params: { Input: Record<string, unknown> }) => {
      await this.options.beforeStart?.('rollout', params.Input);
      const successor = this.start('rollout', params.Input);
      return { ExecutionArn: successor.arn, StartDate: new Date().toISOString() };
    });
    return { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries };
  }
}

export interface LocalRolloutOptions {
  /** Every Wait state's duration in ms (default 1000: a demo rollout finishes within a minute). */
  waitMs?: number;
  retryMs?: number;
  allow?: UpgradeAllowlist;
  webhookSecret?: string;
  /** Upgrade functions by ARN: what `upgrade.kind: "lambda"` invokes locally. */
  functions?: Record<string, (request: UpgradeRequest) => Promise<void>>;
  /** Wraps every task (tests inject faults here, or hold a task back, or watch its answer). */
  aroundTask?: (payload: TaskPayload, run: () => Promise<TaskOutput>) => Promise<TaskOutput>;
  beforeStart?: LocalEngineOptions['beforeStart'];
}

/** The task handlers' dependencies locally: the same store, the allowlists, local upgrade functions. */
export function localTaskDeps(deps: Pick<Deps, 'store' | 'now'>, options: LocalRolloutOptions = {}): TaskDeps {
  const allow = options.allow ?? allowlistFromEnv();
  return {
    store: deps.store,
    now: deps.now,
    allow,
    triggerUpgrade: upgradeTrigger({
      allow,
      secret: async () => options.webhookSecret ?? process.env.MAINTCTL_WEBHOOK_SECRET,
      invoke: async (arn, request) => {
        const fn = options.functions?.[arn];
        if (!fn) throw new StepFailed('maintain', `no local function ${arn} (register it, or deploy to AWS)`);
        await fn(request);
      },
    }),
  };
}

/** Gives local deps a rollout engine: the real task handlers over the same store, run by the local engine. */
export function attachLocalRollouts(deps: Deps, options: LocalRolloutOptions = {}): LocalWorkflowEngine {
  const taskDeps = localTaskDeps(deps, options);
  const engine = new LocalWorkflowEngine({
    now: deps.now,
    waitMs: options.waitMs ?? 1000,
    ...(options.retryMs !== undefined && { retryMs: options.retryMs }),
    ...(options.beforeStart && { beforeStart: options.beforeStart }),
    runTask: (payload) => {
      const run = () => runTask(payload, taskDeps);
      return options.aroundTask ? options.aroundTask(payload, run) : run();
    },
  });
  deps.rollouts = { engine, allow: taskDeps.allow };
  return engine;
}
