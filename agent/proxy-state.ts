/** What HAProxy should do with one server entry, from the control plane's view and what the database says. */
import type { ClaimJson, ServerJson } from './control-plane.js';
import type { AdminState } from './haproxy.js';

export interface Desired {
  state: AdminState;
  /** Close the entry's sessions now (a forced maintenance; a former primary in a write backend). */
  shutdown: boolean;
  why: string;
}

const forced = (c: ClaimJson, now: number) =>
  c.mode === 'maintenance' &&
  (c.force || (c.onDeadline === 'force' && c.drainDeadline !== undefined && now >= Date.parse(c.drainDeadline)));

/**
 * `undefined`: leave the entry as it is — a server the control plane does not know, or one that is down or not
 * yet reported without any claim (HAProxy's own checks judge liveness), or a write entry while nobody can tell
 * which server is writable.
 * - A write backend sends traffic only to the writable primary.
 * - Routable → `ready`. Maintenance → `maint`, after `drain` while sessions remain; forced: `maint` and its
 *   sessions closed. Draining (a drain claim, or a primary whose transactions are finishing) → `drain`.
 */
export function desiredState(
  server: ServerJson | undefined,
  entry: { write: boolean; sessions: number },
  primary: boolean | undefined,
  now: number,
): Desired | undefined {
  if (!server) return undefined;
  if (entry.write && primary === false) return { state: 'maint', shutdown: false, why: 'not the primary' };
  if (server.maintenance) {
    if (server.claims.some((c) => forced(c, now)))
      return { state: 'maint', shutdown: entry.sessions > 0, why: 'forced maintenance' };
    return entry.sessions > 0
      ? { state: 'drain', shutdown: false, why: 'maintenance: sessions finishing' }
      : { state: 'maint', shutdown: false, why: 'maintenance' };
  }
  if (server.pending || server.draining || server.drained)
    return { state: 'drain', shutdown: false, why: server.pending ? 'transactions finishing' : 'drain' };
  if (server.routable)
    return entry.write && primary === undefined ? undefined : { state: 'ready', shutdown: false, why: 'in service' };
  return undefined;
}
