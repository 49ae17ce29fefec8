/** failover.ts: the failover view, automatic election and manual switchover (docs/claims-and-budget.md "Routing and election"). */
import { describe, expect, it } from 'vitest';
import { viewAll } from '../../../functions/domain/derive.js';
import {
  currentPrimary,
  failover,
  failoverView,
  rankCandidates,
  setProceduresPaused,
  switchover,
} from '../../../functions/domain/failover.js';
import { setClusterClaim } from '../../../functions/domain/maintenance.js';
import type { ClusterState, Server } from '../../../functions/domain/model.js';
import { actor, caught, claim, HOUR, NOW, SEC, server, state } from './fixtures.js';

const names = (st: ClusterState) => rankCandidates(viewAll(st, NOW)).map((v) => v.server.name);

describe('rankCandidates', () => {
  it('lists electable non-primaries only', () => {
    const st = state([
      server('p', { role: 'primary' }),
      server('ok'),
      server('member', { role: 'member' }),
      server('down', { health: 'down' }),
      server('unknown', { health: 'unknown', reportedAt: undefined }),
      server('stale', { reportedAt: NOW - HOUR }),
      server('maint', { claims: { manual: claim() } }),
      server('drain', { claims: { manual: claim({ mode: 'drain' }) } }),
    ]);
    expect(names(st)).toEqual(['member', 'ok']);
  });

  it('ranks by lowest replication lag first', () => {
    const st = state([
      server('a', { replicationLagSeconds: 5, reportedAt: NOW }),
      server('b', { replicationLagSeconds: 0, reportedAt: NOW - 30 * SEC }),
      server('c', { replicationLagSeconds: 2 }),
      server('d'),
    ]);
    expect(names(st)).toEqual(['b', 'c', 'a', 'd']);
  });

  it('then by the most recent report', () => {
    const st = state([
      server('a', { replicationLagSeconds: 1, reportedAt: NOW - 20 * SEC }),
      server('b', { replicationLagSeconds: 1, reportedAt: NOW - 2 * SEC }),
      server('c', { replicationLagSeconds: 1, reportedAt: NOW - 10 * SEC }),
    ]);
    expect(names(st)).toEqual(['b', 'c', 'a']);
  });

  it('then by name', () => {
    const st = state([
      server('c', { reportedAt: NOW }),
      server('a', { reportedAt: NOW }),
      server('b', { reportedAt: NOW }),
    ]);
    expect(names(st)).toEqual(['a', 'b', 'c']);
    const lagged = state([server('z', { replicationLagSeconds: 3 }), server('y', { replicationLagSeconds: 3 })]);
    expect(names(lagged)).toEqual(['y', 'z']);
    // whatever order the views come in
    const views = viewAll(st, NOW);
    for (const order of [
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
      [0, 2, 1],
    ]) {
      expect(rankCandidates(order.map((i) => views[i]!)).map((v) => v.server.name)).toEqual(['a', 'b', 'c']);
    }
  });

  it('ranks whatever order the input comes in', () => {
    const st = state([
      server('c', { replicationLagSeconds: 0 }),
      server('a', { replicationLagSeconds: 9 }),
      server('b', { replicationLagSeconds: 4 }),
    ]);
    const views = viewAll(st, NOW);
    expect(rankCandidates([...views].reverse()).map((v) => v.server.name)).toEqual(['c', 'b', 'a']);
    expect(rankCandidates(views).map((v) => v.server.name)).toEqual(['c', 'b', 'a']);
  });
});

describe('currentPrimary and failoverView', () => {
  it('names the primary, or null', () => {
    expect(currentPrimary(state([server('a'), server('p', { role: 'primary' })]))).toBe('p');
    expect(currentPrimary(state([server('a')]))).toBeNull();
  });

  it('shows pause, primary, pending switchover and candidates', () => {
    const pendingSwitchover = { kind: 'switchover' as const, from: 'p', to: 'a', actor: 'ops', requestedAt: NOW };
    const st = state(
      [
        server('p', { role: 'primary' }),
        server('a', { replicationLagSeconds: 1 }),
        server('b', { replicationLagSeconds: 0 }),
      ],
      {
        cluster: {
          claims: { manual: claim({ until: NOW + HOUR }), 'window:w': claim({ until: NOW - 1 }) },
          pendingSwitchover,
        },
      },
    );
    const v = failoverView(st, NOW);
    expect(v.paused).toBe(true);
    expect(v.pausedBy).toEqual(['manual']);
    expect(v.primary).toBe('p');
    expect(v.pendingSwitchover).toEqual(pendingSwitchover);
    expect(v.candidates.map((c) => c.server.name)).toEqual(['b', 'a']);
  });

  it('shows no pause and no pending switchover when there are none', () => {
    const v = failoverView(state([server('a')]), NOW);
    expect(v).toMatchObject({ paused: false, pausedBy: [], primary: null, pendingSwitchover: null });
  });
});

