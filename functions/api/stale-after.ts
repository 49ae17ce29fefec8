/**
 * Each cluster's `staleAfterSeconds`, cached per process for as long as tokens are (TOKEN_CACHE_MS), so that a
 * routine report stays one write: it is routine only while the server it reports is fresh. A report that makes a
 * stale server fresh changes `electable`, and must take the full path that bumps the revision (and the ETag).
 */
import { TOKEN_CACHE_MS } from '../http/auth.js';
import type { Deps } from '../deps.js';
import type { Store } from '../store/store.js';

const caches = new WeakMap<Store, Map<string, { ms: number; until: number }>>();

/** Milliseconds after which a cluster's servers go stale; undefined for a cluster that does not exist. */
export async function staleAfterMs(deps: Pick<Deps, 'store' | 'now'>, cluster: string): Promise<number | undefined> {
  let cache = caches.get(deps.store);
  if (!cache) {
    cache = new Map();
    caches.set(deps.store, cache);
  }
  const now = deps.now();
  const cached = cache.get(cluster);
  if (cached && cached.until > now) return cached.ms;
  const header = await deps.store.readClusterHeader(cluster);
  if (!header) return undefined;
  cache.set(cluster, { ms: header.staleAfterSeconds * 1000, until: now + TOKEN_CACHE_MS });
  return header.staleAfterSeconds * 1000;
}

/** After a change of the cluster in this process: the next report reads it again. */
export function forgetStaleAfter(deps: Pick<Deps, 'store'>, cluster: string): void {
  caches.get(deps.store)?.delete(cluster);
}
