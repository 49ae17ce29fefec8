/**
 * The local EventBridge Scheduler: every tick it fires the start and end phases of every window whose instants
 * passed since the last tick, computed from the window records exactly as Scheduler would (same expressions,
 * zones and DST rules). After a restart it fires a start missed while it was down if the window is still open.
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
          const schedule = compileSchedule(window.schedule, window.timezone, window.startDate);
          const starts = occurrencesAfter(schedule, window.timezone, from - MAX_WINDOW_MS - 1, 2000).filter((t) => t <= now);
          for (const t of starts) {
            const end = t + window.durationMs;
            const fire = (phase: 'start' | 'end') => runWindowPhase(this.deps, { cluster, windowId: window.id, phase, scheduledTime: new Date(t).toISOString() });
            if ((t > from || (first && end > now)) && end > now) results.push(await fire('start'));
            if (!first && end > from && end <= now) results.push(await fire('end'));
          }
        } catch (error) {
          console.error(JSON.stringify({ level: 'warn', message: 'window phase failed', cluster, window: window.id, error: String(error) }));
        }
      }
    }
    return results;
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick()).catch((e) => console.error(JSON.stringify({ level: 'warn', message: 'window scheduler tick failed', error: String(e) })));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
