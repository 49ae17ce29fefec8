/** maintenance.ts: setting and clearing claims (docs/claims-and-budget.md). */
import { describe, expect, it } from 'vitest';
import { viewOf } from '../../../functions/domain/derive.js';
import {
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
  MANUAL_PAUSE_MAX_MS,
  clearClusterClaim,
  clearDcClaim,
  clearServerClaim,
  setClusterClaim,
  setDcClaim,
  setServerClaim,
} from '../../../functions/domain/maintenance.js';
import type { ClusterState } from '../../../functions/domain/model.js';
import {
  actor,
  admin,
  caught,
  claim,
  clearReq,
  dc,
  HOUR,
  MIN,
  NOW,
  replicas,
  SEC,
  server,
  setReq,
  state,
} from './fixtures.js';

/** A primary, two replicas in dc1 and three replicas in dc2. */
const fleet = (): ClusterState =>
  state([server('p', { role: 'primary' }), ...replicas('r', 2, 'dc1'), ...replicas('b', 3, 'dc2')]);

describe('setServerClaim', () => {
  it('puts a replica in maintenance at once, with a set-maintenance event and the verdict', () => {
    const st = fleet();
    const o = setServerClaim(st, 'r1', setReq({ reason: 'disk swap' }), actor(), NOW);
    const stored = o.next.servers.get('r1')!.claims.manual;
    expect(stored).toEqual({
      mode: 'maintenance',
      force: false,
      actor: 'alice',
      since: NOW,
      onDeadline: 'force',
      reason: 'disk swap',
      drainDeadline: NOW + DEFAULT_DRAIN_TIMEOUT_SECONDS * SEC,
    });
    expect(DEFAULT_DRAIN_TIMEOUT_SECONDS).toBe(300);
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({ action: 'set-maintenance', target: 'server:r1', reason: 'disk swap' });
    expect(o.events[0]!.before).toMatchObject({ claims: {} });
    expect(o.events[0]!.after).toMatchObject({ claims: { manual: stored } });
    expect('override' in o.events[0]!).toBe(false);
    expect(o.verdict).toEqual({ allowed: true, newlyUnavailable: ['r1'], losesPrimary: [], usingBudget: [] });
    expect(viewOf(o.next, 'r1', NOW)!.state).toBe('Maintenance, Running');
    // the input is left alone
    expect(st.servers.get('r1')!.claims).toEqual({});
  });

  it('records no reason when none is given and keeps other servers as they were', () => {
    const st = fleet();
    const o = setServerClaim(st, 'r1', setReq(), actor(), NOW);
    expect('reason' in o.events[0]!).toBe(false);
    expect('reason' in o.next.servers.get('r1')!.claims.manual!).toBe(false);
    expect('until' in o.next.servers.get('r1')!.claims.manual!).toBe(false);
    expect(o.next.servers.get('r2')).toBe(st.servers.get('r2'));
  });

  it('uses drainTimeoutSeconds for the drain deadline and keeps until', () => {
    const o = setServerClaim(fleet(), 'p', setReq({ drainTimeoutSeconds: 60, until: NOW + HOUR }), actor(), NOW);
    const c = o.next.servers.get('p')!.claims.manual!;
    expect(c.drainDeadline).toBe(NOW + 60 * SEC);
    expect(c.until).toBe(NOW + HOUR);
    expect(o.verdict!.losesPrimary).toEqual(['p']);
  });

  it('a primary with open transactions is pending first, then forced at its deadline', () => {
    const st = state([server('p', { role: 'primary', openTransactions: 3 }), ...replicas('r', 2)]);
    const o = setServerClaim(st, 'p', setReq({ drainTimeoutSeconds: 30 }), actor(), NOW);
    expect(viewOf(o.next, 'p', NOW)!.state).toBe('Draining, Master, Running');
    expect(viewOf(o.next, 'p', NOW + 30 * SEC)!.state).toBe('Maintenance, Running');
  });

  it('with onDeadline hold a pending primary keeps waiting', () => {
    const st = state([server('p', { role: 'primary', openTransactions: 3 }), ...replicas('r', 2)]);
    const o = setServerClaim(
      st,
      'p',
      setReq({ holder: 'rollout:r1', onDeadline: 'hold', drainTimeoutSeconds: 30 }),
      actor(),
      NOW,
    );
    expect(o.next.servers.get('p')!.claims['rollout:r1']!.onDeadline).toBe('hold');
    expect(viewOf(o.next, 'p', NOW + HOUR)!.pending).toBe(true);
  });

  it('a forced claim has no drain deadline and closes connections at once', () => {
    const st = state([server('p', { role: 'primary', openTransactions: 3 }), ...replicas('r', 2)]);
    const o = setServerClaim(st, 'p', setReq({ force: true }), actor(), NOW);
    expect(o.next.servers.get('p')!.claims.manual).toEqual({
      mode: 'maintenance',
      force: true,
      actor: 'alice',
      since: NOW,
      onDeadline: 'force',
    });
    const v = viewOf(o.next, 'p', NOW)!;
    expect(v.maintenance).toBe(true);
    expect(v.closeConnections).toBe(true);
  });

  it('a drain claim has no drain deadline', () => {
    const o = setServerClaim(fleet(), 'r1', setReq({ mode: 'drain' }), actor(), NOW);
    expect(o.next.servers.get('r1')!.claims.manual).toEqual({
      mode: 'drain',
      force: false,
      actor: 'alice',
      since: NOW,
      onDeadline: 'force',
    });
    expect(viewOf(o.next, 'r1', NOW)!.state).toBe('Drained, Slave, Running');
  });

  it('rejects an unknown server', () => {
    const e = caught(() => setServerClaim(fleet(), 'nope', setReq(), actor(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('server nope not found');
  });

  describe('repeats and updates', () => {
    const first = () => setServerClaim(fleet(), 'r1', setReq({ reason: 'a', until: NOW + HOUR }), actor(), NOW).next;

    it('repeating the same request is a no-op: same state, no event, an allowed verdict', () => {
      const st = first();
      const o = setServerClaim(st, 'r1', setReq({ reason: 'a', until: NOW + HOUR }), actor({ user: 'bob' }), NOW + MIN);
      expect(o.events).toEqual([]);
      expect(o.next).toBe(st);
      expect(o.verdict).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] });
    });

    it.each([
      ['reason', { reason: 'b', until: NOW + HOUR }],
      ['until', { reason: 'a', until: NOW + 2 * HOUR }],
      ['no until', { reason: 'a' }],
      ['mode', { reason: 'a', until: NOW + HOUR, mode: 'drain' as const }],
      ['force', { reason: 'a', until: NOW + HOUR, force: true }],
      ['onDeadline', { reason: 'a', until: NOW + HOUR, onDeadline: 'hold' as const }],
    ])('another %s is an update with its own event, keeping since', (_what, change) => {
      const st = first();
      const o = setServerClaim(st, 'r1', setReq(change), actor({ user: 'bob' }), NOW + MIN);
      expect(o.events.map((e) => e.action)).toEqual(['update-maintenance']);
      const c = o.next.servers.get('r1')!.claims.manual!;
      expect(c.since).toBe(NOW);
      expect(c.actor).toBe('bob');
      expect(o.verdict!.newlyUnavailable).toEqual([]);
    });

    it('a graceful update keeps the original drain deadline', () => {
      const st = first();
      const o = setServerClaim(st, 'r1', setReq({ reason: 'b', drainTimeoutSeconds: 5 }), actor(), NOW + MIN);
      expect(o.next.servers.get('r1')!.claims.manual!.drainDeadline).toBe(NOW + DEFAULT_DRAIN_TIMEOUT_SECONDS * SEC);
    });

    it('going back from forced or drain to graceful starts a new drain deadline', () => {
      for (const from of [setReq({ force: true }), setReq({ mode: 'drain' })]) {
        const st = setServerClaim(fleet(), 'r1', from, actor(), NOW).next;
        const o = setServerClaim(st, 'r1', setReq({ drainTimeoutSeconds: 10 }), actor(), NOW + MIN);
        expect(o.events.map((e) => e.action)).toEqual(['update-maintenance']);
        expect(o.next.servers.get('r1')!.claims.manual!.drainDeadline).toBe(NOW + MIN + 10 * SEC);
      }
    });

    it('escalating a pending primary to force is an update, not a clear and set', () => {
      const st0 = state([server('p', { role: 'primary', openTransactions: 3 }), ...replicas('r', 2)]);
      const pending = setServerClaim(st0, 'p', setReq(), actor(), NOW).next;
      expect(viewOf(pending, 'p', NOW + SEC)!.pending).toBe(true);
      const o = setServerClaim(pending, 'p', setReq({ force: true }), actor(), NOW + SEC);
      expect(o.events.map((e) => e.action)).toEqual(['update-maintenance']);
      expect(o.events[0]!.before).toMatchObject({ claims: { manual: { force: false } } });
      expect(o.events[0]!.after).toMatchObject({ claims: { manual: { force: true } } });
      const c = o.next.servers.get('p')!.claims.manual!;
      expect(c.force).toBe(true);
      expect(c.drainDeadline).toBeUndefined();
      expect(c.since).toBe(NOW);
      const v = viewOf(o.next, 'p', NOW + SEC)!;
      expect(v.maintenance).toBe(true);
      expect(v.closeConnections).toBe(true);
    });

    it('an expired claim is not found again: setting it afresh is a set with a new since', () => {
      const st = setServerClaim(fleet(), 'r1', setReq({ until: NOW + MIN }), actor(), NOW).next;
      const later = NOW + 2 * MIN;
      const o = setServerClaim(st, 'r1', setReq({ until: NOW + MIN }), actor(), later);
      expect(o.events.map((e) => e.action)).toEqual(['set-maintenance']);
      const c = o.next.servers.get('r1')!.claims.manual!;
      expect(c.since).toBe(later);
      expect(c.drainDeadline).toBe(later + DEFAULT_DRAIN_TIMEOUT_SECONDS * SEC);
    });

    it('on a down server an expired claim still holds, so the same request is a no-op', () => {
      const st = state([
        server('r1', {
          health: 'down',
          claims: { manual: claim({ until: NOW - MIN, force: true, since: NOW - HOUR }) },
        }),
        ...replicas('x', 2),
      ]);
      const o = setServerClaim(st, 'r1', setReq({ until: NOW - MIN, force: true }), actor(), NOW);
      expect(o.events).toEqual([]);
      expect(o.next).toBe(st);
    });

    it('a claim held under another holder is a separate claim', () => {
      const st = setServerClaim(fleet(), 'r1', setReq({ holder: 'window:w1' }), actor(), NOW).next;
      const o = setServerClaim(st, 'r1', setReq(), actor(), NOW);
      expect(o.events.map((e) => e.action)).toEqual(['set-maintenance']);
      expect(Object.keys(o.next.servers.get('r1')!.claims)).toEqual(['window:w1', 'manual']);
      expect(o.verdict!.newlyUnavailable).toEqual([]);
    });
  });

  describe('budget, override and dry run', () => {
    const oneOut = () => setServerClaim(fleet(), 'r1', setReq(), actor(), NOW).next;

    it('refuses a change past the budget with BudgetExceeded naming the servers using it', () => {
      const e = caught(() => setServerClaim(oneOut(), 'r2', setReq(), actor(), NOW));
      expect(e.code).toBe('BudgetExceeded');
      expect(e.message).toBe('dc dc1 allows 1 unavailable of 3; this would make 2');
      expect(e.details).toEqual({ usingBudget: ['r1', 'r2'], newlyUnavailable: ['r2'] });
    });

    it('force is about connections, not the budget', () => {
      expect(caught(() => setServerClaim(oneOut(), 'r2', setReq({ force: true }), actor(), NOW)).code).toBe(
        'BudgetExceeded',
      );
    });

    it('a dry run answers the verdict and does not throw', () => {
      const st = oneOut();
      const o = setServerClaim(st, 'r2', setReq({ dryRun: true }), actor(), NOW);
      expect(o.verdict).toMatchObject({ allowed: false, newlyUnavailable: ['r2'], usingBudget: ['r1', 'r2'] });
      expect(o.verdict!.reason).toContain('dc dc1');
      expect(st.servers.get('r2')!.claims).toEqual({});
      const ok = setServerClaim(fleet(), 'p', setReq({ dryRun: true }), actor(), NOW);
      expect(ok.verdict).toEqual({ allowed: true, newlyUnavailable: ['p'], losesPrimary: ['p'], usingBudget: [] });
    });

    it('override needs the admin role, even on a dry run or within the budget', () => {
      for (const req of [setReq({ override: true }), setReq({ override: true, dryRun: true })]) {
        const e = caught(() => setServerClaim(fleet(), 'r1', req, actor(), NOW));
        expect(e.code).toBe('Forbidden');
        expect(e.message).toBe('override needs the admin role');
      }
    });

    it('an admin override goes past the budget and the event records it', () => {
      const o = setServerClaim(oneOut(), 'r2', setReq({ override: true }), admin(), NOW);
      expect(o.verdict!.allowed).toBe(false);
      expect(o.events).toHaveLength(1);
      expect(o.events[0]!.override).toBe(true);
      expect(o.next.servers.get('r2')!.claims.manual!.actor).toBe('root');
    });

    it('an override that was not needed is not recorded as one', () => {
      const o = setServerClaim(fleet(), 'r1', setReq({ override: true }), admin(), NOW);
      expect(o.verdict!.allowed).toBe(true);
      expect('override' in o.events[0]!).toBe(false);
    });
  });
});

