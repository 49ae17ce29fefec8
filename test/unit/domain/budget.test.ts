/** budget.ts: the disruption budget (docs/claims-and-budget.md "The disruption budget"). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultMaxUnavailable, judge } from '../../../functions/domain/budget.js';
import { viewAll } from '../../../functions/domain/derive.js';
import type { DomainError } from '../../../functions/domain/errors.js';
import { setServerClaim } from '../../../functions/domain/maintenance.js';
import type { ClusterState, Datacenter, Health, Server, ServerRole } from '../../../functions/domain/model.js';
import { withDc, withServer } from '../../../functions/domain/outcome.js';
import { actor, claim, dc, NOW, replicas, server, setReq, state } from './fixtures.js';

/** The state with `names` put under a manual maintenance claim. */
function maintain(st: ClusterState, ...names: string[]): ClusterState {
  return names.reduce(
    (acc, n) => withServer(acc, { ...acc.servers.get(n)!, claims: { manual: claim({ force: true }) } }),
    st,
  );
}

function maintainDc(st: ClusterState, name: string): ClusterState {
  return withDc(st, dc(name, { manual: claim({ force: true }) }));
}

const unavailableIn = (st: ClusterState, dcName: string) =>
  viewAll(st, NOW).filter((v) => v.server.dc === dcName && v.unavailable).length;

describe('defaultMaxUnavailable', () => {
  it('n = 1 → 0, n = 2 → 1, n ≥ 3 → ⌊(n−1)/2⌋ (a majority stays up)', () => {
    expect(defaultMaxUnavailable(1)).toBe(0);
    expect(defaultMaxUnavailable(2)).toBe(1);
    expect(defaultMaxUnavailable(3)).toBe(1);
    expect(defaultMaxUnavailable(4)).toBe(1);
    expect(defaultMaxUnavailable(5)).toBe(2);
    expect(defaultMaxUnavailable(6)).toBe(2);
    expect(defaultMaxUnavailable(7)).toBe(3);
    expect(defaultMaxUnavailable(2000)).toBe(999);
  });

  it('property: for n ≥ 3 the servers left available are a strict majority', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 5000 }), (n) => {
        const k = defaultMaxUnavailable(n);
        expect(n - k).toBeGreaterThan(n / 2);
        // and it is the largest such number
        expect(n - (k + 1)).toBeLessThanOrEqual(n / 2);
      }),
    );
  });
});

