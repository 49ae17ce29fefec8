/**
 * What a server looks like at a given instant. Everything time-based (an expired `until`, a passed
 * `drainDeadline`) is computed here, the same way on every read; the sweeper later writes the same result.
 */
import type { Claim, Claims, Cluster, ClusterState, Datacenter, Holder, Server } from './model.js';

type ClaimScope = 'server' | 'dc';

export interface HeldClaim extends Claim {
  holder: Holder;
  scope: ClaimScope;
}

export interface ServerView {
  server: Server;
  claims: HeldClaim[];
  /** In maintenance: a maintenance claim holds it and no primary is still finishing transactions. */
  maintenance: boolean;
  /** A primary under a graceful maintenance claim whose open transactions are still completing. */
  pending: boolean;
  draining: boolean;
  drained: boolean;
  /** Consumers close every connection to it now. */
  closeConnections: boolean;
  unavailable: boolean;
  routable: boolean;
  electable: boolean;
  stale: boolean;
  state: string;
}

const SECOND = 1000;

export function isForced(claim: Claim, now: number): boolean {
  return (
    claim.force || (claim.onDeadline === 'force' && claim.drainDeadline !== undefined && now >= claim.drainDeadline)
  );
}

/** A claim past its `until` no longer holds, except on a down server: expiry must not return it to service. */
export function claimHolds(claim: Claim, now: number, serverIsDown: boolean): boolean {
  return claim.until === undefined || now < claim.until || serverIsDown;
}

export function activeClaims(claims: Claims, now: number, serverIsDown = false): [Holder, Claim][] {
  return Object.entries(claims).filter(([, c]) => claimHolds(c, now, serverIsDown));
}

export function isStale(server: Server, cluster: Cluster, now: number): boolean {
  return server.reportedAt !== undefined && now - server.reportedAt > cluster.staleAfterSeconds * SECOND;
}

export function viewServer(server: Server, dc: Datacenter | undefined, cluster: Cluster, now: number): ServerView {
  const down = server.health === 'down';
  const claims: HeldClaim[] = [
    ...activeClaims(server.claims, now, down).map(([holder, c]) => ({ ...c, holder, scope: 'server' as const })),
    ...activeClaims(dc?.claims ?? {}, now).map(([holder, c]) => ({ ...c, holder, scope: 'dc' as const })),
  ];
  const maintenanceClaims = claims.filter((c) => c.mode === 'maintenance');
  const pending =
    maintenanceClaims.length > 0 &&
    server.role === 'primary' &&
    !down &&
    (server.openTransactions ?? 0) > 0 &&
    !maintenanceClaims.some((c) => isForced(c, now));
  const maintenance = maintenanceClaims.length > 0 && !pending;
  // every claim is a drain claim (a claim's mode is `maintenance` or `drain`)
  const drainOnly = claims.length > 0 && maintenanceClaims.length === 0;
  const hasConnections = (server.connections ?? 0) > 0;
  const draining = pending || (drainOnly && hasConnections);
  const drained = drainOnly && !hasConnections;
  const stale = isStale(server, cluster, now);
  const view: Omit<ServerView, 'state'> = {
    server,
    claims,
    maintenance,
    pending,
    draining,
    drained,
    closeConnections: maintenance,
    unavailable: claims.length > 0 || down,
    routable: server.health === 'running' && claims.length === 0,
    electable: server.health === 'running' && !stale && claims.length === 0,
    stale,
  };
  return { ...view, state: stateString(view) };
}

/** MaxScale's state string: `Maintenance` (else `Draining`/`Drained`), then `Master`/`Slave`, then `Running`/`Down`. */
export function stateString(v: Pick<ServerView, 'server' | 'maintenance' | 'draining' | 'drained'>): string {
  const parts: string[] = [];
  if (v.maintenance) parts.push('Maintenance');
  else if (v.draining) parts.push('Draining');
  else if (v.drained) parts.push('Drained');
  if (!v.maintenance && v.server.health === 'running') {
    if (v.server.role === 'primary') parts.push('Master');
    else if (v.server.role === 'replica') parts.push('Slave');
  }
  if (v.server.health === 'running') parts.push('Running');
  else if (v.server.health === 'down') parts.push('Down');
  return parts.join(', ');
}

export function viewOf(state: ClusterState, name: string, now: number): ServerView | undefined {
  const server = state.servers.get(name);
  return server && viewServer(server, state.dcs.get(server.dc), state.cluster, now);
}

export function viewAll(state: ClusterState, now: number): ServerView[] {
  return [...state.servers.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1)) // names are unique within a cluster
    .map((s) => viewServer(s, state.dcs.get(s.dc), state.cluster, now));
}

/**
 * Every instant at which time alone changes what a read shows: claim expiries and force deadlines.
 * The store keeps this list on the cluster item so a conditional read needs nothing else.
 */
export function transitionTimes(state: ClusterState): number[] {
  const times = new Set<number>();
  const addClaims = (claims: Claims) => {
    for (const c of Object.values(claims)) {
      if (c.until !== undefined) times.add(c.until);
      if (c.drainDeadline !== undefined && !c.force && c.onDeadline === 'force') times.add(c.drainDeadline);
    }
  };
  addClaims(state.cluster.claims);
  for (const dc of state.dcs.values()) addClaims(dc.claims);
  for (const s of state.servers.values()) addClaims(s.claims);
  return [...times].sort((a, b) => a - b);
}

/**
 * Which servers time has made stale (their last report older than `staleAfterSeconds`), and the first instant at
 * which another one will be if no report comes (absent: none can). Within one revision the count only grows: a
 * report that makes a stale server fresh changes `electable`, so it is routing-relevant and bumps the revision.
 */
export interface Staleness {
  count: number;
  nextStaleAt?: number;
}

export function staleness(state: ClusterState, now: number): Staleness {
  let count = 0;
  let nextStaleAt: number | undefined;
  for (const server of state.servers.values()) {
    if (server.reportedAt === undefined) continue;
    if (isStale(server, state.cluster, now)) count++;
    else
      nextStaleAt = Math.min(nextStaleAt ?? Infinity, server.reportedAt + state.cluster.staleAfterSeconds * SECOND + 1);
  }
  return nextStaleAt === undefined ? { count } : { count, nextStaleAt };
}

/**
 * The server list's entity tag: the revision, the next instant at which time changes a claim, and how many
 * servers time has made stale.
 */
export function entityTag(revision: number, transitions: readonly number[], now: number, staleCount: number): string {
  const next = transitions.find((t) => t > now);
  return `"${revision}-${next ?? 0}-${staleCount}"`;
}

/** Cluster maintenance (automation paused) while any cluster claim holds. */
export function clusterPaused(cluster: Cluster, now: number): boolean {
  return activeClaims(cluster.claims, now).length > 0;
}
