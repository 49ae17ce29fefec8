/** The generated ASL against the model (workflow.md "Model ⇄ ASL mapping"), state by state and edge by edge. */
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { DEFAULT_ASL_OPTIONS, TRANSIENT_ERRORS, taskBindings, toAsl, type AslDefinition, type AslState } from '../../workflows/asl.js';
import { nodeMachine, rolloutMachine } from '../../workflows/machines.js';

type Guard = { params: Record<string, string> };
type Transition = string | { target?: string; guard?: Guard };
interface Config {
  type?: string;
  invoke?: { src: string; onDone?: Transition | Transition[]; onError?: Transition | Transition[] };
  meta?: { poll?: { check: string; choice: string } };
}
const list = (t: Transition | Transition[] | undefined) => (t === undefined ? [] : Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? { target: x } : x));

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
      choiceEdges(asl.States[config.meta.poll.choice]!).forEach((e) => out.add(e));
      for (const c of (check.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? []) out.add(`error:${c.ErrorEquals[0]}->${c.Next}`);
    } else if (state.Type !== 'Succeed' && state.Type !== 'Fail') {
      const next = state.Next as string;
      if (next === `${name}Outcome`) choiceEdges(asl.States[next]!).forEach((e) => out.add(e));
      else out.add(`done:*->${next}`);
      for (const c of (state.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? []) out.add(`error:${c.ErrorEquals[0]}->${c.Next}`);
    }
    graph.set(name, out);
  }
  return graph;
}

describe.each([rolloutMachine, nodeMachine] as AnyStateMachine[])('the $id machine and its ASL', (machine) => {
  const asl = toAsl(machine);

  it('is valid ASL (the validator aws-local-stepfunctions runs)', () => {
    expect(() => new StateMachine(toAsl(machine, { functionName: (t) => `arn:aws:lambda:eu-west-1:123456789012:function:${t}`, nodeStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:node' }) as never)).not.toThrow();
  });

  it('has the same transitions as the model, state by state', () => {
    expect(aslGraph(machine, asl)).toEqual(modelGraph(machine));
  });

  it('has no state the mapping does not explain', () => {
    const explained = new Set<string>();
    for (const [name, config] of Object.entries(machine.config.states as Record<string, Config>)) {
      explained.add(name);
      if (config.meta?.poll) [config.meta.poll.check, config.meta.poll.choice].forEach((s) => explained.add(s));
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
    expect(Object.keys(rollout.States.Preflight!.ResultSelector as object).sort()).toEqual(['cluster.$', 'rolloutId.$']);
    for (const state of Object.values(rollout.States).filter((s) => s.Resource === 'arn:aws:states:::lambda:invoke')) {
      expect((state.Parameters as { Payload: Record<string, string> }).Payload).toMatchObject({ 'state.$': '$', 'execution.$': '$$.Execution.Id' });
    }
  });

  it('a batch is a Map of node child executions that catches each node; the successor is this state machine again', () => {
    const rollout = toAsl(rolloutMachine, DEFAULT_ASL_OPTIONS);
    const map = rollout.States.RunBatch!;
    expect(map.Type).toBe('Map');
    const processor = map.ItemProcessor as AslDefinition;
    expect(processor.States.RunNode!.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(processor.States.RunNode!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: 'NodeEnded', ResultPath: null }]);
    expect(rollout.States.StartSuccessor!.Parameters).toMatchObject({ 'StateMachineArn.$': '$$.StateMachine.Id' });
  });
});
