/** rollout.ts: the rules of a rolling upgrade (workflow.md), step by step, on small explicit states. */
import { describe, expect, it } from 'vitest';
import { judge } from '../../../functions/domain/budget.js';
import { viewOf } from '../../../functions/domain/derive.js';
import { DomainError } from '../../../functions/domain/errors.js';
import type { Claim, ClusterState, Server } from '../../../functions/domain/model.js';
import { withServer } from '../../../functions/domain/outcome.js';
import {
  BATCHES_PER_EXECUTION,
  ROLE_SWITCH_TIMEOUT_SECONDS,
  RolloutStopped,
  StepFailed,
  abortRollout,
  allNodes,
  beginNode,
  changesNothing,
  checkDrained,
  checkResumable,
  checkRoles,
  checkUpgraded,
  checkVerified,
  clearNode,
  createAndClaim,
  createRollout,
  drainNode,
  failRollout,
  finishRollout,
  finished,
  markUpgradeTriggered,
  nextBatch,
  nodeOf,
  pauseAutomation,
  pauseRollout,
  plan,
  planBatches,
  preflight,
  recordNodeFailure,
  requestAbort,
  requestPause,
  requestSwitchover,
  requireOwner,
  resumeRollout,
  retryNode,
  rolloutHolder,
  skipNode,
  type NodeProgress,
  type Rollout,
  type RolloutInput,
  type RolloutSnapshot,
} from '../../../functions/domain/rollout.js';
import { actor, caught, claim, HOUR, MIN, NOW, replicas, SEC, server, state } from './fixtures.js';

// ---------------------------------------------------------------------------------------------------------
// Builders

const ID = 'r-1';
const HOLDER = 'rollout:r-1';
const V1 = '10.6.1';
const V2 = '10.11.7';

/** workflow.md's defaults. */
function input(overrides: Partial<RolloutInput> = {}): RolloutInput {
  return {
    targetVersion: V2,
    batchSize: 1,
    drainTimeoutSeconds: 300,
    onDrainTimeout: 'force',
    upgrade: { kind: 'wait-for-report', timeoutSeconds: 1800 },
    verify: { stableForSeconds: 30, timeoutSeconds: 600 },
    pauseAfterFirstBatch: false,
    ...overrides,
  };
}

/** A primary `p` and replicas r1..r3, all in dc1 at V1: the default budget of 4 allows 1 unavailable. */
const fleet = (extra: Server[] = []): ClusterState =>
  state([server('p', { role: 'primary', version: V1 }), ...replicas('r', 3, 'dc1', { version: V1 }), ...extra]);

/** A rollout as Preflight, PauseAutomation and Plan leave it: returns the cluster state and the snapshot. */
function started(st: ClusterState = fleet(), overrides: Partial<RolloutInput> = {}, now = NOW) {
  const created = createRollout(st, ID, input(overrides), actor(), now);
  const ready = preflight(created.next, created.rollout, 'exec-1', actor(), now);
  const paused = pauseAutomation(ready.next, ready.rollout, actor(), now);
  const planned = plan(paused.next, paused.rollout, now);
  return { st: planned.next, r: planned.rollout };
}

/** The snapshot with the record changed (status, batch pointer, ...). */
const withRecord = (r: RolloutSnapshot, changes: Partial<Rollout>): RolloutSnapshot => ({
  ...r,
  rollout: { ...r.rollout, ...changes },
});

/** A node's stored progress. */
function node(name: string, overrides: Partial<NodeProgress> = {}): NodeProgress {
  return { server: name, step: 'pending', outcome: 'pending', attempt: 1, version: 1, ...overrides };
}

const done = (name: string) => node(name, { step: 'done', outcome: 'upgraded' });

/** The snapshot with these nodes stored. */
function withNodes(r: RolloutSnapshot, ...nodes: NodeProgress[]): RolloutSnapshot {
  const map = new Map(r.nodes);
  for (const n of nodes) map.set(n.server, n);
  return { ...r, nodes: map };
}

/** The state with the server changed. */
const patch = (st: ClusterState, name: string, changes: Partial<Server>): ClusterState =>
  withServer(st, { ...st.servers.get(name)!, ...changes });

/** The rollout's own graceful claim, as drainNode sets it. */
const held = (overrides: Partial<Claim> = {}): Claim =>
  claim({ actor: 'alice', onDeadline: 'hold', since: NOW, ...overrides });

/** The state with the rollout holding these servers. */
function holding(st: ClusterState, ...names: string[]): ClusterState {
  let next = st;
  for (const n of names) {
    const s = next.servers.get(n)!;
    next = withServer(next, { ...s, claims: { ...s.claims, [HOLDER]: held() } });
  }
  return next;
}

const actions = (o: { events: { action: string }[] }) => o.events.map((e) => e.action);

