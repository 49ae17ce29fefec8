/**
 * The window function (windows.md): `{ cluster, windowId, phase, scheduledTime }` from Scheduler (or the local
 * scheduler, or the sweeper for a missed end). Deliveries are at-least-once: a phase is deduplicated by window,
 * phase and scheduled time (an idempotency record written with the change), so a repeat changes nothing.
 */
import { createHash } from 'node:crypto';
import { DomainError, invalid } from '../domain/errors.js';
import type { Actor } from '../domain/model.js';
import * as R from '../domain/rollout.js';
import { endWindow, requireWindow, skippedStart, startWindow, windowEvent, windowHolder, type MaintenanceWindow, type WindowOutcome } from '../domain/windows.js';
import type { Deps } from '../http/handler.js';
import { newTimeId } from '../rollout/ids.js';
import type { WindowScheduler, WindowPhaseInput } from './scheduler.js';

export type WindowDeps = Pick<Deps, 'store' | 'now' | 'rollouts'> & { scheduler?: WindowScheduler };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface PhaseResult {
  /** The audit actions the phase wrote; empty for a repeat or nothing to do. */
  actions: string[];
  replayed: boolean;
}

export async function runWindowPhase(deps: WindowDeps, input: WindowPhaseInput): Promise<PhaseResult> {
  const scheduled = Date.parse(input.scheduledTime);
  if (!Number.isFinite(scheduled) || (input.phase !== 'start' && input.phase !== 'end')) throw invalid(`a window phase needs phase start|end and a scheduledTime, got ${JSON.stringify(input)}`);
  const key = `${input.cluster}/${input.windowId}/${input.phase}/${new Date(scheduled).toISOString()}`;
  const actor: Actor = { user: windowHolder(input.windowId), isAdmin: false, source: 'scheduler', requestId: key };
  const idempotency = { id: sha256(`window-phase\n${key}`), requestHash: sha256(key) };
  const window = await deps.store.readWindow(input.cluster, input.windowId);
  if (!window) return { actions: [], replayed: false };
  if (window.action === 'rollout') return rolloutPhase(deps, window, input.phase, scheduled, actor, idempotency);

  const result = await deps.store.mutate(input.cluster, (state, _r, current) => {
    const w = requireWindow(current, input.windowId);
    if (!state) return { next: state!, events: [] };
    if (input.phase === 'end') return endWindow(state, w, scheduled, actor, deps.now());
    if (!w.enabled) return { next: state, events: [] };
    if (w.skip === scheduled) return skippedStart(state, w, scheduled, deps.now());
    return startWindow(state, w, scheduled, actor, deps.now());
  }, { actor, window: input.windowId, idempotency, result: (o) => o.events.map((e) => e.action) });
  if (!result.replayed && input.phase === 'start' && result.result.includes('window-start')) await deps.scheduler?.scheduleEnd(window, scheduled);
  return { actions: result.replayed ? [] : result.result, replayed: result.replayed };
}

/**
 * A rollout window: its start starts the rollout, or resumes the one it paused; its end is the cutoff (the
 * rollout pauses after the nodes in flight, releasing its cluster claim).
 */
async function rolloutPhase(deps: WindowDeps, window: MaintenanceWindow, phase: 'start' | 'end', scheduled: number, actor: Actor, idempotency: { id: string; requestHash: string }): Promise<PhaseResult> {
  const rolloutId = window.rolloutId ?? newTimeId(deps.now());
  const decided = { startExecution: false };
  const result = await deps.store.mutate(window.cluster, (state, snapshot, current) => {
    const w = requireWindow(current, window.id);
    const now = deps.now();
    const at = { occurrence: new Date(scheduled).toISOString(), rollout: rolloutId };
    decided.startExecution = false;
    if (!state) return { next: state!, events: [] };
    if (phase === 'end') {
      const status = snapshot?.rollout.status;
      if (status !== 'running') return { next: state, window: w, events: [windowEvent('window-end', w, at)] };
      const paused = R.requestPause(state, snapshot!, now);
      return { ...paused, window: w, events: [...paused.events, windowEvent('window-end', w, at)] };
    }
    if (!w.enabled || scheduled + w.durationMs <= now) return { next: state, events: [] };
    if (w.skip === scheduled) return skippedStart(state, w, scheduled, now);
    try {
      const status = snapshot?.rollout.status;
      if (status === 'running' || status === 'pausing' || status === 'aborting') return { next: state, window: w, events: [windowEvent('window-start', w, { ...at, running: true })] };
      let outcome: WindowOutcome & { rollout?: R.RolloutSnapshot };
      if (snapshot && status === 'paused') {
        // Checked as Preflight will check it; the new execution does it for real.
        R.preflight(state, snapshot, 'window', actor, now);
        outcome = { next: state, window: w, events: [windowEvent('window-start', w, { ...at, resumed: true })] };
      } else {
        if (!deps.rollouts) throw new DomainError('Unavailable', 'rollouts are not available in this deployment');
        const created = R.createRollout(state, rolloutId, w.rollout!, actor, now);
        outcome = { ...created, window: { ...w, rolloutId }, events: [...created.events, windowEvent('window-start', w, { ...at, created: true })] };
      }
      decided.startExecution = true;
      return outcome;
    } catch (error) {
      if (!(error instanceof DomainError) || error.code === 'Unavailable') throw error;
      return { next: state, window: w, events: [windowEvent('window-blocked', w, at, error.message)] };
    }
  }, { actor, window: window.id, rollout: { id: rolloutId, nodes: 'all' }, idempotency, result: (o) => o.events.map((e) => e.action) });
  if (!result.replayed && decided.startExecution) await deps.rollouts?.engine.startRollout({ cluster: window.cluster, rolloutId });
  return { actions: result.replayed ? [] : result.result, replayed: result.replayed };
}
