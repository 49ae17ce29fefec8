/** The console's workflow drawings come from the XState machines themselves, and every rollout step has its state. */
import { describe, expect, it } from 'vitest';
import { workflowGraph } from '../../../console/build/workflow-graph.js';
import { layout, stateOfStatus, stateOfStep } from '../../../console/src/diagram-layout.js';
import { NODE_STEPS } from '../../../functions/domain/rollout/model.js';
import { nodeMachine, rolloutMachine } from '../../../workflows/machines.js';

const node = workflowGraph(nodeMachine);
const rollout = workflowGraph(rolloutMachine);

describe('the console workflow graphs', () => {
  it('hold every state of both machines, with their kinds', () => {
    expect(node.states.map((s) => s.name)).toEqual(Object.keys(nodeMachine.root.states));
    expect(rollout.states.map((s) => s.name)).toEqual(Object.keys(rolloutMachine.root.states));
    expect(node.initial).toBe('Begin');
    expect(rollout.initial).toBe('Preflight');
    expect(node.states.filter((s) => s.kind === 'poll').map((s) => s.name)).toEqual([
      'WaitRoles',
      'WaitDrained',
      'WaitUpgraded',
      'Verify',
    ]);
    expect(node.states.filter((s) => s.kind === 'final').map((s) => s.name)).toEqual(['Done', 'Stopped', 'Failed']);
    expect(rollout.states.filter((s) => s.runsNodes).map((s) => s.name)).toEqual(['RunBatch']);
  });

  it('hold the transitions by kind, with the outcomes that take them', () => {
    expect(node.edges).toContainEqual({ from: 'Begin', to: 'Switchover', kind: 'done', labels: ['primary'] });
    expect(node.edges).toContainEqual({
      from: 'WaitDrained',
      to: 'Maintain',
      kind: 'done',
      labels: ['drained', 'forced'],
    });
    expect(node.edges).toContainEqual({ from: 'WaitDrained', to: 'WaitDrained', kind: 'poll', labels: [] });
    expect(node.edges).toContainEqual({ from: 'Drain', to: 'RecordFailure', kind: 'error', labels: [] });
    expect(rollout.edges).toContainEqual({ from: 'RunBatch', to: 'NextBatch', kind: 'done', labels: [] });
    // One edge per (from, to, kind): the two outcomes above share one.
    const keys = node.edges.map((e) => `${e.from}>${e.to}>${e.kind}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('place every rollout step on a state of the node machine (pending: not started, none)', () => {
    for (const step of NODE_STEPS.filter((s) => s !== 'pending')) expect(stateOfStep(node, step), step).toBeDefined();
    expect(stateOfStep(node, 'pending')).toBeUndefined();
    expect(stateOfStep(node, 'wait-upgraded')).toBe('WaitUpgraded');
    expect(stateOfStep(node, 'no-such-step')).toBeUndefined();
  });

  it('place a rollout status on the rollout machine: a final state by name, else the batch runner', () => {
    expect(['succeeded', 'paused', 'aborted', 'failed'].map((s) => stateOfStatus(rollout, s))).toEqual([
      'Succeeded',
      'Paused',
      'Aborted',
      'Failed',
    ]);
    expect(['running', 'pausing', 'aborting'].map((s) => stateOfStatus(rollout, s))).toEqual([
      'RunBatch',
      'RunBatch',
      'RunBatch',
    ]);
  });

  it('lay the states out top to bottom along the flow, one cell each', () => {
    const { placed, rows } = layout(node);
    const row = (name: string) => placed.get(name)!.row;
    expect(row('Begin')).toBe(0);
    const flow = [
      'Begin',
      'Switchover',
      'WaitRoles',
      'Drain',
      'WaitDrained',
      'Maintain',
      'WaitUpgraded',
      'Verify',
      'Clear',
      'Done',
    ];
    expect(flow.map(row)).toEqual(flow.map((_, i) => i));
    expect(row('Failed')).toBe(rows - 1);
    const cells = [...placed.values()].map((p) => `${p.row},${p.column}`);
    expect(new Set(cells).size).toBe(cells.length);
    // The loop back from RunBatch to NextBatch does not push NextBatch down.
    const r = layout(rollout).placed;
    expect(r.get('RunBatch')!.row).toBe(r.get('NextBatch')!.row + 1);
  });
});
