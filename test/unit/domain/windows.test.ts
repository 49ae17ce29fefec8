/** windows.ts: the window record and what its start and end phases do (docs/windows.md). */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../functions/domain/errors.js';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS } from '../../../functions/domain/maintenance.js';
import type { ClusterState } from '../../../functions/domain/model.js';
import {
  checkTargets,
  deleteWindow,
  endWindow,
  MAX_WINDOW_TARGETS,
  requireWindow,
  saveWindow,
  skipOccurrence,
  skippedStart,
  startWindow,
  windowEvent,
  windowHolder,
  type MaintenanceWindow,
} from '../../../functions/domain/windows.js';
import { actor, caught, claim, dc, HOUR, MIN, NOW, replicas, SEC, server, state } from './fixtures.js';

/** A primary and two replicas in dc1, three replicas in dc2 (dc2 known only through its servers). */
const fleet = (): ClusterState =>
  state([server('p', { role: 'primary' }), ...replicas('r', 2, 'dc1'), ...replicas('b', 3, 'dc2')], {
    dcs: [dc('dc1')],
  });

const win = (overrides: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({
  id: 'w1',
  cluster: 'c1',
  name: 'sunday-patch',
  schedule: 'cron(0 2 ? * SUN *)',
  timezone: 'Europe/Berlin',
  duration: 'PT2H',
  durationMs: 2 * HOUR,
  action: 'maintenance',
  targets: { servers: ['r1'], dcs: [] },
  reason: 'kernel patching',
  enabled: true,
  actor: 'alice',
  createdAt: NOW - 5 * HOUR,
  updatedAt: NOW - 5 * HOUR,
  version: 1,
  ...overrides,
});

const iso = (t: number) => new Date(t).toISOString();
const HOLDER = 'window:w1';
/** The claim a maintenance window's start sets, started at `now`. */
const windowClaim = (until: number, reason = 'kernel patching', now = NOW) => ({
  mode: 'maintenance',
  force: false,
  actor: 'alice',
  since: now,
  until,
  reason,
  onDeadline: 'force',
  drainDeadline: now + DEFAULT_DRAIN_TIMEOUT_SECONDS * SEC,
});

describe('windowHolder and windowEvent', () => {
  it('the holder is window:<id>', () => {
    expect(windowHolder('abc')).toBe('window:abc');
  });

  it('an event targets window:<id>, has no before, and names the window in after', () => {
    expect(windowEvent('x', win(), { occurrence: 'o' })).toEqual({
      action: 'x',
      target: 'window:w1',
      before: null,
      after: { name: 'sunday-patch', action: 'maintenance', occurrence: 'o' },
    });
    expect(windowEvent('x', win())).toEqual({
      action: 'x',
      target: 'window:w1',
      before: null,
      after: { name: 'sunday-patch', action: 'maintenance' },
    });
    expect(windowEvent('x', win(), {}, 'why')).toEqual({
      action: 'x',
      target: 'window:w1',
      before: null,
      after: { name: 'sunday-patch', action: 'maintenance' },
      reason: 'why',
    });
    expect('reason' in windowEvent('x', win())).toBe(false);
  });
});

describe('checkTargets', () => {
  it('accepts servers and dcs that exist', () => {
    expect(() =>
      checkTargets(fleet(), { action: 'maintenance', targets: { servers: ['p', 'r1'], dcs: ['dc1'] } }),
    ).not.toThrow();
  });

  it('accepts a dc known only through its servers', () => {
    const st = fleet();
    expect(st.dcs.has('dc2')).toBe(false);
    expect(() => checkTargets(st, { action: 'maintenance', targets: { servers: [], dcs: ['dc2'] } })).not.toThrow();
  });

  it('accepts a dc that has a record but no servers', () => {
    const st = state([server('r1')], { dcs: [dc('empty')] });
    expect(() => checkTargets(st, { action: 'maintenance', targets: { servers: [], dcs: ['empty'] } })).not.toThrow();
  });

  it('names every unknown server and dc in the message and the details', () => {
    const e = caught(() =>
      checkTargets(fleet(), {
        action: 'maintenance',
        targets: { servers: ['r1', 'x', 'y'], dcs: ['dc1', 'dc2', 'dc9'] },
      }),
    );
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe('targets: server x, server y, dc dc9 not found in cluster c1');
    expect(e.details).toEqual({ servers: ['x', 'y'], dcs: ['dc9'] });
  });

  it('an unknown server alone', () => {
    const e = caught(() =>
      checkTargets(fleet(), { action: 'cluster-maintenance', targets: { servers: ['x'], dcs: [] } }),
    );
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe('targets: server x not found in cluster c1');
    expect(e.details).toEqual({ servers: ['x'], dcs: [] });
  });

  it('an unknown dc alone, in another cluster', () => {
    const st = state([server('r1')], { cluster: { id: 'prod' } });
    const e = caught(() => checkTargets(st, { action: 'maintenance', targets: { servers: ['r1'], dcs: ['dc2'] } }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe('targets: dc dc2 not found in cluster prod');
    expect(e.details).toEqual({ servers: [], dcs: ['dc2'] });
  });

  it('refuses a maintenance window with no targets', () => {
    const e = caught(() => checkTargets(fleet(), { action: 'maintenance', targets: { servers: [], dcs: [] } }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe('targets: a maintenance window needs at least one server or dc');
    expect(e.details).toBeUndefined();
  });

  it(`names at most ${MAX_WINDOW_TARGETS} servers and dcs together (its start writes each in one transaction)`, () => {
    const st = state(replicas('s', 45, 'dc1'));
    const names = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
    expect(() =>
      checkTargets(st, { action: 'maintenance', targets: { servers: names(39), dcs: ['dc1'] } }),
    ).not.toThrow();
    const e = caught(() => checkTargets(st, { action: 'maintenance', targets: { servers: names(40), dcs: ['dc1'] } }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe(
      `targets: a window names at most ${MAX_WINDOW_TARGETS} servers and dcs together, not 41: name their dcs instead`,
    );
    expect(e.details).toEqual({ limit: 40 });
  });

  it("a rollout window's servers must exist too", () => {
    const rollout = { servers: ['r1', 'gone'] } as MaintenanceWindow['rollout'];
    const e = caught(() => checkTargets(fleet(), { action: 'rollout', targets: { servers: [], dcs: [] }, rollout }));
    expect(e.code).toBe('InvalidInput');
    expect(e.message).toBe('targets: server gone not found in cluster c1');
  });

  it('a maintenance window with only a server, only a dc, or one of each is fine', () => {
    expect(() => checkTargets(fleet(), { action: 'maintenance', targets: { servers: ['r1'], dcs: [] } })).not.toThrow();
    expect(() =>
      checkTargets(fleet(), { action: 'maintenance', targets: { servers: [], dcs: ['dc1'] } }),
    ).not.toThrow();
    expect(() =>
      checkTargets(fleet(), { action: 'maintenance', targets: { servers: ['r1'], dcs: ['dc2'] } }),
    ).not.toThrow();
  });

  it('accepts a cluster-maintenance or rollout window with no targets', () => {
    expect(() =>
      checkTargets(fleet(), { action: 'cluster-maintenance', targets: { servers: [], dcs: [] } }),
    ).not.toThrow();
    expect(() => checkTargets(fleet(), { action: 'rollout', targets: { servers: [], dcs: [] } })).not.toThrow();
  });
});

describe('saveWindow', () => {
  it('creates: the window as given, the state untouched, a create-window event', () => {
    const st = fleet();
    const w = win();
    const o = saveWindow(st, undefined, w);
    expect(o.next).toBe(st);
    expect(o.window).toEqual(w);
    expect(o.events).toEqual([
      {
        action: 'create-window',
        target: 'window:w1',
        before: null,
        after: {
          name: 'sunday-patch',
          action: 'maintenance',
          schedule: 'cron(0 2 ? * SUN *)',
          timezone: 'Europe/Berlin',
          duration: 'PT2H',
          enabled: true,
        },
      },
    ]);
    expect('reason' in o.events[0]!).toBe(false);
    expect(o.verdict).toBeUndefined();
  });

  it('updates: keeps createdAt, version and rolloutId of the existing record, takes the rest from the edit', () => {
    const st = fleet();
    const existing = win({ createdAt: NOW - 9 * HOUR, version: 4, rolloutId: 'ro-1' });
    const edit = win({
      name: 'monday-patch',
      schedule: 'at(2030-02-01T02:00:00)',
      timezone: 'UTC',
      duration: 'PT1H',
      durationMs: HOUR,
      enabled: false,
      action: 'cluster-maintenance',
      targets: { servers: [], dcs: [] },
      createdAt: NOW,
      updatedAt: NOW,
      version: 99,
    });
    const o = saveWindow(st, existing, edit);
    expect(o.next).toBe(st);
    expect(o.window).toEqual({ ...edit, createdAt: NOW - 9 * HOUR, version: 4, rolloutId: 'ro-1' });
    expect(o.events).toEqual([
      {
        action: 'update-window',
        target: 'window:w1',
        before: null,
        after: {
          name: 'monday-patch',
          action: 'cluster-maintenance',
          schedule: 'at(2030-02-01T02:00:00)',
          timezone: 'UTC',
          duration: 'PT1H',
          enabled: false,
        },
      },
    ]);
  });

  it('an update of a window without a rollout adds no rolloutId', () => {
    const o = saveWindow(fleet(), win({ version: 2 }), win({ version: 7 }));
    expect(o.window!.version).toBe(2);
    expect('rolloutId' in o.window!).toBe(false);
  });

  it('checks the targets on create and on update', () => {
    const bad = win({ targets: { servers: ['x'], dcs: [] } });
    expect(caught(() => saveWindow(fleet(), undefined, bad)).message).toBe('targets: server x not found in cluster c1');
    expect(caught(() => saveWindow(fleet(), win(), bad)).code).toBe('InvalidInput');
  });
});

describe('deleteWindow', () => {
  it('leaves no window, the state untouched, a delete-window event', () => {
    const st = fleet();
    const o = deleteWindow(st, win());
    expect(o.next).toBe(st);
    expect(o.window).toBeNull();
    expect(o.events).toEqual([
      {
        action: 'delete-window',
        target: 'window:w1',
        before: null,
        after: { name: 'sunday-patch', action: 'maintenance' },
      },
    ]);
  });
});

describe('skipOccurrence and skippedStart', () => {
  const occurrence = NOW + 3 * HOUR;

  it('skipOccurrence sets the skip and updatedAt, with a skip-window event', () => {
    const st = fleet();
    const w = win();
    const o = skipOccurrence(st, w, occurrence, NOW);
    expect(o.next).toBe(st);
    expect(o.window).toEqual({ ...w, skip: occurrence, updatedAt: NOW });
    expect(o.events).toEqual([
      {
        action: 'skip-window',
        target: 'window:w1',
        before: null,
        after: { name: 'sunday-patch', action: 'maintenance', occurrence: '2030-01-01T03:00:00.000Z' },
      },
    ]);
    // the input is left alone
    expect('skip' in w).toBe(false);
    expect(w.updatedAt).toBe(NOW - 5 * HOUR);
  });

  it('skippedStart uses the skip up, with a window-skipped event', () => {
    const st = fleet();
    const w = win({ skip: occurrence });
    const o = skippedStart(st, w, occurrence, NOW + 4 * HOUR);
    expect(o.next).toBe(st);
    const { skip: _s, ...rest } = w;
    expect(o.window).toEqual({ ...rest, updatedAt: NOW + 4 * HOUR });
    expect('skip' in o.window!).toBe(false);
    expect(o.events).toEqual([
      {
        action: 'window-skipped',
        target: 'window:w1',
        before: null,
        after: { name: 'sunday-patch', action: 'maintenance', occurrence: '2030-01-01T03:00:00.000Z' },
      },
    ]);
    expect(w.skip).toBe(occurrence);
  });
});

describe('startWindow: maintenance', () => {
  it('puts the target servers and dcs in graceful maintenance held by window:<id>, until the end', () => {
    const st = fleet();
    const w = win({ targets: { servers: ['r1'], dcs: ['dc2'] } });
    const start = NOW - 10 * MIN;
    const until = start + 2 * HOUR;
    const o = startWindow(st, w, start, actor(), NOW);
    expect(o.window).toEqual({ ...w, open: { occurrence: start, until } });
    expect(o.next.servers.get('r1')!.claims).toEqual({ [HOLDER]: windowClaim(until) });
    expect(o.next.dcs.get('dc2')).toEqual({ name: 'dc2', claims: { [HOLDER]: windowClaim(until) } });
    // dcs first, then servers, then the window's own event
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['set-maintenance', 'dc:dc2'],
      ['set-maintenance', 'server:r1'],
      ['window-start', 'window:w1'],
    ]);
    expect(o.events[0]).toMatchObject({
      before: null,
      after: { claims: { [HOLDER]: windowClaim(until) } },
      reason: 'kernel patching',
    });
    expect(o.events[1]).toMatchObject({
      before: { claims: {} },
      after: { claims: { [HOLDER]: windowClaim(until) } },
      reason: 'kernel patching',
    });
    expect(o.events[2]).toEqual({
      action: 'window-start',
      target: 'window:w1',
      before: null,
      after: {
        name: 'sunday-patch',
        action: 'maintenance',
        occurrence: '2029-12-31T23:50:00.000Z',
        until: '2030-01-01T01:50:00.000Z',
      },
    });
    // the rest of the cluster and the input are left alone
    expect(o.next.servers.get('r2')).toBe(st.servers.get('r2'));
    expect(o.next.servers.get('b1')).toBe(st.servers.get('b1'));
    expect(o.next.dcs.get('dc1')).toBe(st.dcs.get('dc1'));
    expect(o.next.cluster).toBe(st.cluster);
    expect(st.servers.get('r1')!.claims).toEqual({});
    expect(st.dcs.has('dc2')).toBe(false);
  });

  it('several servers each get a claim and an event', () => {
    const st = fleet();
    const w = win({ targets: { servers: ['r1', 'b1'], dcs: [] } });
    const o = startWindow(st, w, NOW, actor({ user: 'scheduler' }), NOW);
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['set-maintenance', 'server:r1'],
      ['set-maintenance', 'server:b1'],
      ['window-start', 'window:w1'],
    ]);
    for (const name of ['r1', 'b1']) {
      expect(o.next.servers.get(name)!.claims).toEqual({
        [HOLDER]: { ...windowClaim(NOW + 2 * HOUR), actor: 'scheduler' },
      });
    }
  });

  it('a window without a reason gives "window <name>"', () => {
    const w = win({ reason: undefined });
    const o = startWindow(fleet(), w, NOW, actor(), NOW);
    expect(o.next.servers.get('r1')!.claims[HOLDER]).toEqual(windowClaim(NOW + 2 * HOUR, 'window sunday-patch'));
    expect(o.events[0]!.reason).toBe('window sunday-patch');
  });

  it('an occurrence already over changes nothing and records nothing', () => {
    const st = fleet();
    const w = win();
    const o = startWindow(st, w, NOW - 2 * HOUR, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.window).toBe(w);
    expect(o.events).toEqual([]);
  });

  it('an occurrence with a moment left still starts', () => {
    const o = startWindow(fleet(), win(), NOW - 2 * HOUR + 1, actor(), NOW);
    expect(o.next.servers.get('r1')!.claims[HOLDER]!.until).toBe(NOW + 1);
    expect(o.events.map((e) => e.action)).toEqual(['set-maintenance', 'window-start']);
  });

  it("a target already in maintenance keeps that claim beside the window's", () => {
    const manual = claim({ actor: 'bob', reason: 'disk' });
    const st = state([server('p', { role: 'primary' }), server('r1', { claims: { manual } }), server('r2')]);
    const o = startWindow(st, win(), NOW, actor(), NOW);
    expect(o.next.servers.get('r1')!.claims).toEqual({ manual, [HOLDER]: windowClaim(NOW + 2 * HOUR) });
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['set-maintenance', 'server:r1'],
      ['window-start', 'window:w1'],
    ]);
  });

  it('a repeated start of the same occurrence adds nothing: only window-start is recorded again', () => {
    const first = startWindow(fleet(), win(), NOW, actor(), NOW).next;
    const o = startWindow(first, win(), NOW, actor(), NOW + MIN);
    expect(o.next).toBe(first);
    expect(o.events.map((e) => e.action)).toEqual(['window-start']);
  });

  it('over the budget: nothing changes, even the targets that would fit, and one window-blocked event', () => {
    // dc1 has three servers and allows one unavailable: r1 fits, r2 does not.
    const st = fleet();
    const w = win({ targets: { servers: ['r1', 'r2'], dcs: [] } });
    const o = startWindow(st, w, NOW, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.window).toBe(w);
    expect(o.events).toEqual([
      {
        action: 'window-blocked',
        target: 'window:w1',
        before: null,
        after: {
          name: 'sunday-patch',
          action: 'maintenance',
          occurrence: '2030-01-01T00:00:00.000Z',
          until: '2030-01-01T02:00:00.000Z',
          details: { usingBudget: ['r1', 'r2'], newlyUnavailable: ['r2'] },
        },
        reason: 'dc dc1 allows 1 unavailable of 3; this would make 2',
      },
    ]);
  });

  it("over the budget because of someone else's maintenance", () => {
    const st = state([server('p', { role: 'primary' }), server('r1', { claims: { manual: claim() } }), server('r2')]);
    const o = startWindow(st, win({ targets: { servers: ['r2'], dcs: [] } }), NOW, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.events).toHaveLength(1);
    expect(o.events[0]).toMatchObject({
      action: 'window-blocked',
      reason: 'dc dc1 allows 1 unavailable of 3; this would make 2',
      after: { details: { usingBudget: ['r1', 'r2'], newlyUnavailable: ['r2'] } },
    });
  });

  it('a dc that cannot go within budget blocks the window', () => {
    const st = state(replicas('r', 3, 'dc1'));
    const o = startWindow(st, win({ targets: { servers: [], dcs: ['dc1'] } }), NOW, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.events).toEqual([
      {
        action: 'window-blocked',
        target: 'window:w1',
        before: null,
        after: {
          name: 'sunday-patch',
          action: 'maintenance',
          occurrence: '2030-01-01T00:00:00.000Z',
          until: '2030-01-01T02:00:00.000Z',
          details: { usingBudget: [], newlyUnavailable: ['r1', 'r2', 'r3'] },
        },
        reason: 'taking dc dc1 out needs another dc within its budget, and there is none',
      },
    ]);
  });

  it('a target that no longer exists blocks the window, without details', () => {
    const st = fleet();
    const o = startWindow(st, win({ targets: { servers: ['r1', 'gone'], dcs: [] } }), NOW, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.events).toEqual([
      {
        action: 'window-blocked',
        target: 'window:w1',
        before: null,
        after: {
          name: 'sunday-patch',
          action: 'maintenance',
          occurrence: '2030-01-01T00:00:00.000Z',
          until: '2030-01-01T02:00:00.000Z',
        },
        reason: 'server gone not found',
      },
    ]);
  });

  it('any other error is not a blocked window: it propagates', () => {
    /** A state whose server lookup fails for `boom`, as nothing in the domain core does by itself. */
    const failing = (error: Error): ClusterState => {
      const st = fleet();
      const servers = new Map(st.servers);
      servers.get = (name: string) => {
        if (name === 'boom') throw error;
        return Map.prototype.get.call(servers, name) as ReturnType<typeof servers.get>;
      };
      return { ...st, servers };
    };
    const w = win({ targets: { servers: ['boom'], dcs: [] } });
    expect(() => startWindow(failing(new Error('disk on fire')), w, NOW, actor(), NOW)).toThrow('disk on fire');
    const e = caught(() =>
      startWindow(failing(new DomainError('Conflict', 'changed meanwhile')), w, NOW, actor(), NOW),
    );
    expect(e.code).toBe('Conflict');
    expect(e.message).toBe('changed meanwhile');
  });
});

describe('startWindow: cluster-maintenance', () => {
  it('sets the cluster claim window:<id> until the end, then window-start', () => {
    const st = fleet();
    const w = win({ action: 'cluster-maintenance', targets: { servers: [], dcs: [] } });
    const o = startWindow(st, w, NOW - HOUR, actor(), NOW);
    const c = {
      mode: 'maintenance',
      force: false,
      actor: 'alice',
      since: NOW,
      onDeadline: 'hold',
      reason: 'kernel patching',
      until: NOW + HOUR,
    };
    expect(o.window).toEqual({ ...w, open: { occurrence: NOW - HOUR, until: NOW + HOUR } });
    expect(o.next.cluster.claims).toEqual({ [HOLDER]: c });
    expect(o.next.servers).toBe(st.servers);
    expect(o.next.dcs).toBe(st.dcs);
    expect(o.events).toHaveLength(2);
    expect(o.events[0]).toMatchObject({
      action: 'set-maintenance',
      target: 'cluster',
      reason: 'kernel patching',
      after: { claims: { [HOLDER]: c } },
    });
    expect(o.events[1]).toEqual({
      action: 'window-start',
      target: 'window:w1',
      before: null,
      after: {
        name: 'sunday-patch',
        action: 'cluster-maintenance',
        occurrence: '2029-12-31T23:00:00.000Z',
        until: '2030-01-01T01:00:00.000Z',
      },
    });
  });

  it('keeps another cluster claim and uses "window <name>" without a reason', () => {
    const manual = claim({ onDeadline: 'hold', until: NOW + HOUR });
    const st = state([server('r1')], { cluster: { claims: { manual } } });
    const o = startWindow(st, win({ action: 'cluster-maintenance', reason: undefined }), NOW, actor(), NOW);
    expect(o.next.cluster.claims).toEqual({
      manual,
      [HOLDER]: {
        mode: 'maintenance',
        force: false,
        actor: 'alice',
        since: NOW,
        onDeadline: 'hold',
        reason: 'window sunday-patch',
        until: NOW + 2 * HOUR,
      },
    });
  });

  it('an occurrence already over changes nothing', () => {
    const st = fleet();
    const o = startWindow(st, win({ action: 'cluster-maintenance' }), NOW - 3 * HOUR, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.events).toEqual([]);
  });
});

describe('endWindow', () => {
  /** The window's claims on the cluster, dc2, r1 and r2 (r2 no longer a target), beside others' claims. */
  const held = (): ClusterState => {
    const mine = claim({ until: NOW + HOUR });
    return state(
      [
        server('p', { role: 'primary' }),
        server('r1', { claims: { manual: claim({ actor: 'bob' }), [HOLDER]: mine } }),
        server('r2', { claims: { [HOLDER]: mine } }),
        server('r3', { claims: { 'window:w10': mine } }),
        ...replicas('b', 3, 'dc2'),
      ],
      {
        cluster: { claims: { [HOLDER]: claim({ onDeadline: 'hold' }), manual: claim({ onDeadline: 'hold' }) } },
        dcs: [dc('dc1', { 'rollout:x': mine }), dc('dc2', { [HOLDER]: mine, 'window:w2': mine })],
      },
    );
  };

  it('removes only window:<id> claims, from the cluster, dcs and servers, then window-end', () => {
    const st = held();
    const w = win({ targets: { servers: ['r1'], dcs: ['dc2'] } });
    const o = endWindow(st, w, NOW - HOUR, actor(), NOW);
    expect(o.window).toEqual(w);
    expect(Object.keys(o.next.cluster.claims)).toEqual(['manual']);
    expect(o.next.dcs.get('dc2')!.claims).toEqual({ 'window:w2': claim({ until: NOW + HOUR }) });
    expect(o.next.servers.get('r1')!.claims).toEqual({ manual: claim({ actor: 'bob' }) });
    expect(o.next.servers.get('r2')!.claims).toEqual({});
    // others' claims and untouched entities keep their identity
    expect(o.next.servers.get('r3')).toBe(st.servers.get('r3'));
    expect(o.next.servers.get('p')).toBe(st.servers.get('p'));
    expect(o.next.dcs.get('dc1')).toBe(st.dcs.get('dc1'));
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['clear-maintenance', 'cluster'],
      ['clear-maintenance', 'dc:dc2'],
      ['clear-maintenance', 'server:r1'],
      ['clear-maintenance', 'server:r2'],
      ['window-end', 'window:w1'],
    ]);
    expect(o.events[4]).toEqual({
      action: 'window-end',
      target: 'window:w1',
      before: null,
      after: { name: 'sunday-patch', action: 'maintenance', occurrence: '2029-12-31T23:00:00.000Z' },
    });
    expect(o.events.some((e) => 'override' in e)).toBe(false);
    // the input is left alone
    expect(st.servers.get('r1')!.claims[HOLDER]).toBeDefined();
    expect(st.cluster.claims[HOLDER]).toBeDefined();
  });

  it('ends what its start set', () => {
    const st = fleet();
    const w = win({ targets: { servers: ['r1'], dcs: ['dc2'] } });
    const started = startWindow(st, w, NOW, actor(), NOW);
    const o = endWindow(started.next, started.window!, NOW, actor(), NOW + 2 * HOUR);
    expect(o.next.servers.get('r1')!.claims).toEqual({});
    expect(o.next.dcs.get('dc2')!.claims).toEqual({});
    expect(o.window).toEqual(w);
    expect(o.events.map((e) => e.action)).toEqual(['clear-maintenance', 'clear-maintenance', 'window-end']);
    expect(o.events[2]!.after).toEqual({ name: 'sunday-patch', action: 'maintenance', occurrence: iso(NOW) });
  });

  it("the end of an earlier occurrence leaves the open one's claims alone (a late or swept end)", () => {
    const w = win({ targets: { servers: ['r1'], dcs: [] } });
    const started = startWindow(fleet(), w, NOW, actor(), NOW);
    const late = endWindow(started.next, started.window!, NOW - 24 * HOUR, actor(), NOW + MIN);
    expect(late.next).toBe(started.next);
    expect(late.window).toBe(started.window);
    expect(late.events).toEqual([]);
    expect(endWindow(started.next, started.window!, NOW, actor(), NOW + MIN).events.map((e) => e.action)).toEqual([
      'clear-maintenance',
      'window-end',
    ]);
  });

  it('an open occurrence whose claims are gone (expired, or cleared by an admin) still ends: window-end, nothing open', () => {
    const w = win({ open: { occurrence: NOW, until: NOW + 2 * HOUR } });
    const o = endWindow(fleet(), w, NOW, actor(), NOW + 2 * HOUR);
    expect(o.events.map((e) => e.action)).toEqual(['window-end']);
    expect(o.window).toEqual(win());
  });

  it('a cluster-maintenance window clears only its cluster claim', () => {
    const st = state([server('r1', { claims: { manual: claim() } })], {
      cluster: { claims: { [HOLDER]: claim({ onDeadline: 'hold' }), manual: claim({ onDeadline: 'hold' }) } },
    });
    const o = endWindow(st, win({ action: 'cluster-maintenance' }), NOW, actor(), NOW);
    expect(o.next.cluster.claims).toEqual({ manual: claim({ onDeadline: 'hold' }) });
    expect(o.next.servers).toBe(st.servers);
    expect(o.events.map((e) => [e.action, e.target])).toEqual([
      ['clear-maintenance', 'cluster'],
      ['window-end', 'window:w1'],
    ]);
    expect(o.events[1]!.after).toEqual({ name: 'sunday-patch', action: 'cluster-maintenance', occurrence: iso(NOW) });
  });

  it('when the window holds nothing: the state unchanged and no events', () => {
    const st = held();
    const w = win({ id: 'w3' });
    const o = endWindow(st, w, NOW, actor(), NOW);
    expect(o.next).toBe(st);
    expect(o.window).toBe(w);
    expect(o.events).toEqual([]);
  });
});

describe('requireWindow', () => {
  it('returns the window', () => {
    const w = win();
    expect(requireWindow(w, 'w1')).toBe(w);
  });

  it('NotFound naming the id', () => {
    const e = caught(() => requireWindow(undefined, 'w9'));
    expect(e.code).toBe('NotFound');
    expect(e.message).toBe('window w9 not found');
  });
});
