/** Server, dc and cluster maintenance; agents' status reports; failover and switchover. */
import { activeClaims, viewOf } from '../domain/derive.js';
import { parseTtlSeconds } from '../domain/duration.js';
import { DomainError, invalid, notFound } from '../domain/errors.js';
import { failover, failoverView, switchover } from '../domain/failover.js';
import {
  clearClusterClaim,
  clearDcClaim,
  clearServerClaim,
  MANUAL_PAUSE_MAX_MS,
  setClusterClaim,
  setDcClaim,
  setServerClaim,
  type ClaimRequest,
} from '../domain/maintenance.js';
import { MANUAL } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import { reportStatus, routineCondition } from '../domain/status.js';
import {
  actorOf,
  familyHandler,
  jsonBody,
  type ApiRequest,
  type ApiResponse,
  type Operation,
  type Operations,
} from '../http/handler.js';
import { validate } from '../validate.js';
import { runtimeDeps } from '../runtime.js';
import { mutate } from './mutation.js';
import { staleAfterMs } from './stale-after.js';
import { claimJson, iso, serverJson, switchoverJson, verdictJson } from './render.js';
import {
  agentLeaseBody,
  clearQuery,
  clusterMaintenanceBody,
  failoverBody,
  maintenanceBody,
  statusBody,
  switchoverBody,
} from './schemas.js';

/** `until` from an absolute time or a `ttl`; it must lie in the future. */
export function untilFrom(body: { ttl?: string | number; until?: string }, now: number): number | undefined {
  if (body.ttl !== undefined && body.until !== undefined) throw invalid('give ttl or until, not both');
  if (body.ttl !== undefined) return now + parseTtlSeconds(body.ttl) * 1000;
  if (body.until === undefined) return undefined;
  const until = Date.parse(body.until);
  if (!(until > now)) throw invalid('until must be in the future');
  if (until - now > parseTtlSeconds('30d') * 1000) throw invalid('until may be at most 30 days ahead');
  return until;
}

function claimRequest(req: ApiRequest, now: number): ClaimRequest {
  const body = jsonBody(req, maintenanceBody, {});
  const until = untilFrom(body, now);
  return {
    holder: MANUAL,
    mode: body.mode ?? 'maintenance',
    force: body.force ?? false,
    onDeadline: body.onDeadline ?? 'force',
    override: body.override ?? false,
    dryRun: body.dryRun ?? false,
    ...(body.reason !== undefined && { reason: body.reason }),
    ...(until !== undefined && { until }),
    ...(body.drainTimeoutSeconds !== undefined && { drainTimeoutSeconds: body.drainTimeoutSeconds }),
  };
}

/** A dry run answers what would happen; a real change answers with the server as it now is. */
function serverAnswer(name: string, dryRun: boolean) {
  return (outcome: Outcome, now: number): ApiResponse => {
    const server = serverJson(viewOf(outcome.next, name, now)!);
    if (!dryRun) return { status: 200, body: server };
    return {
      status: 200,
      body: { dryRun: true, changed: outcome.events.length > 0, verdict: verdictJson(outcome.verdict) ?? null, server },
    };
  };
}

function dcAnswer(dc: string, dryRun: boolean) {
  return (outcome: Outcome, now: number): ApiResponse => {
    const servers = [...outcome.next.servers.values()]
      .filter((s) => s.dc === dc)
      .map((s) => serverJson(viewOf(outcome.next, s.name, now)!));
    const claims = activeClaims(outcome.next.dcs.get(dc)?.claims ?? {}, now).map(([h, c]) => claimJson(h, c));
    const body = { dc, maintenance: claims.length > 0, claims, servers };
    return {
      status: 200,
      body: dryRun
        ? { dryRun: true, changed: outcome.events.length > 0, verdict: verdictJson(outcome.verdict) ?? null, ...body }
        : body,
    };
  };
}

function clusterMaintenanceAnswer(dryRun = false) {
  return (outcome: Outcome, now: number): ApiResponse => {
    const claims = activeClaims(outcome.next.cluster.claims, now).map(([h, c]) => claimJson(h, c));
    const body = { cluster: outcome.next.cluster.id, paused: claims.length > 0, claims };
    return { status: 200, body: dryRun ? { dryRun: true, changed: outcome.events.length > 0, ...body } : body };
  };
}

function clearRequest(req: ApiRequest) {
  const q = validate(clearQuery, req.query, 'query');
  return {
    request: { holder: MANUAL, override: q.override ?? false, ...(q.mode && { mode: q.mode }) },
    dryRun: q.dryRun ?? false,
  };
}

type Answer = (name: string, dryRun: boolean) => (outcome: Outcome, now: number) => ApiResponse;

/** Setting a server's or a dc's claim: the same request, the same path, another rule. */
function setOperation(param: 's' | 'dc', rule: typeof setServerClaim, answer: Answer): Operation {
  return async (req, deps) => {
    const claim = claimRequest(req, deps.now());
    const name = req.params[param]!;
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun: claim.dryRun,
      rule: (state, now) => rule(state, name, claim, actorOf(req), now),
      render: answer(name, claim.dryRun),
    });
  };
}

function clearOperation(param: 's' | 'dc', rule: typeof clearServerClaim, answer: Answer): Operation {
  return async (req, deps) => {
    const { request, dryRun } = clearRequest(req);
    const name = req.params[param]!;
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun,
      rule: (state, now) => rule(state, name, request, actorOf(req), now),
      render: answer(name, dryRun),
    });
  };
}

