/** Agents' status reports. Only routing-relevant reports bump the revision and leave an event. */
import { viewOf } from './derive.js';
import { notFound } from './errors.js';
import type { ClusterState, Server, ServerRole } from './model.js';
import { event, withCluster, withServer, type Outcome } from './outcome.js';

export interface StatusReport {
  health: 'running' | 'down';
  role?: ServerRole;
  connections?: number;
  openTransactions?: number;
  version?: string;
  replicationLagSeconds?: number;
  proxy?: string;
}

export interface ReportOutcome extends Outcome {
  /** False for a routine report: one plain write of the server, no revision bump, no event. */
  routingRelevant: boolean;
}

export function applyReport(server: Server, report: StatusReport, now: number): Server {
  const next: Server = { ...server, health: report.health, reportedAt: now };
  if (report.role !== undefined) next.role = report.role;
  if (report.connections !== undefined) next.connections = report.connections;
  if (report.openTransactions !== undefined) next.openTransactions = report.openTransactions;
  if (report.version !== undefined) next.version = report.version;
  if (report.replicationLagSeconds !== undefined) next.replicationLagSeconds = report.replicationLagSeconds;
  if (report.proxy !== undefined) next.proxy = report.proxy;
  return next;
}

/**
 * What the stored server must still look like for a report to be routine, so that the store can write it with
 * one conditional update and no read. State strings depend on connections and open transactions only through
 * "more than zero", so the report is routine while those signs, health, role and version stay as they are, and
 * while the server is fresh (`electable` needs a report within `staleAfterSeconds`).
 */
export interface RoutineCondition {
  health: StatusReport['health'];
  /** The stored server reported at or after this instant: it is not stale (a stale server made fresh is news). */
  reportedSince: number;
  role?: ServerRole;
  version?: string;
  connectionsPositive?: boolean;
  openTransactionsPositive?: boolean;
}

export function routineCondition(report: StatusReport, now: number, staleAfterMs: number): RoutineCondition {
  const c: RoutineCondition = { health: report.health, reportedSince: now - staleAfterMs };
  if (report.role !== undefined) c.role = report.role;
  if (report.version !== undefined) c.version = report.version;
  if (report.connections !== undefined) c.connectionsPositive = report.connections > 0;
  if (report.openTransactions !== undefined) c.openTransactionsPositive = report.openTransactions > 0;
  return c;
}

export function reportStatus(state: ClusterState, name: string, report: StatusReport, now: number): ReportOutcome {
  const server = state.servers.get(name);
  if (!server) throw notFound(`server ${name}`);
  let next = withServer(state, applyReport(server, report, now));
  const before = viewOf(state, name, now)!;
  const after = viewOf(next, name, now)!;
  const routingRelevant =
    before.server.health !== after.server.health ||
    before.server.role !== after.server.role ||
    before.server.version !== after.server.version ||
    before.state !== after.state ||
    before.routable !== after.routable ||
    before.electable !== after.electable ||
    before.stale !== after.stale;
  const events = routingRelevant
    ? [
        event(
          'status',
          { kind: 'server', name },
          state,
          next,
          before.state !== after.state ? { reason: `${before.state || 'no report'} → ${after.state}` } : {},
        ),
      ]
    : [];
  const pending = state.cluster.pendingSwitchover;
  if (pending?.to === name && report.role === 'primary') {
    const { pendingSwitchover: _done, ...cluster } = next.cluster;
    const completed = withCluster(next, cluster);
    events.push(event('complete-switchover', { kind: 'cluster' }, next, completed));
    next = completed;
  }
  return { next, events, routingRelevant: events.length > 0 };
}
