/** Registering and removing clusters and servers (admin). */
import { DomainError, notFound } from './errors.js';
import type { Budget, ClusterState, Engine, Server, ServerRole } from './model.js';
import { MAX_SERVERS_PER_CLUSTER } from './names.js';
import { event, noop, withCluster, withoutServer, withServer, type Outcome } from './outcome.js';

export const DEFAULT_STALE_AFTER_SECONDS = 60;

export interface ClusterConfig {
  engine: Engine;
  budget: Budget;
  staleAfterSeconds: number;
}

export interface ServerRegistration {
  dc: string;
  address?: string;
  port?: number;
  role: ServerRole;
  component?: string;
}

const emptyState = (id: string, config: ClusterConfig, now: number): ClusterState => ({
  cluster: { id, ...config, revision: 0, createdAt: now, claims: {} },
  dcs: new Map(),
  servers: new Map(),
});

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Creates the cluster, or updates its configuration; `state` is undefined when it does not exist yet. */
export function registerCluster(state: ClusterState | undefined, id: string, config: ClusterConfig, now: number): Outcome {
  if (!state) {
    const next = emptyState(id, config, now);
    return { next, events: [event('register-cluster', { kind: 'cluster' }, undefined, next)] };
  }
  const { engine, budget, staleAfterSeconds } = state.cluster;
  if (sameJson({ engine, budget, staleAfterSeconds }, config)) return noop(state);
  const next = withCluster(state, { ...state.cluster, ...config });
  return { next, events: [event('update-cluster', { kind: 'cluster' }, state, next)] };
}

export function removeCluster(state: ClusterState): Outcome {
  return { next: state, removed: true, events: [event('remove-cluster', { kind: 'cluster' }, state, undefined)] };
}

export function registerServer(state: ClusterState, name: string, reg: ServerRegistration, now: number): Outcome {
  const existing = state.servers.get(name);
  if (!existing && state.servers.size >= MAX_SERVERS_PER_CLUSTER) {
    throw new DomainError('Conflict', `a cluster holds at most ${MAX_SERVERS_PER_CLUSTER} servers`);
  }
  const server: Server = existing
    ? { ...existing, dc: reg.dc, role: reg.role }
    : { name, dc: reg.dc, role: reg.role, health: 'unknown', registeredAt: now, claims: {} };
  for (const key of ['address', 'port', 'component'] as const) {
    if (reg[key] === undefined) delete server[key];
    else (server as unknown as Record<string, unknown>)[key] = reg[key];
  }
  if (existing && sameJson(existing, server)) return noop(state);
  const next = withServer(state, server);
  return { next, events: [event(existing ? 'update-server' : 'register-server', { kind: 'server', name }, state, next)] };
}

export function removeServer(state: ClusterState, name: string): Outcome {
  if (!state.servers.has(name)) throw notFound(`server ${name}`);
  let next = withoutServer(state, name);
  const events = [event('remove-server', { kind: 'server', name }, state, next)];
  const pending = state.cluster.pendingSwitchover;
  if (pending && (pending.to === name || pending.from === name)) {
    const { pendingSwitchover: _dropped, ...cluster } = next.cluster;
    const cleared = withCluster(next, cluster);
    events.push(event('cancel-switchover', { kind: 'cluster' }, next, cleared));
    next = cleared;
  }
  return { next, events };
}
