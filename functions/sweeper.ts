/**
 * The every-minute job: applies what time has changed (stale servers, expired claims, force deadlines) as
 * writes, each with its event. Read-side views already show the same result; this makes it durable and audited.
 */
import { randomUUID } from 'node:crypto';
import { abortRollout, failRollout } from './domain/rollout.js';
import { compileSchedule, lastOccurrence, MAX_WINDOW_MS } from './domain/schedule.js';
import { windowHolder, type MaintenanceWindow } from './domain/windows.js';
import type { ClusterState } from './domain/model.js';
import { runWindowPhase } from './windows/phase.js';
import { sweep } from './domain/sweep.js';
import type { Deps } from './http/handler.js';
import { rolloutRuntimeDeps } from './rollout/engine-runtime.js';

const BATCH = 40;

const sweeperActor = () => ({ user: 'sweeper', isAdmin: false, source: 'sweeper', requestId: randomUUID() });

/**
 * A rollout whose execution ended without the rollout knowing (StopExecution from the console, a timeout, a
 * local engine that was restarted) is marked aborted, or failed; its claims stay.
 */
async function reconcileRollout(deps: Pick<Deps, 'store' | 'now' | 'rollouts'>, cluster: string, rolloutId: string): Promise<number> {
  const snapshot = await deps.store.readRollout(cluster, rolloutId, []);
  const last = snapshot?.rollout.executions.at(-1);
  if (!deps.rollouts || !snapshot || !last || !['running', 'pausing', 'aborting'].includes(snapshot.rollout.status)) return 0;
  const status = await deps.rollouts.engine.executionStatus(last);
  if (status === 'RUNNING' || status === 'SUCCEEDED' || status === 'PENDING_REDRIVE') return 0;
  const result = await deps.store.mutate(cluster, (state, current) => {
    if (!state || !current || current.rollout.executions.at(-1) !== last || !['running', 'pausing', 'aborting'].includes(current.rollout.status)) return { next: state!, events: [] };
    return status === 'FAILED'
      ? failRollout(state, current, { step: 'execution', reason: `execution ${last} failed` }, deps.now())
      : abortRollout(state, current, sweeperActor(), deps.now());
  }, { actor: sweeperActor(), rollout: { id: rolloutId, nodes: 'all' }, result: (o) => o.events.length });
  return result.replayed ? 0 : result.result;
}

/** Whether an ended occurrence left anything behind: the window's claims, or its rollout still running. */
async function stillOpen(deps: Pick<Deps, 'store'>, state: ClusterState, window: MaintenanceWindow): Promise<boolean> {
  const holder = windowHolder(window.id);
  if (Object.hasOwn(state.cluster.claims, holder) || [...state.dcs.values(), ...state.servers.values()].some((x) => Object.hasOwn(x.claims, holder))) return true;
  if (window.action !== 'rollout' || !window.rolloutId) return false;
  return (await deps.store.readRollout(window.cluster, window.rolloutId, []))?.rollout.status === 'running';
}

/** Windows whose end phase was missed (a lost delivery, a stopped local stack): their end runs now. */
async function closeMissedWindows(deps: Pick<Deps, 'store' | 'now' | 'rollouts'>, cluster: string): Promise<number> {
  let closed = 0;
  const windows = await deps.store.listWindows(cluster);
  if (windows.length === 0) return 0;
  const state = await deps.store.readCluster(cluster);
  const now = deps.now();
  for (const window of windows) {
    const schedule = compileSchedule(window.schedule, window.timezone, window.startDate);
    const start = lastOccurrence(schedule, window.timezone, now - window.durationMs, MAX_WINDOW_MS);
    if (start === undefined || !state || !(await stillOpen(deps, state, window))) continue;
    const result = await runWindowPhase(deps, { cluster, windowId: window.id, phase: 'end', scheduledTime: new Date(start).toISOString() });
    closed += result.actions.length;
  }
  return closed;
}

export async function runSweep(deps: Pick<Deps, 'store' | 'now' | 'rollouts'>): Promise<{ clusters: number; changes: number }> {
  let changes = 0;
  const clusters = await deps.store.listClusters();
  for (const { id } of clusters) {
    changes += await closeMissedWindows(deps, id);
    const header = deps.rollouts && (await deps.store.readClusterHeader(id));
    if (header?.rollout) changes += await reconcileRollout(deps, id, header.rollout);
    for (let more = true; more; ) {
      const now = deps.now();
      const result = await deps.store.mutate(id, (state) => (state ? sweep(state, now, BATCH) : { next: state!, events: [] }), {
        actor: sweeperActor(),
        result: (outcome) => outcome.events.length,
      });
      const written = result.replayed ? 0 : result.result;
      changes += written;
      more = written === BATCH;
    }
  }
  return { clusters: clusters.length, changes };
}

export const handler = async () => runSweep(rolloutRuntimeDeps());
