/** registry.ts: registering and removing clusters and servers. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STALE_AFTER_SECONDS,
  registerCluster,
  registerServer,
  removeCluster,
  removeServer,
  updateServer,
  type ClusterConfig,
} from '../../../functions/domain/registry.js';
import { actor, admin, caught, claim, dc, NOW, replicas, server, state } from './fixtures.js';

const config: ClusterConfig = { engine: 'mariadb', budget: {}, staleAfterSeconds: DEFAULT_STALE_AFTER_SECONDS };

describe('registerCluster', () => {
  it('creates an empty cluster at revision 0 with a register-cluster event', () => {
    expect(DEFAULT_STALE_AFTER_SECONDS).toBe(60);
    const o = registerCluster(undefined, 'db', config, NOW);
    expect(o.next.cluster).toEqual({
      id: 'db',
      engine: 'mariadb',
      budget: {},
      staleAfterSeconds: 60,
      revision: 0,
      createdAt: NOW,
      claims: {},
    });
    expect(o.next.dcs.size).toBe(0);
    expect(o.next.servers.size).toBe(0);
    expect(o.events).toEqual([
      {
        action: 'register-cluster',
        target: 'cluster',
        before: null,
        after: { engine: 'mariadb', budget: {}, staleAfterSeconds: 60, claims: {} },
      },
    ]);
  });

  it('registering the same configuration again is a no-op', () => {
    const st = state([server('a')]);
    const o = registerCluster(st, 'c1', { engine: 'mariadb', budget: {}, staleAfterSeconds: 60 }, NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('a changed configuration is an update that keeps servers, claims and revision', () => {
    const st = state([server('a')], { cluster: { claims: { manual: claim() } } });
    const o = registerCluster(
      st,
      'c1',
      { engine: 'cassandra', budget: { maxUnavailablePerDc: 2 }, staleAfterSeconds: 30 },
      NOW,
    );
    expect(o.next.cluster).toMatchObject({
      engine: 'cassandra',
      budget: { maxUnavailablePerDc: 2 },
      staleAfterSeconds: 30,
      revision: 7,
    });
    expect(o.next.cluster.claims).toEqual({ manual: claim() });
    expect(o.next.servers).toBe(st.servers);
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({
      action: 'update-cluster',
      target: 'cluster',
      before: { engine: 'mariadb' },
      after: { engine: 'cassandra', staleAfterSeconds: 30 },
    });
  });

  it('removeCluster marks the whole cluster removed with one event', () => {
    const st = state([server('a')]);
    const o = removeCluster(st);
    expect(o.removed).toBe(true);
    expect(o.events).toEqual([
      {
        action: 'remove-cluster',
        target: 'cluster',
        before: expect.objectContaining({ engine: 'mariadb' }),
        after: null,
      },
    ]);
  });
});

describe('registerServer', () => {
  it('registers a new server as unknown until its first report', () => {
    const st = state([]);
    const o = registerServer(
      st,
      's1',
      { dc: 'dc2', role: 'primary', address: '10.0.0.1', port: 3306, component: 'datanode' },
      NOW,
    );
    expect(o.next.servers.get('s1')).toEqual({
      name: 's1',
      dc: 'dc2',
      role: 'primary',
      health: 'unknown',
      registeredAt: NOW,
      claims: {},
      address: '10.0.0.1',
      port: 3306,
      component: 'datanode',
    });
    expect(o.events).toEqual([
      expect.objectContaining({ action: 'register-server', target: 'server:s1', before: null }),
    ]);
    expect(st.servers.size).toBe(0);
  });

  it('leaves out the optional fields that are not given', () => {
    const o = registerServer(state([]), 's1', { dc: 'dc1', role: 'replica' }, NOW);
    const s = o.next.servers.get('s1')!;
    expect('address' in s).toBe(false);
    expect('port' in s).toBe(false);
    expect('component' in s).toBe(false);
  });

  it('re-registering the same server is a no-op', () => {
    const st = state([server('s1', { address: 'h', port: 1 })]);
    const o = registerServer(st, 's1', { dc: 'dc1', role: 'replica', address: 'h', port: 1 }, NOW);
    expect(o.events).toEqual([]);
    expect(o.next).toBe(st);
  });

  it('an update keeps health, reports and claims, and drops fields no longer given', () => {
    // dc3 has room for s1's maintenance: 1 unavailable of 3 once it is there
    const st = state([
      server('s1', {
        address: 'h',
        port: 1,
        component: 'x',
        health: 'running',
        version: 'v9',
        claims: { manual: claim() },
      }),
      ...replicas('t', 2, 'dc3'),
    ]);
    const o = registerServer(st, 's1', { dc: 'dc3', role: 'primary', port: 2 }, NOW + 1);
    const s = o.next.servers.get('s1')!;
    expect(s).toMatchObject({
      dc: 'dc3',
      role: 'primary',
      port: 2,
      health: 'running',
      version: 'v9',
      claims: { manual: claim() },
    });
    expect(s.registeredAt).toBe(st.servers.get('s1')!.registeredAt);
    expect('address' in s).toBe(false);
    expect('component' in s).toBe(false);
    expect(o.events.map((e) => e.action)).toEqual(['update-server']);
    expect(o.events[0]!.reason).toBe(
      'dc: dc1 → dc3, address: h → none, port: 1 → 2, role: replica → primary, component: x → none',
    );
    expect(o.changed).toEqual({
      dc: { from: 'dc1', to: 'dc3' },
      address: { from: 'h', to: null },
      port: { from: 1, to: 2 },
      role: { from: 'replica', to: 'primary' },
      component: { from: 'x', to: null },
    });
    expect(st.servers.get('s1')!.address).toBe('h');
  });

  it('a new server: changed lists what it was registered with, and the defaults are dc1 and member', () => {
    const o = registerServer(state([]), 'n', { port: 5432 }, NOW);
    expect(o.next.servers.get('n')).toMatchObject({ dc: 'dc1', role: 'member', port: 5432 });
    expect(o.changed).toEqual({
      dc: { from: null, to: 'dc1' },
      port: { from: null, to: 5432 },
      role: { from: null, to: 'member' },
    });
    expect(o.events[0]!.reason).toBeUndefined();
  });

  it('a partial PUT no longer demotes a primary or moves it to dc1: 400, asking for the field or PATCH', () => {
    const st = state([server('p', { role: 'primary', dc: 'dc2', address: 'h' }), ...replicas('r', 2, 'dc2')]);
    const noRole = caught(() => registerServer(st, 'p', { dc: 'dc2', address: 'h2' }, NOW));
    expect(noRole.code).toBe('InvalidInput');
    expect(noRole.message).toBe(
      'PUT replaces the whole registration, and server p is role primary: without role it would make it the default member; give role, or PATCH only the fields to change',
    );
    expect(noRole.details).toEqual({ role: 'primary' });
    const noDc = caught(() => registerServer(st, 'p', { role: 'primary', address: 'h2' }, NOW));
    expect(noDc.code).toBe('InvalidInput');
    expect(noDc.message).toContain('server p is dc dc2: without dc it would move it to the default dc1');
    // with both named, the rest of the body still replaces: the address changes, nothing else
    const o = registerServer(st, 'p', { role: 'primary', dc: 'dc2', address: 'h2' }, NOW);
    expect(o.changed).toEqual({ address: { from: 'h', to: 'h2' } });
    expect(o.events[0]!.reason).toBe('address: h → h2');
  });

  it('a partial PUT whose defaults change no role and no dc replaces, as PUT does', () => {
    const st = state([server('m', { role: 'member', port: 1 })]);
    const o = registerServer(st, 'm', { address: 'x' }, NOW);
    expect(o.changed).toEqual({ address: { from: null, to: 'x' }, port: { from: 1, to: null } });
    expect('port' in o.next.servers.get('m')!).toBe(false);
    // a new server may leave everything out
    expect(registerServer(st, 'fresh', {}, NOW).next.servers.get('fresh')).toMatchObject({ dc: 'dc1', role: 'member' });
  });

  it('a PUT that moves an existing server is judged like a PATCH: refused, dry run, override', () => {
    // dc2: x1, x2 and y (in maintenance): 1 unavailable of 3, the limit
    const st = state([
      server('m', { claims: { manual: claim() } }),
      ...replicas('r', 2),
      ...replicas('x', 2, 'dc2'),
      server('y', { dc: 'dc2', claims: { manual: claim() } }),
    ]);
    const e = caught(() =>
      registerServer(st, 'm', { dc: 'dc2', role: 'replica' }, NOW, { override: false, dryRun: false }, admin()),
    );
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe('dc dc2 allows 1 unavailable of 4; this would make 2');
    expect(e.details).toEqual({ usingBudget: ['m', 'y'], newlyUnavailable: [] });
    const dry = registerServer(
      st,
      'm',
      { dc: 'dc2', role: 'replica' },
      NOW,
      { override: false, dryRun: true },
      admin(),
    );
    expect(dry.verdict).toMatchObject({ allowed: false, usingBudget: ['m', 'y'] });
    expect(dry.changed).toEqual({ dc: { from: 'dc1', to: 'dc2' } });
    const forced = registerServer(
      st,
      'm',
      { dc: 'dc2', role: 'replica' },
      NOW,
      { override: true, dryRun: false },
      admin(),
    );
    expect(forced.next.servers.get('m')!.dc).toBe('dc2');
    expect(forced.events[0]).toMatchObject({ action: 'update-server', override: true, reason: 'dc: dc1 → dc2' });
  });
});

describe('updateServer (PATCH): only the fields given change', () => {
  const plain = { override: false, dryRun: false };

  it('changes the fields given, removes those given as null, keeps the rest, and says what changed', () => {
    const st = state([
      server('p', { role: 'primary', address: 'h', port: 3306, component: 'db', claims: { manual: claim() } }),
      ...replicas('r', 2),
    ]);
    const o = updateServer(st, 'p', { port: 3307, component: null }, plain, admin(), NOW);
    const s = o.next.servers.get('p')!;
    expect(s).toMatchObject({ role: 'primary', dc: 'dc1', address: 'h', port: 3307, claims: { manual: claim() } });
    expect('component' in s).toBe(false);
    expect(o.changed).toEqual({ port: { from: 3306, to: 3307 }, component: { from: 'db', to: null } });
    expect(o.events).toEqual([
      {
        action: 'update-server',
        target: 'server:p',
        before: expect.objectContaining({ port: 3306, component: 'db' }),
        after: expect.not.objectContaining({ component: expect.anything() }),
        reason: 'port: 3306 → 3307, component: db → none',
      },
    ]);
    expect(o.verdict).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] });
  });

  it('an empty patch, or one that repeats the registration, is a no-op', () => {
    const st = state([server('a', { port: 1 })]);
    for (const patch of [{}, { port: 1, dc: 'dc1', role: 'replica' as const }]) {
      const o = updateServer(st, 'a', patch, plain, admin(), NOW);
      expect(o.events).toEqual([]);
      expect(o.next).toBe(st);
      expect(o.changed).toEqual({});
    }
    // removing a field that is not there changes nothing either
    expect(updateServer(st, 'a', { address: null }, plain, admin(), NOW).events).toEqual([]);
  });

  it('never creates: an unknown server is 404', () => {
    const e = caught(() => updateServer(state([]), 'ghost', { role: 'replica' }, plain, admin(), NOW));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('server ghost not found');
  });

  it('override needs the admin role', () => {
    const st = state([server('a')]);
    expect(caught(() => updateServer(st, 'a', { port: 2 }, { override: true, dryRun: false }, actor(), NOW)).code).toBe(
      'Forbidden',
    );
  });
});

describe('updateServer: a move across dcs meets the budget of every dc it touches', () => {
  const plain = { override: false, dryRun: false };

  it('moves an available server into another dc, both dcs within their budgets', () => {
    const st = state([...replicas('a', 3), ...replicas('b', 2, 'dc2')]);
    const o = updateServer(st, 'a3', { dc: 'dc2' }, plain, admin(), NOW);
    expect(o.next.servers.get('a3')!.dc).toBe('dc2');
    expect(o.verdict).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] });
    expect(o.events[0]).toMatchObject({ action: 'update-server', reason: 'dc: dc1 → dc2' });
    expect(o.events[0]!.override).toBeUndefined();
  });

  it('refuses moving a server in maintenance into a dc that has used its budget, naming the dc and who uses it', () => {
    const st = state([
      server('m', { claims: { manual: claim() } }),
      ...replicas('a', 2),
      ...replicas('b', 2, 'dc2'),
      server('b3', { dc: 'dc2', claims: { manual: claim() } }),
    ]);
    const e = caught(() => updateServer(st, 'm', { dc: 'dc2' }, plain, admin(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe('dc dc2 allows 1 unavailable of 4; this would make 2');
    expect(e.details).toEqual({ usingBudget: ['b3', 'm'], newlyUnavailable: [] });
  });

  it('refuses a move that shrinks a dc below what its unavailable servers need (the limit follows the size)', () => {
    // dc1: five servers, two in maintenance: the limit (2) holds; with four the limit is 1
    const st = state([
      ...replicas('a', 3),
      server('m1', { claims: { manual: claim() } }),
      server('m2', { claims: { manual: claim() } }),
      ...replicas('b', 3, 'dc2'),
    ]);
    const e = caught(() => updateServer(st, 'a1', { dc: 'dc2' }, plain, admin(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe('dc dc1 allows 1 unavailable of 4; this would make 2');
    expect(e.details).toMatchObject({ usingBudget: ['m1', 'm2'] });
    // moving one of the unavailable ones instead: dc1 1 of 4, dc2 1 of 4
    expect(updateServer(st, 'm1', { dc: 'dc2' }, plain, admin(), NOW).verdict.allowed).toBe(true);
  });

  it('a dc over its budget already may get better or stay, never worse', () => {
    // dc2: 3 unavailable of 5 (limit 2), after an override
    const down = { claims: { manual: claim() } };
    const st = state([
      ...replicas('a', 3),
      ...replicas('b', 3, 'dc2', down),
      server('b4', { dc: 'dc2' }),
      server('b5', { dc: 'dc2' }),
    ]);
    // out: the unavailable b1 (dc2 2 of 4: still one over; dc1 1 of 4, within)
    expect(updateServer(st, 'b1', { dc: 'dc1' }, plain, admin(), NOW).verdict.allowed).toBe(true);
    // in: an available server (dc2 3 of 6: still one over)
    expect(updateServer(st, 'a1', { dc: 'dc2' }, plain, admin(), NOW).verdict.allowed).toBe(true);
    // out: the available b4 (dc2 3 of 4: two over)
    const e = caught(() => updateServer(st, 'b4', { dc: 'dc1' }, plain, admin(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe(
      'dc dc2 is over its budget already (3 unavailable of 5, 2 allowed); this would make 3 of 4, 1 allowed',
    );
    expect(e.details).toMatchObject({ usingBudget: ['b1', 'b2', 'b3'] });
  });

  it('moving into a dc in maintenance makes the server unavailable: charged to that dc', () => {
    const st = state([...replicas('a', 3), ...replicas('b', 3, 'dc2')], { dcs: [dc('dc2', { manual: claim() })] });
    const e = caught(() => updateServer(st, 'a1', { dc: 'dc2' }, plain, admin(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.details).toEqual({ usingBudget: ['a1', 'b1', 'b2', 'b3'], newlyUnavailable: ['a1'] });
  });

  it('moving out of a dc in maintenance would return the server to service: 409 HeldByOthers, unless override', () => {
    const st = state([...replicas('a', 3), ...replicas('b', 3, 'dc2')], {
      dcs: [dc('dc2', { manual: claim(), 'window:w1': claim() })],
    });
    const e = caught(() => updateServer(st, 'b1', { dc: 'dc1' }, plain, admin(), NOW));
    expect(e.code).toBe('HeldByOthers');
    expect(e.message).toBe(
      'dc dc2 is in maintenance (held by manual, window:w1): moving server b1 out of it would return it to service; clear that maintenance first, or use override',
    );
    expect(e.details).toEqual({
      heldBy: [
        { holder: 'manual', scope: 'dc' },
        { holder: 'window:w1', scope: 'dc' },
      ],
    });
    const o = updateServer(st, 'b1', { dc: 'dc1' }, { override: true, dryRun: false }, admin(), NOW);
    expect(o.next.servers.get('b1')!.dc).toBe('dc1');
    expect(o.events[0]).toMatchObject({ override: true, reason: 'dc: dc2 → dc1' });
    // an expired dc claim holds nothing
    const expired = state([...replicas('a', 3), ...replicas('b', 3, 'dc2')], {
      dcs: [dc('dc2', { manual: claim({ until: NOW - 1 }) })],
    });
    expect(updateServer(expired, 'b1', { dc: 'dc1' }, plain, admin(), NOW).events).toHaveLength(1);
  });

  it('a primary/replica cluster keeps at least one electable server', () => {
    const st = state(
      [
        server('p', { role: 'primary', claims: { manual: claim() } }),
        server('r1'),
        server('r2', { dc: 'dc2', claims: { manual: claim() } }),
      ],
      {
        cluster: { budget: { maxUnavailablePerDc: 5 } },
        dcs: [dc('dc2', { manual: claim() })],
      },
    );
    const e = caught(() => updateServer(st, 'r1', { dc: 'dc2' }, plain, admin(), NOW));
    expect(e.code).toBe('BudgetExceeded');
    expect(e.message).toBe('the cluster must keep at least one electable server');
  });

  it('dryRun answers the verdict and the would-be state, and throws nothing for the budget', () => {
    const st = state([
      server('m', { claims: { manual: claim() } }),
      ...replicas('a', 2),
      ...replicas('b', 2, 'dc2'),
      server('b3', { dc: 'dc2', claims: { manual: claim() } }),
    ]);
    const o = updateServer(st, 'm', { dc: 'dc2' }, { override: false, dryRun: true }, admin(), NOW);
    expect(o.verdict).toEqual({
      allowed: false,
      reason: 'dc dc2 allows 1 unavailable of 4; this would make 2',
      newlyUnavailable: [],
      losesPrimary: [],
      usingBudget: ['b3', 'm'],
    });
    expect(o.changed).toEqual({ dc: { from: 'dc1', to: 'dc2' } });
    expect(o.next.servers.get('m')!.dc).toBe('dc2');
    expect(st.servers.get('m')!.dc).toBe('dc1');
    // a dry run that would be allowed
    expect(updateServer(st, 'a1', { dc: 'dc2' }, { override: false, dryRun: true }, admin(), NOW).verdict.allowed).toBe(
      true,
    );
  });

  it('override goes past the budget and the event records it; an override the budget did not need is not recorded', () => {
    const st = state([
      server('m', { claims: { manual: claim() } }),
      ...replicas('a', 2),
      ...replicas('b', 2, 'dc2'),
      server('b3', { dc: 'dc2', claims: { manual: claim() } }),
    ]);
    const o = updateServer(st, 'm', { dc: 'dc2' }, { override: true, dryRun: false }, admin(), NOW);
    expect(o.verdict.allowed).toBe(false);
    expect(o.events).toEqual([
      expect.objectContaining({ action: 'update-server', override: true, reason: 'dc: dc1 → dc2' }),
    ]);
    const needless = updateServer(st, 'a1', { dc: 'dc2' }, { override: true, dryRun: false }, admin(), NOW);
    expect(needless.events[0]!.override).toBeUndefined();
  });
});

describe('updateServer: role changes', () => {
  const plain = { override: false, dryRun: false };
  const cluster = () => state([server('p', { role: 'primary' }), ...replicas('r', 2)]);

  it('refuses a second primary (409 Conflict naming the primary), even with override', () => {
    for (const req of [plain, { override: true, dryRun: false }, { override: false, dryRun: true }]) {
      const e = caught(() => updateServer(cluster(), 'r1', { role: 'primary' }, req, admin(), NOW));
      expect(e.code).toBe('Conflict');
      expect(e.message).toBe(
        'server p is the primary: demote it first (PATCH its role), or ask for a switchover to r1',
      );
      expect(e.details).toEqual({ primary: 'p' });
    }
  });

  it('demoting the primary is allowed and says who loses primary; then another may be promoted', () => {
    const demoted = updateServer(cluster(), 'p', { role: 'replica' }, plain, admin(), NOW);
    expect(demoted.verdict).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: ['p'], usingBudget: [] });
    expect(demoted.events[0]).toMatchObject({
      reason: 'role: primary → replica',
      before: { role: 'primary' },
      after: { role: 'replica' },
    });
    const promoted = updateServer(demoted.next, 'r1', { role: 'primary' }, plain, admin(), NOW);
    expect(promoted.next.servers.get('r1')!.role).toBe('primary');
    expect(promoted.changed).toEqual({ role: { from: 'replica', to: 'primary' } });
  });

  it('a role change of a server in maintenance changes no availability: the budget allows it', () => {
    // dc1 over its budget already (an override): a role change leaves it as it is
    const st = state([
      server('p', { role: 'primary' }),
      server('r1', { claims: { manual: claim() } }),
      server('r2', { claims: { manual: claim() } }),
    ]);
    const o = updateServer(st, 'r1', { role: 'member' }, plain, admin(), NOW);
    expect(o.verdict.allowed).toBe(true);
    expect(o.events).toHaveLength(1);
  });

  it('promoting the target of a pending switchover completes it, as its report would', () => {
    const pendingSwitchover = { kind: 'switchover' as const, from: 'p', to: 'r1', actor: 'alice', requestedAt: NOW };
    const st = state([server('p', { role: 'replica' }), ...replicas('r', 2)], { cluster: { pendingSwitchover } });
    const o = updateServer(st, 'r1', { role: 'primary' }, plain, admin(), NOW);
    expect(o.next.cluster.pendingSwitchover).toBeUndefined();
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['update-server', 'server:r1'],
      ['complete-switchover', 'cluster'],
    ]);
    // another server promoted: the switchover stays pending
    const other = updateServer(st, 'r2', { role: 'primary' }, plain, admin(), NOW);
    expect(other.next.cluster.pendingSwitchover).toEqual(pendingSwitchover);
  });

  it('moves and role changes together: one event, both in the summary', () => {
    const st = state([server('p', { role: 'primary' }), ...replicas('r', 2), ...replicas('b', 2, 'dc2')]);
    const o = updateServer(st, 'p', { dc: 'dc2', role: 'replica' }, plain, admin(), NOW);
    expect(o.changed).toEqual({ dc: { from: 'dc1', to: 'dc2' }, role: { from: 'primary', to: 'replica' } });
    expect(o.events).toHaveLength(1);
    expect(o.events[0]!.reason).toBe('dc: dc1 → dc2, role: primary → replica');
  });
});

describe('removeServer', () => {
  it('removes the server with a remove-server event', () => {
    const st = state([server('a'), server('b')]);
    const o = removeServer(st, 'a');
    expect([...o.next.servers.keys()]).toEqual(['b']);
    expect(o.events).toEqual([expect.objectContaining({ action: 'remove-server', target: 'server:a', after: null })]);
    expect(o.removed).toBeUndefined();
  });

  it('rejects an unknown server', () => {
    const e = caught(() => removeServer(state([]), 'a'));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('server a not found');
  });

  it('cancels a pending switchover to or from the removed server', () => {
    for (const pendingSwitchover of [
      { kind: 'switchover' as const, from: 'p', to: 'a', actor: 'alice', requestedAt: NOW },
      { kind: 'failover' as const, from: 'a', to: 'b', actor: 'alice', requestedAt: NOW },
    ]) {
      const st = state([server('a'), server('b'), server('p', { role: 'primary' })], {
        cluster: { pendingSwitchover },
      });
      const o = removeServer(st, 'a');
      expect(o.next.cluster.pendingSwitchover).toBeUndefined();
      expect('pendingSwitchover' in o.next.cluster).toBe(false);
      expect(o.next.servers.has('a')).toBe(false);
      expect(o.events.map((e) => [e.action, e.target])).toEqual([
        ['remove-server', 'server:a'],
        ['cancel-switchover', 'cluster'],
      ]);
      expect(o.events[1]!.before).toMatchObject({ pendingSwitchover });
      expect(o.events[1]!.after).not.toHaveProperty('pendingSwitchover');
    }
  });

  it('keeps a pending switchover between other servers', () => {
    const pendingSwitchover = { kind: 'switchover' as const, to: 'b', actor: 'alice', requestedAt: NOW };
    const st = state([server('a'), server('b')], { cluster: { pendingSwitchover } });
    const o = removeServer(st, 'a');
    expect(o.next.cluster.pendingSwitchover).toEqual(pendingSwitchover);
    expect(o.events).toHaveLength(1);
  });
});
