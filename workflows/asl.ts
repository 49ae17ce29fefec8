/**
 * The Step Functions definitions, generated from the XState machines (docs/workflow.md "From the model to ASL"):
 * - a task state (an `invoke`) → a Task of the same name calling its Lambda handler; guarded outcomes → a
 *   Choice `<Name>Outcome` on `$.result.outcome`; `onError` → Catch (`errorIs` → that error, else States.ALL);
 * - a polling state → Wait `<Name>` → Task `meta.poll.check` → Choice `meta.poll.choice` (Default: Wait `<Name>Again`,
 *   as long as the check's answer says, `waitSeconds`, then the check again);
 * - `RunBatch` → a Map over the batch's servers, each a child execution of the node machine;
 * - `StartSuccessor` → StartExecution of this same state machine ("continue as new");
 * - a final state → Succeed, or Fail (`meta.final`).
 * Plain JSONPath throughout; the execution state holds ids and the last answer only.
 */
import type { AnyStateMachine } from 'xstate';
import { nodeMachine, rolloutMachine, type FinalMeta, type PollMeta, type TaskMeta } from './machines.js';

export type AslState = Record<string, unknown> & { Type: string };
export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

export interface AslOptions {
  /** The Lambda a task invokes (a CloudFormation substitution on AWS). */
  functionName: (task: string) => string;
  /** The node state machine's ARN, for the batch's child executions. */
  nodeStateMachineArn: string;
}

export const DEFAULT_ASL_OPTIONS: AslOptions = {
  // CloudFormation substitutions (Fn::Sub), not template literals.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an Fn::Sub variable
  functionName: () => '${TaskFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an Fn::Sub variable
  nodeStateMachineArn: '${NodeStateMachineArn}',
};

/** Transient trouble: Lambda's own, and `Transient` (the backend was unavailable or too busy). */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Transient',
];
const RETRY = [
  { ErrorEquals: TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 4, BackoffRate: 2, JitterStrategy: 'FULL' },
];
/**
 * StartExecution's transient refusals, as Step Functions names a service integration's errors (`<Service>.<code>`,
 * checked in `test/unit/workflows/asl.test.ts`): the running-executions limit, throttling, and the client-side
 * failures its Lambda integration reports as `Lambda.SdkClientException` / `Lambda.AWSLambdaException`.
 */
export const START_EXECUTION_ERRORS = [
  'StepFunctions.ExecutionLimitExceeded',
  'StepFunctions.ThrottlingException',
  'StepFunctions.SdkClientException',
  'StepFunctions.AWSStepFunctionsException',
];
const START_EXECUTION_RETRY = [
  { ErrorEquals: START_EXECUTION_ERRORS, IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2, JitterStrategy: 'FULL' },
];
/** A Lambda task's own bound: a handler answers within seconds. */
const TASK_TIMEOUT_SECONDS = 60;
/**
 * A node's child execution: the input bounds each wait (drain a day, upgrade a week, verify a day plus a day
 * steady), about 10 days in all at worst; two weeks is past any (the unit test adds them up).
 */
export const NODE_TIMEOUT_SECONDS = 14 * 24 * 3600;

type Guard = { type: string; params: Record<string, string> };
type TransitionConfig = string | { target?: string; guard?: Guard };
interface InvokeConfig {
  src: string;
  onDone?: TransitionConfig | TransitionConfig[];
  onError?: TransitionConfig | TransitionConfig[];
}
interface StateConfig {
  type?: string;
  invoke?: InvokeConfig;
  meta?: { task?: TaskMeta; poll?: PollMeta; final?: FinalMeta };
  on?: Record<string, unknown>;
  after?: unknown;
  always?: unknown;
  entry?: unknown;
  exit?: unknown;
  states?: unknown;
}

/**
 * The model's vocabulary that has an ASL translation: a final state, or a state that invokes one actor (a poll
 * state with its `poll` event and `meta.poll`). Anything else is refused by name, never turned into a Succeed.
 */
function requireTranslatable(name: string, state: StateConfig): void {
  const refuse = (what: string) => {
    throw new Error(`state ${name}: ${what} has no ASL translation (workflows/asl.ts)`);
  };
  for (const key of ['after', 'always', 'entry', 'exit', 'states'] as const)
    if (state[key] !== undefined) refuse(`\`${key}\``);
  const events = Object.keys(state.on ?? {});
  const others = events.filter((e) => e !== 'poll');
  if (others.length > 0) refuse(`the event ${others.join(', ')} (only \`poll\`)`);
  if (events.includes('poll') && !state.meta?.poll) refuse('a `poll` event without `meta.poll`');
  if (state.meta?.poll && !events.includes('poll')) refuse('`meta.poll` without its `poll` event');
  if (state.type !== 'final' && !state.invoke) refuse('a state that is neither final nor invokes an actor');
}

const list = (t: TransitionConfig | TransitionConfig[] | undefined): { target: string; guard?: Guard }[] =>
  (t === undefined ? [] : Array.isArray(t) ? t : [t]).map((x) =>
    typeof x === 'string' ? { target: x } : { target: x.target!, ...(x.guard && { guard: x.guard }) },
  );

function catchers(onError: InvokeConfig['onError']) {
  return list(onError).map((t) => ({
    ErrorEquals: [t.guard ? t.guard.params.name! : 'States.ALL'],
    Next: t.target,
    ResultPath: '$.error',
  }));
}

