/** derive.ts: what a server looks like at an instant (docs/claims-and-budget.md: graceful and forced, the state string). */
import { describe, expect, it } from 'vitest';
import {
  activeClaims,
  claimHolds,
  clusterPaused,
  entityTag,
  staleness,
  isForced,
  isStale,
  stateString,
  transitionTimes,
  viewAll,
  viewOf,
  viewServer,
  type ServerView,
} from '../../../functions/domain/derive.js';
import type { Datacenter, Server } from '../../../functions/domain/model.js';
import { claim, cluster, dc, HOUR, MIN, NOW, SEC, server, state } from './fixtures.js';

const view = (s: Server, d?: Datacenter, now = NOW) => viewServer(s, d, cluster(), now);

/** The flags a consumer reads, without the server itself. */
const flags = (v: ServerView) => ({
  maintenance: v.maintenance,
  pending: v.pending,
  draining: v.draining,
  drained: v.drained,
  closeConnections: v.closeConnections,
  unavailable: v.unavailable,
  routable: v.routable,
  electable: v.electable,
  state: v.state,
});

describe('viewServer without claims', () => {
  it('a running replica is routable, electable, available: "Slave, Running"', () => {
    expect(flags(view(server('r1')))).toEqual({
      maintenance: false,
      pending: false,
      draining: false,
      drained: false,
      closeConnections: false,
      unavailable: false,
      routable: true,
      electable: true,
      state: 'Slave, Running',
    });
  });

  it('a running primary shows "Master, Running"; a member shows "Running"', () => {
    expect(view(server('p', { role: 'primary' })).state).toBe('Master, Running');
    expect(view(server('m', { role: 'member' })).state).toBe('Running');
  });

  it('a down server shows "Down", is unavailable and neither routable nor electable', () => {
    for (const role of ['primary', 'replica', 'member'] as const) {
      const v = view(server('d', { role, health: 'down' }));
      expect(v.state).toBe('Down');
      expect(v.unavailable).toBe(true);
      expect(v.routable).toBe(false);
      expect(v.electable).toBe(false);
      expect(v.maintenance).toBe(false);
    }
  });

  it('a server that has not reported yet shows no health part, counts as available, but is not routable or electable', () => {
    const v = view(server('u', { health: 'unknown', reportedAt: undefined }));
    expect(v.state).toBe('');
    expect(v.unavailable).toBe(false);
    expect(v.routable).toBe(false);
    expect(v.electable).toBe(false);
    expect(v.stale).toBe(false);
  });

  it('a stale running server is still routable but not electable', () => {
    const v = view(server('s', { reportedAt: NOW - 61 * SEC }));
    expect(v.stale).toBe(true);
    expect(v.routable).toBe(true);
    expect(v.electable).toBe(false);
    expect(v.unavailable).toBe(false);
  });

  it('keeps the server it describes', () => {
    const s = server('r1');
    expect(view(s).server).toBe(s);
    expect(view(s).claims).toEqual([]);
  });
});

describe('isStale', () => {
  const c = cluster({ staleAfterSeconds: 60 });
  it('is stale only once the last report is strictly older than staleAfterSeconds', () => {
    expect(isStale(server('a', { reportedAt: NOW - 60 * SEC }), c, NOW)).toBe(false);
    expect(isStale(server('a', { reportedAt: NOW - 60 * SEC - 1 }), c, NOW)).toBe(true);
    expect(isStale(server('a', { reportedAt: NOW }), c, NOW)).toBe(false);
  });
  it('follows the cluster setting', () => {
    const s = server('a', { reportedAt: NOW - 30 * SEC });
    expect(isStale(s, cluster({ staleAfterSeconds: 10 }), NOW)).toBe(true);
    expect(isStale(s, cluster({ staleAfterSeconds: 30 }), NOW)).toBe(false);
  });
  it('a server that never reported is not stale', () => {
    expect(isStale(server('a', { reportedAt: undefined }), c, NOW + 10 * HOUR)).toBe(false);
  });
});

