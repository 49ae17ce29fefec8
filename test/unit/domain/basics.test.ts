/** names.ts, duration.ts, errors.ts, model.ts and outcome.ts: the small building blocks. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TTL_SECONDS, parseTtlSeconds } from '../../../functions/domain/duration.js';
import { DomainError, invalid, notFound } from '../../../functions/domain/errors.js';
import { MANUAL, targetName } from '../../../functions/domain/model.js';
import {
  CLUSTER_ID,
  DC_NAME,
  MAX_SERVERS_PER_CLUSTER,
  OBJECT_ID,
  SERVER_NAME,
  checkName,
} from '../../../functions/domain/names.js';
import {
  event,
  noop,
  project,
  projectCluster,
  projectDc,
  projectServer,
  withCluster,
  withDc,
  withServer,
  withoutHolders,
  withoutServer,
} from '../../../functions/domain/outcome.js';
import { caught, claim, cluster, dc, server, state } from './fixtures.js';

describe('names (cluster and server name patterns)', () => {
  it('accepts cluster ids that are slugs of 1 to 63 characters', () => {
    for (const id of ['a', '0', 'db-1', 'a'.repeat(63), '9abc-def-', 'x0-0']) {
      expect(checkName('cluster', id)).toBe(id);
    }
  });

  it('rejects cluster ids that are not lowercase slugs', () => {
    for (const id of ['', '-a', 'A', 'Db1', 'a'.repeat(64), 'a_b', 'a.b', 'a b', ' a', 'a\n', 'ab/c', 'é']) {
      const e = caught(() => checkName('cluster', id));
      expect(e.code).toBe('InvalidInput');
      expect(e.message).toContain('invalid cluster name');
      expect(e.details).toEqual({ cluster: id });
    }
  });

  it('rejects a missing name and reports it as null', () => {
    const e = caught(() => checkName('server', undefined));
    expect(e.code).toBe('InvalidInput');
    expect(e.details).toEqual({ server: null });
    expect(e.message).toBe(`invalid server name: must match ${SERVER_NAME.source}`);
  });

  it('accepts server names of 1 to 128 characters with dots, dashes and underscores after the first', () => {
    for (const name of ['a', 'Z', '7', 'db-1.example_com', 'A'.repeat(128), 'x._-', 'DB01']) {
      expect(checkName('server', name)).toBe(name);
    }
  });

  it('rejects server names that start with punctuation, are too long or hold other characters', () => {
    for (const name of ['', '.a', '-a', '_a', 'A'.repeat(129), 'a b', 'a/b', 'a:b', 'a\nb', 'a\n']) {
      expect(caught(() => checkName('server', name)).code).toBe('InvalidInput');
    }
  });

  it('checks dc names with the server-name rule (us-east-1, DC1)', () => {
    expect(DC_NAME).toBe(SERVER_NAME);
    expect(checkName('dc', 'us-east-1')).toBe('us-east-1');
    expect(checkName('dc', 'DC1')).toBe('DC1');
    const e = caught(() => checkName('dc', '-dc'));
    expect(e.message).toContain('invalid dc name');
    expect(e.details).toEqual({ dc: '-dc' });
  });

  it('uses the cluster pattern only for clusters', () => {
    // Uppercase is fine for servers and dcs, not for clusters.
    expect(checkName('server', 'Upper')).toBe('Upper');
    expect(checkName('dc', 'Upper')).toBe('Upper');
    expect(() => checkName('cluster', 'Upper')).toThrow(DomainError);
    expect(CLUSTER_ID.test('upper')).toBe(true);
  });

  it('object ids (windows, rollouts) allow 1 to 64 word characters and dashes, no dots', () => {
    for (const id of ['w', 'W1', 'nightly-2030_01', 'a'.repeat(64)]) expect(OBJECT_ID.test(id)).toBe(true);
    for (const id of ['', '-w', '_w', 'a.b', 'a'.repeat(65), 'a b', 'a:b']) expect(OBJECT_ID.test(id)).toBe(false);
  });

  it('a cluster holds at most 2,000 servers', () => {
    expect(MAX_SERVERS_PER_CLUSTER).toBe(2000);
  });

  it('property: every generated slug is a valid cluster id and survives checkName', () => {
    const first = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
    const rest = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
    fc.assert(
      fc.property(first, fc.array(rest, { maxLength: 62 }), (f, r) => {
        const id = f + r.join('');
        expect(checkName('cluster', id)).toBe(id);
      }),
    );
  });
});

describe('parseTtlSeconds', () => {
  it('takes a number of seconds as is', () => {
    expect(parseTtlSeconds(1)).toBe(1);
    expect(parseTtlSeconds(90)).toBe(90);
    expect(parseTtlSeconds(MAX_TTL_SECONDS)).toBe(30 * 86400);
  });

  it('parses durations in days, hours, minutes and seconds', () => {
    expect(parseTtlSeconds('90s')).toBe(90);
    expect(parseTtlSeconds('30m')).toBe(1800);
    expect(parseTtlSeconds('2h')).toBe(7200);
    expect(parseTtlSeconds('1d')).toBe(86400);
    expect(parseTtlSeconds('1h30m')).toBe(5400);
    expect(parseTtlSeconds('1d2h3m4s')).toBe(86400 + 7200 + 180 + 4);
    expect(parseTtlSeconds('30d')).toBe(MAX_TTL_SECONDS);
  });

  it('ignores surrounding blanks', () => {
    expect(parseTtlSeconds(' 2h ')).toBe(7200);
    expect(parseTtlSeconds('\t45m\n')).toBe(2700);
  });

  it('rejects malformed durations with an InvalidInput naming the value', () => {
    for (const bad of ['', '   ', '2x', 'h', '2', '2h 30m', '30m1h', '1.5h', '-2h', 'two hours', '2H', 'x2h', '2hx']) {
      const e = caught(() => parseTtlSeconds(bad));
      expect(e.code).toBe('InvalidInput');
      expect(e.message).toBe(`invalid ttl "${bad}": use seconds or a duration like 2h, 30m, 1h30m`);
    }
  });

  it('rejects zero, negative, fractional and over-long ttls', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, MAX_TTL_SECONDS + 1, '0s', '0h0m', '31d', '720h1s']) {
      const e = caught(() => parseTtlSeconds(bad));
      expect(e.code).toBe('InvalidInput');
      expect(e.message).toBe('ttl must be between 1 second and 30 days');
    }
  });

  it('property: a duration rendered from its parts parses back to the same number of seconds', () => {
    const part = fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined });
    fc.assert(
      fc.property(part, part, part, part, (d, h, m, s) => {
        const text = `${d !== undefined ? `${d}d` : ''}${h !== undefined ? `${h}h` : ''}${m !== undefined ? `${m}m` : ''}${s !== undefined ? `${s}s` : ''}`;
        const seconds = (d ?? 0) * 86400 + (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
        if (seconds >= 1 && seconds <= MAX_TTL_SECONDS) {
          expect(parseTtlSeconds(text)).toBe(seconds);
          expect(parseTtlSeconds(seconds)).toBe(seconds);
        } else {
          expect(() => parseTtlSeconds(text)).toThrow(DomainError);
        }
      }),
    );
  });

  it('property: any whole number of seconds in range round trips through a d/h/m/s rendering', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_TTL_SECONDS }), (n) => {
        const d = Math.floor(n / 86400);
        const h = Math.floor((n % 86400) / 3600);
        const m = Math.floor((n % 3600) / 60);
        const s = n % 60;
        expect(parseTtlSeconds(`${d}d${h}h${m}m${s}s`)).toBe(n);
      }),
    );
  });
});

describe('errors', () => {
  it('a DomainError carries its code as its name, its message and details', () => {
    const e = new DomainError('BudgetExceeded', 'too many', { usingBudget: ['a'] });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('BudgetExceeded');
    expect(e.name).toBe('BudgetExceeded');
    expect(e.message).toBe('too many');
    expect(e.details).toEqual({ usingBudget: ['a'] });
  });

  it('invalid() and notFound() build the matching codes', () => {
    const i = invalid('bad thing', { field: 'x' });
    expect(i.code).toBe('InvalidInput');
    expect(i.message).toBe('bad thing');
    expect(i.details).toEqual({ field: 'x' });
    const n = notFound('server s1');
    expect(n.code).toBe('NotFound');
    expect(n.message).toBe('server s1 not found');
  });
});

describe('model', () => {
  it('names targets as events record them', () => {
    expect(targetName({ kind: 'cluster' })).toBe('cluster');
    expect(targetName({ kind: 'dc', name: 'dc2' })).toBe('dc:dc2');
    expect(targetName({ kind: 'server', name: 's1' })).toBe('server:s1');
    expect(MANUAL).toBe('manual');
  });
});

describe('outcome helpers', () => {
  const s1 = server('s1');
  const s2 = server('s2');
  const base = state([s1, s2], { dcs: [dc('dc1')] });

  it('withServer / withoutServer / withDc / withCluster return new states and leave the input alone', () => {
    const s3 = server('s3');
    const added = withServer(base, s3);
    expect([...added.servers.keys()]).toEqual(['s1', 's2', 's3']);
    expect(base.servers.has('s3')).toBe(false);
    expect(added.dcs).toBe(base.dcs);
    expect(added.cluster).toBe(base.cluster);

    const removed = withoutServer(base, 's1');
    expect([...removed.servers.keys()]).toEqual(['s2']);
    expect(base.servers.has('s1')).toBe(true);

    const d2 = dc('dc2');
    const withD = withDc(base, d2);
    expect(withD.dcs.get('dc2')).toBe(d2);
    expect(base.dcs.has('dc2')).toBe(false);
    expect(withD.servers).toBe(base.servers);

    const c = cluster({ revision: 99 });
    const withC = withCluster(base, c);
    expect(withC.cluster).toBe(c);
    expect(base.cluster.revision).toBe(7);
    expect(withC.servers).toBe(base.servers);
  });

  it('noop keeps the state and records no event', () => {
    const o = noop(base);
    expect(o.next).toBe(base);
    expect(o.events).toEqual([]);
    expect(o.verdict).toBeUndefined();
    const v = { allowed: true, newlyUnavailable: [], losesPrimary: [], usingBudget: [] };
    expect(noop(base, v).verdict).toBe(v);
  });

  it('projects only the routing-relevant part of a server', () => {
    const full = server('s1', {
      address: '10.0.0.1',
      port: 3306,
      role: 'primary',
      component: 'datanode',
      version: '11.4',
      connections: 5,
      openTransactions: 2,
      replicationLagSeconds: 3,
      claims: { manual: claim() },
    });
    expect(projectServer(full)).toEqual({
      dc: 'dc1',
      address: '10.0.0.1',
      port: 3306,
      role: 'primary',
      component: 'datanode',
      health: 'running',
      version: '11.4',
      claims: { manual: claim() },
    });
    expect(projectServer(undefined)).toBeNull();
  });

  it('projects dcs and clusters', () => {
    const d = dc('dc1', { manual: claim() });
    expect(projectDc(d)).toEqual({ claims: { manual: claim() } });
    expect(projectDc(undefined)).toBeNull();
    const c = cluster({ claims: { manual: claim() } });
    expect(projectCluster(c)).toEqual({
      engine: 'mariadb',
      budget: {},
      staleAfterSeconds: 60,
      claims: { manual: claim() },
    });
    expect(projectCluster(undefined)).toBeNull();
  });

  it('project picks the target out of a state', () => {
    const st = state([server('s1', { version: 'v1' })], { dcs: [dc('dc1', { manual: claim() })] });
    expect(project(st, { kind: 'server', name: 's1' })).toMatchObject({ version: 'v1' });
    expect(project(st, { kind: 'server', name: 'nope' })).toBeNull();
    expect(project(st, { kind: 'dc', name: 'dc1' })).toEqual({ claims: { manual: claim() } });
    expect(project(st, { kind: 'dc', name: 'dc9' })).toBeNull();
    expect(project(st, { kind: 'cluster' })).toMatchObject({ engine: 'mariadb' });
    expect(project(undefined, { kind: 'cluster' })).toBeNull();
  });

  it('event records action, target, before and after, and reason/override only when given', () => {
    const after = withServer(base, { ...s1, version: 'v2' });
    const e = event('status', { kind: 'server', name: 's1' }, base, after);
    expect(e).toEqual({
      action: 'status',
      target: 'server:s1',
      before: projectServer(s1),
      after: projectServer({ ...s1, version: 'v2' }),
    });
    expect('reason' in e).toBe(false);
    expect('override' in e).toBe(false);

    const withExtras = event('set-maintenance', { kind: 'cluster' }, base, after, {
      reason: 'patching',
      override: true,
    });
    expect(withExtras.reason).toBe('patching');
    expect(withExtras.override).toBe(true);

    const emptyReason = event('x', { kind: 'cluster' }, base, after, { reason: '', override: false });
    expect(emptyReason.reason).toBe('');
    expect('override' in emptyReason).toBe(false);

    const removed = event('remove-cluster', { kind: 'cluster' }, base, undefined);
    expect(removed.after).toBeNull();
    expect(removed.before).toEqual(projectCluster(base.cluster));
  });

  it('withoutHolders drops exactly the named holders', () => {
    const claims = { manual: claim(), 'window:w1': claim(), 'rollout:r1': claim() };
    expect(Object.keys(withoutHolders(claims, ['manual', 'rollout:r1']))).toEqual(['window:w1']);
    expect(withoutHolders(claims, [])).toEqual(claims);
    expect(Object.keys(claims)).toHaveLength(3);
  });
});
