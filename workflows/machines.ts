/**
 * The rolling-upgrade workflow modelled in XState v5 (docs/workflow.md). These machines are the source of the
 * Step Functions definitions (`asl.ts`): every state maps to the ASL state of the same name, a polling state to
 * a Wait → Check → Choice group named in its `meta.poll`. Time belongs to Step Functions: waiting is the `poll`
 * event, never an XState timer. I/O happens only in the actors, which tests and the local runner `provide()`.
 */
import { assign, fromPromise, setup } from 'xstate';

/** What every task answers: `outcome` drives the choices that follow it. */
export interface TaskOutput {
  outcome: string;
  [key: string]: unknown;
}

/** The execution carries ids only; the plan and progress live in the rollout record. */
interface RolloutContext {
  cluster: string;
  rolloutId: string;
  /** Consecutive polls in the current waiting state (bounded by the tests' traversal, not by the model). */
  polls: number;
}

/** The rollout also counts the batches this execution has run (the record decides when to continue as new). */
export interface RolloutMachineContext extends RolloutContext {
  batches: number;
}

export interface NodeContext extends RolloutContext {
  server: string;
}

export type PollEvent = { type: 'poll' };

/** Stands in for a task until it is provided: the model itself never does I/O. */
const task = fromPromise<TaskOutput, unknown>(async () => {
  throw new Error('task not provided');
});

export interface PollMeta {
  /** The ASL Task that checks, and the Choice that reads its outcome. */
  check: string;
  choice: string;
  /** The Wait before the first check, in seconds (overridden locally); later ones back off (`poll.ts`). */
  seconds: number;
}

/** Where a task's answer goes in the execution state (default: `$.result`, the outcome only). */
export interface TaskMeta {
  kind?: 'lambda' | 'run-nodes' | 'start-successor';
  /** Fields of the answer to keep. */
  result?: string[];
  /** `$` replaces the execution state with the kept fields (Preflight: ids only from then on). */
  resultPath?: '$';
}

export interface FinalMeta {
  /** A Fail state's error name; absent for Succeed. */
  error?: string;
  cause?: string;
  /** Fail with the caught error's own name and cause. */
  errorFromState?: boolean;
}

const outcomeIs = ({ event }: { event: unknown }, params: { outcome: string }) =>
  (event as { output?: TaskOutput }).output?.outcome === params.outcome;
const errorIs = ({ event }: { event: unknown }, params: { name: string }) =>
  ((event as { error?: { name?: string } }).error?.name ?? '') === params.name;

const on = (outcome: string, target: string) => ({
  guard: { type: 'outcomeIs' as const, params: { outcome } },
  target,
  actions: 'resetPolls' as const,
});
const poll = (state: string) => ({ poll: { target: state, reenter: true, actions: 'countPoll' as const } });

// -----------------------------------------------------------------------------------------------------------
// The rollout: preflight, pause automation, plan, then batch after batch until done, paused, aborted or failed

const toFailRollout = { target: 'FailRollout', actions: 'resetPolls' as const };
/** Before the first batch: an abort that lands meanwhile ends the rollout aborted, not failed. */
const abortedOrFail = [
  {
    guard: { type: 'errorIs' as const, params: { name: 'RolloutStopped' } },
    target: 'Abort',
    actions: 'resetPolls' as const,
  },
  toFailRollout,
];

export const rolloutMachine = setup({
  types: {
    context: {} as RolloutMachineContext,
    input: {} as { cluster: string; rolloutId: string },
    events: {} as PollEvent,
  },
  actors: {
    preflight: task,
    pauseAutomation: task,
    plan: task,
    nextBatch: task,
    runBatch: task,
    finishRollout: task,
    pauseRollout: task,
    abortRollout: task,
    startSuccessor: task,
    failRollout: task,
  },
  guards: { outcomeIs, errorIs },
  actions: {
    countPoll: assign({ polls: ({ context }) => context.polls + 1 }),
    resetPolls: assign({ polls: 0 }),
    countBatch: assign({ batches: ({ context }) => context.batches + 1 }),
  },
}).createMachine({
  id: 'Rollout',
  context: ({ input }) => ({ ...input, polls: 0, batches: 0 }),
  initial: 'Preflight',
  states: {
    Preflight: {
      meta: { task: { result: ['cluster', 'rolloutId'], resultPath: '$' } satisfies TaskMeta },
      invoke: { id: 'preflight', src: 'preflight', onDone: 'PauseAutomation', onError: 'Rejected' },
    },
    PauseAutomation: {
      invoke: { id: 'pauseAutomation', src: 'pauseAutomation', onDone: 'Plan', onError: abortedOrFail },
    },
    Plan: { invoke: { id: 'plan', src: 'plan', onDone: 'NextBatch', onError: abortedOrFail } },
    NextBatch: {
      meta: { task: { result: ['outcome', 'servers'] } satisfies TaskMeta },
      invoke: {
        id: 'nextBatch',
        src: 'nextBatch',
        onDone: [
          on('batch', 'RunBatch'),
          on('done', 'ResumeAutomation'),
          on('pause', 'Pause'),
          on('abort', 'Abort'),
          on('continue', 'StartSuccessor'),
          on('fail', 'FailRollout'),
        ],
        onError: toFailRollout,
      },
    },
    RunBatch: {
      meta: { task: { kind: 'run-nodes' } satisfies TaskMeta },
      // The Map catches each node's failure (the record has it): a Map that fails itself is a broken execution,
      // which the sweeper finds and marks failed.
      invoke: { id: 'runBatch', src: 'runBatch', onDone: { target: 'NextBatch', actions: 'countBatch' } },
    },
    ResumeAutomation: {
      invoke: { id: 'finishRollout', src: 'finishRollout', onDone: 'Succeeded', onError: toFailRollout },
    },
    Pause: { invoke: { id: 'pauseRollout', src: 'pauseRollout', onDone: 'Paused', onError: toFailRollout } },
    Abort: { invoke: { id: 'abortRollout', src: 'abortRollout', onDone: 'Aborted', onError: toFailRollout } },
    StartSuccessor: {
      meta: { task: { kind: 'start-successor' } satisfies TaskMeta },
      invoke: { id: 'startSuccessor', src: 'startSuccessor', onDone: 'Continued', onError: toFailRollout },
    },
    FailRollout: { invoke: { id: 'failRollout', src: 'failRollout', onDone: 'Failed', onError: 'Failed' } },
    Succeeded: { type: 'final' },
    Paused: { type: 'final' },
    Aborted: { type: 'final' },
    Continued: { type: 'final' },
    Failed: {
      type: 'final',
      meta: {
        final: {
          error: 'RolloutFailed',
          cause: 'the rollout failed: its record names the node, step and reason',
        } satisfies FinalMeta,
      },
    },
    Rejected: { type: 'final', meta: { final: { errorFromState: true } satisfies FinalMeta } },
  },
});