describe('viewServer with maintenance claims', () => {
  it('a replica under a graceful claim is in maintenance at once: "Maintenance, Running", connections closed', () => {
    const v = view(server('r1', { claims: { manual: claim({ drainDeadline: NOW + 5 * MIN }) }, openTransactions: 3 }));
    expect(flags(v)).toEqual({
      maintenance: true,
      pending: false,
      draining: false,
      drained: false,
      closeConnections: true,
      unavailable: true,
      routable: false,
      electable: false,
      state: 'Maintenance, Running',
    });
  });

  it('a member with open transactions is in maintenance at once', () => {
    const v = view(
      server('m', { role: 'member', openTransactions: 4, claims: { manual: claim({ drainDeadline: NOW + MIN }) } }),
    );
    expect(v.maintenance).toBe(true);
    expect(v.state).toBe('Maintenance, Running');
  });

  it('a primary without open transactions is in maintenance at once and the role is hidden', () => {
    for (const openTransactions of [0, undefined]) {
      const v = view(
        server('p', { role: 'primary', openTransactions, claims: { manual: claim({ drainDeadline: NOW + MIN }) } }),
      );
      expect(v.maintenance).toBe(true);
      expect(v.pending).toBe(false);
      expect(v.state).toBe('Maintenance, Running');
    }
  });

  it('a primary with open transactions is pending: "Draining, Master, Running", not routable, not yet closing', () => {
    const v = view(
      server('p', {
        role: 'primary',
        openTransactions: 2,
        connections: 10,
        claims: { manual: claim({ drainDeadline: NOW + MIN }) },
      }),
    );
    expect(flags(v)).toEqual({
      maintenance: false,
      pending: true,
      draining: true,
      drained: false,
      closeConnections: false,
      unavailable: true,
      routable: false,
      electable: false,
      state: 'Draining, Master, Running',
    });
  });

  it('a pending primary is shown Draining even with no connections counted', () => {
    const v = view(
      server('p', {
        role: 'primary',
        openTransactions: 1,
        connections: 0,
        claims: { manual: claim({ drainDeadline: NOW + MIN }) },
      }),
    );
    expect(v.pending).toBe(true);
    expect(v.draining).toBe(true);
    expect(v.drained).toBe(false);
  });

  it('at its drainDeadline with onDeadline force, a pending primary becomes forced', () => {
    const p = server('p', {
      role: 'primary',
      openTransactions: 2,
      claims: { manual: claim({ drainDeadline: NOW, onDeadline: 'force' }) },
    });
    expect(view(p, undefined, NOW - 1).pending).toBe(true);
    const atDeadline = view(p, undefined, NOW);
    expect(atDeadline.pending).toBe(false);
    expect(atDeadline.maintenance).toBe(true);
    expect(atDeadline.closeConnections).toBe(true);
    expect(atDeadline.state).toBe('Maintenance, Running');
  });

  it('with onDeadline hold, a pending primary stays pending past its deadline', () => {
    const p = server('p', {
      role: 'primary',
      openTransactions: 2,
      claims: { 'rollout:r1': claim({ drainDeadline: NOW - HOUR, onDeadline: 'hold' }) },
    });
    const v = view(p);
    expect(v.pending).toBe(true);
    expect(v.state).toBe('Draining, Master, Running');
  });

  it('a forced claim puts a primary with open transactions in maintenance at once, closing connections', () => {
    const p = server('p', { role: 'primary', openTransactions: 5, claims: { manual: claim({ force: true }) } });
    const v = view(p);
    expect(v.pending).toBe(false);
    expect(v.maintenance).toBe(true);
    expect(v.closeConnections).toBe(true);
  });

  it('one forced claim among several is enough to stop the wait', () => {
    const p = server('p', {
      role: 'primary',
      openTransactions: 5,
      claims: { manual: claim({ drainDeadline: NOW + HOUR }), 'rollout:r1': claim({ force: true }) },
    });
    expect(view(p).maintenance).toBe(true);
  });

  it('a down primary with open transactions is not pending: "Maintenance, Down"', () => {
    const p = server('p', {
      role: 'primary',
      health: 'down',
      openTransactions: 5,
      claims: { manual: claim({ drainDeadline: NOW + HOUR }) },
    });
    const v = view(p);
    expect(v.pending).toBe(false);
    expect(v.maintenance).toBe(true);
    expect(v.state).toBe('Maintenance, Down');
  });

  it('a server that has not reported yet shows just "Maintenance" under a claim and counts as unavailable', () => {
    const v = view(server('u', { health: 'unknown', reportedAt: undefined, claims: { manual: claim() } }));
    expect(v.state).toBe('Maintenance');
    expect(v.unavailable).toBe(true);
  });
});

