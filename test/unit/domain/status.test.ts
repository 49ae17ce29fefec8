/** status.ts: agents' reports; routine vs routing-relevant (docs/claims-and-budget.md "Time, and the sweeper"). */
import { describe, expect, it } from 'vitest';
import { viewOf } from '../../../functions/domain/derive.js';
import { DomainError } from '../../../functions/domain/errors.js';
import type { ClusterState, Server } from '../../../functions/domain/model.js';
import { applyReport, reportStatus, routineCondition, type StatusReport } from '../../../functions/domain/status.js';
import { claim, MIN, NOW, SEC, server, state } from './fixtures.js';

const one = (s: Server): ClusterState => state([s, server('other')]);

describe('applyReport', () => {
  it('records health and the report time, and every field the report carries', () => {
    const s = server('a', { health: 'unknown', reportedAt: undefined });
    const next = applyReport(
      s,
      {
        health: 'running',
        role: 'primary',
        connections: 4,
        openTransactions: 1,
        version: '11.4',
        replicationLagSeconds: 0,
      },
      NOW,
    );
    expect(next).toEqual({
      ...s,
      health: 'running',
      reportedAt: NOW,
      role: 'primary',
      connections: 4,
      openTransactions: 1,
      version: '11.4',
      replicationLagSeconds: 0,
    });
    expect(s.health).toBe('unknown');
  });

  it('keeps what a report leaves out', () => {
    const s = server('a', {
      role: 'primary',
      connections: 4,
      openTransactions: 1,
      version: 'v1',
      replicationLagSeconds: 3,
    });
    expect(applyReport(s, { health: 'down' }, NOW + SEC)).toEqual({ ...s, health: 'down', reportedAt: NOW + SEC });
  });

  it('records zeros', () => {
    const s = server('a', { connections: 4, openTransactions: 1, replicationLagSeconds: 3 });
    expect(
      applyReport(s, { health: 'running', connections: 0, openTransactions: 0, replicationLagSeconds: 0 }, NOW),
    ).toMatchObject({
      connections: 0,
      openTransactions: 0,
      replicationLagSeconds: 0,
    });
  });
});

describe('routineCondition', () => {
  it('holds health alone for a bare report', () => {
    expect(routineCondition({ health: 'running' }, NOW, MIN)).toStrictEqual({
      health: 'running',
      reportedSince: NOW - MIN,
    });
  });
  it('holds role, version and the signs of the counts the report carries', () => {
    expect(
      routineCondition(
        {
          health: 'down',
          role: 'replica',
          version: 'v2',
          connections: 3,
          openTransactions: 0,
          replicationLagSeconds: 9,
        },
        NOW,
        MIN,
      ),
    ).toStrictEqual({
      health: 'down',
      reportedSince: NOW - MIN,
      role: 'replica',
      version: 'v2',
      connectionsPositive: true,
      openTransactionsPositive: false,
    });
    expect(routineCondition({ health: 'running', connections: 0, openTransactions: 2 }, NOW, MIN)).toStrictEqual({
      health: 'running',
      reportedSince: NOW - MIN,
      connectionsPositive: false,
      openTransactionsPositive: true,
    });
  });
});

