/**
 * The task function's line per task: the execution as correlation id, the rollout, the step (the task's name), the
 * server for a node's step, what it answered or the name of its error; a step's failure also counts as a metric.
 * Error messages stay out (they can quote a webhook's answer): the rollout's record keeps the reason.
 */
import { log, type MetricGroup } from '../telemetry.js';
import type { TaskPayload } from './tasks.js';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

export async function loggedTask<T>(payload: TaskPayload, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const state = payload.state ?? {};
  const fields = {
    correlation_id: payload.execution,
    rollout: text(state.rolloutId),
    step: payload.task,
    cluster: text(state.cluster),
    server: text(state.server),
  };
  const took = () => ({ durationMs: Math.round(performance.now() - started) });
  try {
    const output = await run();
    log('info', 'task', {
      ...fields,
      outcome: text((output as { outcome?: unknown } | undefined)?.outcome),
      ...took(),
    });
    return output;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const failed = name.startsWith('StepFailed.') ? name.slice('StepFailed.'.length) : undefined;
    const groups: MetricGroup[] = failed
      ? [{ dimensions: { step: failed }, metrics: { StepFailures: [1, 'Count'] } }]
      : [];
    log(
      failed || name === 'Transient' ? 'warn' : 'error',
      'task failed',
      { ...fields, error: name, ...took() },
      groups,
    );
    throw error;
  }
}
