/**
 * What the every-minute sweeper writes: stale servers marked down, expired `until`s applied (but not on a down
 * server: `expiry-blocked`), pending primaries forced past a `force` deadline, cluster claims expired.
 * Each change is its own audit event.
 */
import { isStale } from './derive.js';
import { releaseOrphanedRolloutPauses } from './maintenance.js';
import type { Actor, Claim, Claims, ClusterState, Server, Target } from './model.js';
import { event, withCluster, withDc, withoutHolders, withServer, type Outcome } from './outcome.js';

type Step = (state: ClusterState) => ClusterState;

const SWEEPER: Actor = { user: 'sweeper', isAdmin: false, source: 'sweeper', requestId: 'sweep' };

const expired = (c: Claim, now: number) => c.until !== undefined && now >= c.until;
const pastForceDeadline = (c: Claim, now: number) =>
  !c.force && c.onDeadline === 'force' && c.drainDeadline !== undefined && now >= c.drainDeadline;
const hasOpenTransactions = (s: Server) => s.role === 'primary' && s.health !== 'down' && (s.openTransactions ?? 0) > 0;

function mapClaims(claims: Claims, fn: (c: Claim) => Claim | undefined): Claims {
  return Object.fromEntries(
    Object.entries(claims).flatMap(([h, c]) => {
      const mapped = fn(c);
      return mapped ? [[h, mapped] as const] : [];
    }),
  );
}

/** At most `maxChanges` changes, so that one transaction stays within DynamoDB's item limit. */
export function sweep(state: ClusterState, now: number, maxChanges = 40): Outcome {
  const changes: { action: string; target: Target; apply: Step }[] = [];

  for (const server of state.servers.values()) {
    const target: Target = { kind: 'server', name: server.name };
    const update =
      (fn: (s: Server) => Server): Step =>
      (st) =>
        withServer(st, fn(st.servers.get(server.name)!));
    if (server.health !== 'down' && isStale(server, state.cluster, now)) {
      changes.push({ action: 'stale', target, apply: update((s) => ({ ...s, health: 'down' })) });
    }
    const willBeDown = server.health === 'down' || isStale(server, state.cluster, now);
    for (const [holder, claim] of Object.entries(server.claims)) {
      if (expired(claim, now)) {
        if (!willBeDown) {
          changes.push({
            action: 'expire-maintenance',
            target,
            apply: update((s) => ({ ...s, claims: withoutHolders(s.claims, [holder]) })),
          });
        } else if (!claim.expiryBlocked) {
          changes.push({
            action: 'expiry-blocked',
            target,
            apply: update((s) => ({ ...s, claims: { ...s.claims, [holder]: { ...claim, expiryBlocked: true } } })),
          });
        }
      } else if (pastForceDeadline(claim, now) && hasOpenTransactions(server)) {
        changes.push({
          action: 'force-deadline',
          target,
          apply: update((s) => ({ ...s, claims: { ...s.claims, [holder]: { ...claim, force: true } } })),
        });
      }
    }
  }

  for (const dc of state.dcs.values()) {
    const target: Target = { kind: 'dc', name: dc.name };
    const pendingPrimary = [...state.servers.values()].some((s) => s.dc === dc.name && hasOpenTransactions(s));
    const next = mapClaims(dc.claims, (c) =>
      expired(c, now) ? undefined : pastForceDeadline(c, now) && pendingPrimary ? { ...c, force: true } : c,
    );
    if (JSON.stringify(next) !== JSON.stringify(dc.claims)) {
      const action = Object.keys(next).length < Object.keys(dc.claims).length ? 'expire-maintenance' : 'force-deadline';
      changes.push({ action, target, apply: (st) => withDc(st, { ...st.dcs.get(dc.name)!, claims: next }) });
    }
  }

  const clusterClaims = mapClaims(state.cluster.claims, (c) => (expired(c, now) ? undefined : c));
  if (Object.keys(clusterClaims).length < Object.keys(state.cluster.claims).length) {
    changes.push({
      action: 'expire-maintenance',
      target: { kind: 'cluster' },
      apply: (st) => withCluster(st, { ...st.cluster, claims: clusterClaims }),
    });
  }

  let next = state;
  const events = changes.slice(0, maxChanges).map(({ action, target, apply }) => {
    const before = next;
    next = apply(next);
    return event(action, target, before, next);
  });
  const released = releaseOrphanedRolloutPauses(next, SWEEPER, now);
  return { next: released.next, events: [...events, ...released.events] };
}