describe('viewServer with drain claims', () => {
  const drain = claim({ mode: 'drain' });

  it('shows "Draining" while connections remain: no new connections, existing go on', () => {
    const v = view(server('r1', { connections: 3, claims: { manual: drain } }));
    expect(flags(v)).toEqual({
      maintenance: false,
      pending: false,
      draining: true,
      drained: false,
      closeConnections: false,
      unavailable: true,
      routable: false,
      electable: false,
      state: 'Draining, Slave, Running',
    });
  });

  it('shows "Drained" once no connection remains', () => {
    for (const connections of [0, undefined]) {
      const v = view(server('r1', { connections, claims: { manual: drain } }));
      expect(v.drained).toBe(true);
      expect(v.draining).toBe(false);
      expect(v.state).toBe('Drained, Slave, Running');
    }
  });

  it('a primary under drain keeps its role in the state string', () => {
    expect(view(server('p', { role: 'primary', connections: 1, claims: { manual: drain } })).state).toBe(
      'Draining, Master, Running',
    );
    expect(view(server('p', { role: 'primary', openTransactions: 9, claims: { manual: drain } })).pending).toBe(false);
  });

  it('a maintenance claim wins over a drain claim', () => {
    const v = view(server('r1', { connections: 3, claims: { manual: drain, 'window:w1': claim() } }));
    expect(v.maintenance).toBe(true);
    expect(v.draining).toBe(false);
    expect(v.drained).toBe(false);
    expect(v.state).toBe('Maintenance, Running');
  });

  it('a drained down server shows "Drained, Down"', () => {
    expect(view(server('r1', { health: 'down', claims: { manual: drain } })).state).toBe('Drained, Down');
  });
});

describe('claims from the dc and expiry', () => {
  it('a server is in maintenance through its dc claim, reported with scope dc', () => {
    const d = dc('dc1', { manual: claim({ reason: 'dc work' }) });
    const v = view(server('r1'), d);
    expect(v.maintenance).toBe(true);
    expect(v.claims).toEqual([{ ...claim({ reason: 'dc work' }), holder: 'manual', scope: 'dc' }]);
  });

  it('lists server claims first, then dc claims, each with holder and scope', () => {
    const d = dc('dc1', { 'window:w1': claim({ mode: 'drain' }) });
    const v = view(server('r1', { claims: { 'rollout:r1': claim({ reason: 'upgrade' }) } }), d);
    expect(v.claims.map((c) => [c.holder, c.scope, c.mode])).toEqual([
      ['rollout:r1', 'server', 'maintenance'],
      ['window:w1', 'dc', 'drain'],
    ]);
    expect(v.claims[0]!.reason).toBe('upgrade');
  });

  it('ignores a server claim once its until has passed', () => {
    const s = server('r1', { claims: { manual: claim({ until: NOW }) } });
    expect(view(s, undefined, NOW - 1).maintenance).toBe(true);
    const after = view(s, undefined, NOW);
    expect(after.maintenance).toBe(false);
    expect(after.claims).toEqual([]);
    expect(after.routable).toBe(true);
    expect(after.state).toBe('Slave, Running');
  });

  it('keeps an expired claim on a down server: expiry does not return it to service', () => {
    const s = server('r1', { health: 'down', claims: { manual: claim({ until: NOW - HOUR }) } });
    const v = view(s);
    expect(v.maintenance).toBe(true);
    expect(v.state).toBe('Maintenance, Down');
  });

  it('ignores an expired dc claim', () => {
    const d = dc('dc1', { manual: claim({ until: NOW - 1 }) });
    expect(view(server('r1'), d).maintenance).toBe(false);
    expect(view(server('r1'), d, NOW - 2).maintenance).toBe(true);
  });
});