describe('judge: server requests', () => {
  const three = state([server('p', { role: 'primary' }), ...replicas('r', 2)]);

  it('a change that makes nobody unavailable is allowed and charges nothing', () => {
    expect(judge(three, three, { kind: 'server' }, NOW)).toEqual({
      allowed: true,
      newlyUnavailable: [],
      losesPrimary: [],
      usingBudget: [],
    });
  });

  it('allows one of three servers into maintenance, naming it', () => {
    const v = judge(three, maintain(three, 'r1'), { kind: 'server' }, NOW);
    expect(v).toEqual({ allowed: true, newlyUnavailable: ['r1'], losesPrimary: [], usingBudget: [] });
  });

  it('reports who would lose primary', () => {
    const v = judge(three, maintain(three, 'p'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual(['p']);
    expect(v.losesPrimary).toEqual(['p']);
  });

  it('refuses a second of three, naming the servers using the budget', () => {
    const current = maintain(three, 'r1');
    const v = judge(current, maintain(current, 'r2'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('dc dc1 allows 1 unavailable of 3; this would make 2');
    expect(v.usingBudget).toEqual(['r1', 'r2']);
    expect(v.newlyUnavailable).toEqual(['r2']);
    expect(v.losesPrimary).toEqual([]);
  });

  it('a one-server dc allows none', () => {
    const one = state([server('p', { role: 'member' })]);
    const v = judge(one, maintain(one, 'p'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('dc dc1 allows 0 unavailable of 1; this would make 1');
    expect(v.usingBudget).toEqual(['p']);
  });

  it('a two-server dc can still be maintained, one at a time', () => {
    const two = state(replicas('m', 2, 'dc1', { role: 'member' }));
    expect(judge(two, maintain(two, 'm1'), { kind: 'server' }, NOW).allowed).toBe(true);
    const one = maintain(two, 'm1');
    expect(judge(one, maintain(one, 'm2'), { kind: 'server' }, NOW).allowed).toBe(false);
  });

  it('a five-server dc allows two', () => {
    const five = state(replicas('m', 5, 'dc1', { role: 'member' }));
    const two = maintain(five, 'm1', 'm2');
    expect(judge(five, two, { kind: 'server' }, NOW).allowed).toBe(true);
    const v = judge(two, maintain(two, 'm3'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.usingBudget).toEqual(['m1', 'm2', 'm3']);
  });

  it('an explicit maxUnavailablePerDc replaces the default', () => {
    const strict = state(replicas('m', 5, 'dc1', { role: 'member' }), {
      cluster: { budget: { maxUnavailablePerDc: 0 } },
    });
    const v = judge(strict, maintain(strict, 'm1'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('dc dc1 allows 0 unavailable of 5; this would make 1');
    const loose = state(replicas('m', 3, 'dc1', { role: 'member' }), {
      cluster: { budget: { maxUnavailablePerDc: 2 } },
    });
    expect(judge(loose, maintain(loose, 'm1', 'm2'), { kind: 'server' }, NOW).allowed).toBe(true);
  });

  it('already-down servers count as unavailable', () => {
    const st = state([server('p', { role: 'primary' }), server('r1', { health: 'down' }), server('r2')]);
    const v = judge(st, maintain(st, 'r2'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.usingBudget).toEqual(['r1', 'r2']);
    expect(v.newlyUnavailable).toEqual(['r2']);
  });

  it('a server that has not reported yet (unknown) counts as available', () => {
    const st = state([
      server('p', { role: 'primary' }),
      server('r1', { health: 'unknown', reportedAt: undefined }),
      server('r2'),
    ]);
    const v = judge(st, maintain(st, 'r2'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual(['r2']);
  });

  it('taking an already-down server into maintenance charges nothing', () => {
    const st = state([
      server('p', { role: 'primary' }),
      server('r1', { health: 'down' }),
      server('r2', { health: 'down' }),
    ]);
    const v = judge(st, maintain(st, 'r2'), { kind: 'server' }, NOW);
    expect(v).toEqual({ allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] });
  });

  it('a server that appears unavailable in the next state is charged as newly unavailable', () => {
    const st = state([...replicas('m', 2, 'dc1', { role: 'member' })]);
    const next = withServer(st, server('m3', { role: 'member', claims: { manual: claim() } }));
    const v = judge(st, next, { kind: 'server' }, NOW);
    expect(v.newlyUnavailable).toEqual(['m3']);
    expect(v.allowed).toBe(true);
  });

  it('only dcs where the change makes a server unavailable are judged', () => {
    const st = state([
      ...replicas('a', 3, 'dc1', { role: 'member' }),
      ...replicas('b', 3, 'dc2', { role: 'member', health: 'down' }),
    ]);
    const v = judge(st, maintain(st, 'a1'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual(['a1']);
  });

  it('each dc has its own budget', () => {
    const st = state([...replicas('a', 3, 'dc1', { role: 'member' }), ...replicas('b', 3, 'dc2', { role: 'member' })]);
    // one in each dc: each dc within its budget of 1
    expect(judge(st, maintain(st, 'a1', 'b1'), { kind: 'server' }, NOW).allowed).toBe(true);
    const v = judge(st, maintain(st, 'a1', 'b1', 'b2'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toContain('dc dc2');
    expect(v.usingBudget).toEqual(['b1', 'b2']);
  });

  it('a primary/replica cluster must keep at least one electable server', () => {
    // five servers (budget 2), three of them never reported: within the dc budget, but no electable server left.
    const st = maintain(
      state([
        server('p', { role: 'primary' }),
        server('r1'),
        ...replicas('u', 3, 'dc1', { health: 'unknown', reportedAt: undefined }),
      ]),
      'p',
    );
    const v = judge(st, maintain(st, 'r1'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('the cluster must keep at least one electable server');
    expect(v.usingBudget).toEqual(['p', 'r1']);
    expect(v.newlyUnavailable).toEqual(['r1']);
  });

  it('a primary with members is held to the electable rule too', () => {
    const st = maintain(
      state([
        server('p', { role: 'primary' }),
        server('m1', { role: 'member' }),
        ...replicas('u', 3, 'dc1', { role: 'member', health: 'unknown' }),
      ]),
      'p',
    );
    expect(judge(st, maintain(st, 'm1'), { kind: 'server' }, NOW).allowed).toBe(false);
  });

  it('a members-only cluster (Cassandra-like) has no electable rule', () => {
    const st = maintain(
      state([
        server('m0', { role: 'member' }),
        server('m1', { role: 'member' }),
        ...replicas('u', 3, 'dc1', { role: 'member', health: 'unknown' }),
      ]),
      'm0',
    );
    const v = judge(st, maintain(st, 'm1'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(true);
  });

  it('the electable rule does not refuse when nothing was electable to begin with', () => {
    const st = state([
      server('p', { role: 'primary', health: 'unknown', reportedAt: undefined }),
      ...replicas('u', 2, 'dc1', { health: 'unknown', reportedAt: undefined }),
    ]);
    const v = judge(st, maintain(st, 'u1'), { kind: 'server' }, NOW);
    expect(v.allowed).toBe(true);
  });

  it('a stale server is not electable: keeping only it does not satisfy the rule', () => {
    const st = maintain(
      state([
        server('p', { role: 'primary' }),
        server('r1'),
        server('r2', { reportedAt: NOW - 3600_000 }),
        ...replicas('u', 2, 'dc1', { health: 'unknown' }),
      ]),
      'p',
    );
    expect(judge(st, maintain(st, 'r1'), { kind: 'server' }, NOW).allowed).toBe(false);
  });
});

describe('judge: datacenter requests', () => {
  const twoDcs = state([
    server('p', { role: 'primary', dc: 'dc1' }),
    ...replicas('a', 2, 'dc1'),
    ...replicas('b', 3, 'dc2'),
  ]);

  it('allows a dc out while another dc is within its budget', () => {
    const v = judge(twoDcs, maintainDc(twoDcs, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual(['a1', 'a2', 'p']);
    expect(v.losesPrimary).toEqual(['p']);
  });

  it('a whole dc going out is not held to its own per-dc budget', () => {
    const v = judge(twoDcs, maintainDc(twoDcs, 'dc2'), { kind: 'dc', dc: 'dc2' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual(['b1', 'b2', 'b3']);
  });

  it('a single-dc cluster can never be taken down by a dc request', () => {
    const single = state([server('p', { role: 'primary' }), ...replicas('r', 4)]);
    const v = judge(single, maintainDc(single, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('taking dc dc1 out needs another dc within its budget, and there is none');
    expect(v.usingBudget).toEqual([]);
    expect(v.newlyUnavailable).toEqual(['p', 'r1', 'r2', 'r3', 'r4']);
  });

  it('refuses while every other dc is over its budget, naming their unavailable servers', () => {
    const st = maintain(twoDcs, 'b1', 'b2');
    const v = judge(st, maintainDc(st, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.usingBudget).toEqual(['b1', 'b2']);
  });

  it('another dc exactly at its budget still counts as within it', () => {
    const st = maintain(twoDcs, 'b1');
    expect(judge(st, maintainDc(st, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW).allowed).toBe(true);
  });

  it('one healthy dc among several is enough', () => {
    const st = maintain(
      state([
        ...replicas('a', 3, 'dc1'),
        ...replicas('b', 3, 'dc2'),
        server('p', { role: 'primary', dc: 'dc3' }),
        ...replicas('c', 2, 'dc3'),
      ]),
      'b1',
      'b2',
    );
    const v = judge(st, maintainDc(st, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(true);
  });

  it('a single-dc cluster cannot be taken down by a dc request even with a generous budget', () => {
    const single = state([server('p', { role: 'primary' }), ...replicas('r', 2)], {
      cluster: { budget: { maxUnavailablePerDc: 5 } },
    });
    const v = judge(single, maintainDc(single, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('taking dc dc1 out needs another dc within its budget, and there is none');
  });

  it('a dc record without servers is not a healthy dc elsewhere', () => {
    const single = state([server('p', { role: 'primary' }), ...replicas('r', 2)], { dcs: [dc('empty')] });
    expect(judge(single, maintainDc(single, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW).allowed).toBe(false);
  });

  it('a dc whose servers are all down already charges nothing', () => {
    const st = state([...replicas('a', 2, 'dc1', { health: 'down' })]);
    const v = judge(st, maintainDc(st, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(true);
    expect(v.newlyUnavailable).toEqual([]);
  });

  it('the electable rule applies to dc requests too', () => {
    // dc2's servers are all unknown: within budget, but none electable.
    const st = state([
      server('p', { role: 'primary', dc: 'dc1' }),
      ...replicas('a', 2, 'dc1'),
      ...replicas('b', 3, 'dc2', { health: 'unknown' }),
    ]);
    const v = judge(st, maintainDc(st, 'dc1'), { kind: 'dc', dc: 'dc1' }, NOW);
    expect(v.allowed).toBe(false);
    expect(v.reason).toBe('the cluster must keep at least one electable server');
  });
});

describe('budget properties', () => {
  const serverArb = fc.record({
    dc: fc.constantFrom('dc1', 'dc2', 'dc3'),
    role: fc.constantFrom<ServerRole>('primary', 'replica', 'member'),
    health: fc.constantFrom<Health>('running', 'running', 'running', 'down', 'unknown'),
    claimed: fc.boolean(),
  });
  const clusterArb = fc.record({
    servers: fc.array(serverArb, { minLength: 1, maxLength: 12 }),
    max: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  });

  function build(spec: {
    servers: { dc: string; role: ServerRole; health: Health; claimed: boolean }[];
    max: number | undefined;
  }) {
    const servers: Server[] = spec.servers.map((s, i) =>
      server(`s${i}`, {
        dc: s.dc,
        role: s.role,
        health: s.health,
        claims: s.claimed ? { manual: claim({ force: true }) } : {},
      }),
    );
    return state(servers, { cluster: { budget: spec.max === undefined ? {} : { maxUnavailablePerDc: spec.max } } });
  }

  it('a server request that makes a server unavailable is never allowed past its dc budget', () => {
    fc.assert(
      fc.property(clusterArb, fc.nat(), (spec, pick) => {
        const st = build(spec);
        const names = [...st.servers.keys()];
        const target = names[pick % names.length]!;
        const next = withServer(st, { ...st.servers.get(target)!, claims: { 'rollout:x': claim({ force: true }) } });
        const v = judge(st, next, { kind: 'server' }, NOW);
        const dcName = st.servers.get(target)!.dc;
        const n = [...st.servers.values()].filter((s) => s.dc === dcName).length;
        const limit = spec.max ?? defaultMaxUnavailable(n);
        if (v.newlyUnavailable.length > 0 && unavailableIn(next, dcName) > limit) {
          expect(v.allowed).toBe(false);
          expect(v.usingBudget.length).toBe(unavailableIn(next, dcName));
        }
        if (v.newlyUnavailable.length === 0) expect(v.allowed).toBe(true);
        if (v.allowed && v.newlyUnavailable.length > 0) expect(unavailableIn(next, dcName)).toBeLessThanOrEqual(limit);
      }),
    );
  });

  it('any sequence of server requests from a healthy cluster keeps every dc within its budget', () => {
    const healthy = fc.array(
      fc.record({ dc: fc.constantFrom('dc1', 'dc2'), role: fc.constantFrom<ServerRole>('replica', 'member') }),
      { minLength: 1, maxLength: 9 },
    );
    fc.assert(
      fc.property(
        healthy,
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('manual', 'window:w', 'rollout:r'),
            fc.constantFrom('maintenance', 'drain') as fc.Arbitrary<'maintenance' | 'drain'>,
          ),
          { maxLength: 12 },
        ),
        (specs, requests) => {
          let st = state(specs.map((s, i) => server(`s${i}`, s)));
          const sizes = new Map<string, number>();
          for (const s of st.servers.values()) sizes.set(s.dc, (sizes.get(s.dc) ?? 0) + 1);
          for (const [pick, holder, mode] of requests) {
            const name = `s${pick % specs.length}`;
            try {
              st = setServerClaim(st, name, setReq({ holder, mode }), actor(), NOW).next;
            } catch (e) {
              expect((e as DomainError).code).toBe('BudgetExceeded');
            }
            for (const [dcName, n] of sizes)
              expect(unavailableIn(st, dcName)).toBeLessThanOrEqual(defaultMaxUnavailable(n));
          }
        },
      ),
    );
  });

  it('a dc request is allowed only if some other dc is within its budget', () => {
    fc.assert(
      fc.property(clusterArb, fc.constantFrom('dc1', 'dc2', 'dc3'), (spec, target) => {
        const st = build(spec);
        if (![...st.servers.values()].some((s) => s.dc === target)) return;
        const next = withDc(st, { name: target, claims: { manual: claim({ force: true }) } } satisfies Datacenter);
        const v = judge(st, next, { kind: 'dc', dc: target }, NOW);
        if (v.allowed && v.newlyUnavailable.length > 0) {
          const others = new Set([...st.servers.values()].map((s) => s.dc).filter((d) => d !== target));
          const sizes = (d: string) => [...st.servers.values()].filter((s) => s.dc === d).length;
          expect([...others].some((d) => unavailableIn(next, d) <= (spec.max ?? defaultMaxUnavailable(sizes(d))))).toBe(
            true,
          );
        }
      }),
    );
  });
});
