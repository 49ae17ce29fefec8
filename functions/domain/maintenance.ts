/** Setting and clearing maintenance claims on a server, a datacenter and the cluster (docs/claims-and-budget.md). */
import { judge, type RequestScope, type Verdict } from './budget.js';
import { activeClaims, claimHolds, viewServer } from './derive.js';
import { DomainError, notFound } from './errors.js';
import {
  ROLLOUT_HOLDER_PREFIX,
  type Actor,
  type Claim,
  type ClaimMode,
  type Claims,
  type ClusterState,
  type Holder,
  type OnDeadline,
  type Target,
} from './model.js';
import { event, noop, withCluster, withDc, withoutHolders, withServer, type Outcome } from './outcome.js';

export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 300;
/** A forgotten pause of automatic failover is an outage waiting to happen. */
export const MANUAL_PAUSE_MAX_MS = 12 * 3600 * 1000;

export interface ClaimRequest {
  holder: Holder;
  mode: ClaimMode;
  force: boolean;
  reason?: string;
  until?: number;
  drainTimeoutSeconds?: number;
  onDeadline: OnDeadline;
  override: boolean;
  dryRun: boolean;
}

export interface ClearRequest {
  holder: Holder;
  /** Only remove the caller's claim if it has this mode. */
  mode?: ClaimMode;
  /** Admin only: remove every claim, whoever holds it. */
  override: boolean;
}

function requireOverrideRight(override: boolean, actor: Actor): void {
  if (override && !actor.isAdmin) throw new DomainError('Forbidden', 'override needs the admin role');
}

function buildClaim(req: ClaimRequest, existing: Claim | undefined, actor: Actor, now: number): Claim {
  const claim: Claim = {
    mode: req.mode,
    force: req.force,
    actor: actor.user,
    since: existing?.since ?? now,
    onDeadline: req.onDeadline,
  };
  if (req.reason !== undefined) claim.reason = req.reason;
  if (req.until !== undefined) claim.until = req.until;
  if (req.mode === 'maintenance' && !req.force) {
    const keep = existing?.mode === 'maintenance' && !existing.force ? existing.drainDeadline : undefined;
    claim.drainDeadline = keep ?? now + (req.drainTimeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_SECONDS) * 1000;
  }
  return claim;
}

/** A repeat with the same parameters changes nothing; another reason, until, mode or force is an update. */
function sameParameters(a: Claim, b: Claim): boolean {
  return (
    a.mode === b.mode &&
    a.force === b.force &&
    a.reason === b.reason &&
    a.until === b.until &&
    a.onDeadline === b.onDeadline
  );
}

/** The claim a request finds, ignoring one that has already expired. */
function liveClaim(claims: Claims, holder: Holder, now: number, serverIsDown = false): Claim | undefined {
  const claim = Object.hasOwn(claims, holder) ? claims[holder] : undefined;
  return claim && claimHolds(claim, now, serverIsDown) ? claim : undefined;
}

function budgeted(
  current: ClusterState,
  next: ClusterState,
  scope: RequestScope,
  req: ClaimRequest,
  actionOf: (verdict: Verdict) => Outcome['events'],
  now: number,
): Outcome {
  const verdict = judge(current, next, scope, now);
  if (!verdict.allowed && !req.override && !req.dryRun) {
    throw new DomainError('BudgetExceeded', verdict.reason ?? 'the disruption budget does not allow this', {
      usingBudget: verdict.usingBudget,
      newlyUnavailable: verdict.newlyUnavailable,
    });
  }
  return { next, events: actionOf(verdict), verdict };
}

/** What the budget says of a repeat: it makes nobody unavailable. */
const nothingNewlyUnavailable = (): Verdict => ({
  allowed: true,
  newlyUnavailable: [],
  losesPrimary: [],
  usingBudget: [],
});

const setAction = (existing: Claim | undefined) => (existing ? 'update-maintenance' : 'set-maintenance');

export function setServerClaim(
  state: ClusterState,
  name: string,
  req: ClaimRequest,
  actor: Actor,
  now: number,
): Outcome {
  requireOverrideRight(req.override, actor);
  const server = state.servers.get(name);
  if (!server) throw notFound(`server ${name}`);
  const existing = liveClaim(server.claims, req.holder, now, server.health === 'down');
  const claim = buildClaim(req, existing, actor, now);
  if (existing && sameParameters(existing, claim)) return noop(state, nothingNewlyUnavailable());
  const next = withServer(state, { ...server, claims: { ...server.claims, [req.holder]: claim } });
  const target: Target = { kind: 'server', name };
  return budgeted(
    state,
    next,
    { kind: 'server' },
    req,
    (v) => [
      event(setAction(existing), target, state, next, { reason: req.reason, override: req.override && !v.allowed }),
    ],
    now,
  );
}

export function setDcClaim(state: ClusterState, dcName: string, req: ClaimRequest, actor: Actor, now: number): Outcome {
  requireOverrideRight(req.override, actor);
  if (![...state.servers.values()].some((s) => s.dc === dcName) && !state.dcs.has(dcName))
    throw notFound(`dc ${dcName}`);
  const dc = state.dcs.get(dcName) ?? { name: dcName, claims: {} };
  const existing = liveClaim(dc.claims, req.holder, now);
  const claim = buildClaim(req, existing, actor, now);
  if (existing && sameParameters(existing, claim)) return noop(state, nothingNewlyUnavailable());
  const next = withDc(state, { ...dc, claims: { ...dc.claims, [req.holder]: claim } });
  const target: Target = { kind: 'dc', name: dcName };
  return budgeted(
    state,
    next,
    { kind: 'dc', dc: dcName },
    req,
    (v) => [
      event(setAction(existing), target, state, next, { reason: req.reason, override: req.override && !v.allowed }),
    ],
    now,
  );
}

