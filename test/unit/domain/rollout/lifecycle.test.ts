/** rollout/lifecycle.ts: a rollout's life (docs/workflow.md): created, claimed, planned, run batch by batch, ended. */
import { describe, expect, it } from 'vitest';
import { judge } from '../../../../functions/domain/budget.js';
import { withServer } from '../../../../functions/domain/outcome.js';
import type { ClusterState } from '../../../../functions/domain/model.js';
import { retryNode } from '../../../../functions/domain/rollout/controls.js';
import {
  abortRollout,
  createAndClaim,
  createRollout,
  failRollout,
  finishRollout,
  nextBatch,
  pauseAutomation,
  pauseRollout,
  plan,
  planBatches,
  preflight,
  requireOwner,
} from '../../../../functions/domain/rollout/lifecycle.js';
import {
  allNodes,
  BATCHES_PER_EXECUTION,
  finished,
  nodeOf,
  rolloutHolder,
  RolloutStopped,
  type StepFailed,
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
import { actor, caught, claim, HOUR, MIN, NOW, replicas, SEC, server, state } from '../fixtures.js';
import {
  ID,
  HOLDER,
  V1,
  V2,
  input,
  fleet,
  started,
  withRecord,
  node,
  done,
  withNodes,
  patch,
  held,
  holding,
  actions,
  upgradedAll,
} from './builders.js';

describe('createRollout', () => {
  it('creates a running record with the defaults, takes the cluster lock and records start-rollout', () => {
    const st = fleet();
    const o = createRollout(st, ID, input(), actor(), NOW);
    expect(o.answer).toEqual({ outcome: 'created' });
    expect(o.rollout.rollout).toEqual({
      id: ID,
      cluster: 'c1',
      status: 'running',
      input: { ...input(), servers: ['p', 'r1', 'r2', 'r3'] },
      actor: 'alice',
      createdAt: NOW,
      updatedAt: NOW,
      batch: -1,
      batchCount: 0,
      batchesThisExecution: 0,
      executions: [],
      alreadyUpgraded: [],
      version: 0,
    });
    expect(o.rollout.plan).toBeUndefined();
    expect(o.rollout.nodes.size).toBe(0);
    expect(o.next.cluster.rollout).toBe(ID);
    expect(st.cluster.rollout).toBeUndefined();
    // No server is touched yet.
    expect(o.next.servers).toBe(st.servers);
    expect(o.events).toEqual([
      {
        action: 'start-rollout',
        target: `rollout:${ID}`,
        before: null,
        after: { status: 'running', batch: -1, targetVersion: V2, servers: 4 },
      },
    ]);
  });

  it('keeps the servers in the order the input gives', () => {
    const o = createRollout(fleet(), ID, input({ servers: ['r2', 'p', 'r1'] }), actor(), NOW);
    expect(o.rollout.rollout.input.servers).toEqual(['r2', 'p', 'r1']);
    expect(allNodes(o.rollout).map((n) => n.server)).toEqual(['r2', 'p', 'r1']);
    expect(o.events[0]!.after).toMatchObject({ servers: 3 });
  });

  it('refuses a second rollout on the same cluster (RolloutConflict naming the one in progress)', () => {
    const st = fleet();
    const first = createRollout(st, ID, input(), actor(), NOW);
    const e = caught(() => createRollout(first.next, 'r-2', input(), actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.message).toContain(ID);
    expect(e.message).toContain('c1');
    expect(e.details).toEqual({ rollout: ID });
  });

  it('refuses unknown servers, naming them (InvalidInput)', () => {
    const e = caught(() => createRollout(fleet(), ID, input({ servers: ['r1', 'x9', 'y7'] }), actor(), NOW));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toContain('x9, y7');
    expect(e.details).toEqual({ servers: ['x9', 'y7'] });
  });

  it('refuses a server listed twice (InvalidInput)', () => {
    const e = caught(() => createRollout(fleet(), ID, input({ servers: ['r1', 'r2', 'r1'] }), actor(), NOW));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toMatch(/twice/);
  });

  it('refuses a cluster without servers (InvalidInput)', () => {
    expect(caught(() => createRollout(state([]), ID, input(), actor(), NOW)).code).toBe('InvalidInput');
  });

  it.each([
    ['down', { health: 'down' as const }],
    ['stale', { reportedAt: NOW - HOUR }],
    ['unreported', { health: 'unknown' as const, reportedAt: undefined }],
  ])('refuses a %s target (RolloutConflict naming it)', (_label, changes) => {
    const st = patch(fleet(), 'r2', changes);
    const e = caught(() => createRollout(st, ID, input(), actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.message).toContain('r2');
    expect(e.details).toEqual({ server: 'r2' });
  });

  it('says "no report yet" for a server that never reported', () => {
    const st = patch(fleet(), 'r2', { health: 'unknown', reportedAt: undefined });
    expect(caught(() => createRollout(st, ID, input(), actor(), NOW)).message).toMatch(/no report yet/);
  });

  it('does not mind an unhealthy server that is not a target', () => {
    const st = fleet([server('x', { dc: 'dc2', health: 'down', version: V1 })]);
    const o = createRollout(st, ID, input({ servers: ['r1', 'r2'] }), actor(), NOW);
    expect(o.rollout.rollout.input.servers).toEqual(['r1', 'r2']);
  });

  it('skips targets already at the version and unclaimed: recorded in alreadyUpgraded and finished', () => {
    const st = patch(patch(fleet(), 'r1', { version: V2 }), 'r3', { version: V2, claims: { manual: claim() } });
    const o = createRollout(st, ID, input(), actor(), NOW);
    // r3 is at the version but held by someone: the rollout still takes it through its sequence.
    expect(o.rollout.rollout.alreadyUpgraded).toEqual(['r1']);
    expect(nodeOf(o.rollout, 'r1')).toEqual({
      server: 'r1',
      step: 'done',
      outcome: 'already-upgraded',
      attempt: 0,
      version: 0,
    });
    expect(finished(nodeOf(o.rollout, 'r1'))).toBe(true);
    expect(nodeOf(o.rollout, 'r3')).toMatchObject({ step: 'pending', outcome: 'pending' });
    expect(finished(nodeOf(o.rollout, 'r3'))).toBe(false);
    const planned = plan(o.next, o.rollout, NOW);
    expect(planned.rollout.plan!.flat()).not.toContain('r1');
    expect(planned.rollout.plan!.flat().sort()).toEqual(['p', 'r2', 'r3']);
  });

  it('an already-upgraded server must be healthy too: the rollout ends only when all its servers are', () => {
    const st = patch(fleet(), 'r1', { version: V2, health: 'down' });
    const roomy = { ...st, cluster: { ...st.cluster, budget: { maxUnavailablePerDc: 2 } } };
    const e = caught(() => createRollout(roomy, ID, input(), actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.message).toContain('r1');
    expect(
      createRollout(patch(fleet(), 'r1', { version: V2 }), ID, input(), actor(), NOW).rollout.rollout.alreadyUpgraded,
    ).toEqual(['r1']);
  });

  it('refuses when the budget allows no target out of service (BudgetExceeded)', () => {
    const st = state([server('p', { role: 'primary' }), ...replicas('r', 2)], {
      cluster: { budget: { maxUnavailablePerDc: 0 } },
    });
    const e = caught(() => createRollout(st, ID, input(), actor(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toContain('allows 0 unavailable');
  });

  it('refuses when the servers already out of service use up the budget', () => {
    // dc1 of 4 allows 1 unavailable; r3 is already in maintenance, so no target may go.
    const st = patch(fleet(), 'r3', { claims: { manual: claim() } });
    expect(caught(() => createRollout(st, ID, input({ servers: ['r1', 'r2'] }), actor(), NOW)).code).toBe(
      'BudgetExceeded',
    );
    // with the budget raised it may start
    const raised = { ...st, cluster: { ...st.cluster, budget: { maxUnavailablePerDc: 2 } } };
    expect(createRollout(raised, ID, input({ servers: ['r1', 'r2'] }), actor(), NOW).answer.outcome).toBe('created');
  });

  it('starts when only some targets fit the budget', () => {
    // x is alone in dc2 (the default budget of 1 allows none), r1 may go
    const st = fleet([server('x', { dc: 'dc2', version: V1 })]);
    expect(caught(() => createRollout(st, ID, input({ servers: ['x'] }), actor(), NOW)).code).toBe('BudgetExceeded');
    expect(createRollout(st, ID, input({ servers: ['x', 'r1'] }), actor(), NOW).answer.outcome).toBe('created');
  });
});

describe('planBatches', () => {
  it('orders members by dc, then by component in the input order, then by name', () => {
    const m = (name: string, dcName: string, component?: string) =>
      server(name, { role: 'member', dc: dcName, ...(component && { component }) });
    const st = state(
      [
        m('f1', 'dc1', 'frontend'),
        m('m1', 'dc1', 'metasrv'),
        m('d2', 'dc1', 'datanode'),
        m('x', 'dc1'),
        m('d1', 'dc1', 'datanode'),
        m('d3', 'dc2', 'datanode'),
        m('a2', 'dc2', 'frontend'),
      ],
      { cluster: { engine: 'greptimedb' } },
    );
    const names = [...st.servers.keys()];
    const batches = planBatches(st, names, input({ order: ['datanode', 'metasrv', 'frontend'] }), ID, NOW);
    // a server whose component is not in `order` comes after those that are
    expect(batches).toEqual([['d1'], ['d2'], ['m1'], ['f1'], ['x'], ['d3'], ['a2']]);
  });

  it('without an order: by dc, then by name', () => {
    const st = state([
      server('b', { dc: 'dc2' }),
      server('z', { dc: 'dc1' }),
      server('a', { dc: 'dc2' }),
      server('y', { dc: 'dc1' }),
    ]);
    expect(planBatches(st, ['b', 'z', 'a', 'y'], input(), ID, NOW)).toEqual([['y'], ['z'], ['a'], ['b']]);
  });

  it('starts a new batch at each dc, even when the batch size would allow more', () => {
    const st = state(
      [
        server('a', { dc: 'dc1' }),
        server('b', { dc: 'dc1' }),
        server('c', { dc: 'dc1' }),
        server('d', { dc: 'dc2' }),
        server('e', { dc: 'dc2' }),
        server('f', { dc: 'dc2' }),
      ],
      { cluster: { budget: { maxUnavailablePerDc: 3 } } },
    );
    expect(planBatches(st, ['a', 'b', 'c', 'd', 'e', 'f'], input({ batchSize: 4 }), ID, NOW)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
  });

  it('puts the primary last, alone, even when the batch size and budget would allow more', () => {
    const st = state([server('a-primary', { role: 'primary' }), ...replicas('r', 4)], {
      cluster: { budget: { maxUnavailablePerDc: 5 } },
    });
    const batches = planBatches(st, ['a-primary', 'r1', 'r2', 'r3', 'r4'], input({ batchSize: 3 }), ID, NOW);
    expect(batches).toEqual([['r1', 'r2', 'r3'], ['r4'], ['a-primary']]);
  });

  it('the primary is last even from another dc that sorts first', () => {
    const st = state([
      server('p', { role: 'primary', dc: 'dc0' }),
      server('r1', { dc: 'dc1' }),
      server('r2', { dc: 'dc2' }),
    ]);
    expect(planBatches(st, ['p', 'r1', 'r2'], input(), ID, NOW)).toEqual([['r1'], ['r2'], ['p']]);
  });

  it('holds at most batchSize servers', () => {
    const st = state(replicas('r', 6), { cluster: { budget: { maxUnavailablePerDc: 6 } } });
    const names = [...st.servers.keys()];
    expect(planBatches(st, names, input({ batchSize: 4 }), ID, NOW)).toEqual([
      ['r1', 'r2', 'r3', 'r4'],
      ['r5', 'r6'],
    ]);
    expect(planBatches(st, names, input({ batchSize: 1 }), ID, NOW)).toEqual(names.map((n) => [n]));
  });

  it('never exceeds the disruption budget: a dc of 5 (default 2) with batchSize 4 gives batches of at most 2', () => {
    const st = state(replicas('r', 5));
    const batches = planBatches(st, [...st.servers.keys()], input({ batchSize: 4 }), ID, NOW);
    expect(batches).toEqual([['r1', 'r2'], ['r3', 'r4'], ['r5']]);
    for (const batch of batches) {
      let next = st;
      for (const n of batch) next = withServer(next, { ...next.servers.get(n)!, claims: { [HOLDER]: held() } });
      expect(judge(st, next, { kind: 'server' }, NOW).allowed).toBe(true);
    }
  });

  it('counts servers already out of service against the budget', () => {
    // dc1 of 5 allows 2; x is already in maintenance, so each batch may take one more.
    const st = state([...replicas('r', 4), server('x', { claims: { manual: claim() } })]);
    expect(planBatches(st, ['r1', 'r2', 'r3', 'r4'], input({ batchSize: 4 }), ID, NOW)).toEqual([
      ['r1'],
      ['r2'],
      ['r3'],
      ['r4'],
    ]);
  });

  it('applies the budget per dc', () => {
    // dc1 and dc2 of 3 each allow 1: a batch may hold one of each.
    const st = state([...replicas('a', 3, 'dc1'), ...replicas('b', 3, 'dc2')]);
    const batches = planBatches(st, [...st.servers.keys()], input({ batchSize: 2 }), ID, NOW);
    expect(batches.flat()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
    for (const batch of batches) {
      const perDc = new Map<string, number>();
      for (const n of batch) perDc.set(st.servers.get(n)!.dc, (perDc.get(st.servers.get(n)!.dc) ?? 0) + 1);
      expect(Math.max(...perDc.values())).toBe(1);
    }
  });

  it('does not change the order of the names it is given (it sorts a copy of the servers)', () => {
    const st = fleet();
    const names = ['r3', 'p', 'r1', 'r2'];
    planBatches(st, names, input(), ID, NOW);
    expect(names).toEqual(['r3', 'p', 'r1', 'r2']);
  });
});

describe('plan', () => {
  it('stores the batches and their count in the record', () => {
    const st = fleet();
    const created = createRollout(st, ID, input(), actor(), NOW);
    const o = plan(created.next, created.rollout, NOW + SEC);
    expect(o.rollout.plan).toEqual([['r1'], ['r2'], ['r3'], ['p']]);
    expect(o.rollout.rollout.batchCount).toBe(4);
    expect(o.rollout.rollout.updatedAt).toBe(NOW + SEC);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(created.next);
    expect(o.answer).toEqual({ outcome: 'planned' });
  });

  it('is idempotent: a second call keeps the plan it made, even if the cluster changed', () => {
    const { st, r } = started();
    const again = plan(patch(st, 'r1', { dc: 'dc9' }), r, NOW + MIN);
    expect(again.rollout).toBe(r);
    expect(again.events).toEqual([]);
    expect(again.answer).toEqual({ outcome: 'planned' });
  });

  it('plans only the unfinished nodes', () => {
    const st = fleet();
    const created = createRollout(st, ID, input(), actor(), NOW);
    const o = plan(created.next, withNodes(created.rollout, node('r2', { outcome: 'skipped' })), NOW);
    expect(o.rollout.plan).toEqual([['r1'], ['r3'], ['p']]);
  });
});

describe('nextBatch', () => {
  /** After batch `index` of this execution. */
  const afterBatch = (r: RolloutSnapshot, index: number, batches = index + 1) =>
    withRecord(r, { batch: index, batchesThisExecution: batches });

  it('starts with the first batch: its nodes in progress, attempt counted', () => {
    const { st, r } = started();
    const o = nextBatch(st, r, NOW + SEC);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 0, servers: ['r1'] });
    expect(o.rollout.rollout).toMatchObject({ batch: 0, batchesThisExecution: 1, updatedAt: NOW + SEC });
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ outcome: 'in-progress', attempt: 1, step: 'pending' });
    expect(nodeOf(o.rollout, 'r2')).toMatchObject({ outcome: 'pending', attempt: 0 });
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('after a batch whose nodes all finished: the next batch', () => {
    const { st, r } = started();
    const o = nextBatch(st, withNodes(afterBatch(r, 0), done('r1')), NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 1, servers: ['r2'] });
    expect(o.rollout.rollout.batchesThisExecution).toBe(2);
  });

  it('after a batch with an unfinished node: fail, and nothing changes', () => {
    const { st, r } = started();
    for (const outcome of ['in-progress', 'failed', 'pending', 'stopped'] as const) {
      const snap = withNodes(afterBatch(r, 0), node('r1', { outcome }));
      const o = nextBatch(st, snap, NOW);
      expect(o.answer).toEqual({ outcome: 'fail' });
      expect(o.rollout).toBe(snap);
    }
  });

  it('skips batches whose nodes have all finished', () => {
    const { st, r } = started();
    const o = nextBatch(st, withNodes(afterBatch(r, 0), done('r1'), node('r2', { outcome: 'skipped' })), NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 2, servers: ['r3'] });
    expect(o.rollout.rollout.batch).toBe(2);
  });

  it('answers only the unfinished servers of a batch', () => {
    const st = state(replicas('r', 6), { cluster: { budget: { maxUnavailablePerDc: 3 } } });
    const { st: s, r } = started(st, { batchSize: 3 });
    expect(r.plan).toEqual([
      ['r1', 'r2', 'r3'],
      ['r4', 'r5', 'r6'],
    ]);
    const o = nextBatch(s, withNodes(r, node('r2', { outcome: 'skipped' })), NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 0, servers: ['r1', 'r3'] });
    expect(nodeOf(o.rollout, 'r2').outcome).toBe('skipped');
  });

  it('is done when every batch has finished', () => {
    const { st, r } = started();
    const o = nextBatch(st, withNodes(afterBatch(r, 3), done('r1'), done('r2'), done('r3'), done('p')), NOW);
    expect(o.answer).toEqual({ outcome: 'done' });
    // done even if the only batches left finished by a skip
    const skipped = withNodes(afterBatch(r, 2), done('r1'), done('r2'), done('r3'), node('p', { outcome: 'skipped' }));
    expect(nextBatch(st, skipped, NOW).answer).toEqual({ outcome: 'done' });
  });

  it('is done at once when every target was already upgraded', () => {
    const st = state([server('r1', { version: V2 }), server('r2', { version: V2 })]);
    const { st: s, r } = started(st);
    expect(r.plan).toEqual([]);
    expect(nextBatch(s, r, NOW).answer).toEqual({ outcome: 'done' });
  });

  it('pauses at the batch boundary when a pause was requested', () => {
    const { st, r } = started();
    const snap = withNodes(withRecord(afterBatch(r, 0), { status: 'pausing' }), done('r1'));
    const o = nextBatch(st, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'pause' });
    expect(o.rollout).toBe(snap);
  });

  it('pauseAfterFirstBatch: pauses once, after the first batch only', () => {
    const { st, r } = started(fleet(), { pauseAfterFirstBatch: true });
    // the first batch runs
    expect(nextBatch(st, r, NOW).answer).toMatchObject({ outcome: 'batch', batch: 0 });
    // after it: pause
    const afterFirst = withNodes(afterBatch(r, 0), done('r1'));
    expect(nextBatch(st, afterFirst, NOW).answer).toEqual({ outcome: 'pause' });
    // the pause is recorded; a new execution carries on with the second batch, and does not pause again
    const paused = pauseRollout(st, afterFirst, actor(), NOW).rollout;
    expect(paused.rollout.canaryPaused).toBe(true);
    const resumed = preflight(st, paused, 'exec-2', actor(), NOW).rollout;
    const second = nextBatch(st, resumed, NOW);
    expect(second.answer).toEqual({ outcome: 'batch', batch: 1, servers: ['r2'] });
    const third = nextBatch(st, withNodes(second.rollout, done('r2')), NOW);
    expect(third.answer).toEqual({ outcome: 'batch', batch: 2, servers: ['r3'] });
  });

  it('pauseAfterFirstBatch: a first batch that failed and was retried runs again before the canary pause', () => {
    const { st, r } = started(fleet(), { pauseAfterFirstBatch: true });
    // batch 0 (r1) failed, r1 was retried, and a new execution starts
    const snap = withNodes(
      withRecord(r, { batch: 0, batchesThisExecution: 0 }),
      node('r1', { outcome: 'pending', attempt: 1 }),
    );
    const o = nextBatch(st, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 0, servers: ['r1'] });
    expect(nextBatch(st, withNodes(o.rollout, done('r1')), NOW).answer).toEqual({ outcome: 'pause' });
  });

  it('without pauseAfterFirstBatch there is no canary pause', () => {
    const { st, r } = started();
    expect(nextBatch(st, withNodes(afterBatch(r, 0), done('r1')), NOW).answer).toMatchObject({
      outcome: 'batch',
      batch: 1,
    });
  });

  it(`continues as new after ${BATCHES_PER_EXECUTION} batches of one execution`, () => {
    expect(BATCHES_PER_EXECUTION).toBe(20);
    const st = state(replicas('r', 30), { cluster: { budget: { maxUnavailablePerDc: 10 } } });
    const { st: s, r } = started(st);
    const [first, second] = [r.plan![0]![0]!, r.plan![1]![0]!];
    const snap = withNodes(withRecord(r, { batch: 0, batchesThisExecution: BATCHES_PER_EXECUTION }), done(first));
    const o = nextBatch(s, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'continue' });
    expect(o.rollout).toBe(snap);
    const before = withRecord(snap, { batchesThisExecution: BATCHES_PER_EXECUTION - 1 });
    expect(nextBatch(s, before, NOW).answer).toMatchObject({ outcome: 'batch', batch: 1 });
    // the successor's Preflight starts counting again
    const successor = preflight(s, snap, 'exec-2', actor(), NOW, 'exec-1').rollout;
    expect(successor.rollout.batchesThisExecution).toBe(0);
    expect(nextBatch(s, successor, NOW).answer).toEqual({ outcome: 'batch', batch: 1, servers: [second] });
  });

  it('answers abort while the rollout is being aborted', () => {
    const { st, r } = started();
    const snap = withNodes(
      withRecord(afterBatch(r, 0), { status: 'aborting' }),
      node('r1', { outcome: 'in-progress' }),
    );
    const o = nextBatch(st, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'abort' });
    expect(o.rollout).toBe(snap);
  });

  it('a fresh execution restarts from the first batch with unfinished nodes, whatever the batch pointer says', () => {
    const { st, r } = started();
    // the record says batch 2 was last run, but r2 (batch 1) was retried after a failure
    const snap = withNodes(
      withRecord(r, { batch: 2, batchesThisExecution: 0 }),
      done('r1'),
      node('r2', { outcome: 'pending', attempt: 1 }),
      done('r3'),
    );
    const o = nextBatch(st, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 1, servers: ['r2'] });
    expect(nodeOf(o.rollout, 'r2')).toMatchObject({ outcome: 'in-progress', attempt: 2 });
    expect(o.rollout.rollout).toMatchObject({ batch: 1, batchesThisExecution: 1 });
  });

  it('a node already in progress keeps its attempt', () => {
    const { st, r } = started();
    const o = nextBatch(st, withNodes(r, node('r1', { outcome: 'in-progress', attempt: 3, step: 'verify' })), NOW);
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ outcome: 'in-progress', attempt: 3, step: 'verify' });
  });

  it('refuses a rollout that is not running', () => {
    const { st, r } = started();
    for (const status of ['paused', 'failed', 'succeeded'] as const) {
      const e = caught(() => nextBatch(st, withRecord(r, { status }), NOW));
      expect(e.code).toBe('RolloutConflict');
      expect(e.name).toBe('RolloutConflict');
    }
  });
});

