/** The generated ASL against the model (docs/workflow.md "From the model to ASL"), state by state and edge by edge. */
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { createMachine, type AnyStateMachine } from 'xstate';
import { ROLE_SWITCH_TIMEOUT_SECONDS } from '../../../functions/domain/rollout/model.js';
import { MAX_INPUT_SECONDS } from '../../../functions/rollout/input.js';
import {
  DEFAULT_ASL_OPTIONS,
  NODE_TIMEOUT_SECONDS,
  START_EXECUTION_ERRORS,
  TRANSIENT_ERRORS,
  taskBindings,
  toAsl,
  type AslDefinition,
  type AslState,
} from '../../../workflows/asl.js';
import { nodeMachine, rolloutMachine } from '../../../workflows/machines.js';
import { MAX_POLL_SECONDS, pollWaitSeconds } from '../../../workflows/poll.js';

type Guard = { params: Record<string, string> };
type Transition = string | { target?: string; guard?: Guard };
interface Config {
  type?: string;
  invoke?: { src: string; onDone?: Transition | Transition[]; onError?: Transition | Transition[] };
  meta?: { poll?: { check: string; choice: string } };
}
const list = (t: Transition | Transition[] | undefined) =>
  (t === undefined ? [] : Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? { target: x } : x));

/** The model's transitions out of each state, as ASL would spell them (group members mapped to their state). */
function modelGraph(machine: AnyStateMachine): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [name, config] of Object.entries(machine.config.states as Record<string, Config>)) {
    const out = new Set<string>();
    for (const t of list(config.invoke?.onDone)) out.add(`done:${t.guard?.params.outcome ?? '*'}->${t.target}`);
    for (const t of list(config.invoke?.onError)) out.add(`error:${t.guard?.params.name ?? 'States.ALL'}->${t.target}`);
    if (config.meta?.poll) out.add(`done:*->${name}`);
    graph.set(name, out);
  }
  return graph;
}

/** The same read back from the ASL: a Task (or poll group, or Task + Outcome choice) collapsed into its state. */
function aslGraph(machine: AnyStateMachine, asl: AslDefinition): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const choiceEdges = (choice: AslState) => {
    const out = new Set<string>();
    for (const c of choice.Choices as { StringEquals: string; Next: string; Variable: string }[]) {
      expect(c.Variable).toBe('$.result.outcome');
      out.add(`done:${c.StringEquals}->${c.Next}`);
    }
    if (choice.Default) out.add(`done:*->${choice.Default as string}`);
    return out;
  };
  for (const [name, config] of Object.entries(machine.config.states as Record<string, Config>)) {
    const state = asl.States[name]!;
    const out = new Set<string>();
    if (config.meta?.poll) {
      expect(state.Type).toBe('Wait');
      expect(state.Next).toBe(config.meta.poll.check);
      const check = asl.States[config.meta.poll.check]!;
      expect(check.Next).toBe(config.meta.poll.choice);
      const again = asl.States[`${name}Again`]!;
      expect(again).toEqual({ Type: 'Wait', SecondsPath: '$.result.waitSeconds', Next: config.meta.poll.check });
      // The Choice's default (still waiting) goes round again through the backing-off Wait: read as the state itself.
      for (const e of choiceEdges(asl.States[config.meta.poll.choice]!))
        out.add(e.replace(`->${name}Again`, `->${name}`));
      for (const c of (check.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? [])
        out.add(`error:${c.ErrorEquals[0]}->${c.Next}`);
    } else if (state.Type !== 'Succeed' && state.Type !== 'Fail') {
      const next = state.Next as string;
      if (next === `${name}Outcome`) for (const e of choiceEdges(asl.States[next]!)) out.add(e);
      else out.add(`done:*->${next}`);
      for (const c of (state.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? [])
        out.add(`error:${c.ErrorEquals[0]}->${c.Next}`);
    }
    graph.set(name, out);
  }
  return graph;
}

describe.each([rolloutMachine, nodeMachine] as AnyStateMachine[])('the $id machine and its ASL', (machine) => {
  const asl = toAsl(machine);

  it('is valid ASL (the validator aws-local-stepfunctions runs)', () => {
    expect(
      () =>
        new StateMachine(
          toAsl(machine, {
            functionName: (t) => `arn:aws:lambda:eu-west-1:123456789012:function:${t}`,
            nodeStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:node',
          }) as never,
        ),
    ).not.toThrow();
  });

  it('has the same transitions as the model, state by state', () => {
    expect(aslGraph(machine, asl)).toEqual(modelGraph(machine));
  });

  it('has no state the mapping does not explain', () => {
    const explained = new Set<string>();
    for (const [name, config] of Object.entries(machine.config.states as Record<string, Config>)) {
      explained.add(name);
      if (config.meta?.poll)
        for (const s of [config.meta.poll.check, config.meta.poll.choice, `${name}Again`]) explained.add(s);
      if (asl.States[name]!.Next === `${name}Outcome`) explained.add(`${name}Outcome`);
    }
    expect(Object.keys(asl.States).filter((s) => !explained.has(s))).toEqual([]);
    expect(asl.StartAt).toBe(machine.config.initial);
  });

  it('binds each Task to its actor and retries transient errors with backoff, within a timeout', () => {
    const bindings = taskBindings(asl);
    for (const [name, config] of Object.entries(machine.config.states as Record<string, Config>)) {
      if (!config.invoke || ['runBatch', 'startSuccessor'].includes(config.invoke.src)) continue;
      const task = config.meta?.poll ? config.meta.poll.check : name;
      expect(bindings[task], task).toBe(config.invoke.src);
      const state = asl.States[task]!;
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke');
      expect(state.TimeoutSeconds).toBeGreaterThan(0);
      const retry = (state.Retry as { ErrorEquals: string[]; BackoffRate: number; MaxAttempts: number }[])[0]!;
      expect(retry.ErrorEquals).toEqual(TRANSIENT_ERRORS);
      expect(retry.BackoffRate).toBeGreaterThan(1);
      expect(retry.MaxAttempts).toBeGreaterThan(1);
    }
  });

  it('is plain JSONPath: no JSONata, no variables', () => {
    const text = JSON.stringify(asl);
    expect(text).not.toMatch(/"QueryLanguage"|"Assign"|"Arguments"|"Output"|\{%/);
  });
});

describe('what the executions carry', () => {
  it('Preflight replaces the input with ids; every task gets the state and the execution id', () => {
    const rollout = toAsl(rolloutMachine, DEFAULT_ASL_OPTIONS);
    expect(rollout.States.Preflight!.ResultPath).toBeUndefined(); // the default, `$`: the answer replaces the input
    expect(Object.keys(rollout.States.Preflight!.ResultSelector as object).sort()).toEqual([
      'cluster.$',
      'rolloutId.$',
    ]);
    for (const state of Object.values(rollout.States).filter((s) => s.Resource === 'arn:aws:states:::lambda:invoke')) {
      expect((state.Parameters as { Payload: Record<string, string> }).Payload).toMatchObject({
        'state.$': '$',
        'execution.$': '$$.Execution.Id',
      });
    }
  });

  it('a batch is a Map of node child executions that catches each node; the successor is this state machine again', () => {
    const rollout = toAsl(rolloutMachine, DEFAULT_ASL_OPTIONS);
    const map = rollout.States.RunBatch!;
    expect(map.Type).toBe('Map');
    const processor = map.ItemProcessor as AslDefinition;
    expect(processor.States.RunNode!.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(processor.States.RunNode!.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], Next: 'NodeEnded', ResultPath: null },
    ]);
    expect(rollout.States.StartSuccessor!.Parameters).toMatchObject({ 'StateMachineArn.$': '$$.StateMachine.Id' });
  });
});