// ---------------------------------------------------------------------------------------------------------

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
  const after = (r: RolloutSnapshot, index: number, batches = index + 1) =>
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
    const o = nextBatch(st, withNodes(after(r, 0), done('r1')), NOW);
    expect(o.answer).toEqual({ outcome: 'batch', batch: 1, servers: ['r2'] });
    expect(o.rollout.rollout.batchesThisExecution).toBe(2);
  });

  it('after a batch with an unfinished node: fail, and nothing changes', () => {
    const { st, r } = started();
    for (const outcome of ['in-progress', 'failed', 'pending', 'stopped'] as const) {
      const snap = withNodes(after(r, 0), node('r1', { outcome }));
      const o = nextBatch(st, snap, NOW);
      expect(o.answer).toEqual({ outcome: 'fail' });
      expect(o.rollout).toBe(snap);
    }
  });

  it('skips batches whose nodes have all finished', () => {
    const { st, r } = started();
    const o = nextBatch(st, withNodes(after(r, 0), done('r1'), node('r2', { outcome: 'skipped' })), NOW);
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
    const o = nextBatch(st, withNodes(after(r, 3), done('r1'), done('r2'), done('r3'), done('p')), NOW);
    expect(o.answer).toEqual({ outcome: 'done' });
    // done even if the only batches left finished by a skip
    const skipped = withNodes(after(r, 2), done('r1'), done('r2'), done('r3'), node('p', { outcome: 'skipped' }));
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
    const snap = withNodes(withRecord(after(r, 0), { status: 'pausing' }), done('r1'));
    const o = nextBatch(st, snap, NOW);
    expect(o.answer).toEqual({ outcome: 'pause' });
    expect(o.rollout).toBe(snap);
  });

  it('pauseAfterFirstBatch: pauses once, after the first batch only', () => {
    const { st, r } = started(fleet(), { pauseAfterFirstBatch: true });
    // the first batch runs
    expect(nextBatch(st, r, NOW).answer).toMatchObject({ outcome: 'batch', batch: 0 });
    // after it: pause
    const afterFirst = withNodes(after(r, 0), done('r1'));
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
    expect(nextBatch(st, withNodes(after(r, 0), done('r1')), NOW).answer).toMatchObject({ outcome: 'batch', batch: 1 });
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
    const snap = withNodes(withRecord(after(r, 0), { status: 'aborting' }), node('r1', { outcome: 'in-progress' }));
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

describe('beginNode', () => {
  it('answers the role and marks the node in progress', () => {
    const { st, r } = started();
    const o = beginNode(st, r, 'r1', NOW);
    expect(o.answer).toEqual({ outcome: 'replica' });
    expect(nodeOf(o.rollout, 'r1').outcome).toBe('in-progress');
    expect(beginNode(st, r, 'p', NOW).answer).toEqual({ outcome: 'primary' });
  });

  it('answers done for a finished node, changing nothing', () => {
    const { st, r } = started();
    const snap = withNodes(r, done('r1'));
    const o = beginNode(st, snap, 'r1', NOW);
    expect(o.answer).toEqual({ outcome: 'done' });
    expect(o.rollout).toBe(snap);
  });
});

describe('drainNode', () => {
  it("sets the rollout's graceful drain claim (onDeadline hold): no new connections, open ones finish", () => {
    const { st, r } = started();
    const o = drainNode(st, r, 'r1', actor(), NOW + SEC);
    expect(o.next.servers.get('r1')!.claims).toEqual({
      [HOLDER]: {
        mode: 'drain',
        force: false,
        actor: 'alice',
        since: NOW + SEC,
        onDeadline: 'hold',
        reason: `rollout ${ID}: upgrade to ${V2}`,
      },
    });
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({
      action: 'set-maintenance',
      target: 'server:r1',
      reason: `rollout ${ID}: upgrade to ${V2}`,
    });
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ step: 'drain', outcome: 'in-progress', stepStartedAt: NOW + SEC });
    expect(o.answer).toEqual({ outcome: 'draining' });
    expect(changesNothing(o, st, r)).toBe(false);
    // out of routing at once, but not in maintenance
    const view = viewOf(o.next, 'r1', NOW + SEC)!;
    expect(view.routable).toBe(false);
    expect(view.maintenance).toBe(false);
  });

  it('is idempotent: a repeat changes nothing and keeps the step clock', () => {
    const { st, r } = started();
    const first = drainNode(st, r, 'r1', actor(), NOW);
    const again = drainNode(first.next, first.rollout, 'r1', actor(), NOW + MIN);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(first.next);
    expect(nodeOf(again.rollout, 'r1').stepStartedAt).toBe(NOW);
  });

  it('a server the rollout already holds keeps its claim as it is (a resumed node)', () => {
    const { st, r } = started();
    const forced = patch(st, 'r1', { claims: { [HOLDER]: held({ force: true }) } });
    const o = drainNode(forced, r, 'r1', actor(), NOW + MIN);
    expect(o.next).toBe(forced);
    expect(o.events).toEqual([]);
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ step: 'drain', stepStartedAt: NOW + MIN });
  });

  it('is refused by the budget (BudgetExceeded), setting nothing', () => {
    const { st, r } = started();
    // dc1 of 4 allows 1 unavailable: r2 is already in manual maintenance
    const busy = patch(st, 'r2', { claims: { manual: claim() } });
    const e = caught(() => drainNode(busy, r, 'r1', actor(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.details).toMatchObject({ newlyUnavailable: ['r1'] });
  });
});

describe('checkDrained', () => {
  /** `name` with open connections, under the rollout's drain claim set at NOW. */
  function draining(name: string, overrides: Partial<RolloutInput> = {}) {
    const { st, r } = started(fleet(), overrides);
    const busy = patch(st, name, { connections: 12, openTransactions: 2 });
    const drained = drainNode(busy, r, name, actor(), NOW);
    return { st: drained.next, r: drained.rollout };
  }

  it('a server without connections is drained as soon as the claim is set', () => {
    const { st, r } = started();
    const d = drainNode(st, r, 'r1', actor(), NOW);
    const o = checkDrained(d.next, d.rollout, 'r1', actor(), NOW + SEC);
    expect(o.answer).toEqual({ outcome: 'drained' });
    expect(o.events).toEqual([]);
    expect(o.next).toBe(d.next);
    // a check writes nothing: the wait's clock is the drain's
    expect(o.rollout).toBe(d.rollout);
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ step: 'drain', stepStartedAt: NOW });
  });

  it('a server (a primary too) with open connections stays waiting until they end', () => {
    for (const name of ['r1', 'p']) {
      const { st, r } = draining(name);
      const first = checkDrained(st, r, name, actor(), NOW + SEC);
      expect(first.answer).toEqual({ outcome: 'waiting' });
      expect(first.next).toBe(st);
      expect(changesNothing(first, st, r)).toBe(true);
      expect(viewOf(st, name, NOW)!.state).toMatch(/^Draining/);
      const later = checkDrained(st, first.rollout, name, actor(), NOW + 299 * SEC);
      expect(later.answer).toEqual({ outcome: 'waiting' });
      const ended = patch(st, name, { connections: 0, openTransactions: 0 });
      expect(checkDrained(ended, first.rollout, name, actor(), NOW + 10 * SEC).answer).toEqual({ outcome: 'drained' });
    }
  });

  it('a down server counts as drained', () => {
    const { st, r } = draining('r1');
    expect(checkDrained(patch(st, 'r1', { health: 'down' }), r, 'r1', actor(), NOW).answer).toEqual({
      outcome: 'drained',
    });
  });

  it('at drainTimeoutSeconds (counted from Drain) with onDrainTimeout force: forced into maintenance', () => {
    const { st, r } = draining('p');
    // the first poll comes late: the clock still started at Drain
    const first = checkDrained(st, r, 'p', actor(), NOW + 200 * SEC);
    expect(first.answer).toEqual({ outcome: 'waiting' });
    const o = checkDrained(st, first.rollout, 'p', actor(), NOW + 300 * SEC);
    expect(o.answer).toEqual({ outcome: 'forced' });
    expect(o.next.servers.get('p')!.claims[HOLDER]).toEqual({
      mode: 'maintenance',
      force: true,
      actor: 'alice',
      since: NOW,
      onDeadline: 'hold',
      reason: `rollout ${ID}: upgrade to ${V2} (forced: not drained within 300 s)`,
    });
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({ target: 'server:p' });
    expect(o.events[0]!.reason).toContain('forced');
    const view = viewOf(o.next, 'p', NOW + 300 * SEC)!;
    expect(view.maintenance).toBe(true);
    expect(view.closeConnections).toBe(true);
    // and the next check finds it drained
    expect(checkDrained(o.next, o.rollout, 'p', actor(), NOW + 301 * SEC).answer).toEqual({ outcome: 'drained' });
  });

  it('at drainTimeoutSeconds with onDrainTimeout fail: StepFailed at wait-drained, the claim kept', () => {
    const { st, r } = draining('r1', { onDrainTimeout: 'fail', drainTimeoutSeconds: 60 });
    const first = checkDrained(st, r, 'r1', actor(), NOW);
    expect(checkDrained(st, first.rollout, 'r1', actor(), NOW + 59 * SEC).answer).toEqual({ outcome: 'waiting' });
    const e = caught(() => checkDrained(st, first.rollout, 'r1', actor(), NOW + 60 * SEC));
    expect(e).toBeInstanceOf(StepFailed);
    expect(e.name).toBe('StepFailed');
    expect((e as StepFailed).step).toBe('wait-drained');
    expect(e.message).toContain('60 s');
    expect(e.message).toContain('12 connections');
  });
});