describe('preflight', () => {
  it('a successor started by the running execution continues it (continue-rollout), a pause or abort asked still asked', () => {
    const { st, r } = started();
    const o = preflight(st, r, 'exec-2', actor(), NOW + SEC, 'exec-1');
    expect(actions(o)).toEqual(['continue-rollout']);
    expect(o.rollout.rollout.executions).toEqual(['exec-1', 'exec-2']);
    expect(o.rollout.rollout.batchesThisExecution).toBe(0);
    for (const status of ['pausing', 'aborting'] as const) {
      expect(preflight(st, withRecord(r, { status }), 'exec-2', actor(), NOW, 'exec-1').rollout.rollout.status).toBe(
        status,
      );
    }
  });

  it('refuses any other execution while one runs the rollout: at most one at a time', () => {
    const { st, r } = started();
    for (const startedBy of [undefined, 'exec-0', 'exec-2']) {
      const e = caught(() => preflight(st, r, 'exec-2', actor(), NOW, startedBy));
      expect(e.code).toBe('RolloutConflict');
      expect(e.message).toBe('rollout r-1 is already run by execution exec-1');
      expect(e.details).toEqual({ execution: 'exec-1' });
    }
    // a successor that lost the race to another successor of the same execution
    const taken = preflight(st, r, 'exec-2', actor(), NOW, 'exec-1');
    expect(caught(() => preflight(taken.next, taken.rollout, 'exec-3', actor(), NOW, 'exec-1')).message).toBe(
      'rollout r-1 is already run by execution exec-2',
    );
  });

  it("a successor skips the checks of a start: a target that went down meanwhile is the batch's business", () => {
    const { st, r } = started();
    const o = preflight(patch(st, 'r3', { health: 'down' }), r, 'exec-2', actor(), NOW, 'exec-1');
    expect(actions(o)).toEqual(['continue-rollout']);
  });

  it('records the execution running a new rollout (run-rollout), keeping the lock', () => {
    const st = fleet();
    const created = createRollout(st, ID, input(), actor(), NOW);
    const o = preflight(created.next, created.rollout, 'exec-1', actor(), NOW + SEC);
    expect(o.answer).toEqual({ outcome: 'ready' });
    expect(o.rollout.rollout).toMatchObject({
      status: 'running',
      executions: ['exec-1'],
      batchesThisExecution: 0,
      updatedAt: NOW + SEC,
    });
    expect(o.next.cluster.rollout).toBe(ID);
    expect(o.events).toEqual([
      {
        action: 'run-rollout',
        target: `rollout:${ID}`,
        before: null,
        after: { status: 'running', batch: -1, execution: 'exec-1' },
      },
    ]);
  });

  it('a repeated call with the same execution id is a no-op', () => {
    const { st, r } = started();
    const o = preflight(st, r, 'exec-1', actor(), NOW + 10 * SEC);
    expect(o.rollout).toBe(r);
    expect(o.next).toBe(st);
    expect(o.events).toEqual([]);
    expect(o.answer).toEqual({ outcome: 'ready' });
    expect(r.rollout.executions).toEqual(['exec-1']);
  });

  it('a repeated call does not swallow a pause or abort requested since (idempotent)', () => {
    const { st, r } = started();
    for (const status of ['pausing', 'aborting'] as const) {
      const snap = withRecord(r, { status });
      const o = preflight(st, snap, 'exec-1', actor(), NOW + 10 * SEC);
      expect(o.rollout.rollout.status).toBe(status);
      expect(o.rollout.rollout.executions).toEqual(['exec-1']);
      expect(o.events).toEqual([]);
    }
  });

  it('resumes a paused rollout with a new execution (resume-rollout), counting batches afresh', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'paused', batch: 1, batchesThisExecution: 2 }),
      done('r1'),
      done('r2'),
    );
    const o = preflight(st, paused, 'exec-2', actor(), NOW + 10 * SEC);
    expect(o.rollout.rollout).toMatchObject({
      status: 'running',
      executions: ['exec-1', 'exec-2'],
      batchesThisExecution: 0,
      batch: 1,
      updatedAt: NOW + 10 * SEC,
    });
    expect(actions(o)).toEqual(['resume-rollout']);
    expect(o.events[0]!.after).toMatchObject({ execution: 'exec-2' });
    expect(o.rollout.nodes.get('r1')).toEqual(done('r1'));
  });

  it('resumes a failed rollout once its failed node was retried or skipped, forgetting the failure', () => {
    const { st, r } = started();
    const failure = { server: 'r1', step: 'verify', reason: 'down', at: NOW };
    const failed = withNodes(
      withRecord(r, { status: 'failed', failure }),
      node('r1', { outcome: 'failed', step: 'verify', reason: 'down' }),
    );
    const e = caught(() => preflight(holding(st, 'r1'), failed, 'exec-2', actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.message).toContain('r1');
    expect(e.message).toMatch(/retry or skip/);
    expect(e.details).toEqual({ servers: ['r1'] });

    const retried = retryNode(holding(st, 'r1'), failed, 'r1', NOW).rollout;
    const o = preflight(holding(st, 'r1'), retried, 'exec-2', actor(), NOW);
    expect(o.rollout.rollout.status).toBe('running');
    expect(o.rollout.rollout.failure).toBeUndefined();
    expect('failure' in o.rollout.rollout).toBe(false);
  });

  it('resumes an aborted rollout: the lock is taken again and stopped nodes are pending again', () => {
    const { st, r } = started();
    const heldSt = holding(patch(st, 'r2', { health: 'down' }), 'r2');
    const aborted = abortRollout(
      heldSt,
      withNodes(
        withRecord(r, { status: 'aborting', batch: 1 }),
        done('r1'),
        node('r2', { step: 'wait-upgraded', outcome: 'in-progress' }),
      ),
      actor(),
      NOW,
    );
    expect(aborted.next.cluster.rollout).toBeUndefined();
    expect(aborted.rollout.rollout.stoppedNodes).toEqual(['r2']);
    const o = preflight(aborted.next, aborted.rollout, 'exec-2', actor(), NOW + 10 * SEC);
    expect(o.next.cluster.rollout).toBe(ID);
    expect(nodeOf(o.rollout, 'r2')).toMatchObject({ outcome: 'pending', step: 'wait-upgraded' });
    expect(nodeOf(o.rollout, 'r1')).toEqual(done('r1'));
    expect(o.rollout.rollout.status).toBe('running');
    expect('stoppedNodes' in o.rollout.rollout).toBe(false);
    expect(actions(o)).toEqual(['resume-rollout']);
  });

  it('refuses while another rollout holds the cluster lock', () => {
    const { st, r } = started();
    const aborted = withRecord(r, { status: 'aborted' });
    const locked = { ...st, cluster: { ...st.cluster, rollout: 'r-2' } };
    const e = caught(() => preflight(locked, aborted, 'exec-2', actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.details).toEqual({ rollout: 'r-2' });
  });

  it('refuses a rollout that has already succeeded', () => {
    const { st, r } = started();
    expect(caught(() => preflight(st, withRecord(r, { status: 'succeeded' }), 'exec-2', actor(), NOW)).message).toMatch(
      /already succeeded/,
    );
  });

  it('refuses when a pending target is no longer healthy, unless the rollout holds it', () => {
    const { st, r } = started();
    const paused = withRecord(r, { status: 'paused' });
    const down = patch(st, 'r3', { health: 'down' });
    const e = caught(() => preflight(down, paused, 'exec-2', actor(), NOW));
    expect(e.code).toBe('RolloutConflict');
    expect(e.details).toEqual({ server: 'r3' });
    expect(preflight(holding(down, 'r3'), paused, 'exec-2', actor(), NOW).answer.outcome).toBe('ready');
    // a finished node need not be healthy (the budget must still leave room for the others)
    const roomy = { ...down, cluster: { ...down.cluster, budget: { maxUnavailablePerDc: 2 } } };
    expect(preflight(roomy, withNodes(paused, done('r3')), 'exec-2', actor(), NOW).answer.outcome).toBe('ready');
    expect(caught(() => preflight(down, withNodes(paused, done('r3')), 'exec-2', actor(), NOW)).code).toBe(
      'BudgetExceeded',
    );
  });

  it('skips a pending target removed from the cluster meanwhile, saying so', () => {
    const { st, r } = started();
    const servers = new Map(st.servers);
    servers.delete('r3');
    const o = preflight({ ...st, servers }, withRecord(r, { status: 'paused' }), 'exec-2', actor(), NOW);
    expect(nodeOf(o.rollout, 'r3')).toMatchObject({ outcome: 'skipped', reason: 'removed from the cluster' });
    expect(nodeOf(o.rollout, 'r2').outcome).toBe('pending');
    expect(actions(o)).toEqual(['resume-rollout']);
  });
});