/**
 * Step Functions keeps at most 25,000 events in an execution's history; a longer one fails. A node execution
 * polls its waits: each round is a Wait (entered, exited: 2 events), the check's Task (entered, scheduled,
 * started, succeeded, exited: 5) and the Choice (entered, exited: 2).
 */
describe('the worst input the API accepts fits one node execution', () => {
  const HISTORY_LIMIT = 25_000;
  const ROUND_EVENTS = 9;
  const asl = toAsl(nodeMachine);
  const firstWait = (state: string) => asl.States[state]!.Seconds as number;

  /** Rounds and seconds until a step that lasts `seconds` is seen done, waiting as the ASL and the checks say. */
  function poll(state: string, seconds: number) {
    let waited = firstWait(state);
    let rounds = 1;
    while (waited < seconds) {
      waited += pollWaitSeconds(firstWait(state), waited);
      rounds++;
    }
    return { rounds, waited };
  }

  // Every wait at its longest: the switchover's, the drain's, the upgrade's, and Verify unsteady until its
  // timeout and then steady for `stableForSeconds`.
  const steps = [
    poll('WaitRoles', ROLE_SWITCH_TIMEOUT_SECONDS),
    poll('WaitDrained', MAX_INPUT_SECONDS.drainTimeout),
    poll('WaitUpgraded', MAX_INPUT_SECONDS.upgradeTimeout),
    poll('Verify', MAX_INPUT_SECONDS.verifyTimeout + MAX_INPUT_SECONDS.stableFor),
  ];
  const rounds = steps.reduce((n, s) => n + s.rounds, 0);
  // Begin, Switchover, Drain, Maintain and Clear: a Task each, and a Choice after Begin.
  const once = 5 * 5 + 2;

  it('in events: the polls back off, so the history stays far below the limit, with room for retries', () => {
    const events = rounds * ROUND_EVENTS + once;
    // Every retried attempt adds 3 events (scheduled, started, failed): room left for more than 2,500 of them.
    expect(events + 2_500 * 3, `${rounds} rounds, ${events} events`).toBeLessThan(HISTORY_LIMIT);
    // What a fixed 5 s poll would have needed (the defect this guards against).
    expect(Math.ceil(MAX_INPUT_SECONDS.upgradeTimeout / 5) * ROUND_EVENTS).toBeGreaterThan(HISTORY_LIMIT);
  });

  it('in time: within the node execution timeout', () => {
    expect(steps.reduce((t, s) => t + s.waited, 0)).toBeLessThan(NODE_TIMEOUT_SECONDS);
  });

  it('a check never waits less than its state says, nor more than MAX_POLL_SECONDS', () => {
    expect(pollWaitSeconds(5, 0)).toBe(5);
    expect(pollWaitSeconds(10, 30)).toBe(10);
    expect(pollWaitSeconds(5, 600)).toBe(60);
    expect(pollWaitSeconds(5, 10 * 86400)).toBe(MAX_POLL_SECONDS);
  });
});

