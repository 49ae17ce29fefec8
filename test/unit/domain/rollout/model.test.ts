/** rollout/model.ts: a node as stored or defaulted, the refusal of a step once the rollout is aborted, and what counts as a change. */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../functions/domain/errors.js';
import type { ClusterState } from '../../../../functions/domain/model.js';
import { finishRollout, pauseAutomation, pauseRollout, plan } from '../../../../functions/domain/rollout/lifecycle.js';
import {
  allNodes,
  changesNothing,
  finished,
  nodeOf,
  RolloutStopped,
  StepFailed,
  type RolloutSnapshot,
} from '../../../../functions/domain/rollout/model.js';
import {
  beginNode,
  checkDrained,
  checkRoles,
  checkUpgraded,
  checkVerified,
  clearNode,
  drainNode,
  markUpgradeTriggered,
  requestSwitchover,
} from '../../../../functions/domain/rollout/node-steps.js';
import { actor, caught, NOW } from '../fixtures.js';
import { ID, started, withRecord, node, withNodes, holding } from './builders.js';

describe('nodeOf and allNodes', () => {
  it('defaults an untouched node to pending and refuses a server outside the rollout (NotFound)', () => {
    const { r } = started();
    expect(nodeOf(r, 'r2')).toEqual({ server: 'r2', step: 'pending', outcome: 'pending', attempt: 0, version: 0 });
    const stored = withNodes(r, node('r2', { step: 'verify', outcome: 'in-progress' }));
    expect(nodeOf(stored, 'r2')).toMatchObject({ step: 'verify', outcome: 'in-progress' });
    expect(caught(() => nodeOf(r, 'nope')).code).toBe('NotFound');
    expect(allNodes(stored).map((n) => [n.server, n.outcome])).toEqual([
      ['p', 'pending'],
      ['r1', 'pending'],
      ['r2', 'in-progress'],
      ['r3', 'pending'],
    ]);
  });

  it('finished: upgraded, already-upgraded and skipped only', () => {
    const outcomes = [
      'pending',
      'in-progress',
      'upgraded',
      'already-upgraded',
      'failed',
      'skipped',
      'stopped',
    ] as const;
    expect(outcomes.filter((o) => finished(node('x', { outcome: o })))).toEqual([
      'upgraded',
      'already-upgraded',
      'skipped',
    ]);
  });
});

describe('while the rollout is being aborted', () => {
  const steps: [string, (st: ClusterState, r: RolloutSnapshot) => unknown][] = [
    ['pauseAutomation', (st, r) => pauseAutomation(st, r, actor(), NOW)],
    ['plan', (st, r) => plan(st, { ...r, plan: undefined }, NOW)],
    ['beginNode', (st, r) => beginNode(st, r, 'r1', NOW)],
    ['requestSwitchover', (st, r) => requestSwitchover(st, r, 'p', actor(), NOW)],
    ['checkRoles', (st, r) => checkRoles(st, r, 'p', NOW)],
    ['drainNode', (st, r) => drainNode(st, r, 'r1', actor(), NOW)],
    ['checkDrained', (st, r) => checkDrained(st, r, 'r1', actor(), NOW)],
    ['markUpgradeTriggered', (st, r) => markUpgradeTriggered(st, r, 'r1', actor(), NOW)],
    ['checkUpgraded', (st, r) => checkUpgraded(st, r, 'r1', NOW)],
    ['checkVerified', (st, r) => checkVerified(st, r, 'r1', NOW)],
    ['clearNode', (st, r) => clearNode(st, r, 'r1', actor(), NOW)],
    ['finishRollout', (st, r) => finishRollout(st, r, actor(), NOW)],
    ['pauseRollout', (st, r) => pauseRollout(st, r, actor(), NOW)],
  ];

  it.each(steps)('%s throws RolloutStopped and changes nothing', (_name, run) => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    for (const status of ['aborting', 'aborted'] as const) {
      const e = caught(() => run(s, withRecord(r, { status })));
      expect(e).toBeInstanceOf(RolloutStopped);
      expect(e.name).toBe('RolloutStopped');
      expect(e.code).toBe('RolloutConflict');
      expect(e.message).toContain(ID);
    }
  });

  it('a step of a paused rollout is refused as a plain RolloutConflict, not RolloutStopped', () => {
    const { st, r } = started();
    const e = caught(() => drainNode(st, withRecord(r, { status: 'paused' }), 'r1', actor(), NOW));
    expect(e).not.toBeInstanceOf(RolloutStopped);
    expect(e.name).toBe('RolloutConflict');
    expect(e.message).toContain('paused');
  });

  it('StepFailed and RolloutStopped are DomainErrors', () => {
    const failed = new StepFailed('verify', 'why');
    expect(failed).toBeInstanceOf(DomainError);
    expect(failed.code).toBe('RolloutConflict');
    expect(failed.name).toBe('StepFailed');
    expect(failed.step).toBe('verify');
    expect(new RolloutStopped('x')).toBeInstanceOf(DomainError);
  });
});

describe('exact messages (mutation-driven)', () => {
  it('unknown servers', () => {
    const { st, r } = started();
    expect(caught(() => nodeOf(r, 'zz')).message).toBe(`server zz in rollout ${ID} not found`);
    const noList = withRecord(r, { input: { ...r.rollout.input, servers: undefined } });
    expect(caught(() => nodeOf(noList, 'zz')).code).toBe('NotFound');
    const gone: ClusterState = { ...st, servers: new Map([...st.servers].filter(([n]) => n !== 'r1')) };
    expect(caught(() => drainNode(gone, r, 'r1', actor(), NOW)).message).toBe('server r1 not found');
  });
});

describe('edges of the rules (mutation-driven)', () => {
  it('changesNothing: every kind of change counts', () => {
    const { st, r } = started();
    const snap = withNodes(r, node('r1'), node('r2'));
    const base = { next: st, events: [], rollout: snap, answer: {} };
    expect(changesNothing(base, st, snap)).toBe(true);
    expect(changesNothing({ ...base, events: [{ action: 'x' }] as never }, st, snap)).toBe(false);
    expect(changesNothing({ ...base, next: { ...st } }, st, snap)).toBe(false);
    expect(changesNothing({ ...base, removed: true }, st, snap)).toBe(false);
    expect(changesNothing({ ...base, rollout: withRecord(snap, {}) }, st, snap)).toBe(false);
    expect(changesNothing({ ...base, rollout: { ...snap, plan: [['r1']] } }, st, snap)).toBe(false);
    expect(changesNothing({ ...base, rollout: withNodes(snap, node('r2', { attempt: 2 })) }, st, snap)).toBe(false);
  });
});