describe('pauseAutomation', () => {
  it("sets the rollout's cluster claim (automatic failover paused), without expiry", () => {
    const created = createRollout(fleet(), ID, input(), actor(), NOW);
    const o = pauseAutomation(created.next, created.rollout, actor(), NOW);
    expect(o.next.cluster.claims[HOLDER]).toEqual({
      mode: 'maintenance',
      force: false,
      actor: 'alice',
      since: NOW,
      onDeadline: 'hold',
      reason: `rollout ${ID}`,
    });
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({ action: 'set-maintenance', target: 'cluster' });
    expect(o.rollout).toBe(created.rollout);
    expect(o.answer).toEqual({ outcome: 'paused' });
  });

  it('is idempotent and leaves others’ cluster claims alone', () => {
    const { st, r } = started(fleet());
    const withManual = {
      ...st,
      cluster: { ...st.cluster, claims: { ...st.cluster.claims, manual: claim({ until: NOW + HOUR }) } },
    };
    const o = pauseAutomation(withManual, r, actor(), NOW + MIN);
    expect(o.events).toEqual([]);
    expect(Object.keys(o.next.cluster.claims).sort()).toEqual(['manual', HOLDER]);
  });
});

describe('finishRollout', () => {
  it('refuses (StepFailed at resume-automation) while a server of the rollout is not healthy, keeping the claims', () => {
    const { st, r } = upgradedAll();
    const e = caught(() => finishRollout(patch(st, 'r2', { reportedAt: NOW - HOUR }), r, actor(), NOW));
    expect(e.name).toBe('StepFailed');
    expect((e as StepFailed).step).toBe('resume-automation');
    expect(e.message).toContain('r2');
    expect(caught(() => finishRollout(patch(st, 'r3', { health: 'down' }), r, actor(), NOW)).message).toContain('r3');
  });

  it("succeeds: releases the rollout's cluster claim and the lock, leaving others' cluster claims", () => {
    const { st, r } = upgradedAll();
    const s = {
      ...st,
      cluster: { ...st.cluster, claims: { ...st.cluster.claims, manual: claim({ until: NOW + HOUR }) } },
    };
    const o = finishRollout(s, r, actor(), NOW + SEC);
    expect(o.rollout.rollout.status).toBe('succeeded');
    expect(o.next.cluster.claims).toEqual({ manual: claim({ until: NOW + HOUR }) });
    expect(o.next.cluster.rollout).toBeUndefined();
    expect('rollout' in o.next.cluster).toBe(false);
    expect(actions(o)).toEqual(['clear-maintenance', 'finish-rollout']);
    expect(o.answer).toEqual({ outcome: 'succeeded' });
    // the lock is free: another rollout may start
    expect(createRollout(o.next, 'r-2', input(), actor(), NOW + SEC).answer.outcome).toBe('created');
  });

  it('is idempotent: a repeat on a succeeded rollout changes nothing', () => {
    const { st, r } = upgradedAll();
    const first = finishRollout(st, r, actor(), NOW);
    const again = finishRollout(first.next, first.rollout, actor(), NOW + SEC);
    expect(again.rollout.rollout.status).toBe('succeeded');
    expect(again.events).toEqual([]);
    expect(again.next).toBe(first.next);
  });

  it("succeeds even when someone else's cluster claim is the only one left", () => {
    const { st, r } = upgradedAll();
    const s = { ...st, cluster: { ...st.cluster, claims: { manual: claim({ until: NOW + HOUR }) } } };
    const o = finishRollout(s, r, actor(), NOW);
    expect(o.rollout.rollout.status).toBe('succeeded');
    expect(o.next.cluster.claims).toEqual({ manual: claim({ until: NOW + HOUR }) });
    expect(o.next.cluster.rollout).toBeUndefined();
  });

  it('refuses while a server is not upgraded, or no longer reports the version (no false success)', () => {
    const { st, r } = upgradedAll();
    const pending = caught(() =>
      finishRollout(st, withNodes(r, node('r2', { step: 'verify', outcome: 'in-progress' })), actor(), NOW),
    );
    expect(pending.message).toBe('not every server is upgraded: r2');
    const downgraded = caught(() => finishRollout(patch(st, 'r1', { version: V1 }), r, actor(), NOW));
    expect(downgraded.message).toBe(`not every server is healthy at ${V2}: r1`);
    const skipped = withNodes(r, node('r1', { outcome: 'skipped' }));
    expect(finishRollout(patch(st, 'r1', { version: V1 }), skipped, actor(), NOW).rollout.rollout.status).toBe(
      'succeeded',
    );
  });
});

