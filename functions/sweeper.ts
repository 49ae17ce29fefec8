/**
 * The every-minute job: applies what time has changed (stale servers, expired claims, force deadlines) as
 * writes, each with its event. Read-side views already show the same result; this makes it durable and audited.
 * On AWS it also keeps the windows' schedules in step with the stored windows (a redeploy that recreated the
 * schedule group, a removed cluster).
 */
import { randomUUID } from 'node:crypto';
import { abortRollout, failRollout } from './domain/rollout/lifecycle.js';
import { isActive } from './domain/rollout/model.js';
import { runWindowPhase } from './windows/phase.js';
import { sweep } from './domain/sweep.js';
import type { Deps } from './deps.js';
import type { ExecutionState } from './rollout/engine.js';
import { rolloutRuntimeDeps } from './rollout/engine-runtime.js';
import { log } from './telemetry.js';
import { schedulerFromEnv } from './windows/scheduler-runtime.js';

const BATCH = 40;

const sweeperActor = () => ({ user: 'sweeper', isAdmin: false, source: 'sweeper', requestId: randomUUID() });

/** How long an execution may take to start, or a successor to take over, before the sweeper calls it lost. */
export const EXECUTION_START_GRACE_MS = 2 * 60_000;

/**
 * A rollout whose execution ended without the rollout knowing (StopExecution from the console, a timeout, a
 * local engine that was restarted, a successor that never took over, a reserved execution that never started)
 * is marked aborted, or failed; its claims stay.
 */
async function reconcileRollout(
  deps: Pick<Deps, 'store' | 'now' | 'rollouts'>,
  cluster: string,
  rolloutId: string,
): Promise<number> {
  const snapshot = await deps.store.readRollout(cluster, rolloutId, []);
  const last = snapshot?.rollout.executions.at(-1);
  if (!deps.rollouts || !snapshot || !last || !isActive(snapshot.rollout)) return 0;
  const execution = await deps.rollouts.engine.describeExecution(last);
  const now = deps.now();
  const failure = lostExecution(execution, snapshot.rollout.updatedAt, now);
  if (!failure) return 0;
  const result = await deps.store.mutate(
    cluster,
    (state, current) => {
      if (!state || !current || current.rollout.executions.at(-1) !== last || !isActive(current.rollout))
        return { next: state!, events: [] };
      return failure === 'aborted'
        ? abortRollout(state, current, sweeperActor(), now)
        : failRollout(state, current, { step: 'execution', reason: failure }, now);
    },
    { actor: sweeperActor(), rollout: { id: rolloutId, nodes: 'all' }, result: (o) => o.events.length },
  );
  return result.replayed ? 0 : result.result;
}

/** Why an active rollout's latest execution no longer runs it: `aborted`, a failure's reason, or undefined (it runs). */
function lostExecution(execution: ExecutionState | undefined, recordedAt: number, now: number): string | undefined {
  // Unknown to the engine: never started (a crash between the reservation and the start), or lost (a local restart).
  if (!execution) return now - recordedAt > EXECUTION_START_GRACE_MS ? 'aborted' : undefined;
  const { status, stoppedAt = now } = execution;
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return undefined;
  if (status === 'FAILED') return 'its execution failed';
  // Ended "successfully" while the rollout still runs: a successor that never took over.
  if (status === 'SUCCEEDED')
    return now - stoppedAt > EXECUTION_START_GRACE_MS ? 'its execution ended and no successor took over' : undefined;
  return 'aborted';
}

/** Windows whose open occurrence's end was missed (a lost delivery, a stopped local stack): that end runs now. */
async function closeMissedWindows(deps: SweepDeps, cluster: string): Promise<number> {
  let closed = 0;
  for (const window of await deps.store.listWindows(cluster)) {
    if (!window.open || window.open.until > deps.now()) continue;
    const result = await runWindowPhase(deps, {
      cluster,
      windowId: window.id,
      phase: 'end',
      scheduledTime: new Date(window.open.occurrence).toISOString(),
    });
    closed += result.actions.length;
  }
  return closed;
}

type SweepDeps = Pick<Deps, 'store' | 'now' | 'rollouts' | 'windows'>;

export async function runSweep(
  deps: SweepDeps,
): Promise<{ clusters: number; changes: number; schedules?: { created: number; deleted: number } }> {
  let changes = 0;
  const clusters = await deps.store.listClusters();
  for (const { id } of clusters) {
    changes += await closeMissedWindows(deps, id);
    const header = deps.rollouts && (await deps.store.readClusterHeader(id));
    if (header?.rollout) changes += await reconcileRollout(deps, id, header.rollout);
    for (let more = true; more; ) {
      const now = deps.now();
      const result = await deps.store.mutate(
        id,
        (state) => (state ? sweep(state, now, BATCH) : { next: state!, events: [] }),
        {
          actor: sweeperActor(),
          result: (outcome) => outcome.events.length,
        },
      );
      const written = result.replayed ? 0 : result.result;
      changes += written;
      more = written === BATCH;
    }
  }
  // Last: a Scheduler outage fails the sweep (the function's error alarm) after the rest is done.
  const storedWindows = async () =>
    (await Promise.all((await deps.store.listClusters()).map(({ id }) => deps.store.listWindows(id)))).flat();
  const schedules = deps.windows && (await deps.windows.reconcile(storedWindows));
  return { clusters: clusters.length, changes, ...(schedules && { schedules }) };
}

let deps: SweepDeps | undefined;

export const handler = async () => {
  const scheduler = schedulerFromEnv();
  deps ??= { ...rolloutRuntimeDeps(), ...(scheduler && { windows: scheduler }) };
  const result = await runSweep(deps);
  log('info', 'sweep', result);
  return result;
};
