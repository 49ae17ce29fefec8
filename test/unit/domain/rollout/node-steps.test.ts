/** rollout/node-steps.ts: one node's steps (docs/workflow.md: the node machine), its actions and its polls. */
import { describe, expect, it } from 'vitest';
import { viewOf } from '../../../../functions/domain/derive.js';
import type { ClusterState, Server } from '../../../../functions/domain/model.js';
import {
  changesNothing,
  nodeOf,
  ROLE_SWITCH_TIMEOUT_SECONDS,
  StepFailed,
  type RolloutInput,
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
  recordNodeFailure,
  requestSwitchover,
} from '../../../../functions/domain/rollout/node-steps.js';
import { actor, caught, claim, HOUR, MIN, NOW, SEC } from '../fixtures.js';
import {
  ID,
  HOLDER,
  V1,
  V2,
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
} from './builders.js';

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

  it('ranks as failover does (rankCandidates): on equal lag the most recent report wins before the name', () => {
    const { st, r } = readyForPrimary();
    let s = patch(st, 'r1', { replicationLagSeconds: 1, reportedAt: NOW - 3 * SEC });
    s = patch(s, 'r2', { replicationLagSeconds: 1, reportedAt: NOW - SEC });
    expect(requestSwitchover(s, r, 'p', actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('r2');
    // r3 ranks first by lag but is not at the version: it is passed over, not the end of the search
    const r3First = patch(s, 'r3', { replicationLagSeconds: 0, reportedAt: NOW });
    expect(requestSwitchover(r3First, r, 'p', actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('r2');
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

describe('exact answers of the idempotent and the normal paths', () => {
  it('node steps answer with their outcome, also when repeated', () => {
    const { st, r } = started();
    expect(clearNode(st, withNodes(r, done('r1')), 'r1', actor(), NOW).answer).toEqual({ outcome: 'cleared' });
    const failed = withNodes(r, node('r1', { outcome: 'failed', reason: 'x' }));
    expect(recordNodeFailure(st, failed, 'r1', 'y', NOW).answer).toEqual({ outcome: 'failed' });
    expect(recordNodeFailure(st, r, 'r1', 'y', NOW).answer).toEqual({ outcome: 'failed' });
    expect(drainNode(holding(st, 'r1'), r, 'r1', actor(), NOW).answer).toEqual({ outcome: 'draining' });
  });
});

describe('edges of the rules (mutation-driven)', () => {
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
});

describe('safe under any sequence (issue 14)', () => {
  it('beginNode skips a server removed from the cluster (no failure, nothing to drain)', () => {
    const { st, r } = started();
    const servers = new Map(st.servers);
    servers.delete('r1');
    const o = beginNode({ ...st, servers }, r, 'r1', NOW);
    expect(o.answer).toEqual({ outcome: 'done' });
    expect(nodeOf(o.rollout, 'r1')).toMatchObject({ outcome: 'skipped', reason: 'removed from the cluster' });
    expect(actions(o)).toEqual(['skip-server']);
  });
});