describe('requestSwitchover', () => {
  /** r1 and r2 already upgraded and cleared; r3 not yet; the rollout's cluster claim pauses automation. */
  function readyForPrimary() {
    const { st, r } = started();
    let s = patch(st, 'r1', { version: V2, replicationLagSeconds: 4 });
    s = patch(s, 'r2', { version: V2, replicationLagSeconds: 1 });
    s = patch(s, 'r3', { replicationLagSeconds: 0 });
    return { st: s, r: withNodes(r, done('r1'), done('r2'), done('r3')) };
  }

  it('records a switchover to the upgraded electable replica with the least lag', () => {
    const { st, r } = readyForPrimary();
    expect(st.cluster.claims[HOLDER]).toBeDefined();
    const o = requestSwitchover(st, r, 'p', actor(), NOW);
    expect(o.next.cluster.pendingSwitchover).toEqual({
      kind: 'switchover',
      from: 'p',
      to: 'r2',
      actor: 'alice',
      requestedAt: NOW,
    });
    expect(actions(o)).toEqual(['switchover']);
    expect(nodeOf(o.rollout, 'p')).toMatchObject({ step: 'switchover', outcome: 'in-progress', stepStartedAt: NOW });
    expect(o.answer).toEqual({ outcome: 'requested' });
  });

  it('never picks a replica held in maintenance, or not at the version', () => {
    const { st, r } = readyForPrimary();
    const o = requestSwitchover(patch(st, 'r2', { claims: { manual: claim() } }), r, 'p', actor(), NOW);
    expect(o.next.cluster.pendingSwitchover!.to).toBe('r1');
  });

  it('is idempotent: a switchover already requested by the same actor is not requested again', () => {
    const { st, r } = readyForPrimary();
    const first = requestSwitchover(st, r, 'p', actor(), NOW);
    const again = requestSwitchover(first.next, first.rollout, 'p', actor(), NOW + SEC);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(first.next);
  });

  it('fails (StepFailed at switchover) without an electable replica at the version', () => {
    const { st, r } = started();
    const e = caught(() => requestSwitchover(st, r, 'p', actor(), NOW));
    expect(e).toBeInstanceOf(StepFailed);
    expect((e as StepFailed).step).toBe('switchover');
    expect(e.message).toContain(V2);
    // an upgraded replica that is stale does not count
    const stale = patch(st, 'r1', { version: V2, reportedAt: NOW - HOUR });
    expect((caught(() => requestSwitchover(stale, r, 'p', actor(), NOW)) as StepFailed).step).toBe('switchover');
  });
});

describe('checkRoles', () => {
  /** The primary's switchover requested at NOW (r1 already upgraded). */
  function asked() {
    const { st, r } = started();
    const o = requestSwitchover(patch(st, 'r1', { version: V2 }), r, 'p', actor(), NOW);
    return { st: o.next, r: o.rollout };
  }

  it('waits while the server is still primary, writing nothing; answers switched once it is not', () => {
    const { st, r } = asked();
    const first = checkRoles(st, r, 'p', NOW + SEC);
    expect(first.answer).toEqual({ outcome: 'waiting' });
    expect(first.rollout).toBe(r);
    expect(first.next).toBe(st);
    expect(changesNothing(first, st, r)).toBe(true);
    const swapped = patch(patch(st, 'p', { role: 'replica' }), 'r1', { role: 'primary' });
    expect(checkRoles(swapped, r, 'p', NOW + 10 * SEC).answer).toEqual({ outcome: 'switched' });
  });

  it(`fails (StepFailed at wait-roles) ${ROLE_SWITCH_TIMEOUT_SECONDS} s after the switchover request, however late the first poll`, () => {
    const { st, r } = asked();
    expect(checkRoles(st, r, 'p', NOW + (ROLE_SWITCH_TIMEOUT_SECONDS - 1) * SEC).answer).toEqual({
      outcome: 'waiting',
    });
    const e = caught(() => checkRoles(st, r, 'p', NOW + ROLE_SWITCH_TIMEOUT_SECONDS * SEC));
    expect(e.name).toBe('StepFailed');
    expect((e as StepFailed).step).toBe('wait-roles');
    expect(e.message).toContain(`${ROLE_SWITCH_TIMEOUT_SECONDS} s`);
  });
});

describe('markUpgradeTriggered', () => {
  it('puts the drained server in maintenance (forced) for the upgrade and records the maintain step', () => {
    const { st, r } = started();
    const d = drainNode(st, r, 'r1', actor(), NOW);
    const o = markUpgradeTriggered(d.next, d.rollout, 'r1', actor(), NOW + MIN);
    expect(o.answer).toEqual({ outcome: 'triggered' });
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ step: 'maintain', stepStartedAt: NOW + MIN });
    expect(o.next.servers.get('r1')!.claims).toEqual({
      [HOLDER]: {
        mode: 'maintenance',
        force: true,
        actor: 'alice',
        since: NOW,
        onDeadline: 'hold',
        reason: `rollout ${ID}: upgrade to ${V2}`,
      },
    });
    expect(viewOf(o.next, 'r1', NOW + MIN)!.maintenance).toBe(true);
    expect(actions(o)).toEqual(['update-maintenance']);
    // a repeat (a retry) changes nothing
    const again = markUpgradeTriggered(o.next, o.rollout, 'r1', actor(), NOW + MIN + SEC);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(o.next);
  });

  it('fails (StepFailed at maintain) when the rollout no longer holds the server', () => {
    const { st, r } = started();
    const e = caught(() =>
      markUpgradeTriggered(patch(st, 'r1', { claims: { manual: claim() } }), r, 'r1', actor(), NOW),
    );
    expect((e as StepFailed).step).toBe('maintain');
    expect(e.message).toContain('r1');
  });
});