// -----------------------------------------------------------------------------------------------------------
// One node: (switchover for the primary) drain, maintain, verify, clear

const nodeErrors = [
  {
    guard: { type: 'errorIs' as const, params: { name: 'RolloutStopped' } },
    target: 'Stopped',
    actions: 'resetPolls' as const,
  },
  { target: 'RecordFailure', actions: 'resetPolls' as const },
];

export const nodeMachine = setup({
  types: {
    context: {} as NodeContext,
    input: {} as { cluster: string; rolloutId: string; server: string },
    events: {} as PollEvent,
  },
  actors: {
    beginNode: task,
    requestSwitchover: task,
    checkRoles: task,
    drainNode: task,
    checkDrained: task,
    triggerUpgrade: task,
    checkUpgraded: task,
    checkVerified: task,
    clearNode: task,
    recordNodeFailure: task,
  },
  guards: { outcomeIs, errorIs },
  actions: { countPoll: assign({ polls: ({ context }) => context.polls + 1 }), resetPolls: assign({ polls: 0 }) },
}).createMachine({
  id: 'Node',
  context: ({ input }) => ({ ...input, polls: 0 }),
  initial: 'Begin',
  states: {
    Begin: {
      invoke: {
        id: 'beginNode',
        src: 'beginNode',
        onDone: [on('primary', 'Switchover'), on('done', 'Done'), on('replica', 'Drain')],
        onError: nodeErrors,
      },
    },
    Switchover: {
      invoke: { id: 'requestSwitchover', src: 'requestSwitchover', onDone: 'WaitRoles', onError: nodeErrors },
    },
    WaitRoles: {
      meta: { poll: { check: 'CheckRoles', choice: 'RolesSwitched', seconds: 5 } satisfies PollMeta },
      invoke: { id: 'checkRoles', src: 'checkRoles', onDone: [on('switched', 'Drain')], onError: nodeErrors },
      on: poll('WaitRoles'),
    },
    Drain: { invoke: { id: 'drainNode', src: 'drainNode', onDone: 'WaitDrained', onError: nodeErrors } },
    WaitDrained: {
      meta: { poll: { check: 'CheckDrained', choice: 'IsDrained', seconds: 5 } satisfies PollMeta },
      invoke: {
        id: 'checkDrained',
        src: 'checkDrained',
        onDone: [on('drained', 'Maintain'), on('forced', 'Maintain')],
        onError: nodeErrors,
      },
      on: poll('WaitDrained'),
    },
    Maintain: { invoke: { id: 'triggerUpgrade', src: 'triggerUpgrade', onDone: 'WaitUpgraded', onError: nodeErrors } },
    WaitUpgraded: {
      meta: { poll: { check: 'CheckUpgraded', choice: 'IsUpgraded', seconds: 10 } satisfies PollMeta },
      invoke: { id: 'checkUpgraded', src: 'checkUpgraded', onDone: [on('upgraded', 'Verify')], onError: nodeErrors },
      on: poll('WaitUpgraded'),
    },
    Verify: {
      meta: { poll: { check: 'CheckVerified', choice: 'IsVerified', seconds: 5 } satisfies PollMeta },
      invoke: { id: 'checkVerified', src: 'checkVerified', onDone: [on('verified', 'Clear')], onError: nodeErrors },
      on: poll('Verify'),
    },
    Clear: { invoke: { id: 'clearNode', src: 'clearNode', onDone: 'Done', onError: nodeErrors } },
    RecordFailure: {
      invoke: { id: 'recordNodeFailure', src: 'recordNodeFailure', onDone: 'Failed', onError: 'Failed' },
    },
    Done: { type: 'final' },
    Stopped: { type: 'final' },
    Failed: {
      type: 'final',
      meta: {
        final: {
          error: 'NodeFailed',
          cause: 'the node failed: the rollout record has the step and reason',
        } satisfies FinalMeta,
      },
    },
  },
});

export type TaskName =
  | keyof typeof rolloutMachine.implementations.actors
  | keyof typeof nodeMachine.implementations.actors;
