/** registry.ts: registering and removing clusters and servers. */
import { describe, expect, it } from 'vitest';
import { MAX_SERVERS_PER_CLUSTER } from '../../../functions/domain/names.js';
import {
  DEFAULT_STALE_AFTER_SECONDS,
  registerCluster,
  registerServer,
  removeCluster,
  removeServer,
  type ClusterConfig,
} from '../../../functions/domain/registry.js';
import { caught, claim, NOW, replicas, server, state } from './fixtures.js';

const config: ClusterConfig = { engine: 'mariadb', budget: {}, staleAfterSeconds: DEFAULT_STALE_AFTER_SECONDS };

describe('registerCluster', () => {
  it('creates an empty cluster at revision 0 with a register-cluster event', () => {
    expect(DEFAULT_STALE_AFTER_SECONDS).toBe(60);
    const o = registerCluster(undefined, 'db', config, NOW);
    expect(o.next.cluster).toEqual({ id: 'db', engine: 'mariadb', budget: {}, staleAfterSeconds: 60, revision: 0, createdAt: NOW, claims: {} });
    expect(o.next.dcs.size).toBe(0);
    expect(o.next.servers.size).toBe(0);
    expect(o.events).toEqual([
      { action: 'register-cluster', target: 'cluster', before: null, after: { engine: 'mariadb', budget: {}, staleAfterSeconds: 60, claims: {} } },
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
    const o = registerCluster(st, 'c1', { engine: 'cassandra', budget: { maxUnavailablePerDc: 2 }, staleAfterSeconds: 30 }, NOW);
    expect(o.next.cluster).toMatchObject({ engine: 'cassandra', budget: { maxUnavailablePerDc: 2 }, staleAfterSeconds: 30, revision: 7 });
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
    expect(o.events).toEqual([{ action: 'remove-cluster', target: 'cluster', before: expect.objectContaining({ engine: 'mariadb' }), after: null }]);
  });
});

describe('registerServer', () => {
  it('registers a new server as unknown until its first report', () => {
    const st = state([]);
    const o = registerServer(st, 's1', { dc: 'dc2', role: 'primary', address: '10.0.0.1', port: 3306, component: 'datanode' }, NOW);
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
    expect(o.events).toEqual([expect.objectContaining({ action: 'register-server', target: 'server:s1', before: null })]);
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
    const st = state([server('s1', { address: 'h', port: 1, component: 'x', health: 'running', version: 'v9', claims: { manual: claim() } })]);
    const o = registerServer(st, 's1', { dc: 'dc3', role: 'primary', port: 2 }, NOW + 1);
    const s = o.next.servers.get('s1')!;
    expect(s).toMatchObject({ dc: 'dc3', role: 'primary', port: 2, health: 'running', version: 'v9', claims: { manual: claim() } });
    expect(s.registeredAt).toBe(st.servers.get('s1')!.registeredAt);
    expect('address' in s).toBe(false);
    expect('component' in s).toBe(false);
    expect(o.events.map((e) => e.action)).toEqual(['update-server']);
    expect(st.servers.get('s1')!.address).toBe('h');
  });

  it('a cluster holds at most 2,000 servers', () => {
    const full = state(replicas('s', MAX_SERVERS_PER_CLUSTER));
    const e = caught(() => registerServer(full, 'one-more', { dc: 'dc1', role: 'replica' }, NOW));
    expect(e.code).toBe('Conflict');
    expect(e.message).toBe('a cluster holds at most 2000 servers');
    // re-registering a server already in a full cluster is still fine
    expect(registerServer(full, 's1', { dc: 'dc1', role: 'primary' }, NOW).events).toHaveLength(1);
    const almost = state(replicas('s', MAX_SERVERS_PER_CLUSTER - 1));
    expect(registerServer(almost, 'last', { dc: 'dc1', role: 'replica' }, NOW).next.servers.size).toBe(MAX_SERVERS_PER_CLUSTER);
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
      const st = state([server('a'), server('b'), server('p', { role: 'primary' })], { cluster: { pendingSwitchover } });
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
