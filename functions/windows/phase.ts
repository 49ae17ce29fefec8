/**
 * The window function (docs/windows.md): `{ cluster, windowId, phase, scheduledTime }` from Scheduler (or the local
 * scheduler, or the sweeper for a missed end). Deliveries are at-least-once: a phase is deduplicated by window,
 * phase and scheduled time (an idempotency record written with the change), so a repeat changes nothing.
 */
import { createHash } from 'node:crypto';
import { DomainError, invalid } from '../domain/errors.js';
import type { Actor } from '../domain/model.js';
import { requestPause, resumeRollout } from '../domain/rollout/controls.js';
import { createAndClaim } from '../domain/rollout/lifecycle.js';
import { isActive } from '../domain/rollout/model.js';
import {
  endWindow,
  requireWindow,
  skippedStart,
  startWindow,
  windowEvent,
  windowHolder,
  type MaintenanceWindow,
} from '../domain/windows.js';
import type { Deps } from '../deps.js';
import { executionName } from '../rollout/engine.js';
import { newTimeId } from '../rollout/ids.js';
import { startReserved, type Reservation } from '../rollout/start.js';
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
  if (!Number.isFinite(scheduled) || (input.phase !== 'start' && input.phase !== 'end'))
    throw invalid(`a window phase needs phase start|end and a scheduledTime, got ${JSON.stringify(input)}`);
  const key = `${input.cluster}/${input.windowId}/${input.phase}/${new Date(scheduled).toISOString()}`;
  const actor: Actor = { user: windowHolder(input.windowId), isAdmin: false, source: 'scheduler', requestId: key };
  const idempotency = { id: sha256(`window-phase\n${key}`), requestHash: sha256(key) };
  const window = await deps.store.readWindow(input.cluster, input.windowId);
  if (!window) return { actions: [], replayed: false };
  if (window.action === 'rollout') return rolloutPhase(deps, window, input.phase, scheduled, actor, idempotency);

  const result = await deps.store.mutate(
    input.cluster,
    (state, _r, current) => {
      const w = requireWindow(current, input.windowId);
      if (!state) return { next: state!, events: [] };
      if (input.phase === 'end') return endWindow(state, w, scheduled, actor, deps.now());
      if (!w.enabled) return { next: state, events: [] };
      if (w.skip === scheduled) return skippedStart(state, w, scheduled, deps.now());
      return startWindow(state, w, scheduled, actor, deps.now());
    },
    { actor, window: input.windowId, idempotency, result: (o) => o.events.map((e) => e.action) },
  );
  if (!result.replayed && input.phase === 'start' && result.result.includes('window-start'))
    await deps.scheduler?.scheduleEnd(window, scheduled);
  return { actions: result.replayed ? [] : result.result, replayed: result.replayed };
}

/**
 * A rollout window: its start starts a rollout (a new one, with an id of its own, unless the window's last one is
 * paused or failed: that one resumes), claimed for its execution before it starts; its end is the cutoff of the
 * occurrence that started it (the rollout pauses after the nodes in flight, releasing its cluster claim).
 */
async function rolloutPhase(
  deps: WindowDeps,
  window: MaintenanceWindow,
  phase: 'start' | 'end',
  scheduled: number,
  actor: Actor,
  idempotency: { id: string; requestHash: string },
): Promise<PhaseResult> {
  const engine = deps.rollouts?.engine;
  const fresh = newTimeId(deps.now());
  const name = (id: string) => executionName(id, deps.now());
  let reservation: Reservation | undefined;
  const result = await deps.store.mutate(
    window.cluster,
    (state, snapshot, current) => {
      reservation = undefined;
      const w = requireWindow(current, window.id);
      // The rollout read is the one the window named when this phase began.
      if (w.rolloutId !== window.rolloutId)
        throw new DomainError('Conflict', `window ${w.id} started another rollout meanwhile`);
      const now = deps.now();
      const at = (rollout: string | undefined) => ({
        occurrence: new Date(scheduled).toISOString(),
        ...(rollout && { rollout }),
      });
      if (!state) return { next: state!, events: [] };
      if (phase === 'end') {
        if (w.open && w.open.occurrence !== scheduled) return { next: state, events: [] };
        const { open: _ended, ...closed } = w;
        if (!w.open && snapshot?.rollout.status !== 'running') return { next: state, events: [] };
        const paused = snapshot?.rollout.status === 'running' ? requestPause(state, snapshot, now) : undefined;
        return {
          next: state,
          ...paused,
          window: closed,
          events: [...(paused?.events ?? []), windowEvent('window-end', w, at(w.rolloutId))],
        };
      }
      if (!w.enabled || scheduled + w.durationMs <= now) return { next: state, events: [] };
      if (w.skip === scheduled) return skippedStart(state, w, scheduled, now);
      const opened = { ...w, open: { occurrence: scheduled, until: scheduled + w.durationMs } };
      const status = snapshot?.rollout.status;
      if (status && isActive(snapshot.rollout))
        return {
          next: state,
          window: opened,
          events: [windowEvent('window-start', w, { ...at(w.rolloutId), running: true })],
        };
      try {
        if (!engine) throw new DomainError('Unavailable', 'rollouts are not available in this deployment');
        const resume = snapshot && (status === 'paused' || status === 'failed');
        const rolloutId = resume ? snapshot.rollout.id : fresh;
        reservation = { cluster: w.cluster, rolloutId, name: name(rolloutId) };
        const executionId = engine.executionId(reservation.name);
        const outcome = resume
          ? resumeRollout(state, snapshot, executionId, actor, now)
          : createAndClaim(state, fresh, w.rollout!, executionId, actor, now);
        return {
          ...outcome,
          window: { ...opened, rolloutId },
          events: [
            ...outcome.events,
            windowEvent('window-start', w, { ...at(rolloutId), ...(resume ? { resumed: true } : { created: true }) }),
          ],
        };
      } catch (error) {
        reservation = undefined;
        if (!(error instanceof DomainError) || error.code === 'Unavailable') throw error;
        return { next: state, window: w, events: [windowEvent('window-blocked', w, at(w.rolloutId), error.message)] };
      }
    },
    {
      actor,
      window: window.id,
      ...(window.rolloutId && { rollout: { id: window.rolloutId, nodes: 'all' } }),
      idempotency,
      result: (o) => o.events.map((e) => e.action),
    },
  );
  if (!result.replayed && reservation) await startReserved(deps, reservation, actor);
  return { actions: result.replayed ? [] : result.result, replayed: result.replayed };
}