describe('claim helpers', () => {
  it('isForced: force, or a passed force deadline', () => {
    expect(isForced(claim({ force: true }), NOW)).toBe(true);
    expect(isForced(claim({ drainDeadline: NOW + 1 }), NOW)).toBe(false);
    expect(isForced(claim({ drainDeadline: NOW }), NOW)).toBe(true);
    expect(isForced(claim({ drainDeadline: NOW - 1 }), NOW)).toBe(true);
    expect(isForced(claim({ drainDeadline: NOW - 1, onDeadline: 'hold' }), NOW)).toBe(false);
    expect(isForced(claim({ drainDeadline: undefined }), NOW)).toBe(false);
  });

  it('claimHolds: no until, before until, or on a down server', () => {
    expect(claimHolds(claim(), NOW, false)).toBe(true);
    expect(claimHolds(claim({ until: NOW + 1 }), NOW, false)).toBe(true);
    expect(claimHolds(claim({ until: NOW }), NOW, false)).toBe(false);
    expect(claimHolds(claim({ until: NOW }), NOW, true)).toBe(true);
  });

  it('activeClaims keeps holders whose claims hold, defaulting to a server that is up', () => {
    const claims = { manual: claim({ until: NOW - 1 }), 'window:w1': claim({ until: NOW + 1 }), 'rollout:r1': claim() };
    expect(activeClaims(claims, NOW).map(([h]) => h)).toEqual(['window:w1', 'rollout:r1']);
    expect(activeClaims(claims, NOW, true).map(([h]) => h)).toEqual(['manual', 'window:w1', 'rollout:r1']);
    expect(activeClaims(claims, NOW)[0]![1]).toBe(claims['window:w1']);
  });

  it('clusterPaused while any cluster claim holds', () => {
    expect(clusterPaused(cluster(), NOW)).toBe(false);
    expect(clusterPaused(cluster({ claims: { manual: claim({ until: NOW + 1 }) } }), NOW)).toBe(true);
    expect(clusterPaused(cluster({ claims: { manual: claim({ until: NOW }) } }), NOW)).toBe(false);
  });
});

describe('stateString', () => {
  const s = (over: Partial<Server>) => server('x', over);
  it('follows MaxScale order: Maintenance/Draining/Drained, then Master/Slave, then Running/Down', () => {
    expect(stateString({ server: s({ role: 'primary' }), maintenance: false, draining: false, drained: false })).toBe(
      'Master, Running',
    );
    expect(stateString({ server: s({ role: 'primary' }), maintenance: true, draining: false, drained: false })).toBe(
      'Maintenance, Running',
    );
    expect(
      stateString({
        server: s({ role: 'replica', health: 'down' }),
        maintenance: true,
        draining: false,
        drained: false,
      }),
    ).toBe('Maintenance, Down');
    expect(stateString({ server: s({ role: 'primary' }), maintenance: false, draining: true, drained: false })).toBe(
      'Draining, Master, Running',
    );
    expect(stateString({ server: s({ role: 'replica' }), maintenance: false, draining: false, drained: true })).toBe(
      'Drained, Slave, Running',
    );
    expect(
      stateString({
        server: s({ role: 'replica', health: 'down' }),
        maintenance: false,
        draining: false,
        drained: false,
      }),
    ).toBe('Down');
    expect(stateString({ server: s({ health: 'unknown' }), maintenance: false, draining: false, drained: false })).toBe(
      '',
    );
    expect(stateString({ server: s({ role: 'member' }), maintenance: false, draining: true, drained: false })).toBe(
      'Draining, Running',
    );
  });

  it('Maintenance takes precedence over Draining and Drained', () => {
    expect(stateString({ server: s({ role: 'replica' }), maintenance: true, draining: true, drained: true })).toBe(
      'Maintenance, Running',
    );
    expect(stateString({ server: s({ role: 'replica' }), maintenance: false, draining: true, drained: true })).toBe(
      'Draining, Slave, Running',
    );
  });
});