describe('failover (automatic election)', () => {
  const fleet = (): ClusterState =>
    state([
      server('p', { role: 'primary', health: 'down' }),
      server('a', { replicationLagSeconds: 3 }),
      server('b', { replicationLagSeconds: 1 }),
    ]);

  it('records the best electable replica as the desired primary', () => {
    const o = failover(fleet(), actor({ user: 'ha' }), NOW);
    expect(o.next.cluster.pendingSwitchover).toEqual({
      kind: 'failover',
      from: 'p',
      to: 'b',
      actor: 'ha',
      requestedAt: NOW,
    });
    expect(o.events).toEqual([expect.objectContaining({ action: 'failover', target: 'cluster' })]);
    expect(o.events[0]!.after).toMatchObject({ pendingSwitchover: { to: 'b' } });
  });

  it('without a current primary it records no "from"', () => {
    const o = failover(state([server('a')]), actor(), NOW);
    expect(o.next.cluster.pendingSwitchover).toEqual({ kind: 'failover', to: 'a', actor: 'alice', requestedAt: NOW });
  });

  it('is refused with Paused while cluster maintenance is enabled', () => {
    const paused = setClusterClaim(fleet(), { holder: 'rollout:r1' }, actor(), NOW).next;
    const e = caught(() => failover(paused, actor(), NOW));
    expect(e.code).toBe('Paused');
    expect(e.message).toBe('automatic failover is paused: the cluster is in maintenance');
    expect(e.details).toEqual({ pausedBy: ['rollout:r1'] });
  });

  it('works again once a manual pause has expired (12 h)', () => {
    // the replicas keep reporting meanwhile, so they are not stale 12 hours later
    const later = state([
      server('p', { role: 'primary', health: 'down' }),
      server('a', { replicationLagSeconds: 3, reportedAt: NOW + 12 * HOUR - SEC }),
      server('b', { replicationLagSeconds: 1, reportedAt: NOW + 12 * HOUR - SEC }),
    ]);
    const paused = setClusterClaim(later, { holder: 'manual' }, actor(), NOW).next;
    expect(caught(() => failover(paused, actor(), NOW + 12 * HOUR - 1)).code).toBe('Paused');
    expect(failover(paused, actor(), NOW + 12 * HOUR).next.cluster.pendingSwitchover!.to).toBe('b');
  });

  it('answers NoCandidate when no replica is electable', () => {
    const st = state([server('p', { role: 'primary' }), server('a', { health: 'down' })]);
    const e = caught(() => failover(st, actor(), NOW));
    expect(e.code).toBe('NoCandidate');
    expect(e.message).toBe('no electable replica');
  });
});

describe('switchover (manual)', () => {
  const fleet = (extra: Server[] = []): ClusterState =>
    state([
      server('p', { role: 'primary' }),
      server('a', { replicationLagSeconds: 2 }),
      server('b', { replicationLagSeconds: 0 }),
      ...extra,
    ]);

  it('records the requested target as the desired primary', () => {
    const o = switchover(fleet(), 'a', actor(), NOW);
    expect(o.next.cluster.pendingSwitchover).toEqual({
      kind: 'switchover',
      from: 'p',
      to: 'a',
      actor: 'alice',
      requestedAt: NOW,
    });
    expect(o.events).toEqual([expect.objectContaining({ action: 'switchover', target: 'cluster' })]);
  });

  it('without a target picks the best candidate', () => {
    expect(switchover(fleet(), undefined, actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('b');
  });

  it('is allowed while automation is paused', () => {
    const paused = setClusterClaim(fleet(), { holder: 'manual' }, actor(), NOW).next;
    expect(switchover(paused, 'a', actor(), NOW).next.cluster.pendingSwitchover!.to).toBe('a');
  });

  it('refuses a target that is not electable with NotElectable', () => {
    const st = fleet([
      server('m', { claims: { manual: claim() } }),
      server('u', { health: 'unknown', reportedAt: undefined }),
    ]);
    const e = caught(() => switchover(st, 'm', actor(), NOW));
    expect(e.code).toBe('NotElectable');
    expect(e.message).toBe('server m is not electable (Maintenance, Running)');
    expect(e.details).toEqual({ server: 'm' });
    expect(caught(() => switchover(st, 'u', actor(), NOW)).message).toBe('server u is not electable (no report yet)');
  });

  it('refuses an unknown target with NotFound', () => {
    const e = caught(() => switchover(fleet(), 'zz', actor(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('server zz not found');
  });

  it('answers NoCandidate when no target is given and nobody is electable', () => {
    const st = state([server('p', { role: 'primary' }), server('a', { health: 'down' })]);
    const e = caught(() => switchover(st, undefined, actor(), NOW));
    expect(e.code).toBe('NoCandidate');
    expect(e.message).toBe('no electable replica');
  });

  it('switching to the current primary, or repeating a pending switchover, is a no-op', () => {
    const st = fleet();
    const toPrimary = switchover(st, 'p', actor(), NOW);
    expect(toPrimary.events).toEqual([]);
    expect(toPrimary.next).toBe(st);
    const pending = switchover(st, 'a', actor(), NOW).next;
    const again = switchover(pending, 'a', actor(), NOW + SEC);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(pending);
    const other = switchover(pending, 'b', actor(), NOW + SEC);
    expect(other.next.cluster.pendingSwitchover!.to).toBe('b');
  });
});

describe('procedures paused (GreptimeDB procedure manager)', () => {
  it('pauses and resumes with an event each, shows in the failover view, and repeats are no-ops', () => {
    const s0 = state([server('a', { role: 'primary' })]);
    expect(failoverView(s0, NOW).proceduresPaused).toBe(false);
    const paused = setProceduresPaused(s0, true);
    expect(paused.events.map((e) => e.action)).toEqual(['pause-procedures']);
    expect(paused.events[0]).toMatchObject({ target: 'cluster', after: { proceduresPaused: true } });
    expect((paused.events[0]!.before as { proceduresPaused?: boolean }).proceduresPaused).toBeUndefined();
    expect(failoverView(paused.next, NOW).proceduresPaused).toBe(true);
    expect(setProceduresPaused(paused.next, true).events).toEqual([]);
    expect(setProceduresPaused(paused.next, true).next).toBe(paused.next);
    const resumed = setProceduresPaused(paused.next, false);
    expect(resumed.events.map((e) => e.action)).toEqual(['resume-procedures']);
    expect(resumed.next.cluster.proceduresPaused).toBe(false);
    expect(setProceduresPaused(s0, false).events).toEqual([]);
  });
});