describe('pauseRollout', () => {
  it('ends paused: the cluster claim is released, the lock kept', () => {
    const { st, r } = started();
    const o = pauseRollout(st, withRecord(r, { status: 'pausing' }), actor(), NOW + MIN);
    expect(o.rollout.rollout.status).toBe('paused');
    expect(o.rollout.rollout.updatedAt).toBe(NOW + MIN);
    expect(o.next.cluster.claims[HOLDER]).toBeUndefined();
    expect(o.next.cluster.rollout).toBe(ID);
    expect(actions(o)).toEqual(['clear-maintenance', 'pause-rollout']);
    expect(o.rollout.rollout.canaryPaused).toBeUndefined();
  });

  it('is idempotent', () => {
    const { st, r } = started();
    const first = pauseRollout(st, r, actor(), NOW);
    const again = pauseRollout(first.next, first.rollout, actor(), NOW + SEC);
    expect(again.rollout).toBe(first.rollout);
    expect(again.events).toEqual([]);
  });

  it('a pause requested before the first batch does not use up the canary pause', () => {
    const { st, r } = started(fleet(), { pauseAfterFirstBatch: true });
    const early = pauseRollout(st, withRecord(r, { status: 'pausing' }), actor(), NOW);
    const resumed = preflight(early.next, early.rollout, 'exec-2', actor(), NOW);
    const first = nextBatch(resumed.next, resumed.rollout, NOW);
    expect(first.answer).toMatchObject({ outcome: 'batch', batch: 0 });
    expect(nextBatch(resumed.next, withNodes(first.rollout, done('r1')), NOW).answer).toEqual({ outcome: 'pause' });
  });
});

