/**
 * The every-minute job: applies what time has changed (stale servers, expired claims, force deadlines) as
 * writes, each with its event. Read-side views already show the same result; this makes it durable and audited.
 */
import { randomUUID } from 'node:crypto';
import { sweep } from './domain/sweep.js';
import type { Deps } from './http/handler.js';
import { runtimeDeps } from './runtime.js';

const BATCH = 40;

export async function runSweep(deps: Pick<Deps, 'store' | 'now'>): Promise<{ clusters: number; changes: number }> {
  let changes = 0;
  const clusters = await deps.store.listClusters();
  for (const { id } of clusters) {
    for (let more = true; more; ) {
      const now = deps.now();
      const result = await deps.store.mutate(id, (state) => (state ? sweep(state, now, BATCH) : { next: state!, events: [] }), {
        actor: { user: 'sweeper', isAdmin: false, source: 'sweeper', requestId: randomUUID() },
        result: (outcome) => outcome.events.length,
      });
      const written = result.replayed ? 0 : result.result;
      changes += written;
      more = written === BATCH;
    }
  }
  return { clusters: clusters.length, changes };
}

export const handler = async () => runSweep(runtimeDeps());
