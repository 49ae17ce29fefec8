/** Builders for the domain core's unit tests: small, explicit ClusterState values. */
import { expect } from 'vitest';
import { DomainError } from '../../../functions/domain/errors.js';
import type { ClaimRequest, ClearRequest } from '../../../functions/domain/maintenance.js';
import type { Actor, Claim, Cluster, ClusterState, Datacenter, Server } from '../../../functions/domain/model.js';

/** A fixed "now": 2030-01-01T00:00:00Z. */
export const NOW = Date.UTC(2030, 0, 1);
export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1',
    engine: 'mariadb',
    budget: {},
    staleAfterSeconds: 60,
    revision: 7,
    createdAt: NOW - 10 * HOUR,
    claims: {},
    ...overrides,
  };
}

/** A healthy, recently reported server; override anything. */
export function server(name: string, overrides: Partial<Server> = {}): Server {
  return {
    name,
    dc: 'dc1',
    role: 'replica',
    health: 'running',
    reportedAt: NOW - 5 * SEC,
    registeredAt: NOW - 10 * HOUR,
    claims: {},
    ...overrides,
  };
}

export function claim(overrides: Partial<Claim> = {}): Claim {
  return { mode: 'maintenance', force: false, actor: 'alice', since: NOW - MIN, onDeadline: 'force', ...overrides };
}

export function dc(name: string, claims: Datacenter['claims'] = {}): Datacenter {
  return { name, claims };
}

export function state(servers: Server[], opts: { cluster?: Partial<Cluster>; dcs?: Datacenter[] } = {}): ClusterState {
  return {
    cluster: cluster(opts.cluster),
    dcs: new Map((opts.dcs ?? []).map((d) => [d.name, d])),
    servers: new Map(servers.map((s) => [s.name, s])),
  };
}

/** `count` replicas named `${prefix}1..count` in dc `dcName`. */
export function replicas(prefix: string, count: number, dcName = 'dc1', overrides: Partial<Server> = {}): Server[] {
  return Array.from({ length: count }, (_, i) => server(`${prefix}${i + 1}`, { dc: dcName, ...overrides }));
}

export function actor(overrides: Partial<Actor> = {}): Actor {
  return { user: 'alice', isAdmin: false, source: 'test', requestId: 'req-1', ...overrides };
}

export const admin = (overrides: Partial<Actor> = {}) => actor({ user: 'root', isAdmin: true, ...overrides });

export function setReq(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    holder: 'manual',
    mode: 'maintenance',
    force: false,
    onDeadline: 'force',
    override: false,
    dryRun: false,
    ...overrides,
  };
}

export function clearReq(overrides: Partial<ClearRequest> = {}): ClearRequest {
  return { holder: 'manual', override: false, ...overrides };
}

/** Runs `fn`, which must throw a DomainError, and returns it. */
export function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a DomainError');
}