/**
 * The error names the ASL's Retry and Catch match, each against where Step Functions says it reports it: a name
 * that never occurs retries nothing, silently. Outside `States.*`, a service integration's error is
 * `<Service>.<error code>` (the code as the service's API reference spells it, no `Exception` added).
 */
describe('the error names the ASL matches are names Step Functions reports', () => {
  const SOURCES: Record<string, string> = {
    // Step Functions Developer Guide, "Handle transient Lambda service exceptions" (the retry it recommends)
    'Lambda.ServiceException': 'sfn-best-practices#bp-lambda-serviceexception',
    'Lambda.AWSLambdaException': 'sfn-best-practices#bp-lambda-serviceexception',
    'Lambda.SdkClientException': 'sfn-best-practices#bp-lambda-serviceexception',
    'Lambda.TooManyRequestsException': 'sfn-best-practices#bp-lambda-serviceexception',
    // Developer Guide, "Start a new AWS Step Functions state machine from a running execution": its example's Retry
    'StepFunctions.ExecutionLimitExceeded': 'connect-stepfunctions',
    // API Reference, Common Errors: ThrottlingException, as `<Service>.<code>`
    'StepFunctions.ThrottlingException': 'CommonErrors',
    // The client-side failures, named as the Lambda integration's (its SDK's exception classes)
    'StepFunctions.SdkClientException': 'by analogy with Lambda.SdkClientException',
    'StepFunctions.AWSStepFunctionsException': 'by analogy with Lambda.AWSLambdaException',
  };
  /** The task function's own error names (functions/rollout/tasks.ts), and the language's. */
  const ours = (name: string) =>
    ['Transient', 'RolloutStopped', 'States.ALL'].includes(name) || name.startsWith('StepFailed.');

  const matched = (states: Record<string, AslState>): string[] =>
    Object.values(states).flatMap((state) => [
      ...[
        ...((state.Retry as { ErrorEquals: string[] }[]) ?? []),
        ...((state.Catch as { ErrorEquals: string[] }[]) ?? []),
      ].flatMap((r) => r.ErrorEquals),
      ...(state.ItemProcessor ? matched((state.ItemProcessor as AslDefinition).States) : []),
    ]);

  it.each([rolloutMachine, nodeMachine] as AnyStateMachine[])('$id', (machine) => {
    const names = [...new Set(matched(toAsl(machine).States))];
    expect(names.filter((n) => !ours(n) && !SOURCES[n])).toEqual([]);
  });

  it('StartExecution is retried on its limit under its documented name (no Exception suffix)', () => {
    expect(START_EXECUTION_ERRORS).toContain('StepFunctions.ExecutionLimitExceeded');
    expect(START_EXECUTION_ERRORS).not.toContain('StepFunctions.ExecutionLimitExceededException');
  });
});

describe('toAsl refuses what it cannot translate, naming the state', () => {
  const task = { invoke: { src: 'step', onDone: 'Done' } };
  const machine = (odd: Record<string, unknown>) =>
    createMachine({
      id: 'odd',
      initial: 'First',
      states: { First: task, Odd: odd, Done: { type: 'final' } },
    } as never) as AnyStateMachine;

  it.each([
    ['a state with no actor that is not final', {}, /state Odd: a state that is neither final nor invokes an actor/],
    ['a delayed transition', { ...task, after: { 1000: 'Done' } }, /state Odd: `after`/],
    ['an eventless transition', { ...task, always: 'Done' }, /state Odd: `always`/],
    ['entry actions', { ...task, entry: 'log' }, /state Odd: `entry`/],
    ['exit actions', { ...task, exit: 'log' }, /state Odd: `exit`/],
    ['nested states', { initial: 'A', states: { A: {} } }, /state Odd: `states`/],
    ['an event other than poll', { ...task, on: { cancel: 'Done' } }, /state Odd: the event cancel \(only `poll`\)/],
    [
      'a poll event without meta.poll',
      { ...task, on: { poll: 'Odd' } },
      /state Odd: a `poll` event without `meta.poll`/,
    ],
  ])('%s', (_what, odd, message) => {
    expect(() => toAsl(machine(odd))).toThrow(message);
  });

  it('translates the same machine without the odd state', () => {
    expect(Object.keys(toAsl(machine(task)).States)).toEqual(['First', 'Odd', 'Done']);
  });
});