export const operations: Operations = {
  'PUT /v1/clusters/{c}/servers/{s}/maintenance': setOperation('s', setServerClaim, serverAnswer),
  'DELETE /v1/clusters/{c}/servers/{s}/maintenance': clearOperation('s', clearServerClaim, serverAnswer),
  'PUT /v1/clusters/{c}/dcs/{dc}/maintenance': setOperation('dc', setDcClaim, dcAnswer),
  'DELETE /v1/clusters/{c}/dcs/{dc}/maintenance': clearOperation('dc', clearDcClaim, dcAnswer),

  'GET /v1/clusters/{c}/maintenance': async (req, deps) => {
    const state = await deps.store.readCluster(req.params.c!);
    if (!state) throw notFound(`cluster ${req.params.c}`);
    return clusterMaintenanceAnswer()({ next: state, events: [] }, deps.now());
  },

  'PUT /v1/clusters/{c}/maintenance': async (req, deps) => {
    const body = jsonBody(req, clusterMaintenanceBody, {});
    const until = untilFrom(body, deps.now());
    if (until !== undefined && until - deps.now() > MANUAL_PAUSE_MAX_MS) {
      throw invalid(
        `a manual pause of automation lasts at most ${MANUAL_PAUSE_MAX_MS / 3600_000} h (a forgotten pause of failover is an outage waiting to happen)`,
      );
    }
    const claim = {
      holder: MANUAL,
      ...(body.reason !== undefined && { reason: body.reason }),
      ...(until !== undefined && { until }),
    };
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun: body.dryRun ?? false,
      rule: (state, now) => setClusterClaim(state, claim, actorOf(req), now),
      render: clusterMaintenanceAnswer(body.dryRun),
    });
  },

  'DELETE /v1/clusters/{c}/maintenance': async (req, deps) => {
    const { request, dryRun } = clearRequest(req);
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun,
      rule: (state, now) => clearClusterClaim(state, request, actorOf(req), now),
      render: clusterMaintenanceAnswer(dryRun),
    });
  },

  'PUT /v1/clusters/{c}/servers/{s}/status': async (req, deps) => {
    const report = jsonBody(req, statusBody);
    const { c, s } = req.params as { c: string; s: string };
    const now = deps.now();
    // Routine reports (the vast majority) are one conditional write; the rest, and reports that ask for
    // If-Match or Idempotency-Key semantics, take the full path.
    const plain = req.headers['if-match'] === undefined && req.headers['idempotency-key'] === undefined;
    const staleAfter = plain ? await staleAfterMs(deps, c) : undefined;
    if (
      staleAfter !== undefined &&
      (await deps.store.writeRoutineReport(c, s, report, routineCondition(report, now, staleAfter), now))
    ) {
      return { status: 200, body: { accepted: true, routingRelevant: false } };
    }
    let relevant = false;
    await mutate(req, deps, {
      cluster: c,
      rule: (state, at) => {
        const outcome = reportStatus(state, s, report, at);
        relevant = outcome.routingRelevant;
        return outcome;
      },
      render: () => ({ status: 200 }),
      source: 'agent',
    });
    return { status: 200, body: { accepted: true, routingRelevant: relevant } };
  },

  'GET /v1/clusters/{c}/failover': async (req, deps) => {
    const state = await deps.store.readCluster(req.params.c!);
    if (!state) throw notFound(`cluster ${req.params.c}`);
    const view = failoverView(state, deps.now());
    return {
      status: 200,
      body: {
        ...view,
        pendingSwitchover: switchoverJson(view.pendingSwitchover ?? undefined),
        candidates: view.candidates.map((v) => ({
          name: v.server.name,
          dc: v.server.dc,
          replicationLagSeconds: v.server.replicationLagSeconds,
          reportedAt: new Date(v.server.reportedAt ?? 0).toISOString(),
        })),
      },
    };
  },

  'POST /v1/clusters/{c}/failover': async (req, deps) => {
    const body = jsonBody(req, failoverBody, {});
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun: body.dryRun ?? false,
      rule: (state, now) => failover(state, actorOf(req), now),
      render: (outcome) => ({
        status: 200,
        body: {
          ...(body.dryRun && { dryRun: true }),
          elected: outcome.next.cluster.pendingSwitchover?.to ?? null,
          pendingSwitchover: switchoverJson(outcome.next.cluster.pendingSwitchover),
        },
      }),
    });
  },

  'POST /v1/clusters/{c}/switchover': async (req, deps) => {
    const body = jsonBody(req, switchoverBody, {});
    return mutate(req, deps, {
      cluster: req.params.c!,
      dryRun: body.dryRun ?? false,
      rule: (state, now) => switchover(state, body.to, actorOf(req), now),
      render: (outcome) => ({
        status: 200,
        body: {
          ...(body.dryRun && { dryRun: true }),
          pendingSwitchover: switchoverJson(outcome.next.cluster.pendingSwitchover),
        },
      }),
    });
  },

  /** The agent that holds the lease acts for the cluster; the others only report (409 names the holder). */
  'PUT /v1/clusters/{c}/agent-lease': async (req, deps) => {
    const { holder, ttlSeconds } = jsonBody(req, agentLeaseBody);
    const cluster = req.params.c!;
    if (!(await deps.store.readClusterHeader(cluster))) throw notFound(`cluster ${cluster}`);
    const now = deps.now();
    const lease = await deps.store.holdAgentLease(cluster, { holder, until: now + ttlSeconds * 1000 }, now);
    const body = { holder: lease.holder, until: iso(lease.until) };
    if (lease.holder !== holder)
      throw new DomainError(
        'Conflict',
        `the agent lease of cluster ${cluster} is held by ${lease.holder} until ${body.until}`,
        body,
      );
    return { status: 200, body };
  },
};

export const handler = familyHandler('maintenance', operations, runtimeDeps);
