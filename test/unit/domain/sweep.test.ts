/** sweep.ts: what the every-minute sweeper writes (docs/claims-and-budget.md "Time, and the sweeper"). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { viewAll } from '../../../functions/domain/derive.js';
import type { Claim, ClusterState, Health, ServerRole } from '../../../functions/domain/model.js';
import { sweep } from '../../../functions/domain/sweep.js';
import { claim, dc, HOUR, MIN, NOW, SEC, replicas, server, state } from './fixtures.js';

const actions = (st: ClusterState, now = NOW, max?: number) =>
  sweep(st, now, max).events.map((e) => [e.action, e.target]);

describe('sweep', () => {
  it('does nothing when time has changed nothing', () => {
    const st = state(
      [
        server('a', { claims: { manual: claim({ until: NOW + HOUR, drainDeadline: NOW + MIN }) } }),
        server('u', { health: 'unknown', reportedAt: undefined }),
      ],
      {
        dcs: [dc('dc1', { manual: claim({ until: NOW + 1 }) })],
        cluster: { claims: { manual: claim({ until: NOW + 1 }) } },
      },
    );
    const o = sweep(st, NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('marks a server whose last report is older than staleAfterSeconds down, with a stale event', () => {
    const st = state([server('a', { reportedAt: NOW - 61 * SEC }), server('b', { reportedAt: NOW - 60 * SEC })]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['stale', 'server:a']]);
    expect(o.next.servers.get('a')!.health).toBe('down');
    expect(o.next.servers.get('b')!.health).toBe('running');
    expect(o.events[0]!.before).toMatchObject({ health: 'running' });
    expect(o.events[0]!.after).toMatchObject({ health: 'down' });
  });

  it('does not mark again a server already down, nor one that never reported', () => {
    const st = state([
      server('a', { health: 'down', reportedAt: NOW - HOUR }),
      server('u', { health: 'unknown', reportedAt: undefined }),
    ]);
    expect(sweep(st, NOW).events).toEqual([]);
  });

  it('removes an expired server claim', () => {
    const st = state([
      server('a', { claims: { manual: claim({ until: NOW }), 'window:w': claim({ until: NOW + 1 }) } }),
    ]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['expire-maintenance', 'server:a']]);
    expect(Object.keys(o.next.servers.get('a')!.claims)).toEqual(['window:w']);
    expect(sweep(st, NOW - 1).events).toEqual([]);
  });

  it('does not expire a claim on a down server: it records expiry-blocked once', () => {
    const st = state([server('a', { health: 'down', claims: { manual: claim({ until: NOW - MIN }) } })]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['expiry-blocked', 'server:a']]);
    expect(o.next.servers.get('a')!.claims.manual).toEqual({ ...claim({ until: NOW - MIN }), expiryBlocked: true });
    const again = sweep(o.next, NOW + MIN);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(o.next);
  });

  it('a server going stale keeps its expired claims: stale, then expiry-blocked', () => {
    const st = state([server('a', { reportedAt: NOW - HOUR, claims: { manual: claim({ until: NOW - MIN }) } })]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([
      ['stale', 'server:a'],
      ['expiry-blocked', 'server:a'],
    ]);
    const a = o.next.servers.get('a')!;
    expect(a.health).toBe('down');
    expect(a.claims.manual!.expiryBlocked).toBe(true);
    // each event sees the state left by the one before it
    expect(o.events[1]!.before).toMatchObject({ health: 'down' });
  });

  it('forces a pending primary past its force deadline', () => {
    const p = server('p', { role: 'primary', openTransactions: 2, claims: { manual: claim({ drainDeadline: NOW }) } });
    const st = state([p, ...replicas('r', 2)]);
    expect(sweep(st, NOW - 1).events).toEqual([]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['force-deadline', 'server:p']]);
    expect(o.next.servers.get('p')!.claims.manual).toEqual({ ...claim({ drainDeadline: NOW }), force: true });
    // the sweeper writes what reads already showed
    expect(viewAll(o.next, NOW).map((v) => v.state)).toEqual(viewAll(st, NOW).map((v) => v.state));
  });

  it('does not force a primary that holds, has no open transactions, is down, or is already forced', () => {
    const cases = [
      server('p', {
        role: 'primary',
        openTransactions: 2,
        claims: { manual: claim({ drainDeadline: NOW - 1, onDeadline: 'hold' }) },
      }),
      server('p', { role: 'primary', openTransactions: 0, claims: { manual: claim({ drainDeadline: NOW - 1 }) } }),
      server('p', { role: 'primary', claims: { manual: claim({ drainDeadline: NOW - 1 }) } }),
      server('p', {
        role: 'primary',
        health: 'down',
        openTransactions: 2,
        claims: { manual: claim({ drainDeadline: NOW - 1 }) },
      }),
      server('p', {
        role: 'primary',
        openTransactions: 2,
        claims: { manual: claim({ force: true, drainDeadline: NOW - 1 }) },
      }),
      server('p', { role: 'replica', openTransactions: 2, claims: { manual: claim({ drainDeadline: NOW - 1 }) } }),
      server('p', { role: 'primary', openTransactions: 2, claims: { manual: claim({ drainDeadline: undefined }) } }),
    ];
    for (const p of cases) expect(sweep(state([p]), NOW).events).toEqual([]);
  });

  it('an expired claim past its deadline is expired, not forced', () => {
    const p = server('p', {
      role: 'primary',
      openTransactions: 2,
      claims: { manual: claim({ drainDeadline: NOW - 1, until: NOW }) },
    });
    expect(actions(state([p]))).toEqual([['expire-maintenance', 'server:p']]);
  });

  it('removes expired dc claims', () => {
    const st = state([...replicas('r', 3)], {
      dcs: [dc('dc1', { manual: claim({ until: NOW }), 'window:w': claim() })],
    });
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['expire-maintenance', 'dc:dc1']]);
    expect(Object.keys(o.next.dcs.get('dc1')!.claims)).toEqual(['window:w']);
    expect(o.next.dcs.get('dc1')!.name).toBe('dc1');
  });

  it('forces a dc claim past its deadline while a primary of that dc is still pending', () => {
    const st = state([server('p', { role: 'primary', openTransactions: 1 }), ...replicas('r', 2)], {
      dcs: [dc('dc1', { manual: claim({ drainDeadline: NOW }) }), dc('dc2', { manual: claim({ drainDeadline: NOW }) })],
    });
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['force-deadline', 'dc:dc1']]);
    expect(o.next.dcs.get('dc1')!.claims.manual!.force).toBe(true);
    expect(o.next.dcs.get('dc2')).toBe(st.dcs.get('dc2'));
    expect(sweep(st, NOW - 1).events).toEqual([]);
    const holding = state([server('p', { role: 'primary', openTransactions: 1 })], {
      dcs: [dc('dc1', { manual: claim({ drainDeadline: NOW, onDeadline: 'hold' }) })],
    });
    expect(sweep(holding, NOW).events).toEqual([]);
  });

  it('a dc change that both expires and forces is one expire-maintenance event', () => {
    const st = state([server('p', { role: 'primary', openTransactions: 1 })], {
      dcs: [dc('dc1', { manual: claim({ drainDeadline: NOW - 1 }), 'window:w': claim({ until: NOW - 1 }) })],
    });
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['expire-maintenance', 'dc:dc1']]);
    expect(o.next.dcs.get('dc1')!.claims).toEqual({ manual: { ...claim({ drainDeadline: NOW - 1 }), force: true } });
  });

  it('expires cluster claims, including a forgotten manual pause', () => {
    const st = state([server('a')], {
      cluster: { rollout: 'r1', claims: { manual: claim({ until: NOW - 1 }), 'rollout:r1': claim() } },
    });
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([['expire-maintenance', 'cluster']]);
    expect(Object.keys(o.next.cluster.claims)).toEqual(['rollout:r1']);
  });

  it("releases a rollout's pause of automation once the rollout holds neither the lock nor a server", () => {
    const held = state([server('a', { claims: { 'rollout:r1': claim() } })], {
      cluster: { claims: { 'rollout:r1': claim() } },
    });
    expect(sweep(held, NOW).events).toEqual([]);
    const orphaned = state([server('a')], {
      cluster: { claims: { 'rollout:r1': claim(), manual: claim({ until: NOW + HOUR }) } },
    });
    const o = sweep(orphaned, NOW);
    expect(actions(orphaned)).toEqual([['clear-maintenance', 'cluster']]);
    expect(Object.keys(o.next.cluster.claims)).toEqual(['manual']);
    const locked = state([server('a')], { cluster: { rollout: 'r1', claims: { 'rollout:r1': claim() } } });
    expect(sweep(locked, NOW).events).toEqual([]);
  });

  it('applies at most maxChanges changes, 40 by default', () => {
    const many = state(replicas('s', 45, 'dc1', { reportedAt: NOW - HOUR }));
    const o = sweep(many, NOW);
    expect(o.events).toHaveLength(40);
    expect([...o.next.servers.values()].filter((s) => s.health === 'down')).toHaveLength(40);
    const few = sweep(many, NOW, 3);
    expect(few.events).toHaveLength(3);
    expect([...few.next.servers.values()].filter((s) => s.health === 'down')).toHaveLength(3);
    // the next sweep picks up the rest
    expect(sweep(o.next, NOW).events).toHaveLength(5);
  });

  it('handles several claims of one server in one sweep', () => {
    const st = state([
      server('p', {
        role: 'primary',
        openTransactions: 3,
        claims: { manual: claim({ until: NOW - 1 }), 'rollout:r': claim({ drainDeadline: NOW - 1 }) },
      }),
    ]);
    const o = sweep(st, NOW);
    expect(actions(st)).toEqual([
      ['expire-maintenance', 'server:p'],
      ['force-deadline', 'server:p'],
    ]);
    expect(o.next.servers.get('p')!.claims).toEqual({
      'rollout:r': { ...claim({ drainDeadline: NOW - 1 }), force: true },
    });
  });

  it('property: for servers that are not stale, the sweep writes exactly what reads already show', () => {
    const claimArb: fc.Arbitrary<Claim> = fc
      .record({
        mode: fc.constantFrom<'maintenance' | 'drain'>('maintenance', 'drain'),
        force: fc.boolean(),
        onDeadline: fc.constantFrom<'force' | 'hold'>('force', 'hold'),
        until: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
        drainDeadline: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }),
      })
      .map(({ until, drainDeadline, ...c }) => {
        const out: Claim = { ...c, actor: 'x', since: NOW - HOUR };
        if (until !== undefined) out.until = NOW + until * MIN;
        if (drainDeadline !== undefined) out.drainDeadline = NOW + drainDeadline * MIN;
        return out;
      });
    const claimsArb = fc.dictionary(fc.constantFrom('manual', 'window:w', 'rollout:r'), claimArb, { maxKeys: 3 });
    const serverArb = fc.record({
      role: fc.constantFrom<ServerRole>('primary', 'replica', 'member'),
      health: fc.constantFrom<Health>('running', 'down', 'unknown'),
      dc: fc.constantFrom('dc1', 'dc2'),
      openTransactions: fc.option(fc.nat(3), { nil: undefined }),
      connections: fc.option(fc.nat(3), { nil: undefined }),
      claims: claimsArb,
    });
    fc.assert(
      fc.property(fc.array(serverArb, { maxLength: 5 }), claimsArb, claimsArb, (specs, dc1, dc2) => {
        const st = state(
          specs.map((s, i) => server(`s${i}`, s)),
          { dcs: [dc('dc1', dc1), dc('dc2', dc2)] },
        );
        const project = (x: ClusterState) =>
          viewAll(x, NOW).map((v) => ({
            state: v.state,
            routable: v.routable,
            electable: v.electable,
            unavailable: v.unavailable,
            close: v.closeConnections,
          }));
        const swept = sweep(st, NOW).next;
        expect(project(swept)).toEqual(project(st));
        // and a second sweep has nothing left to do
        expect(sweep(swept, NOW).events).toEqual([]);
      }),
    );
  });
});