function choiceOf(done: { target: string; guard?: Guard }[], fallback?: string): AslState {
  const rules = done
    .filter((t) => t.guard)
    .map((t) => ({ Variable: '$.result.outcome', StringEquals: t.guard!.params.outcome, Next: t.target }));
  const unguarded = done.find((t) => !t.guard)?.target ?? fallback;
  return { Type: 'Choice', Choices: rules, ...(unguarded && { Default: unguarded }) };
}

function lambdaTask(
  src: string,
  meta: TaskMeta | undefined,
  config: InvokeConfig,
  options: AslOptions,
  poll?: PollMeta,
): AslState {
  const fields = poll ? ['outcome', 'waitSeconds'] : (meta?.result ?? ['outcome']);
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: {
      FunctionName: options.functionName(src),
      Payload: {
        task: src,
        'state.$': '$',
        'execution.$': '$$.Execution.Id',
        ...(poll && { pollSeconds: poll.seconds }),
      },
    },
    ResultSelector: Object.fromEntries(fields.map((f) => [`${f}.$`, `$.Payload.${f}`])),
    // `$` is ResultPath's default; spelled out, aws-local-stepfunctions 3.0.0 writes a key named `$` instead.
    ...(meta?.resultPath !== '$' && { ResultPath: '$.result' }),
    TimeoutSeconds: TASK_TIMEOUT_SECONDS,
    Retry: RETRY,
    ...(config.onError !== undefined && { Catch: catchers(config.onError) }),
  };
}

const ids = { 'cluster.$': '$.cluster', 'rolloutId.$': '$.rolloutId' };

function runNodes(config: InvokeConfig, options: AslOptions): AslState {
  return {
    Type: 'Map',
    ItemsPath: '$.result.servers',
    ItemSelector: { ...ids, 'server.$': '$$.Map.Item.Value' },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'RunNode',
      States: {
        RunNode: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Parameters: {
            StateMachineArn: options.nodeStateMachineArn,
            Input: {
              ...ids,
              'server.$': '$.server',
              'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
            },
          },
          TimeoutSeconds: NODE_TIMEOUT_SECONDS,
          Retry: START_EXECUTION_RETRY,
          // A failed node is in the rollout record; the others of the batch finish their sequence.
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'NodeEnded', ResultPath: null }],
          ResultPath: null,
          Next: 'NodeEnded',
        },
        NodeEnded: { Type: 'Succeed' },
      },
    },
    ResultPath: null,
    ...(config.onError !== undefined && { Catch: catchers(config.onError) }),
  };
}

function startSuccessor(config: InvokeConfig): AslState {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::states:startExecution',
    Parameters: {
      'StateMachineArn.$': '$$.StateMachine.Id',
      Input: { ...ids, 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
    },
    ResultSelector: { 'outcome.$': '$.ExecutionArn' },
    ResultPath: '$.result',
    Retry: START_EXECUTION_RETRY,
    ...(config.onError !== undefined && { Catch: catchers(config.onError) }),
  };
}

function finalState(meta: FinalMeta | undefined): AslState {
  if (!meta) return { Type: 'Succeed' };
  if (meta.errorFromState) return { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };
  return { Type: 'Fail', Error: meta.error!, Cause: meta.cause! };
}

/** Generates the ASL of one machine. */
export function toAsl(machine: AnyStateMachine, options: AslOptions = DEFAULT_ASL_OPTIONS): AslDefinition {
  const config = machine.config as { id: string; initial: string; states: Record<string, StateConfig> };
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(config.states)) {
    requireTranslatable(name, state);
    const { invoke, meta } = state;
    if (state.type === 'final' || !invoke) {
      states[name] = finalState(meta?.final);
      continue;
    }
    const done = list(invoke.onDone);
    if (meta?.poll) {
      const { check, choice, seconds } = meta.poll;
      states[name] = { Type: 'Wait', Seconds: seconds, Next: check };
      states[check] = { ...lambdaTask(invoke.src, meta.task, invoke, options, meta.poll), Next: choice };
      states[choice] = choiceOf(done, `${name}Again`);
      states[`${name}Again`] = { Type: 'Wait', SecondsPath: '$.result.waitSeconds', Next: check };
      continue;
    }
    const kind = meta?.task?.kind ?? 'lambda';
    const body =
      kind === 'run-nodes'
        ? runNodes(invoke, options)
        : kind === 'start-successor'
          ? startSuccessor(invoke)
          : lambdaTask(invoke.src, meta?.task, invoke, options);
    if (done.length === 1 && !done[0]!.guard) {
      states[name] = { ...body, Next: done[0]!.target };
    } else {
      states[name] = { ...body, Next: `${name}Outcome` };
      states[`${name}Outcome`] = choiceOf(done);
    }
  }
  return {
    Comment: `${config.id}: generated from the XState model (workflows/machines.ts)`,
    StartAt: config.initial,
    States: states,
  };
}

/** Which task (actor) each ASL Task state runs: the local engine binds handlers by state name. */
export function taskBindings(definition: AslDefinition): Record<string, string> {
  const bindings: Record<string, string> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    const payload = (state.Parameters as { Payload?: { task?: string } } | undefined)?.Payload;
    if (state.Type === 'Task' && payload?.task) bindings[name] = payload.task;
  }
  return bindings;
}

/** The two definitions a deployment (and the local engine) runs. */
export function workflowDefinitions(options: AslOptions = DEFAULT_ASL_OPTIONS) {
  return { rollout: toAsl(rolloutMachine, options), node: toAsl(nodeMachine, options) };
}