describe('abortRollout', () => {
  it("keeps held nodes' claims and the cluster claim, lists them, releases the lock", () => {
    const { st, r } = started();
    const s = holding(st, 'r2');
    const snap = withNodes(
      withRecord(r, { status: 'aborting', batch: 1 }),
      done('r1'),
      node('r2', { step: 'verify', outcome: 'in-progress' }),
    );
    const o = abortRollout(s, snap, actor(), NOW + MIN);
    expect(o.rollout.rollout).toMatchObject({ status: 'aborted', stoppedNodes: ['r2'], updatedAt: NOW + MIN });
    expect(nodeOf(o.rollout, 'r2')).toMatchObject({ outcome: 'stopped', step: 'verify' });
    expect(o.next.servers.get('r2')!.claims[HOLDER]).toEqual(held());
    expect(o.next.cluster.claims[HOLDER]).toBeDefined();
    expect(o.next.cluster.rollout).toBeUndefined();
    expect(actions(o)).toEqual(['abort-rollout']);
    expect(o.events[0]!.after).toMatchObject({ status: 'aborted', held: ['r2'] });
    expect(Object.keys(o.next.servers.get('r2')!.claims)).toContain(HOLDER);
  });

  it('releases the cluster claim when no node is held', () => {
    const { st, r } = started();
    const o = abortRollout(st, withRecord(r, { status: 'aborting' }), actor(), NOW);
    expect(o.rollout.rollout.stoppedNodes).toEqual([]);
    expect(o.next.cluster.claims[HOLDER]).toBeUndefined();
    expect(o.next.cluster.rollout).toBeUndefined();
    expect(actions(o)).toEqual(['clear-maintenance', 'abort-rollout']);
  });

  it('a failed node stays failed', () => {
    const { st, r } = started();
    const o = abortRollout(
      holding(st, 'r1'),
      withNodes(withRecord(r, { status: 'failed' }), node('r1', { outcome: 'failed', reason: 'x' })),
      actor(),
      NOW,
    );
    expect(nodeOf(o.rollout, 'r1').outcome).toBe('failed');
    expect(o.rollout.rollout.stoppedNodes).toEqual(['r1']);
  });

  it('is idempotent', () => {
    const { st, r } = started();
    const first = abortRollout(st, r, actor(), NOW);
    const again = abortRollout(first.next, first.rollout, actor(), NOW + SEC);
    expect(again.rollout).toBe(first.rollout);
    expect(again.events).toEqual([]);
  });
});