describe('checkUpgraded', () => {
  /** r1 drained and put in maintenance for its upgrade at `at`. */
  function maintained(overrides: Partial<RolloutInput> = {}, at = NOW) {
    const { st, r } = started(fleet(), overrides);
    const d = drainNode(st, r, 'r1', actor(), at - MIN);
    const m = markUpgradeTriggered(d.next, d.rollout, 'r1', actor(), at);
    return { st: m.next, r: m.rollout };
  }

  it('waits, writing nothing, until the node reports the target version and running; then Verify starts', () => {
    const { st, r } = maintained();
    const first = checkUpgraded(st, r, 'r1', NOW + SEC);
    expect(first.answer).toEqual({ outcome: 'waiting' });
    expect(first.rollout).toBe(r);
    expect(changesNothing(first, st, r)).toBe(true);
    // at the version but still down (restarting): waiting
    expect(checkUpgraded(patch(st, 'r1', { version: V2, health: 'down' }), r, 'r1', NOW + MIN).answer).toEqual({
      outcome: 'waiting',
    });
    const up = checkUpgraded(patch(st, 'r1', { version: V2 }), r, 'r1', NOW + MIN);
    expect(up.answer).toEqual({ outcome: 'upgraded' });
    expect(nodeOf(up.rollout, 'r1')).toMatchObject({ step: 'verify', stepStartedAt: NOW + MIN });
    expect(up.events).toEqual([]);
  });

  it('fails (StepFailed at wait-upgraded) upgrade.timeoutSeconds after Maintain, however late the first poll', () => {
    const { st, r } = maintained({ upgrade: { kind: 'wait-for-report', timeoutSeconds: 900 } });
    expect(checkUpgraded(st, r, 'r1', NOW + 899 * SEC).answer).toEqual({ outcome: 'waiting' });
    const e = caught(() => checkUpgraded(st, r, 'r1', NOW + 900 * SEC));
    expect((e as StepFailed).step).toBe('wait-upgraded');
    expect(e.message).toContain('900 s');
    expect(e.message).toContain(V1);
    // upgraded just in time is upgraded
    expect(checkUpgraded(patch(st, 'r1', { version: V2 }), r, 'r1', NOW + 900 * SEC).answer).toEqual({
      outcome: 'upgraded',
    });
  });
});

describe('checkVerified', () => {
  /** r1 upgraded, held by the rollout, reporting at `at`. */
  function upgraded(overrides: Partial<RolloutInput> = {}) {
    const { st, r } = started(fleet(), {
      verify: { stableForSeconds: 30, timeoutSeconds: 600, maxReplicationLagSeconds: 10 },
      ...overrides,
    });
    const s = patch(holding(st, 'r1'), 'r1', { version: V2, replicationLagSeconds: 2 });
    return {
      st: s,
      r,
      at: (t: number, changes: Partial<Server> = {}) => patch(s, 'r1', { reportedAt: t, ...changes }),
    };
  }

  it('fails at once (StepFailed at verify) when the server is down', () => {
    const { r, at } = upgraded();
    const e = caught(() => checkVerified(at(NOW, { health: 'down' }), r, 'r1', NOW));
    expect((e as StepFailed).step).toBe('verify');
    expect(e.message).toMatch(/down/);
  });

  it('fails at once when the server reports another version', () => {
    const { r, at } = upgraded();
    const e = caught(() => checkVerified(at(NOW, { version: V1 }), r, 'r1', NOW));
    expect((e as StepFailed).step).toBe('verify');
    expect(e.message).toContain(V1);
  });

  it('verified once healthy, at the version and under the lag bound for stableForSeconds', () => {
    const { r, at } = upgraded();
    const first = checkVerified(at(NOW), r, 'r1', NOW);
    expect(first.answer).toEqual({ outcome: 'waiting' });
    expect(nodeOf(first.rollout, 'r1')).toMatchObject({ step: 'verify', stableSince: NOW, stepStartedAt: NOW });
    const midState = at(NOW + 29 * SEC);
    const mid = checkVerified(midState, first.rollout, 'r1', NOW + 29 * SEC);
    expect(mid.answer).toEqual({ outcome: 'waiting' });
    // a poll that only waits writes nothing; the first one records the step and when it became stable
    expect(changesNothing(mid, midState, first.rollout)).toBe(true);
    const firstState = at(NOW);
    expect(changesNothing(checkVerified(firstState, r, 'r1', NOW), firstState, r)).toBe(false);
    expect(nodeOf(mid.rollout, 'r1').stableSince).toBe(NOW);
    const verified = checkVerified(at(NOW + 30 * SEC), mid.rollout, 'r1', NOW + 30 * SEC);
    expect(verified.answer).toEqual({ outcome: 'verified' });
    // Clear will ask for it: the pass is recorded, once
    expect(nodeOf(verified.rollout, 'r1').verifiedAt).toBe(NOW + 30 * SEC);
    expect(checkVerified(at(NOW + 40 * SEC), verified.rollout, 'r1', NOW + 40 * SEC).rollout).toBe(verified.rollout);
  });

  it('lag over the bound: waiting, and the stable clock starts again', () => {
    const { r, at } = upgraded();
    const first = checkVerified(at(NOW), r, 'r1', NOW);
    const lagging = checkVerified(
      at(NOW + 20 * SEC, { replicationLagSeconds: 11 }),
      first.rollout,
      'r1',
      NOW + 20 * SEC,
    );
    expect(lagging.answer).toEqual({ outcome: 'waiting' });
    expect(nodeOf(lagging.rollout, 'r1').stableSince).toBeUndefined();
    expect(nodeOf(lagging.rollout, 'r1').stepStartedAt).toBe(NOW);
    const again = checkVerified(at(NOW + 40 * SEC), lagging.rollout, 'r1', NOW + 40 * SEC);
    expect(again.answer).toEqual({ outcome: 'waiting' });
    expect(nodeOf(again.rollout, 'r1').stableSince).toBe(NOW + 40 * SEC);
    expect(checkVerified(at(NOW + 69 * SEC), again.rollout, 'r1', NOW + 69 * SEC).answer).toEqual({
      outcome: 'waiting',
    });
    expect(checkVerified(at(NOW + 70 * SEC), again.rollout, 'r1', NOW + 70 * SEC).answer).toEqual({
      outcome: 'verified',
    });
  });

  it('a lag exactly at the bound is fine; without a bound lag is not checked', () => {
    const { r, at } = upgraded();
    expect(nodeOf(checkVerified(at(NOW, { replicationLagSeconds: 10 }), r, 'r1', NOW).rollout, 'r1').stableSince).toBe(
      NOW,
    );
    const unbounded = upgraded({ verify: { stableForSeconds: 0, timeoutSeconds: 600 } });
    expect(checkVerified(unbounded.at(NOW, { replicationLagSeconds: 9999 }), unbounded.r, 'r1', NOW).answer).toEqual({
      outcome: 'verified',
    });
  });

  it('a stale or unknown server is not stable', () => {
    const { r, at } = upgraded();
    const stale = checkVerified(at(NOW - 2 * MIN), r, 'r1', NOW);
    expect(stale.answer).toEqual({ outcome: 'waiting' });
    expect(nodeOf(stale.rollout, 'r1').stableSince).toBeUndefined();
    expect(
      nodeOf(checkVerified(at(NOW, { health: 'unknown' }), r, 'r1', NOW).rollout, 'r1').stableSince,
    ).toBeUndefined();
  });

  it('fails (StepFailed at verify) when not stable within verify.timeoutSeconds', () => {
    const { r, at } = upgraded();
    const first = checkVerified(at(NOW, { replicationLagSeconds: 60 }), r, 'r1', NOW);
    const t = NOW + 599 * SEC;
    expect(checkVerified(at(t, { replicationLagSeconds: 60 }), first.rollout, 'r1', t).answer).toEqual({
      outcome: 'waiting',
    });
    const e = caught(() =>
      checkVerified(at(NOW + 600 * SEC, { replicationLagSeconds: 60 }), first.rollout, 'r1', NOW + 600 * SEC),
    );
    expect((e as StepFailed).step).toBe('verify');
    expect(e.message).toContain('600 s');
    expect(e.message).toContain('lag 60 s');
  });
});