describe('viewOf and viewAll', () => {
  const st = state([server('b', { dc: 'dc2' }), server('a'), server('B'), server('c', { dc: 'dc3' })], {
    dcs: [dc('dc2', { manual: claim() })],
  });

  it('viewOf uses the server own dc, undefined for an unknown server', () => {
    expect(viewOf(st, 'b', NOW)!.maintenance).toBe(true);
    expect(viewOf(st, 'a', NOW)!.maintenance).toBe(false);
    expect(viewOf(st, 'c', NOW)!.maintenance).toBe(false);
    expect(viewOf(st, 'zz', NOW)).toBeUndefined();
  });

  it('viewAll lists every server sorted by name (code-unit order), each with its dc', () => {
    const all = viewAll(st, NOW);
    expect(all.map((v) => v.server.name)).toEqual(['B', 'a', 'b', 'c']);
    expect(all.map((v) => v.maintenance)).toEqual([false, false, true, false]);
  });

  it('viewAll takes staleness from the cluster', () => {
    const stale = state([server('a', { reportedAt: NOW - 20 * SEC })], { cluster: { staleAfterSeconds: 10 } });
    expect(viewAll(stale, NOW)[0]!.stale).toBe(true);
    expect(viewOf(stale, 'a', NOW)!.stale).toBe(true);
  });
});

describe('transitionTimes and entityTag', () => {
  it('collects every until and every pending force deadline of the cluster, dcs and servers, sorted numerically', () => {
    const st = state(
      [
        server('a', { claims: { manual: claim({ until: 100, drainDeadline: 9 }) } }),
        server('b', { claims: { manual: claim({ force: true, drainDeadline: 5 }), 'window:w': claim({ until: 20 }) } }),
        server('c', { claims: { manual: claim({ onDeadline: 'hold', drainDeadline: 7 }) } }),
      ],
      {
        cluster: { claims: { manual: claim({ until: 1000 }) } },
        dcs: [dc('dc1', { manual: claim({ until: 20, drainDeadline: 3 }) })],
      },
    );
    expect(transitionTimes(st)).toEqual([3, 9, 20, 100, 1000]);
  });

  it('is empty without claims or times', () => {
    expect(transitionTimes(state([server('a', { claims: { manual: claim() } })]))).toEqual([]);
  });

  it('the tag is the revision, the next transition after now (0 when there is none) and the stale servers', () => {
    expect(entityTag(12, [], NOW, 0)).toBe('"12-0-0"');
    expect(entityTag(12, [NOW - 5, NOW + 10, NOW + 20], NOW, 2)).toBe(`"12-${NOW + 10}-2"`);
    expect(entityTag(3, [NOW + 10], NOW + 10, 0)).toBe('"3-0-0"');
  });

  it('staleness: how many servers are stale, and the first instant another one is (a report at the bound is fresh)', () => {
    const st = state([
      server('a', { reportedAt: NOW - 60 * SEC }),
      server('b', { reportedAt: NOW - 61 * SEC }),
      server('c', { reportedAt: NOW - 10 * SEC }),
      server('u', { reportedAt: undefined }),
    ]);
    expect(st.cluster.staleAfterSeconds).toBe(60);
    expect(staleness(st, NOW)).toEqual({ count: 1, nextStaleAt: NOW + 1 });
    expect(staleness(st, NOW + 1)).toEqual({ count: 2, nextStaleAt: NOW + 50 * SEC + 1 });
    expect(staleness(st, NOW + HOUR)).toEqual({ count: 3 });
    expect(viewOf(st, 'a', NOW)!.stale).toBe(false);
    expect(viewOf(st, 'a', NOW + 1)!.stale).toBe(true);
  });

  it('the tag changes when a claim expiry passes, without any write', () => {
    const st = state([server('a', { claims: { manual: claim({ until: NOW + MIN }) } })]);
    const times = transitionTimes(st);
    const before = entityTag(st.cluster.revision, times, NOW + MIN - 1, 0);
    const at = entityTag(st.cluster.revision, times, NOW + MIN, 0);
    expect(before).not.toBe(at);
    // And the view indeed changed at that instant.
    expect(viewOf(st, 'a', NOW + MIN - 1)!.state).not.toBe(viewOf(st, 'a', NOW + MIN)!.state);
  });

  it('the tag changes when a force deadline passes, as the pending primary turns to maintenance', () => {
    const st = state([
      server('p', { role: 'primary', openTransactions: 1, claims: { manual: claim({ drainDeadline: NOW + MIN }) } }),
    ]);
    const times = transitionTimes(st);
    expect(entityTag(1, times, NOW, 0)).not.toBe(entityTag(1, times, NOW + MIN, 0));
    expect(viewOf(st, 'p', NOW)!.state).toBe('Draining, Master, Running');
    expect(viewOf(st, 'p', NOW + MIN)!.state).toBe('Maintenance, Running');
  });
});