describe('failRollout', () => {
  it('names the failed node, its step and reason, and keeps every claim', () => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    const snap = withNodes(
      withRecord(r, { batch: 0 }),
      node('r1', { outcome: 'failed', step: 'wait-upgraded', reason: 'timed out' }),
    );
    const o = failRollout(s, snap, undefined, NOW + MIN);
    expect(o.rollout.rollout.status).toBe('failed');
    expect(o.rollout.rollout.failure).toEqual({
      server: 'r1',
      step: 'wait-upgraded',
      reason: 'timed out',
      at: NOW + MIN,
    });
    expect(o.next).toBe(s);
    expect(o.next.cluster.claims[HOLDER]).toBeDefined();
    expect(o.next.cluster.rollout).toBe(ID);
    expect(actions(o)).toEqual(['fail-rollout']);
    expect(o.events[0]!.after).toMatchObject({ status: 'failed', failure: { server: 'r1', step: 'wait-upgraded' } });
  });

  it("names the current batch's unfinished node when the execution ended before it finished, and marks it failed", () => {
    const { st, r } = started();
    const snap = withNodes(
      withRecord(r, { batch: 1 }),
      done('r1'),
      node('r2', { step: 'drain', outcome: 'in-progress' }),
    );
    const o = failRollout(st, snap, undefined, NOW);
    expect(o.rollout.rollout.failure).toMatchObject({ server: 'r2', step: 'drain' });
    expect(o.rollout.rollout.failure!.reason).toMatch(/ended before the node finished/);
    expect(nodeOf(o.rollout, 'r2')).toMatchObject({ outcome: 'failed', reason: o.rollout.rollout.failure!.reason });
  });

  it('records the failure it is given', () => {
    const { st, r } = started();
    const o = failRollout(st, r, { step: 'start', reason: 'could not start an execution' }, NOW);
    expect(o.rollout.rollout.failure).toEqual({ step: 'start', reason: 'could not start an execution', at: NOW });
    expect(failRollout(st, r, undefined, NOW).rollout.rollout.failure).toEqual({
      step: 'unknown',
      reason: 'the execution failed',
      at: NOW,
    });
  });

  it('is idempotent', () => {
    const { st, r } = started();
    const first = failRollout(st, r, undefined, NOW);
    const again = failRollout(st, first.rollout, { step: 'x', reason: 'y' }, NOW + SEC);
    expect(again.rollout).toBe(first.rollout);
    expect(again.events).toEqual([]);
  });
});