describe('clearNode', () => {
  const verified = (r: RolloutSnapshot) =>
    withNodes(r, node('r1', { step: 'verify', outcome: 'in-progress', stableSince: NOW, verifiedAt: NOW }));
  const upgraded = (st: ClusterState) => patch(st, 'r1', { version: V2 });

  it("removes only the rollout's claim: a manual claim on the same server stays", () => {
    const { st, r } = started();
    const s = patch(holding(upgraded(st), 'r1'), 'r1', {
      claims: { manual: claim({ reason: 'disk' }), [HOLDER]: held() },
    });
    const o = clearNode(s, verified(r), 'r1', actor(), NOW + MIN);
    expect(o.next.servers.get('r1')!.claims).toEqual({ manual: claim({ reason: 'disk' }) });
    expect(actions(o)).toEqual(['clear-maintenance']);
    expect(o.events[0]!.target).toBe('server:r1');
    expect(nodeOf(o.rollout, 'r1')).toEqual({
      server: 'r1',
      step: 'done',
      outcome: 'upgraded',
      attempt: 1,
      version: 1,
      stepStartedAt: NOW + MIN,
      verifiedAt: NOW,
    });
    expect(o.answer).toEqual({ outcome: 'cleared' });
  });

  it('is idempotent, and marks the node upgraded even when the claim is already gone', () => {
    const { st, r } = started();
    const first = clearNode(holding(upgraded(st), 'r1'), verified(r), 'r1', actor(), NOW);
    const again = clearNode(first.next, first.rollout, 'r1', actor(), NOW + SEC);
    expect(again.events).toEqual([]);
    expect(again.rollout).toBe(first.rollout);
    const gone = clearNode(upgraded(st), verified(r), 'r1', actor(), NOW);
    expect(gone.events).toEqual([]);
    expect(nodeOf(gone.rollout, 'r1').outcome).toBe('upgraded');
  });

  it('never returns an unverified server to service, nor one that does not report the version (it stays held)', () => {
    const { st, r } = started();
    const unverified = withNodes(r, node('r1', { step: 'verify', outcome: 'in-progress', stableSince: NOW }));
    const notYet = caught(() => clearNode(holding(upgraded(st), 'r1'), unverified, 'r1', actor(), NOW));
    expect(notYet).toBeInstanceOf(StepFailed);
    expect((notYet as StepFailed).step).toBe('clear');
    expect(notYet.message).toBe('server r1 has not passed Verify');
    expect(
      caught(() =>
        clearNode(
          holding(upgraded(st), 'r1'),
          withNodes(r, node('r1', { step: 'wait-upgraded', outcome: 'in-progress', verifiedAt: NOW })),
          'r1',
          actor(),
          NOW,
        ),
      ).message,
    ).toBe('server r1 has not passed Verify');
    const old = caught(() => clearNode(holding(st, 'r1'), verified(r), 'r1', actor(), NOW));
    expect(old.message).toBe(`server r1 reports ${V1} (running), not ${V2}: it stays in maintenance`);
    const down = caught(() =>
      clearNode(holding(patch(upgraded(st), 'r1', { health: 'down' }), 'r1'), verified(r), 'r1', actor(), NOW),
    );
    expect(down.message).toBe(`server r1 reports ${V2} (down), not ${V2}: it stays in maintenance`);
  });
});

describe('recordNodeFailure', () => {
  it('marks the node failed at its step with the reason; the claims stay', () => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    const snap = withNodes(r, node('r1', { step: 'wait-upgraded', outcome: 'in-progress', stableSince: NOW }));
    const o = recordNodeFailure(s, snap, 'r1', 'not upgraded in time', NOW + MIN);
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({
      step: 'wait-upgraded',
      outcome: 'failed',
      reason: 'not upgraded in time',
      stepStartedAt: NOW + MIN,
    });
    expect(o.next).toBe(s);
    expect(o.events).toEqual([
      {
        action: 'node-failed',
        target: `rollout:${ID}`,
        before: null,
        after: { status: 'running', batch: -1, server: 'r1', step: 'wait-upgraded', reason: 'not upgraded in time' },
      },
    ]);
  });

  it('takes the failed step from the error when it is a node step', () => {
    const { st, r } = started();
    const snap = withNodes(r, node('r1', { step: 'drain', outcome: 'in-progress' }));
    expect(nodeOf(recordNodeFailure(st, snap, 'r1', 'x', NOW, 'wait-drained').rollout, 'r1').step).toBe('wait-drained');
    expect(nodeOf(recordNodeFailure(st, snap, 'r1', 'x', NOW, 'bogus').rollout, 'r1').step).toBe('drain');
  });

  it('is idempotent: the first reason stays', () => {
    const { st, r } = started();
    const first = recordNodeFailure(st, r, 'r1', 'first', NOW);
    const again = recordNodeFailure(st, first.rollout, 'r1', 'second', NOW + SEC);
    expect(again.rollout).toBe(first.rollout);
    expect(again.events).toEqual([]);
    expect(nodeOf(again.rollout, 'r1').reason).toBe('first');
  });
});

/** Every server of the fleet upgraded: at V2, each node cleared. */
function upgradedAll() {
  const { st, r } = started();
  const names = ['p', 'r1', 'r2', 'r3'];
  return { st: names.reduce((x, n) => patch(x, n, { version: V2 }), st), r: withNodes(r, ...names.map(done)) };
}

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

