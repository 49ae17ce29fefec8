/** The native API's JSON shapes (typed by `responses.ts`, the OpenAPI document's schemas). Times are ISO 8601 strings. */
import type { Verdict } from '../domain/budget.js';
import type { HeldClaim, ServerView } from '../domain/derive.js';
import type { AuditEvent, Claim, ClusterState, Switchover } from '../domain/model.js';
import type { ClaimJson, ClusterJson, EventJson, ServerJson, VerdictJson } from './responses.js';

export function iso(t: number): string;
export function iso(t: number | undefined): string | undefined;
export function iso(t: number | undefined) {
  return t === undefined ? undefined : new Date(t).toISOString();
}

export function claimJson(holder: string, c: Claim, scope?: HeldClaim['scope']): ClaimJson {
  return {
    holder,
    ...(scope && { scope }),
    mode: c.mode,
    force: c.force,
    reason: c.reason,
    actor: c.actor,
    since: iso(c.since),
    until: iso(c.until),
    drainDeadline: iso(c.drainDeadline),
    onDeadline: c.onDeadline,
  };
}

export function serverJson(v: ServerView): ServerJson {
  const s = v.server;
  return {
    name: s.name,
    dc: s.dc,
    address: s.address,
    port: s.port,
    role: s.role,
    component: s.component,
    state: v.state,
    health: s.health,
    maintenance: v.maintenance,
    pending: v.pending,
    draining: v.draining,
    drained: v.drained,
    closeConnections: v.closeConnections,
    routable: v.routable,
    electable: v.electable,
    stale: v.stale,
    connections: s.connections,
    openTransactions: s.openTransactions,
    version: s.version,
    replicationLagSeconds: s.replicationLagSeconds,
    proxy: s.proxy,
    reportedAt: iso(s.reportedAt),
    claims: v.claims.map((c) => claimJson(c.holder, c, c.scope)),
  };
}

export const switchoverJson = (p: Switchover | undefined) => (p ? { ...p, requestedAt: iso(p.requestedAt) } : null);

export function clusterJson(state: ClusterState, views: ServerView[], now: number): ClusterJson {
  const { cluster } = state;
  const dcs = [...new Set([...views.map((v) => v.server.dc), ...state.dcs.keys()])].sort();
  const clusterClaims = Object.entries(cluster.claims).filter(([, c]) => c.until === undefined || now < c.until);
  return {
    id: cluster.id,
    engine: cluster.engine,
    budget: cluster.budget,
    staleAfterSeconds: cluster.staleAfterSeconds,
    revision: cluster.revision,
    createdAt: iso(cluster.createdAt),
    maintenance: { paused: clusterClaims.length > 0, claims: clusterClaims.map(([h, c]) => claimJson(h, c)) },
    pendingSwitchover: switchoverJson(cluster.pendingSwitchover),
    servers: views.length,
    dcs: dcs.map((name) => {
      const inDc = views.filter((v) => v.server.dc === name);
      const dcClaims = Object.entries(state.dcs.get(name)?.claims ?? {}).filter(
        ([, c]) => c.until === undefined || now < c.until,
      );
      return {
        name,
        servers: inDc.length,
        unavailable: inDc.filter((v) => v.unavailable).map((v) => v.server.name),
        maintenance: dcClaims.length > 0,
        claims: dcClaims.map(([h, c]) => claimJson(h, c)),
      };
    }),
  };
}

export const verdictJson = (v: Verdict | undefined): VerdictJson | undefined =>
  v && {
    allowed: v.allowed,
    reason: v.reason,
    newlyUnavailable: v.newlyUnavailable,
    losesPrimary: v.losesPrimary,
    usingBudget: v.usingBudget,
  };

export const eventJson = (e: AuditEvent): EventJson => ({ ...e, at: iso(e.at) });