describe('a whole rollout, step by step', () => {
  it('upgrades replicas one by one, then switches the primary over, and ends succeeded with nothing held', () => {
    let { st, r } = started();
    const t = NOW;
    const exec = <O extends { next: ClusterState; rollout: RolloutSnapshot }>(o: O): O => {
      st = o.next;
      r = o.rollout;
      return o;
    };
    for (;;) {
      const b = exec(nextBatch(st, r, t));
      if (b.answer.outcome === 'done') break;
      expect(b.answer.outcome).toBe('batch');
      const servers = (b.answer as { servers: string[] }).servers;
      for (const name of servers) {
        const begun = exec(beginNode(st, r, name, t));
        if (begun.answer.outcome === 'primary') {
          exec(requestSwitchover(st, r, name, actor(), t));
          // the agents report the new roles
          const to = st.cluster.pendingSwitchover!.to;
          st = patch(patch(st, name, { role: 'replica' }), to, { role: 'primary' });
          const { pendingSwitchover: _p, ...cluster } = st.cluster;
          st = { ...st, cluster };
          expect(exec(checkRoles(st, r, name, t)).answer.outcome).toBe('switched');
        }
        exec(drainNode(st, r, name, actor(), t));
        expect(exec(checkDrained(st, r, name, actor(), t)).answer.outcome).toBe('drained');
        exec(markUpgradeTriggered(st, r, name, actor(), t));
        st = patch(st, name, { version: V2 });
        expect(exec(checkUpgraded(st, r, name, t)).answer.outcome).toBe('upgraded');
        exec(checkVerified(st, r, name, t));
        expect(exec(checkVerified(st, r, name, t + 30 * SEC)).answer.outcome).toBe('verified');
        exec(clearNode(st, r, name, actor(), t));
      }
    }
    exec(finishRollout(st, r, actor(), t));
    expect(r.rollout.status).toBe('succeeded');
    expect(allNodes(r).every((n) => n.outcome === 'upgraded')).toBe(true);
    expect([...st.servers.values()].every((s) => s.version === V2 && Object.keys(s.claims).length === 0)).toBe(true);
    expect(st.cluster.claims).toEqual({});
    expect(st.cluster.rollout).toBeUndefined();
    expect(st.servers.get('p')!.role).toBe('replica');
    expect(st.servers.get('r1')!.role).toBe('primary');
    expect(rolloutHolder(ID)).toBe(HOLDER);
  });
});

describe('exact answers of the idempotent and the normal paths', () => {
  it('finishRollout, pauseRollout, abortRollout and failRollout answer with their outcome, also when repeated', () => {
    const { st, r } = started();
    expect(finishRollout(st, withRecord(r, { status: 'succeeded' }), actor(), NOW).answer).toEqual({
      outcome: 'succeeded',
    });
    expect(pauseRollout(st, withRecord(r, { status: 'paused' }), actor(), NOW).answer).toEqual({ outcome: 'paused' });
    expect(pauseRollout(st, r, actor(), NOW).answer).toEqual({ outcome: 'paused' });
    expect(abortRollout(st, withRecord(r, { status: 'aborted' }), actor(), NOW).answer).toEqual({ outcome: 'aborted' });
    expect(abortRollout(st, r, actor(), NOW).answer).toEqual({ outcome: 'aborted' });
    expect(failRollout(st, withRecord(r, { status: 'failed' }), undefined, NOW).answer).toEqual({ outcome: 'failed' });
    expect(failRollout(st, r, undefined, NOW).answer).toEqual({ outcome: 'failed' });
  });
});

describe('exact messages (mutation-driven)', () => {
  it('an empty cluster', () => {
    expect(caught(() => createRollout(state([]), ID, input(), actor(), NOW)).message).toBe(
      'the cluster has no servers to upgrade',
    );
  });

  it('preflight refusals', () => {
    const { st, r } = started();
    const succeeded = caught(() => preflight(st, withRecord(r, { status: 'succeeded' }), 'exec-2', actor(), NOW));
    expect([succeeded.code, succeeded.message]).toEqual(['RolloutConflict', `rollout ${ID} has already succeeded`]);
    const failed = withNodes(
      withRecord(r, { status: 'failed' }),
      node('r1', { outcome: 'failed' }),
      node('r2', { outcome: 'failed' }),
    );
    const e = caught(() => preflight(st, failed, 'exec-2', actor(), NOW));
    expect(e.message).toBe('server r1, r2 failed: retry or skip it before resuming');
    const other = { ...st, cluster: { ...st.cluster, rollout: 'r-9' } };
    expect(caught(() => preflight(other, withRecord(r, { status: 'paused' }), 'exec-2', actor(), NOW)).message).toBe(
      `rollout r-9 is already in progress on cluster ${st.cluster.id}`,
    );
  });

  it('finishRollout names the unhealthy servers; a skipped server does not count', () => {
    const { st, r } = upgradedAll();
    const down = patch(patch(st, 'r1', { health: 'down' }), 'r2', { health: 'down' });
    const e = caught(() => finishRollout(down, r, actor(), NOW));
    expect(e.message).toBe(`not every server is healthy at ${V2}: r1, r2`);
    const skipped = withNodes(r, node('r1', { outcome: 'skipped' }), node('r2', { outcome: 'skipped' }));
    expect(finishRollout(down, skipped, actor(), NOW).rollout.rollout.status).toBe('succeeded');
  });
});

