/**
 * The local EventBridge Scheduler: every tick it fires the starts of every window whose instants passed since the
 * last tick, computed from the window records exactly as Scheduler would (same expressions, zones and DST rules),
 * and the end of each open occurrence whose end has come. After a restart it fires a start missed while it was
 * down if the occurrence is still open.
 */
import { compileSchedule, MAX_WINDOW_MS, occurrencesAfter } from '../functions/domain/schedule.js';
import { runWindowPhase, type PhaseResult, type WindowDeps } from '../functions/windows/phase.js';

export class LocalWindowScheduler {
  private last: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: WindowDeps) {}

  /** One pass: the phases due since the last pass (on the first, the starts of windows open now). */
  async tick(): Promise<PhaseResult[]> {
    const now = this.deps.now();
    const first = this.last === undefined;
    const from = this.last ?? now;
    this.last = now;
    const results: PhaseResult[] = [];
    for (const { id: cluster } of await this.deps.store.listClusters()) {
      for (const window of await this.deps.store.listWindows(cluster)) {
        // One window's trouble (a backend error for its phase) does not hold the others back.
        try {
          // The open occurrence's end (on AWS its one-off schedule, made by the start), then the starts due.
          if (window.open && window.open.until <= now)
            results.push(await this.fire(cluster, window.id, 'end', window.open.occurrence));
          const schedule = compileSchedule(window.schedule, window.timezone, window.startDate);
          const starts = occurrencesAfter(schedule, window.timezone, from - MAX_WINDOW_MS - 1, 2000).filter(
            (t) => t <= now,
          );
          for (const t of starts) {
            // As Scheduler: nothing before the window existed; after a restart, a start missed while it is still open.
            if (t < window.createdAt || t + window.durationMs <= now) continue;
            if (t > from || first) results.push(await this.fire(cluster, window.id, 'start', t));
          }
        } catch (error) {
          console.error(
            JSON.stringify({
              level: 'warn',
              message: 'window phase failed',
              cluster,
              window: window.id,
              error: String(error),
            }),
          );
        }
      }
    }
    return results;
  }

  private fire(cluster: string, windowId: string, phase: 'start' | 'end', t: number): Promise<PhaseResult> {
    return runWindowPhase(this.deps, { cluster, windowId, phase, scheduledTime: new Date(t).toISOString() });
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => this.tick())
        .catch((e) =>
          console.error(JSON.stringify({ level: 'warn', message: 'window scheduler tick failed', error: String(e) })),
        );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