describe('setDcClaim', () => {
  it('puts a whole dc in maintenance with one dc-level record and one event', () => {
    const st = fleet();
    const o = setDcClaim(st, 'dc2', setReq({ reason: 'network' }), actor(), NOW);
    expect(o.next.dcs.get('dc2')).toEqual({
      name: 'dc2',
      claims: {
        manual: {
          mode: 'maintenance',
          force: false,
          actor: 'alice',
          since: NOW,
          onDeadline: 'force',
          reason: 'network',
          drainDeadline: NOW + 300 * SEC,
        },
      },
    });
    expect(o.next.servers).toBe(st.servers);
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({ action: 'set-maintenance', target: 'dc:dc2', reason: 'network', before: null });
    expect(o.verdict!.newlyUnavailable).toEqual(['b1', 'b2', 'b3']);
    expect(['b1', 'b2', 'b3'].map((n) => viewOf(o.next, n, NOW)!.state)).toEqual(Array(3).fill('Maintenance, Running'));
  });

  it('a single-dc cluster can never be taken down by a dc request', () => {
    const st = state([server('p', { role: 'primary' }), ...replicas('r', 4)]);
    const e = caught(() => setDcClaim(st, 'dc1', setReq(), actor(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe('taking dc dc1 out needs another dc within its budget, and there is none');
    expect(e.details).toEqual({ usingBudget: [], newlyUnavailable: ['p', 'r1', 'r2', 'r3', 'r4'] });
  });

  it('a dry run of a refused dc request returns the verdict', () => {
    const st = state([server('p', { role: 'primary' }), ...replicas('r', 2)]);
    const o = setDcClaim(st, 'dc1', setReq({ dryRun: true }), actor(), NOW);
    expect(o.verdict!.allowed).toBe(false);
    expect(o.verdict!.losesPrimary).toEqual(['p']);
  });

  it('an admin override takes even a single dc out, recorded on the event', () => {
    const st = state([server('p', { role: 'primary' }), ...replicas('r', 2)]);
    expect(caught(() => setDcClaim(st, 'dc1', setReq({ override: true }), actor(), NOW)).code).toBe('Forbidden');
    const o = setDcClaim(st, 'dc1', setReq({ override: true }), admin(), NOW);
    expect(o.events[0]!.override).toBe(true);
    const fine = setDcClaim(fleet(), 'dc2', setReq({ override: true }), admin(), NOW);
    expect('override' in fine.events[0]!).toBe(false);
  });

  it('rejects a dc that has neither servers nor a record', () => {
    const e = caught(() => setDcClaim(fleet(), 'dc9', setReq(), actor(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('dc dc9 not found');
  });

  it('accepts a dc that has a record but no servers', () => {
    const st = state([...replicas('r', 3)], { dcs: [dc('spare', { 'window:w': claim() })] });
    const o = setDcClaim(st, 'spare', setReq(), actor(), NOW);
    expect(o.events.map((e) => e.action)).toEqual(['set-maintenance']);
    expect(Object.keys(o.next.dcs.get('spare')!.claims)).toEqual(['window:w', 'manual']);
    expect(o.verdict!.allowed).toBe(true);
  });

  it('a repeat is a no-op with an allowed verdict; another reason is an update', () => {
    const st = setDcClaim(fleet(), 'dc2', setReq({ reason: 'x' }), actor(), NOW).next;
    const again = setDcClaim(st, 'dc2', setReq({ reason: 'x' }), actor(), NOW + MIN);
    expect(again.events).toEqual([]);
    expect(again.next).toBe(st);
    expect(again.verdict).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] });
    const upd = setDcClaim(st, 'dc2', setReq({ reason: 'y' }), actor(), NOW + MIN);
    expect(upd.events.map((e) => e.action)).toEqual(['update-maintenance']);
    expect(upd.next.dcs.get('dc2')!.claims.manual!.since).toBe(NOW);
  });

  it('an expired dc claim is set afresh', () => {
    const st = state([...replicas('a', 3), ...replicas('b', 3, 'dc2')], {
      dcs: [dc('dc2', { manual: claim({ until: NOW - 1, since: NOW - HOUR }) })],
    });
    const o = setDcClaim(st, 'dc2', setReq({ until: NOW - 1 }), actor(), NOW);
    expect(o.events.map((e) => e.action)).toEqual(['set-maintenance']);
    expect(o.next.dcs.get('dc2')!.claims.manual!.since).toBe(NOW);
  });
});

describe('setClusterClaim (pausing automation)', () => {
  it('a manual pause without until expires after 12 hours', () => {
    const o = setClusterClaim(fleet(), { holder: 'manual', reason: 'migration' }, actor(), NOW);
    expect(MANUAL_PAUSE_MAX_MS).toBe(12 * HOUR);
    expect(o.next.cluster.claims.manual).toEqual({
      mode: 'maintenance',
      force: false,
      actor: 'alice',
      since: NOW,
      onDeadline: 'hold',
      reason: 'migration',
      until: NOW + 12 * HOUR,
    });
    expect(o.events).toEqual([
      expect.objectContaining({ action: 'set-maintenance', target: 'cluster', reason: 'migration' }),
    ]);
    expect(o.verdict).toBeUndefined();
  });

  it('repeating a manual pause keeps its deadline and is a no-op', () => {
    const st = setClusterClaim(fleet(), { holder: 'manual' }, actor(), NOW).next;
    const o = setClusterClaim(st, { holder: 'manual' }, actor(), NOW + HOUR);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('a manual pause with until keeps that until', () => {
    const o = setClusterClaim(fleet(), { holder: 'manual', until: NOW + 20 * HOUR }, actor(), NOW);
    expect(o.next.cluster.claims.manual!.until).toBe(NOW + 20 * HOUR);
  });

  it('window and rollout pauses have no default expiry', () => {
    const o = setClusterClaim(fleet(), { holder: 'rollout:r1' }, actor(), NOW);
    expect(o.next.cluster.claims['rollout:r1']!.until).toBeUndefined();
    expect('until' in o.next.cluster.claims['rollout:r1']!).toBe(false);
    expect('reason' in o.next.cluster.claims['rollout:r1']!).toBe(false);
    expect('reason' in o.events[0]!).toBe(false);
  });

  it('a new reason is an update keeping since and until', () => {
    const st = setClusterClaim(fleet(), { holder: 'manual', reason: 'a' }, actor(), NOW).next;
    const o = setClusterClaim(st, { holder: 'manual', reason: 'b' }, actor(), NOW + HOUR);
    expect(o.events.map((e) => e.action)).toEqual(['update-maintenance']);
    expect(o.next.cluster.claims.manual).toMatchObject({ reason: 'b', since: NOW, until: NOW + 12 * HOUR });
  });

  it('an expired manual pause is set afresh with a new 12-hour deadline', () => {
    const st = setClusterClaim(fleet(), { holder: 'manual' }, actor(), NOW).next;
    const later = NOW + 13 * HOUR;
    const o = setClusterClaim(st, { holder: 'manual' }, actor(), later);
    expect(o.events.map((e) => e.action)).toEqual(['set-maintenance']);
    expect(o.next.cluster.claims.manual).toMatchObject({ since: later, until: later + 12 * HOUR });
  });

  it('is not limited by the budget and takes no server out of service', () => {
    const single = state([server('p', { role: 'member' })]);
    const o = setClusterClaim(single, { holder: 'manual' }, actor(), NOW);
    expect(o.events).toHaveLength(1);
    expect(o.next.servers).toBe(single.servers);
    expect(viewOf(o.next, 'p', NOW)!.unavailable).toBe(false);
  });
});

describe('clearServerClaim', () => {
  const held = () =>
    state(
      [server('r1', { claims: { manual: claim(), 'window:w1': claim({ reason: 'nightly' }) } }), ...replicas('x', 2)],
      {
        dcs: [dc('dc1', { 'rollout:r9': claim({ until: NOW + HOUR }) })],
      },
    );

  it("removes only the caller's claim; the server stays in maintenance through the others", () => {
    const st = held();
    const o = clearServerClaim(st, 'r1', clearReq(), actor(), NOW);
    expect(Object.keys(o.next.servers.get('r1')!.claims)).toEqual(['window:w1']);
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({ action: 'clear-maintenance', target: 'server:r1' });
    expect('override' in o.events[0]!).toBe(false);
    expect(viewOf(o.next, 'r1', NOW)!.maintenance).toBe(true);
    expect(Object.keys(st.servers.get('r1')!.claims)).toEqual(['manual', 'window:w1']);
  });

  it('returns HeldByOthers naming the others when the caller has no claim', () => {
    const st = clearServerClaim(held(), 'r1', clearReq(), actor(), NOW).next;
    const e = caught(() => clearServerClaim(st, 'r1', clearReq(), actor(), NOW));
    expect(e.code).toBe('HeldByOthers');
    expect(e.message).toBe('held by window:w1, dc (rollout:r9)');
    expect(e.details).toEqual({
      heldBy: [
        { holder: 'window:w1', scope: 'server' },
        { holder: 'rollout:r9', scope: 'dc' },
      ],
    });
  });

  it('names a dc claim as holding the server', () => {
    const st = state([...replicas('r', 3)], { dcs: [dc('dc1', { manual: claim() })] });
    const e = caught(() => clearServerClaim(st, 'r1', clearReq(), actor(), NOW));
    expect(e.code).toBe('HeldByOthers');
    expect(e.message).toBe('held by dc (manual)');
  });

  it('does not name expired claims; with nothing holding the server the clear is a no-op', () => {
    const st = state([server('r1', { claims: { 'window:w1': claim({ until: NOW - 1 }) } }), ...replicas('x', 2)]);
    const o = clearServerClaim(st, 'r1', clearReq(), actor(), NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
    const free = state([...replicas('r', 3)]);
    expect(clearServerClaim(free, 'r1', clearReq(), actor(), NOW).events).toEqual([]);
  });

  it('only removes a claim of the requested mode', () => {
    const st = state([server('r1', { claims: { manual: claim({ mode: 'drain' }) } }), ...replicas('x', 2)]);
    const wrong = clearServerClaim(st, 'r1', clearReq({ mode: 'maintenance' }), actor(), NOW);
    expect(wrong.events).toEqual([]);
    expect(wrong.next).toBe(st);
    const right = clearServerClaim(st, 'r1', clearReq({ mode: 'drain' }), actor(), NOW);
    expect(right.next.servers.get('r1')!.claims).toEqual({});
    expect(right.events).toHaveLength(1);
  });

  it('clears a window or rollout holder when that holder asks', () => {
    const o = clearServerClaim(held(), 'r1', clearReq({ holder: 'window:w1' }), actor(), NOW);
    expect(Object.keys(o.next.servers.get('r1')!.claims)).toEqual(['manual']);
  });

  it('an admin override removes every claim on the server, recorded on the event', () => {
    const o = clearServerClaim(held(), 'r1', clearReq({ override: true }), admin(), NOW);
    expect(o.next.servers.get('r1')!.claims).toEqual({});
    expect(o.events[0]!.override).toBe(true);
    // the dc claim is the dc's, not removed by a server clear
    expect(viewOf(o.next, 'r1', NOW)!.claims.map((c) => c.scope)).toEqual(['dc']);
  });

  it('an override clear may be limited to one mode', () => {
    const st = state([
      server('r1', { claims: { manual: claim({ mode: 'drain' }), 'window:w1': claim() } }),
      ...replicas('x', 2),
    ]);
    const o = clearServerClaim(st, 'r1', clearReq({ override: true, mode: 'drain' }), admin(), NOW);
    expect(Object.keys(o.next.servers.get('r1')!.claims)).toEqual(['window:w1']);
  });

  it('an override clear with nothing to remove is a no-op', () => {
    const st = state([...replicas('r', 3)]);
    const o = clearServerClaim(st, 'r1', clearReq({ override: true }), admin(), NOW);
    expect(o.events).toEqual([]);
  });

  it('override needs the admin role', () => {
    const e = caught(() => clearServerClaim(held(), 'r1', clearReq({ override: true }), actor(), NOW));
    expect(e.code).toBe('Forbidden');
  });

  it('rejects an unknown server', () => {
    const e = caught(() => clearServerClaim(held(), 'zz', clearReq(), actor(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('server zz not found');
  });
});

describe('clearDcClaim', () => {
  const held = () =>
    state([...replicas('a', 3), ...replicas('b', 3, 'dc2')], {
      dcs: [dc('dc2', { manual: claim(), 'window:w1': claim() })],
    });

  it("removes the caller's dc claim only", () => {
    const o = clearDcClaim(held(), 'dc2', clearReq(), actor(), NOW);
    expect(Object.keys(o.next.dcs.get('dc2')!.claims)).toEqual(['window:w1']);
    expect(o.events).toEqual([expect.objectContaining({ action: 'clear-maintenance', target: 'dc:dc2' })]);
    expect('override' in o.events[0]!).toBe(false);
  });

  it('returns HeldByOthers naming the other dc holders', () => {
    const st = clearDcClaim(held(), 'dc2', clearReq(), actor(), NOW).next;
    const e = caught(() => clearDcClaim(st, 'dc2', clearReq(), actor(), NOW));
    expect(e.code).toBe('HeldByOthers');
    expect(e.message).toBe('held by dc (window:w1)');
    expect(e.details).toEqual({ heldBy: [{ holder: 'window:w1', scope: 'dc' }] });
  });

  it('expired dc claims do not hold it', () => {
    const st = state([...replicas('a', 3)], { dcs: [dc('dc1', { 'window:w1': claim({ until: NOW }) })] });
    expect(clearDcClaim(st, 'dc1', clearReq(), actor(), NOW).events).toEqual([]);
  });

  it('a dc with servers but no record is a no-op; an unknown dc is NotFound', () => {
    const st = held();
    const o = clearDcClaim(st, 'dc1', clearReq(), actor(), NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
    const e = caught(() => clearDcClaim(st, 'dc9', clearReq(), actor(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('dc dc9 not found');
  });

  it('an admin override removes every dc claim', () => {
    expect(caught(() => clearDcClaim(held(), 'dc2', clearReq({ override: true }), actor(), NOW)).code).toBe(
      'Forbidden',
    );
    const o = clearDcClaim(held(), 'dc2', clearReq({ override: true }), admin(), NOW);
    expect(o.next.dcs.get('dc2')!.claims).toEqual({});
    expect(o.events[0]!.override).toBe(true);
  });
});

describe('clearClusterClaim', () => {
  const paused = () =>
    state([...replicas('r', 3)], { cluster: { claims: { manual: claim(), 'rollout:r1': claim() } } });

  it("removes the caller's pause only", () => {
    const o = clearClusterClaim(paused(), clearReq(), actor(), NOW);
    expect(Object.keys(o.next.cluster.claims)).toEqual(['rollout:r1']);
    expect(o.events).toEqual([expect.objectContaining({ action: 'clear-maintenance', target: 'cluster' })]);
  });

  it('returns HeldByOthers naming the other cluster holders', () => {
    const st = clearClusterClaim(paused(), clearReq(), actor(), NOW).next;
    const e = caught(() => clearClusterClaim(st, clearReq(), actor(), NOW));
    expect(e.code).toBe('HeldByOthers');
    expect(e.message).toBe('held by cluster (rollout:r1)');
    expect(e.details).toEqual({ heldBy: [{ holder: 'rollout:r1', scope: 'cluster' }] });
  });

  it('a clear of a cluster nobody paused is a no-op', () => {
    const st = state([...replicas('r', 3)], { cluster: { claims: { 'rollout:r1': claim({ until: NOW - 1 }) } } });
    const o = clearClusterClaim(st, clearReq(), actor(), NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('an admin override removes every pause', () => {
    expect(caught(() => clearClusterClaim(paused(), clearReq({ override: true }), actor(), NOW)).code).toBe(
      'Forbidden',
    );
    const o = clearClusterClaim(paused(), clearReq({ override: true }), admin(), NOW);
    expect(o.next.cluster.claims).toEqual({});
    expect(o.events[0]!.override).toBe(true);
  });
});