describe('edges of the rules (mutation-driven)', () => {
  it('createRollout without a server list takes every server, sorted by name', () => {
    const st = state([server('b', { version: V1 }), server('a', { version: V1 }), server('c', { version: V1 })], {
      cluster: { budget: { maxUnavailablePerDc: 1 } },
    });
    expect(createRollout(st, ID, input(), actor(), NOW).rollout.rollout.input.servers).toEqual(['a', 'b', 'c']);
  });

  it('preflight: run, continue (a successor) and resume are told apart; the lock it already has stays as it is', () => {
    const created = createRollout(fleet(), ID, input(), actor(), NOW);
    const first = preflight(created.next, created.rollout, 'exec-1', actor(), NOW);
    expect(actions(first)).toEqual(['run-rollout']);
    expect(first.next).toBe(created.next);
    const successor = preflight(first.next, first.rollout, 'exec-2', actor(), NOW, 'exec-1');
    expect(actions(successor)).toEqual(['continue-rollout']);
    const paused = withRecord(first.rollout, { status: 'paused' });
    const resumed = preflight(first.next, paused, 'exec-1', actor(), NOW);
    expect(actions(resumed)).toEqual(['resume-rollout']);
    expect(resumed.rollout.rollout.status).toBe('running');
  });

  it('preflight: a resume carries on with the servers the rollout already holds, even with the budget used up by them', () => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    const snap = withNodes(withRecord(r, { status: 'paused' }), node('r1', { step: 'drain', outcome: 'stopped' }));
    const o = preflight(s, snap, 'exec-2', actor(), NOW);
    expect(o.answer).toEqual({ outcome: 'ready' });
    expect(nodeOf(o.rollout, 'r1').outcome).toBe('pending');
  });

  it('planBatches: the primary goes last even when its dc sorts first', () => {
    const st = state([
      server('a', { role: 'primary', dc: 'dc1' }),
      server('c', { dc: 'dc2' }),
      server('b', { dc: 'dc2' }),
    ]);
    expect(planBatches(st, ['a', 'c', 'b'], input(), ID, NOW)).toEqual([['b'], ['c'], ['a']]);
  });

  it('nextBatch: a batch with one finished and one unfinished node fails', () => {
    const { st, r } = started(fleet(), { batchSize: 2 }, NOW);
    const snap = withNodes(
      withRecord({ ...r, plan: [['r1', 'r2'], ['r3'], ['p']] }, { batch: 0, batchesThisExecution: 1 }),
      done('r1'),
      node('r2', { step: 'verify', outcome: 'in-progress' }),
    );
    expect(nextBatch(st, snap, NOW).answer).toEqual({ outcome: 'fail' });
  });

  it('pauseRollout: the canary pause is recorded only once every node of a first batch has finished', () => {
    const { st, r } = started(fleet(), { pauseAfterFirstBatch: true });
    const noPlan: RolloutSnapshot = { ...r, plan: undefined };
    expect(pauseRollout(st, noPlan, actor(), NOW).rollout.rollout.canaryPaused).toBeUndefined();
    const emptyFirst: RolloutSnapshot = { ...r, plan: [[], ['r1']] };
    expect(pauseRollout(st, emptyFirst, actor(), NOW).rollout.rollout.canaryPaused).toBeUndefined();
    const half = withNodes(
      { ...r, plan: [['r1', 'r2'], ['r3']] },
      done('r1'),
      node('r2', { outcome: 'in-progress', step: 'drain' }),
    );
    expect(pauseRollout(st, half, actor(), NOW).rollout.rollout.canaryPaused).toBeUndefined();
    const whole = withNodes(half, done('r2'));
    expect(pauseRollout(st, whole, actor(), NOW).rollout.rollout.canaryPaused).toBe(true);
  });

  it('abortRollout lists the held nodes sorted, and does not trip over a server gone from the cluster', () => {
    const created = createRollout(fleet(), ID, input({ servers: ['r2', 'r1', 'r3'] }), actor(), NOW);
    const s = holding(created.next, 'r2', 'r1');
    const o = abortRollout(s, created.rollout, actor(), NOW);
    expect(o.rollout.rollout.stoppedNodes).toEqual(['r1', 'r2']);
    const gone: ClusterState = { ...s, servers: new Map([...s.servers].filter(([n]) => n !== 'r3')) };
    expect(abortRollout(gone, created.rollout, actor(), NOW).rollout.rollout.stoppedNodes).toEqual(['r1', 'r2']);
  });

  it('failRollout: an unfinished node of the first batch (index 0) is named; without a plan, the failure is unknown', () => {
    const { st, r } = started();
    const snap = withNodes(
      withRecord({ ...r, plan: [['r1'], ['r2']] }, { batch: 0 }),
      node('r1', { step: 'drain', outcome: 'in-progress' }),
    );
    expect(failRollout(st, snap, undefined, NOW).rollout.rollout.failure).toEqual({
      server: 'r1',
      step: 'drain',
      reason: 'its execution ended before the node finished',
      at: NOW,
    });
    const noPlan = withRecord({ ...r, plan: undefined }, { batch: 0 });
    expect(failRollout(st, noPlan, undefined, NOW).rollout.rollout.failure).toEqual({
      step: 'unknown',
      reason: 'the execution failed',
      at: NOW,
    });
  });

  it('failRollout: a given failure marks only a stored node, and never overwrites an earlier failure reason', () => {
    const { st, r } = started();
    const o = failRollout(st, r, { server: 'r2', step: 'drain', reason: 'x' }, NOW);
    expect(o.rollout.nodes.has('r2')).toBe(false);
    const failed = withNodes(r, node('r1', { outcome: 'failed', reason: 'first' }));
    const again = failRollout(st, failed, { server: 'r1', step: 'drain', reason: 'second' }, NOW);
    expect(again.rollout.nodes.get('r1')).toBe(failed.nodes.get('r1'));
    const inProgress = withNodes(r, node('r1', { outcome: 'in-progress', step: 'drain' }));
    expect(
      nodeOf(failRollout(st, inProgress, { server: 'r1', step: 'drain', reason: 'second' }, NOW).rollout, 'r1'),
    ).toMatchObject({ outcome: 'failed', reason: 'second' });
  });
});

describe('safe under any sequence (issue 14)', () => {
  it('createAndClaim: a new rollout already claimed by the execution that will run it', () => {
    const o = createAndClaim(fleet(), ID, input(), 'exec-1', actor(), NOW);
    expect(o.rollout.rollout).toMatchObject({ status: 'running', executions: ['exec-1'] });
    expect(actions(o)).toEqual(['start-rollout', 'run-rollout']);
    expect(o.next.cluster.rollout).toBe(ID);
    // its Preflight finds itself chosen; any other execution is refused
    expect(preflight(o.next, o.rollout, 'exec-1', actor(), NOW).events).toEqual([]);
    expect(caught(() => preflight(o.next, o.rollout, 'exec-2', actor(), NOW)).code).toBe('RolloutConflict');
  });

  it('requireOwner: a task of any execution but the latest stops', () => {
    const { r } = started();
    expect(() => requireOwner(r, 'exec-1')).not.toThrow();
    const e = caught(() => requireOwner(r, 'exec-0'));
    expect(e).toBeInstanceOf(RolloutStopped);
    expect(e.message).toBe('execution exec-0 no longer runs rollout r-1');
  });
});