describe('requestPause and requestAbort', () => {
  it('pause: a running rollout becomes pausing; pausing and paused are answered as they are', () => {
    const { st, r } = started();
    const o = requestPause(st, r, NOW + SEC);
    expect(o.rollout.rollout.status).toBe('pausing');
    expect(actions(o)).toEqual(['request-pause']);
    expect(o.next).toBe(st);
    for (const status of ['pausing', 'paused'] as const) {
      const snap = withRecord(r, { status });
      const again = requestPause(st, snap, NOW);
      expect(again.rollout).toBe(snap);
      expect(again.answer).toEqual({ outcome: status });
      expect(again.events).toEqual([]);
    }
  });

  it('pause: refused for a rollout without an execution or being aborted', () => {
    const { st, r } = started();
    for (const status of ['aborting', 'aborted', 'failed', 'succeeded'] as const) {
      expect(caught(() => requestPause(st, withRecord(r, { status }), NOW)).code).toBe('RolloutConflict');
    }
  });

  it('abort: a running or pausing rollout becomes aborting, stopping at the next step boundary', () => {
    const { st, r } = started();
    for (const status of ['running', 'pausing'] as const) {
      const o = requestAbort(st, withRecord(r, { status }), actor(), NOW);
      expect(o.rollout.rollout.status).toBe('aborting');
      expect(actions(o)).toEqual(['request-abort']);
      expect(o.next.cluster.rollout).toBe(ID);
    }
  });

  it('abort: a paused rollout is aborted at once, releasing its lock', () => {
    const { st, r } = started();
    const paused = pauseRollout(st, r, actor(), NOW);
    const o = requestAbort(paused.next, paused.rollout, actor(), NOW + MIN);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.cluster.rollout).toBeUndefined();
    expect(actions(o)).toEqual(['abort-rollout']);
  });

  it("abort: a paused rollout is aborted at once even while someone else's claim pauses automation", () => {
    const { st, r } = started();
    const paused = pauseRollout(st, r, actor(), NOW);
    const s = { ...paused.next, cluster: { ...paused.next.cluster, claims: { manual: claim({ until: NOW + HOUR }) } } };
    const o = requestAbort(s, paused.rollout, actor(), NOW + MIN);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.cluster.claims).toEqual({ manual: claim({ until: NOW + HOUR }) });
    expect(o.next.cluster.rollout).toBeUndefined();
  });

  it("abort: a failed rollout is aborted at once, its failed node keeping the rollout's claim", () => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    const failed = failRollout(s, withNodes(r, node('r1', { outcome: 'failed', reason: 'x' })), undefined, NOW);
    const o = requestAbort(s, failed.rollout, actor(), NOW);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.servers.get('r1')!.claims[HOLDER]).toBeDefined();
    expect(o.next.cluster.claims[HOLDER]).toBeDefined();
  });

  it('abort: aborting and aborted are answered as they are; succeeded is refused', () => {
    const { st, r } = started();
    for (const status of ['aborting', 'aborted'] as const) {
      const snap = withRecord(r, { status });
      const o = requestAbort(st, snap, actor(), NOW);
      expect(o.rollout).toBe(snap);
      expect(o.answer).toEqual({ outcome: status });
    }
    expect(caught(() => requestAbort(st, withRecord(r, { status: 'succeeded' }), actor(), NOW)).code).toBe(
      'RolloutConflict',
    );
  });

  it('checkResumable: only paused, failed or aborted', () => {
    const { r } = started();
    for (const status of ['paused', 'failed', 'aborted'] as const)
      expect(() => checkResumable(withRecord(r, { status }))).not.toThrow();
    for (const status of ['running', 'pausing', 'aborting', 'succeeded'] as const) {
      expect(caught(() => checkResumable(withRecord(r, { status }))).code).toBe('RolloutConflict');
    }
  });
});