describe('reportStatus', () => {
  it('rejects an unknown server', () => {
    expect(() => reportStatus(state([]), 'a', { health: 'running' }, NOW)).toThrow(DomainError);
    let error: unknown;
    try {
      reportStatus(state([]), 'a', { health: 'running' }, NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'NotFound', message: 'server a not found' });
  });

  it('the first report (unknown → running) is routing-relevant, with a status event', () => {
    const st = one(server('a', { health: 'unknown', reportedAt: undefined }));
    const o = reportStatus(st, 'a', { health: 'running' }, NOW);
    expect(o.routingRelevant).toBe(true);
    expect(o.events).toEqual([expect.objectContaining({ action: 'status', target: 'server:a' })]);
    expect(o.events[0]!.before).toMatchObject({ health: 'unknown' });
    expect(o.events[0]!.after).toMatchObject({ health: 'running' });
    expect(o.next.servers.get('a')).toMatchObject({ health: 'running', reportedAt: NOW });
  });

  it('a status event whose state string changed gives the change as its reason', () => {
    const first = reportStatus(
      one(server('a', { health: 'unknown', reportedAt: undefined })),
      'a',
      { health: 'running' },
      NOW,
    );
    expect(first.events[0]!.reason).toBe('no report → Slave, Running');
    const down = reportStatus(first.next, 'a', { health: 'down' }, NOW + SEC);
    expect(down.events[0]!.reason).toBe('Slave, Running → Down');
  });

  it('a status event with the same state string has no reason', () => {
    const o = reportStatus(one(server('a', { version: '10.6' })), 'a', { health: 'running', version: '11.4' }, NOW);
    expect(o.events).toHaveLength(1);
    expect('reason' in o.events[0]!).toBe(false);
  });

  it('a report that changes only connection counts or lag is routine: written, no event', () => {
    const st = one(server('a', { connections: 3, replicationLagSeconds: 1 }));
    const o = reportStatus(st, 'a', { health: 'running', connections: 50, replicationLagSeconds: 2 }, NOW);
    expect(o.routingRelevant).toBe(false);
    expect(o.events).toEqual([]);
    expect(o.next.servers.get('a')).toMatchObject({ connections: 50, replicationLagSeconds: 2, reportedAt: NOW });
  });

  it('a server going down is routing-relevant', () => {
    const o = reportStatus(one(server('a')), 'a', { health: 'down' }, NOW);
    expect(o.routingRelevant).toBe(true);
    expect(viewOf(o.next, 'a', NOW)!.state).toBe('Down');
  });

  it('a new version is routing-relevant', () => {
    const o = reportStatus(one(server('a', { version: '10.6' })), 'a', { health: 'running', version: '11.4' }, NOW);
    expect(o.routingRelevant).toBe(true);
    expect(o.events).toHaveLength(1);
  });

  it('a role change is routing-relevant even when the state string hides it', () => {
    const st = one(server('a', { role: 'primary', claims: { manual: claim({ force: true }) } }));
    expect(viewOf(st, 'a', NOW)!.state).toBe('Maintenance, Running');
    const o = reportStatus(st, 'a', { health: 'running', role: 'replica' }, NOW);
    expect(viewOf(o.next, 'a', NOW)!.state).toBe('Maintenance, Running');
    expect(o.routingRelevant).toBe(true);
  });

  it('a change of state string alone is routing-relevant (Draining → Drained)', () => {
    const st = one(server('a', { connections: 2, claims: { manual: claim({ mode: 'drain' }) } }));
    const o = reportStatus(st, 'a', { health: 'running', connections: 0 }, NOW);
    expect(viewOf(o.next, 'a', NOW)!.state).toBe('Drained, Slave, Running');
    expect(o.routingRelevant).toBe(true);
  });

  it('a pending primary whose transactions completed enters maintenance: routing-relevant', () => {
    const st = one(
      server('a', {
        role: 'primary',
        openTransactions: 2,
        claims: { manual: claim({ drainDeadline: NOW + 60 * SEC }) },
      }),
    );
    const o = reportStatus(st, 'a', { health: 'running', openTransactions: 0 }, NOW);
    expect(o.routingRelevant).toBe(true);
    const v = viewOf(o.next, 'a', NOW)!;
    expect(v.maintenance).toBe(true);
    expect(v.closeConnections).toBe(true);
  });

  it('a stale server reporting again becomes electable: routing-relevant', () => {
    const st = one(server('a', { reportedAt: NOW - 120 * SEC }));
    expect(viewOf(st, 'a', NOW)!.electable).toBe(false);
    const o = reportStatus(st, 'a', { health: 'running' }, NOW);
    expect(o.routingRelevant).toBe(true);
  });

  it('a stale down server reporting again is no longer stale: routing-relevant (the list shows `stale`)', () => {
    const st = one(server('a', { health: 'down', reportedAt: NOW - 120 * SEC }));
    expect(viewOf(st, 'a', NOW)!.stale).toBe(true);
    const o = reportStatus(st, 'a', { health: 'down' }, NOW);
    expect(viewOf(o.next, 'a', NOW)!.stale).toBe(false);
    expect(o.routingRelevant).toBe(true);
  });

  it('the same report twice is routine the second time', () => {
    const report: StatusReport = {
      health: 'running',
      role: 'replica',
      version: 'v1',
      connections: 1,
      openTransactions: 0,
    };
    const st = reportStatus(one(server('a', { health: 'unknown' })), 'a', report, NOW).next;
    const o = reportStatus(st, 'a', report, NOW + 10 * SEC);
    expect(o.routingRelevant).toBe(false);
    expect(o.events).toEqual([]);
  });

  it('the elected server reporting primary completes the pending switchover', () => {
    const pendingSwitchover = { kind: 'failover' as const, from: 'p', to: 'a', actor: 'ha', requestedAt: NOW - SEC };
    const st = state([server('p', { role: 'primary' }), server('a')], { cluster: { pendingSwitchover } });
    const o = reportStatus(st, 'a', { health: 'running', role: 'primary' }, NOW);
    expect(o.next.cluster.pendingSwitchover).toBeUndefined();
    expect('pendingSwitchover' in o.next.cluster).toBe(false);
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['status', 'server:a'],
      ['complete-switchover', 'cluster'],
    ]);
    expect(o.events[1]!.before).toMatchObject({ pendingSwitchover });
    expect(o.next.servers.get('a')!.role).toBe('primary');
    expect(o.routingRelevant).toBe(true);
  });

  it('a switchover is still pending while the target reports another role, or another server reports primary', () => {
    const pendingSwitchover = { kind: 'switchover' as const, to: 'a', actor: 'ops', requestedAt: NOW - SEC };
    const st = state([server('p', { role: 'primary' }), server('a'), server('b')], { cluster: { pendingSwitchover } });
    expect(reportStatus(st, 'a', { health: 'running', role: 'replica' }, NOW).next.cluster.pendingSwitchover).toEqual(
      pendingSwitchover,
    );
    expect(reportStatus(st, 'a', { health: 'running' }, NOW).next.cluster.pendingSwitchover).toEqual(pendingSwitchover);
    const other = reportStatus(st, 'b', { health: 'running', role: 'primary' }, NOW);
    expect(other.next.cluster.pendingSwitchover).toEqual(pendingSwitchover);
    expect(other.events.map((e) => e.action)).toEqual(['status']);
  });
});
