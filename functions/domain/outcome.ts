/**
 * Every rule is a pure function from the current cluster state to an Outcome: the next state (entities
 * that did not change keep their identity, so the store writes only what changed) and the audit events.
 * An outcome without events is a no-op.
 */
import type { Verdict } from './budget.js';
import type { Claims, Cluster, ClusterState, Datacenter, EventDraft, Server, Target } from './model.js';
import { targetName } from './model.js';

export interface Outcome {
  next: ClusterState;
  events: EventDraft[];
  /** The budget's verdict, for changes the budget judges. */
  verdict?: Verdict;
  /** True when the whole cluster is removed. */
  removed?: boolean;
}

export const noop = (state: ClusterState, verdict?: Verdict): Outcome => ({ next: state, events: [], verdict });

export function withServer(state: ClusterState, server: Server): ClusterState {
  return { ...state, servers: new Map(state.servers).set(server.name, server) };
}

export function withoutServer(state: ClusterState, name: string): ClusterState {
  const servers = new Map(state.servers);
  servers.delete(name);
  return { ...state, servers };
}

export function withDc(state: ClusterState, dc: Datacenter): ClusterState {
  return { ...state, dcs: new Map(state.dcs).set(dc.name, dc) };
}

export function withCluster(state: ClusterState, cluster: Cluster): ClusterState {
  return { ...state, cluster };
}

/** What an event records of its target: the routing-relevant part, so replaying `after`s rebuilds the state. */
export function projectServer(s: Server | undefined) {
  if (!s) return null;
  const {
    name: _name,
    connections: _c,
    openTransactions: _o,
    replicationLagSeconds: _l,
    reportedAt: _r,
    registeredAt: _g,
    ...rest
  } = s;
  return rest;
}

export function projectDc(dc: Datacenter | undefined) {
  return dc ? { claims: dc.claims } : null;
}

export function projectCluster(c: Cluster | undefined) {
  if (!c) return null;
  // The rollout lock is the rollout's bookkeeping, audited by the rollout's own events, not routing state.
  const { revision: _r, createdAt: _c, id: _i, rollout: _lock, ...rest } = c;
  return rest;
}

export function project(state: ClusterState | undefined, target: Target): unknown {
  if (!state) return null;
  if (target.kind === 'server') return projectServer(state.servers.get(target.name));
  if (target.kind === 'dc') return projectDc(state.dcs.get(target.name));
  return projectCluster(state.cluster);
}

export function event(
  action: string,
  target: Target,
  before: ClusterState | undefined,
  after: ClusterState | undefined,
  extra: { reason?: string; override?: boolean } = {},
): EventDraft {
  const draft: EventDraft = {
    action,
    target: targetName(target),
    before: project(before, target),
    after: project(after, target),
  };
  if (extra.reason !== undefined) draft.reason = extra.reason;
  if (extra.override) draft.override = true;
  return draft;
}

export function withoutHolders(claims: Claims, holders: readonly string[]): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([h]) => !holders.includes(h)));
}
