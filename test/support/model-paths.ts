/**
 * Paths through the XState model for model-based tests: every poll loop taken exactly K times (K = 0, 1, 2),
 * error exits on the K = 0 paths, and, of those, enough to take every transition of the model at least once.
 */
import { getSimplePaths } from '@xstate/graph';
import type { AnyStateMachine } from 'xstate';

export interface ModelEvent {
  type: string;
  output?: { outcome: string };
  error?: { name: string };
}

export interface ModelStep {
  /** The state the step leaves. */
  from: string;
  event: ModelEvent;
  to: string;
}

export interface ModelPath {
  k: number;
  steps: ModelStep[];
  /** The states visited in order (re-entries of a polling state included). */
  states: string[];
}

type Guard = { type: string; params: Record<string, string> };
type Transition = string | { target?: string; guard?: Guard };
interface StateConfig {
  type?: string;
  invoke?: { id: string; src: string; onDone?: Transition | Transition[]; onError?: Transition | Transition[] };
  on?: Record<string, unknown>;
}

const list = (t: Transition | Transition[] | undefined) =>
  (t === undefined ? [] : Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? { target: x } : x));

/** What a task answers when its done transition is unguarded (the real handlers' outcomes). */
export const PLAIN_OUTCOME: Record<string, string> = {
  preflight: 'ready',
  pauseAutomation: 'paused',
  plan: 'planned',
  runBatch: 'ran',
  finishRollout: 'succeeded',
  pauseRollout: 'paused',
  abortRollout: 'aborted',
  startSuccessor: 'started',
  failRollout: 'failed',
  requestSwitchover: 'requested',
  drainNode: 'draining',
  triggerUpgrade: 'triggered',
  clearNode: 'cleared',
  recordNodeFailure: 'failed',
};
/** The error a test injects for an unguarded onError. */
export const INJECTED_ERROR = 'StepFailed.injected';

export function stateConfig(machine: AnyStateMachine, state: string): StateConfig {
  return (machine.config.states as Record<string, StateConfig>)[state]!;
}

export const isPoll = (machine: AnyStateMachine, state: string) => stateConfig(machine, state).on?.poll !== undefined;

/** Outcomes that loop back (the batch loop): taken exactly K times, like a poll loop. */
const LOOP_OUTCOMES: Record<string, string> = { nextBatch: 'batch' };

function eventsFor(machine: AnyStateMachine, k: number, withErrors: boolean) {
  return (snapshot: { value: unknown; context: { polls: number; batches?: number } }): ModelEvent[] => {
    const config = stateConfig(machine, snapshot.value as string);
    if (!config.invoke) return [];
    const { id, src } = config.invoke;
    const poll = config.on?.poll !== undefined;
    const events: ModelEvent[] = [];
    if (poll && snapshot.context.polls < k) events.push({ type: 'poll' });
    if (poll && snapshot.context.polls !== k) return events;
    const loop = LOOP_OUTCOMES[src];
    for (const t of list(config.invoke.onDone)) {
      const outcome = t.guard?.params.outcome ?? PLAIN_OUTCOME[src]!;
      if (loop !== undefined && (outcome === loop) !== (snapshot.context.batches ?? 0) < k) continue;
      events.push({ type: `xstate.done.actor.${id}`, output: { outcome } });
    }
    if (withErrors)
      for (const t of list(config.invoke.onError))
        events.push({ type: `xstate.error.actor.${id}`, error: { name: t.guard?.params.name ?? INJECTED_ERROR } });
    return events;
  };
}

const edgeKey = (s: ModelStep) =>
  `${s.from} --${s.event.type}:${s.event.output?.outcome ?? s.event.error?.name ?? ''}--> ${s.to}`;

function toModelPath(k: number, path: { steps: { event: ModelEvent; state: { value: unknown } }[] }): ModelPath {
  const states = path.steps.map((s) => s.state.value as string);
  const steps = path.steps.slice(1).map((s, i) => ({ from: states[i]!, event: s.event, to: s.state.value as string }));
  return { k, steps, states };
}

/** Paths from the initial state to a final state. */
export function modelPaths(machine: AnyStateMachine, input: Record<string, unknown>): ModelPath[] {
  const final = (state: string) => stateConfig(machine, state).type === 'final';
  const generate = (k: number, withErrors: boolean) =>
    getSimplePaths(machine, { input, events: eventsFor(machine, k, withErrors) as never })
      .map((p) => toModelPath(k, p as never))
      .filter((p) => final(p.states.at(-1)!));
  const seen = new Set<string>();
  const happy = [0, 1, 2]
    .flatMap((k) => generate(k, false))
    .filter((p) => {
      const key = p.steps.map(edgeKey).join('|');
      return !seen.has(key) && seen.add(key);
    });
  // Every transition at least once: a greedy cover over the paths with errors (K = 0, then 1 for loop bodies).
  const covered = new Set(happy.flatMap((p) => p.steps.map(edgeKey)));
  const chosen: ModelPath[] = [];
  for (const path of [0, 1].flatMap((k) => generate(k, true).sort((a, b) => a.steps.length - b.steps.length))) {
    const fresh = path.steps.map(edgeKey).filter((e) => !covered.has(e));
    if (fresh.length === 0) continue;
    for (const e of fresh) covered.add(e);
    chosen.push(path);
  }
  return [...happy, ...chosen];
}

/** Every transition of the model (from the machine's own definition), for the coverage check. */
export function modelEdges(machine: AnyStateMachine): string[] {
  const edges: string[] = [];
  for (const [state, config] of Object.entries(machine.config.states as Record<string, StateConfig>)) {
    if (!config.invoke) continue;
    const { id, src } = config.invoke;
    for (const t of list(config.invoke.onDone))
      edges.push(`${state} --xstate.done.actor.${id}:${t.guard?.params.outcome ?? PLAIN_OUTCOME[src]}--> ${t.target}`);
    for (const t of list(config.invoke.onError))
      edges.push(`${state} --xstate.error.actor.${id}:${t.guard?.params.name ?? INJECTED_ERROR}--> ${t.target}`);
    if (config.on?.poll) edges.push(`${state} --poll:--> ${state}`);
  }
  return edges;
}

export const pathEdges = (path: ModelPath) => path.steps.map(edgeKey);