/** Cluster maintenance pauses automation and takes no server out of service: the budget does not apply. */
export function setClusterClaim(
  state: ClusterState,
  req: Pick<ClaimRequest, 'holder' | 'reason' | 'until'>,
  actor: Actor,
  now: number,
): Outcome {
  const existing = liveClaim(state.cluster.claims, req.holder, now);
  const until = req.until ?? (req.holder === 'manual' ? (existing?.until ?? now + MANUAL_PAUSE_MAX_MS) : undefined);
  const claim: Claim = {
    mode: 'maintenance',
    force: false,
    actor: actor.user,
    since: existing?.since ?? now,
    onDeadline: 'hold',
  };
  if (req.reason !== undefined) claim.reason = req.reason;
  if (until !== undefined) claim.until = until;
  if (existing && sameParameters(existing, claim)) return noop(state);
  const next = withCluster(state, { ...state.cluster, claims: { ...state.cluster.claims, [req.holder]: claim } });
  return { next, events: [event(setAction(existing), { kind: 'cluster' }, state, next, { reason: req.reason })] };
}

interface Holding {
  holder: Holder;
  scope: 'server' | 'dc' | 'cluster';
}

/** Which claims to remove, or the other holders that keep the target held when the caller has none. */
function claimsToRemove(claims: Claims, req: ClearRequest, othersHolding: () => Holding[]): string[] {
  if (req.override)
    return Object.entries(claims)
      .filter(([, c]) => !req.mode || c.mode === req.mode)
      .map(([h]) => h);
  const own = Object.hasOwn(claims, req.holder) ? claims[req.holder] : undefined;
  if (own) return !req.mode || own.mode === req.mode ? [req.holder] : [];
  const others = othersHolding();
  if (others.length > 0) {
    throw new DomainError(
      'HeldByOthers',
      `held by ${others.map((o) => (o.scope === 'server' ? o.holder : `${o.scope} (${o.holder})`)).join(', ')}`,
      {
        heldBy: others,
      },
    );
  }
  return [];
}

export function clearServerClaim(
  state: ClusterState,
  name: string,
  req: ClearRequest,
  actor: Actor,
  now: number,
): Outcome {
  requireOverrideRight(req.override, actor);
  const server = state.servers.get(name);
  if (!server) throw notFound(`server ${name}`);
  const holders = claimsToRemove(server.claims, req, () =>
    viewServer(server, state.dcs.get(server.dc), state.cluster, now).claims.map((c) => ({
      holder: c.holder,
      scope: c.scope,
    })),
  );
  if (holders.length === 0) return noop(state);
  const next = withServer(state, { ...server, claims: withoutHolders(server.claims, holders) });
  const released = releaseOrphanedRolloutPauses(next, actor, now);
  return {
    next: released.next,
    events: [
      event('clear-maintenance', { kind: 'server', name }, state, next, { override: req.override }),
      ...released.events,
    ],
  };
}

export function clearDcClaim(
  state: ClusterState,
  dcName: string,
  req: ClearRequest,
  actor: Actor,
  now: number,
): Outcome {
  requireOverrideRight(req.override, actor);
  const dc = state.dcs.get(dcName);
  if (!dc) {
    if ([...state.servers.values()].some((s) => s.dc === dcName)) return noop(state);
    throw notFound(`dc ${dcName}`);
  }
  const holders = claimsToRemove(dc.claims, req, () =>
    activeClaims(dc.claims, now).map(([holder]) => ({ holder, scope: 'dc' as const })),
  );
  if (holders.length === 0) return noop(state);
  const next = withDc(state, { ...dc, claims: withoutHolders(dc.claims, holders) });
  return {
    next,
    events: [event('clear-maintenance', { kind: 'dc', name: dcName }, state, next, { override: req.override })],
  };
}

/**
 * A rollout's pause of automation lasts only while the rollout can still end it: while it holds the cluster's
 * lock (running, paused or failed), or a server (an abort leaves unverified servers in maintenance). Once it holds
 * neither (its last held server skipped, cleared by an admin or removed), the pause goes.
 */
export function releaseOrphanedRolloutPauses(state: ClusterState, actor: Actor, now: number): Outcome {
  const holdsTarget = (holder: Holder) =>
    [...state.servers.values(), ...state.dcs.values()].some((x) => Object.hasOwn(x.claims, holder));
  const orphaned = Object.keys(state.cluster.claims).filter(
    (h) =>
      h.startsWith(ROLLOUT_HOLDER_PREFIX) &&
      h.slice(ROLLOUT_HOLDER_PREFIX.length) !== state.cluster.rollout &&
      !holdsTarget(h),
  );
  let outcome = noop(state);
  for (const holder of orphaned) {
    const cleared = clearClusterClaim(outcome.next, { holder, override: false }, actor, now);
    outcome = { next: cleared.next, events: [...outcome.events, ...cleared.events] };
  }
  return outcome;
}

export function clearClusterClaim(state: ClusterState, req: ClearRequest, actor: Actor, now: number): Outcome {
  requireOverrideRight(req.override, actor);
  const holders = claimsToRemove(state.cluster.claims, req, () =>
    activeClaims(state.cluster.claims, now).map(([holder]) => ({ holder, scope: 'cluster' as const })),
  );
  if (holders.length === 0) return noop(state);
  const next = withCluster(state, { ...state.cluster, claims: withoutHolders(state.cluster.claims, holders) });
  return { next, events: [event('clear-maintenance', { kind: 'cluster' }, state, next, { override: req.override })] };
}