describe('retryNode and skipNode', () => {
  function failedOn(name: string) {
    const { st, r } = started();
    const s = holding(st, name);
    const snap = withNodes(
      withRecord(r, { status: 'failed', failure: { server: name, step: 'verify', reason: 'lag', at: NOW } }),
      node(name, { step: 'verify', outcome: 'failed', reason: 'lag', stableSince: NOW }),
    );
    return { st: s, r: snap };
  }

  it('retry and skip are refused while the rollout has an execution (RolloutConflict)', () => {
    const { st, r } = failedOn('r1');
    for (const status of ['running', 'pausing', 'aborting'] as const) {
      const snap = withRecord(r, { status });
      expect(caught(() => retryNode(st, snap, 'r1', NOW)).code).toBe('RolloutConflict');
      expect(caught(() => skipNode(st, snap, 'r1', actor(), NOW)).code).toBe('RolloutConflict');
    }
    expect(caught(() => retryNode(st, withRecord(r, { status: 'succeeded' }), 'r1', NOW)).message).toMatch(/succeeded/);
  });

  it('retry: the node starts again from the beginning on the next resume; the failure is forgotten; the claim stays', () => {
    const { st, r } = failedOn('r1');
    const o = retryNode(st, r, 'r1', NOW + MIN);
    expect(nodeOf(o.rollout, 'r1')).toEqual({
      server: 'r1',
      step: 'pending',
      outcome: 'pending',
      attempt: 1,
      version: 1,
    });
    expect(o.rollout.rollout.failure).toBeUndefined();
    expect(o.rollout.rollout.status).toBe('failed');
    expect(o.next).toBe(st);
    expect(actions(o)).toEqual(['retry-server']);
    expect(o.events[0]!.after).toMatchObject({ server: 'r1' });
  });

  it("retry: another server's failure stays recorded", () => {
    const { st, r } = failedOn('r1');
    const o = retryNode(st, withNodes(r, node('r2', { outcome: 'stopped' })), 'r2', NOW);
    expect(o.rollout.rollout.failure).toMatchObject({ server: 'r1' });
  });

  it('retry: refused for a finished node', () => {
    const { st, r } = failedOn('r1');
    expect(caught(() => retryNode(st, withNodes(r, done('r2')), 'r2', NOW)).message).toContain('upgraded');
  });

  it("skip: the rollout's claim becomes a manual claim of the operator; the node is skipped", () => {
    const { st, r } = failedOn('r1');
    const bob = actor({ user: 'bob' });
    const o = skipNode(st, r, 'r1', bob, NOW + MIN);
    expect(o.next.servers.get('r1')!.claims).toEqual({
      manual: { ...held(), actor: 'bob', reason: `skipped from rollout ${ID}`, since: NOW + MIN },
    });
    // still in maintenance: never routed while unverified
    expect(viewOf(o.next, 'r1', NOW + MIN)!.maintenance).toBe(true);
    expect(nodeOf(o.rollout, 'r1').outcome).toBe('skipped');
    expect(finished(nodeOf(o.rollout, 'r1'))).toBe(true);
    expect(o.rollout.rollout.failure).toBeUndefined();
    expect(actions(o)).toEqual(['update-maintenance', 'skip-server']);
    expect(o.events[0]!.target).toBe('server:r1');
  });

  it('skip: an existing manual claim is kept as it is', () => {
    const { st, r } = failedOn('r1');
    const mine = claim({ actor: 'carol', reason: 'mine' });
    const s = patch(st, 'r1', { claims: { ...st.servers.get('r1')!.claims, manual: mine } });
    const o = skipNode(s, r, 'r1', actor({ user: 'bob' }), NOW);
    expect(o.next.servers.get('r1')!.claims).toEqual({ manual: mine });
  });

  it('skip: a server the rollout does not hold is only marked skipped; a repeat changes nothing', () => {
    const { st, r } = failedOn('r1');
    const o = skipNode(st, r, 'r3', actor(), NOW);
    expect(o.next).toBe(st);
    expect(actions(o)).toEqual(['skip-server']);
    const again = skipNode(o.next, o.rollout, 'r3', actor(), NOW);
    expect(again.rollout).toBe(o.rollout);
    expect(again.events).toEqual([]);
    expect(caught(() => skipNode(st, withNodes(r, done('r2')), 'r2', actor(), NOW)).code).toBe('RolloutConflict');
  });

  it('after a skip the rollout resumes and the skipped node is not run again', () => {
    const { st, r } = failedOn('r1');
    const skipped = skipNode(st, withRecord(r, { batch: 0, batchesThisExecution: 1 }), 'r1', actor(), NOW);
    // while the skipped server stays in the operator's maintenance, dc1 (4 servers, 1 allowed) has no room
    expect(caught(() => preflight(skipped.next, skipped.rollout, 'exec-2', actor(), NOW)).code).toBe('BudgetExceeded');
    const cleared = patch(skipped.next, 'r1', { claims: {} });
    const resumed = preflight(cleared, skipped.rollout, 'exec-2', actor(), NOW);
    expect(nextBatch(resumed.next, resumed.rollout, NOW).answer).toEqual({
      outcome: 'batch',
      batch: 1,
      servers: ['r2'],
    });
  });

  it('a retried node that the rollout still holds does not block the resume on the budget', () => {
    // dc1 of 4 allows 1 unavailable, and the held r1 is that one: the rollout carries on with it
    const { st, r } = failedOn('r1');
    const retried = retryNode(st, r, 'r1', NOW);
    const resumed = preflight(retried.next, retried.rollout, 'exec-2', actor(), NOW);
    expect(resumed.rollout.rollout.status).toBe('running');
    expect(nextBatch(resumed.next, resumed.rollout, NOW).answer).toEqual({
      outcome: 'batch',
      batch: 0,
      servers: ['r1'],
    });
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

// ---------------------------------------------------------------------------------------------------------
// Exact answers, messages and edges (mutation-driven)

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

  it('node steps answer with their outcome, also when repeated', () => {
    const { st, r } = started();
    expect(clearNode(st, withNodes(r, done('r1')), 'r1', actor(), NOW).answer).toEqual({ outcome: 'cleared' });
    const failed = withNodes(r, node('r1', { outcome: 'failed', reason: 'x' }));
    expect(recordNodeFailure(st, failed, 'r1', 'y', NOW).answer).toEqual({ outcome: 'failed' });
    expect(recordNodeFailure(st, r, 'r1', 'y', NOW).answer).toEqual({ outcome: 'failed' });
    expect(drainNode(holding(st, 'r1'), r, 'r1', actor(), NOW).answer).toEqual({ outcome: 'draining' });
  });

  it('requestPause and requestAbort answer pausing and aborting', () => {
    const { st, r } = started();
    expect(requestPause(st, r, NOW).answer).toEqual({ outcome: 'pausing' });
    expect(requestAbort(st, r, actor(), NOW).answer).toEqual({ outcome: 'aborting' });
  });

  it('retryNode and skipNode answer retried and skipped (skipped also when repeated) and name the server in the event', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'paused' }),
      node('r1', { step: 'verify', outcome: 'failed', reason: 'lag' }),
    );
    const retried = retryNode(st, paused, 'r1', NOW);
    expect(retried.answer).toEqual({ outcome: 'retried' });
    const skipped = skipNode(st, paused, 'r1', actor(), NOW);
    expect(skipped.answer).toEqual({ outcome: 'skipped' });
    expect(skipped.events.at(-1)).toMatchObject({ action: 'skip-server', after: { server: 'r1' } });
    expect(skipNode(st, skipped.rollout, 'r1', actor(), NOW).answer).toEqual({ outcome: 'skipped' });
  });

  it('skipping a held server hands the claim over and says why in the event', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'paused' }),
      node('r1', { step: 'verify', outcome: 'failed', reason: 'lag' }),
    );
    const o = skipNode(holding(st, 'r1'), paused, 'r1', actor({ user: 'bob' }), NOW);
    expect(o.events[0]).toMatchObject({ action: 'update-maintenance', reason: `skipped from rollout ${ID}` });
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

  it('operator controls', () => {
    const { st, r } = started();
    expect(caught(() => requestPause(st, withRecord(r, { status: 'failed' }), NOW)).message).toBe(
      `rollout ${ID} is failed: only a running rollout can be paused`,
    );
    expect(caught(() => requestAbort(st, withRecord(r, { status: 'succeeded' }), actor(), NOW)).message).toBe(
      `rollout ${ID} has already succeeded`,
    );
    expect(caught(() => checkResumable(r)).message).toBe(
      `rollout ${ID} is running: only a paused, failed or aborted rollout can be resumed`,
    );
    expect(caught(() => retryNode(st, r, 'r1', NOW)).message).toBe(
      `rollout ${ID} is running: pause or abort it before you retry a server`,
    );
    expect(caught(() => skipNode(st, r, 'r1', actor(), NOW)).message).toBe(
      `rollout ${ID} is running: pause or abort it before you skip a server`,
    );
    const done_ = caught(() => skipNode(st, withRecord(r, { status: 'succeeded' }), 'r1', actor(), NOW));
    expect([done_.code, done_.message]).toEqual(['RolloutConflict', `rollout ${ID} has already succeeded`]);
    const paused = withNodes(withRecord(r, { status: 'paused' }), done('r1'));
    const again = caught(() => retryNode(st, paused, 'r1', NOW));
    expect([again.code, again.message]).toEqual(['RolloutConflict', 'server r1 is already upgraded']);
    expect(caught(() => skipNode(st, paused, 'r1', actor(), NOW)).message).toBe('server r1 is already upgraded');
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

  it('beginNode and checkVerified write nothing when there is nothing new to record', () => {
    const { st, r } = started();
    const inProgress = withNodes(r, node('r1', { outcome: 'in-progress', step: 'drain' }));
    const begun = beginNode(st, inProgress, 'r1', NOW);
    expect(begun.rollout).toBe(inProgress);
    expect(changesNothing(begun, st, inProgress)).toBe(true);
    const upgraded = patch(st, 'r1', { version: V2, replicationLagSeconds: 50 });
    const verifying = withRecord(
      withNodes(r, node('r1', { outcome: 'in-progress', step: 'verify', stepStartedAt: NOW })),
      {
        input: {
          ...r.rollout.input,
          verify: { stableForSeconds: 30, timeoutSeconds: 600, maxReplicationLagSeconds: 10 },
        },
      },
    );
    const o = checkVerified(upgraded, verifying, 'r1', NOW + MIN);
    expect(o.answer).toEqual({ outcome: 'waiting' });
    expect(o.rollout).toBe(verifying);
  });

  it('requestSwitchover: a pending switchover from another server or by another actor is no reason to skip the request; ties go by name; unknown lag comes last', () => {
    const { st, r } = started();
    let s = patch(st, 'r1', { version: V2, replicationLagSeconds: 3 });
    s = patch(s, 'r2', { version: V2, replicationLagSeconds: 3 });
    s = patch(s, 'r3', { version: V2, replicationLagSeconds: undefined });
    const snap = withNodes(r, done('r1'), done('r2'), done('r3'));
    const o = requestSwitchover(s, snap, 'p', actor(), NOW);
    expect(o.next.cluster.pendingSwitchover!.to).toBe('r1');
    const s2 = patch(patch(s, 'r1', { replicationLagSeconds: undefined }), 'r2', { replicationLagSeconds: 0 });
    expect(requestSwitchover(s2, snap, 'p', actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('r2');
    const s3 = patch(patch(s, 'r1', { replicationLagSeconds: undefined }), 'r2', { replicationLagSeconds: undefined });
    expect(requestSwitchover(s3, snap, 'p', actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('r1');
    // r2 has the least lag now; a switchover to r1 pending from p by bob, or from r3 by alice, does not stand for this one
    const better = patch(s, 'r2', { replicationLagSeconds: 1 });
    const byBob = {
      ...better,
      cluster: {
        ...better.cluster,
        pendingSwitchover: { kind: 'switchover' as const, from: 'p', to: 'r1', actor: 'bob', requestedAt: NOW },
      },
    };
    expect(requestSwitchover(byBob, snap, 'p', actor(), NOW).next.cluster.pendingSwitchover).toMatchObject({
      to: 'r2',
      actor: 'alice',
    });
    const fromR3 = {
      ...better,
      cluster: {
        ...better.cluster,
        pendingSwitchover: { kind: 'switchover' as const, from: 'r3', to: 'r1', actor: 'alice', requestedAt: NOW },
      },
    };
    expect(requestSwitchover(fromR3, snap, 'p', actor(), NOW).next.cluster.pendingSwitchover).toMatchObject({
      to: 'r2',
      actor: 'alice',
    });
    const mine = {
      ...better,
      cluster: {
        ...better.cluster,
        pendingSwitchover: { kind: 'switchover' as const, from: 'p', to: 'r1', actor: 'alice', requestedAt: NOW },
      },
    };
    const same = requestSwitchover(mine, snap, 'p', actor(), NOW);
    expect(same.next).toBe(mine);
    expect(same.answer).toEqual({ outcome: 'requested' });
  });

  it('a node step on a server gone from the cluster is refused (NotFound) before anything else', () => {
    const { st, r } = started();
    let s = patch(st, 'r1', { version: V2, replicationLagSeconds: 1 });
    s = { ...s, servers: new Map([...s.servers].filter(([n]) => n !== 'p')) };
    const snap = withNodes(r, done('r1'), node('p', { step: 'drain', outcome: 'in-progress', stepStartedAt: NOW }));
    expect(caught(() => requestSwitchover(s, snap, 'p', actor(), NOW)).message).toBe('server p not found');
    expect(caught(() => checkDrained(s, snap, 'p', actor(), NOW)).message).toBe('server p not found');
  });

  it('markUpgradeTriggered puts the server in forced maintenance under the rollout', () => {
    const { st, r } = started();
    const o = markUpgradeTriggered(holding(st, 'r1'), r, 'r1', actor(), NOW);
    expect(o.next.servers.get('r1')!.claims[HOLDER]).toMatchObject({ mode: 'maintenance', force: true });
    expect(o.answer).toEqual({ outcome: 'triggered' });
  });

  it('retry and skip keep the failure of another server, and work on a rollout without a failure', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'failed', failure: { server: 'r1', step: 'verify', reason: 'lag', at: NOW } }),
      node('r1', { outcome: 'failed' }),
      node('r2', { outcome: 'failed' }),
    );
    expect(retryNode(st, paused, 'r2', NOW).rollout.rollout.failure).toMatchObject({ server: 'r1' });
    expect(skipNode(st, paused, 'r2', actor(), NOW).rollout.rollout.failure).toMatchObject({ server: 'r1' });
    const noFailure = withNodes(withRecord(r, { status: 'paused' }), node('r2', { outcome: 'failed' }));
    expect(retryNode(st, noFailure, 'r2', NOW).answer).toEqual({ outcome: 'retried' });
    expect(skipNode(st, noFailure, 'r2', actor(), NOW).answer).toEqual({ outcome: 'skipped' });
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

  it('resumeRollout: only a paused, failed or aborted rollout, claimed for the new execution', () => {
    const { st, r } = started();
    expect(caught(() => resumeRollout(st, r, 'exec-2', actor(), NOW)).message).toMatch(
      /only a paused, failed or aborted rollout can be resumed/,
    );
    const o = resumeRollout(st, withRecord(r, { status: 'paused' }), 'exec-2', actor(), NOW);
    expect(o.rollout.rollout.executions).toEqual(['exec-1', 'exec-2']);
    // a second resume decided on what the first wrote is refused
    expect(caught(() => resumeRollout(o.next, o.rollout, 'exec-3', actor(), NOW)).code).toBe('RolloutConflict');
  });

  it('requireOwner: a task of any execution but the latest stops', () => {
    const { r } = started();
    expect(() => requireOwner(r, 'exec-1')).not.toThrow();
    const e = caught(() => requireOwner(r, 'exec-0'));
    expect(e).toBeInstanceOf(RolloutStopped);
    expect(e.message).toBe('execution exec-0 no longer runs rollout r-1');
  });

  it('beginNode skips a server removed from the cluster (no failure, nothing to drain)', () => {
    const { st, r } = started();
    const servers = new Map(st.servers);
    servers.delete('r1');
    const o = beginNode({ ...st, servers }, r, 'r1', NOW);
    expect(o.answer).toEqual({ outcome: 'done' });
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ outcome: 'skipped', reason: 'removed from the cluster' });
    expect(actions(o)).toEqual(['skip-server']);
  });

  it("abort, then skip of the last held server: the rollout's pause of automation ends with it", () => {
    const { st, r } = started();
    const heldSt = holding(st, 'r1');
    const aborted = abortRollout(
      heldSt,
      withNodes(
        withRecord(r, { status: 'aborting', batch: 0 }),
        node('r1', { step: 'verify', outcome: 'in-progress' }),
      ),
      actor(),
      NOW,
    );
    expect(aborted.next.cluster.claims[HOLDER]).toBeDefined();
    const skipped = skipNode(aborted.next, aborted.rollout, 'r1', actor({ user: 'bob' }), NOW);
    expect(skipped.next.cluster.claims[HOLDER]).toBeUndefined();
    expect(skipped.next.servers.get('r1')!.claims.manual).toMatchObject({ actor: 'bob' });
    expect(actions(skipped)).toEqual(['update-maintenance', 'clear-maintenance', 'skip-server']);
  });

  it('skip of a server removed from the cluster works (nothing to hand over), and so does the resume after it', () => {
    const { st, r } = started();
    const servers = new Map(st.servers);
    servers.delete('r1');
    const gone = { ...st, servers };
    const failed = withNodes(
      withRecord(r, { status: 'failed', failure: { server: 'r1', step: 'verify', reason: 'NotFound', at: NOW } }),
      node('r1', { outcome: 'failed', step: 'verify' }),
    );
    const skipped = skipNode(gone, failed, 'r1', actor(), NOW);
    expect(nodeOf(skipped.rollout, 'r1').outcome).toBe('skipped');
    expect(skipped.rollout.rollout.failure).toBeUndefined();
    expect(resumeRollout(skipped.next, skipped.rollout, 'exec-2', actor(), NOW).rollout.rollout.status).toBe('running');
  });
});
