/** The failover view, automatic election (HA managers) and manual switchover. */
import { clusterPaused, activeClaims, viewAll, type ServerView } from './derive.js';
import { DomainError, notFound } from './errors.js';
import type { Actor, ClusterState, Switchover } from './model.js';
import { event, noop, withCluster, type Outcome } from './outcome.js';

/** Best first: lowest replication lag, then the most recent report, then the name. */
export function rankCandidates(views: ServerView[]): ServerView[] {
  return views
    .filter((v) => v.electable && v.server.role !== 'primary')
    .sort(
      (a, b) =>
        (a.server.replicationLagSeconds ?? Number.MAX_VALUE) - (b.server.replicationLagSeconds ?? Number.MAX_VALUE) ||
        (b.server.reportedAt ?? 0) - (a.server.reportedAt ?? 0) ||
        (a.server.name < b.server.name ? -1 : 1),
    );
}

export function currentPrimary(state: ClusterState): string | null {
  return [...state.servers.values()].find((s) => s.role === 'primary')?.name ?? null;
}

export function failoverView(state: ClusterState, now: number) {
  return {
    paused: clusterPaused(state.cluster, now),
    pausedBy: activeClaims(state.cluster.claims, now).map(([holder]) => holder),
    primary: currentPrimary(state),
    pendingSwitchover: state.cluster.pendingSwitchover ?? null,
    proceduresPaused: state.cluster.proceduresPaused ?? false,
    candidates: rankCandidates(viewAll(state, now)),
  };
}

function recordSwitchover(
  state: ClusterState,
  kind: Switchover['kind'],
  to: string,
  actor: Actor,
  now: number,
): Outcome {
  const from = currentPrimary(state);
  const pendingSwitchover: Switchover = { kind, to, actor: actor.user, requestedAt: now };
  if (from) pendingSwitchover.from = from;
  const next = withCluster(state, { ...state.cluster, pendingSwitchover });
  return { next, events: [event(kind, { kind: 'cluster' }, state, next)] };
}

/** Automatic election: refused while automation is paused. */
export function failover(state: ClusterState, actor: Actor, now: number): Outcome {
  if (clusterPaused(state.cluster, now)) {
    throw new DomainError('Paused', 'automatic failover is paused: the cluster is in maintenance', {
      pausedBy: activeClaims(state.cluster.claims, now).map(([h]) => h),
    });
  }
  const best = rankCandidates(viewAll(state, now))[0];
  if (!best) throw new DomainError('NoCandidate', 'no electable replica');
  return recordSwitchover(state, 'failover', best.server.name, actor, now);
}

/** Manual switchover: allowed while automation is paused; the target must be electable. */
export function switchover(state: ClusterState, to: string | undefined, actor: Actor, now: number): Outcome {
  const views = viewAll(state, now);
  const target = to === undefined ? rankCandidates(views)[0] : views.find((v) => v.server.name === to);
  if (to !== undefined && !target) throw notFound(`server ${to}`);
  if (!target) throw new DomainError('NoCandidate', 'no electable replica');
  if (target.server.role === 'primary') return noop(state);
  if (!target.electable) {
    throw new DomainError(
      'NotElectable',
      `server ${target.server.name} is not electable (${target.state || 'no report yet'})`,
      {
        server: target.server.name,
      },
    );
  }
  const pending = state.cluster.pendingSwitchover;
  if (pending?.to === target.server.name) return noop(state);
  return recordSwitchover(state, 'switchover', target.server.name, actor, now);
}

/** Pauses or resumes the cluster's procedures (GreptimeDB's procedure manager). */
export function setProceduresPaused(state: ClusterState, paused: boolean): Outcome {
  if ((state.cluster.proceduresPaused ?? false) === paused) return noop(state);
  const next = withCluster(state, { ...state.cluster, proceduresPaused: paused });
  return { next, events: [event(paused ? 'pause-procedures' : 'resume-procedures', { kind: 'cluster' }, state, next)] };
}
