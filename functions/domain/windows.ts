/**
 * Scheduled maintenance windows (docs/windows.md): the window record and what its start and end phases do. A window
 * holds its own claims (`window:<id>`), beside anyone else's; its end removes those and nothing else.
 */
import { DomainError, invalid, notFound } from './errors.js';
import {
  clearClusterClaim,
  clearDcClaim,
  clearServerClaim,
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
  setClusterClaim,
  setDcClaim,
  setServerClaim,
} from './maintenance.js';
import type { Actor, ClusterState, EventDraft } from './model.js';
import { noop, type Outcome } from './outcome.js';
import type { RolloutInput } from './rollout/model.js';

export const WINDOW_ACTIONS = ['maintenance', 'cluster-maintenance', 'rollout'] as const;
type WindowAction = (typeof WINDOW_ACTIONS)[number];
export type WindowPhase = 'start' | 'end';

export interface MaintenanceWindow {
  id: string;
  cluster: string;
  name: string;
  /** EventBridge Scheduler's expression: `at(...)`, `cron(...)` or `rate(...)`. */
  schedule: string;
  timezone: string;
  /** ISO 8601, for `rate(...)`. */
  startDate?: string;
  /** ISO 8601 duration as given, and in ms. */
  duration: string;
  durationMs: number;
  action: WindowAction;
  targets: { servers: string[]; dcs: string[] };
  reason?: string;
  enabled: boolean;
  /** `action: "rollout"`: the rollout's input, and the rollout the window runs. */
  rollout?: RolloutInput;
  rolloutId?: string;
  /** The scheduled time of an occurrence to skip. */
  skip?: number;
  /** The occurrence that has started and not yet ended: only its own end ends it. */
  open?: { occurrence: number; until: number };
  actor: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export const windowHolder = (id: string) => `window:${id}`;
const windowTarget = (id: string) => `window:${id}`;

/** A window outcome: the cluster's next state, the window as it is left (null: deleted), the events. */
export interface WindowOutcome extends Outcome {
  window: MaintenanceWindow | null;
}

export function windowEvent(
  action: string,
  window: MaintenanceWindow,
  after: Record<string, unknown> = {},
  reason?: string,
): EventDraft {
  return {
    action,
    target: windowTarget(window.id),
    before: null,
    after: { name: window.name, action: window.action, ...after },
    ...(reason !== undefined && { reason }),
  };
}

/**
 * A start or an end writes each target and its event in one transaction (at most 100 items): a dc target
 * covers all its servers in one item.
 */
export const MAX_WINDOW_TARGETS = 40;

/** Targets (and a rollout window's servers) must exist when the window is created or edited. */
export function checkTargets(
  state: ClusterState,
  window: Pick<MaintenanceWindow, 'action' | 'targets' | 'rollout'>,
): void {
  const count = window.targets.servers.length + window.targets.dcs.length;
  if (count > MAX_WINDOW_TARGETS) {
    throw invalid(
      `targets: a window names at most ${MAX_WINDOW_TARGETS} servers and dcs together, not ${count}: name their dcs instead`,
      { limit: MAX_WINDOW_TARGETS },
    );
  }
  const servers = [...window.targets.servers, ...(window.rollout?.servers ?? [])].filter((s) => !state.servers.has(s));
  const dcs = window.targets.dcs.filter(
    (dc) => !state.dcs.has(dc) && ![...state.servers.values()].some((s) => s.dc === dc),
  );
  if (servers.length + dcs.length > 0) {
    throw invalid(
      `targets: ${[...servers.map((s) => `server ${s}`), ...dcs.map((d) => `dc ${d}`)].join(', ')} not found in cluster ${state.cluster.id}`,
      { servers, dcs },
    );
  }
  if (window.action === 'maintenance' && window.targets.servers.length + window.targets.dcs.length === 0) {
    throw invalid('targets: a maintenance window needs at least one server or dc');
  }
}

export function saveWindow(
  state: ClusterState,
  existing: MaintenanceWindow | undefined,
  window: MaintenanceWindow,
): WindowOutcome {
  checkTargets(state, window);
  const kept = existing && {
    createdAt: existing.createdAt,
    version: existing.version,
    ...(existing.rolloutId && { rolloutId: existing.rolloutId }),
    ...(existing.open && { open: existing.open }),
  };
  const next = { ...window, ...kept };
  return {
    next: state,
    window: next,
    events: [
      windowEvent(existing ? 'update-window' : 'create-window', next, {
        schedule: next.schedule,
        timezone: next.timezone,
        duration: next.duration,
        enabled: next.enabled,
      }),
    ],
  };
}

export function deleteWindow(state: ClusterState, window: MaintenanceWindow): WindowOutcome {
  return { next: state, window: null, events: [windowEvent('delete-window', window)] };
}

export function skipOccurrence(
  state: ClusterState,
  window: MaintenanceWindow,
  scheduledTime: number,
  now: number,
): WindowOutcome {
  const next = { ...window, skip: scheduledTime, updatedAt: now };
  return {
    next: state,
    window: next,
    events: [windowEvent('skip-window', next, { occurrence: new Date(scheduledTime).toISOString() })],
  };
}

/** A planned occurrence skipped: the skip is used up. */
export function skippedStart(
  state: ClusterState,
  window: MaintenanceWindow,
  scheduledTime: number,
  now: number,
): WindowOutcome {
  const { skip: _s, ...rest } = window;
  return {
    next: state,
    window: { ...rest, updatedAt: now },
    events: [windowEvent('window-skipped', window, { occurrence: new Date(scheduledTime).toISOString() })],
  };
}

/**
 * The start of a `maintenance` or `cluster-maintenance` window: the window's claims, graceful, until its end.
 * Under the budget, a window that cannot start changes nothing and records `window-blocked`.
 */
export function startWindow(
  state: ClusterState,
  window: MaintenanceWindow,
  scheduledTime: number,
  actor: Actor,
  now: number,
): WindowOutcome {
  const until = scheduledTime + window.durationMs;
  const at = { occurrence: new Date(scheduledTime).toISOString(), until: new Date(until).toISOString() };
  const reason = window.reason ?? `window ${window.name}`;
  if (until <= now) return { ...noop(state), window, events: [] };
  const opened = { ...window, open: { occurrence: scheduledTime, until } };
  if (window.action === 'cluster-maintenance') {
    const outcome = setClusterClaim(state, { holder: windowHolder(window.id), reason, until }, actor, now);
    return { ...outcome, window: opened, events: [...outcome.events, windowEvent('window-start', window, at)] };
  }
  const claim = {
    holder: windowHolder(window.id),
    mode: 'maintenance' as const,
    force: false,
    reason,
    until,
    drainTimeoutSeconds: DEFAULT_DRAIN_TIMEOUT_SECONDS,
    onDeadline: 'force' as const,
    override: false,
    dryRun: false,
  };
  let next = state;
  const events: EventDraft[] = [];
  try {
    for (const dc of window.targets.dcs) {
      const o = setDcClaim(next, dc, claim, actor, now);
      next = o.next;
      events.push(...o.events);
    }
    for (const server of window.targets.servers) {
      const o = setServerClaim(next, server, claim, actor, now);
      next = o.next;
      events.push(...o.events);
    }
  } catch (error) {
    if (!(error instanceof DomainError) || (error.code !== 'BudgetExceeded' && error.code !== 'NotFound')) throw error;
    return {
      ...noop(state),
      window,
      events: [
        windowEvent(
          'window-blocked',
          window,
          { ...at, ...(error.details && { details: error.details }) },
          error.message,
        ),
      ],
    };
  }
  return { next, window: opened, events: [...events, windowEvent('window-start', window, at)] };
}

/**
 * The end of the occurrence that started at `scheduledTime`: only this window's claims go (anyone else's stay),
 * and only if that occurrence is the one open — a late end of an earlier occurrence leaves the next one alone.
 */
export function endWindow(
  state: ClusterState,
  window: MaintenanceWindow,
  scheduledTime: number,
  actor: Actor,
  now: number,
): WindowOutcome {
  if (window.open && window.open.occurrence !== scheduledTime) return { ...noop(state), window, events: [] };
  const { open: _ended, ...closed } = window;
  const holder = windowHolder(window.id);
  const clear = { holder, override: false };
  let next = state;
  const events: EventDraft[] = [];
  const apply = (o: Outcome) => {
    next = o.next;
    events.push(...o.events);
  };
  if (Object.hasOwn(next.cluster.claims, holder)) apply(clearClusterClaim(next, clear, actor, now));
  for (const dc of next.dcs.values())
    if (Object.hasOwn(dc.claims, holder)) apply(clearDcClaim(next, dc.name, clear, actor, now));
  for (const server of next.servers.values())
    if (Object.hasOwn(server.claims, holder)) apply(clearServerClaim(next, server.name, clear, actor, now));
  // An occurrence that never started (skipped, blocked, disabled) has nothing to end: no run to record.
  if (events.length === 0 && !window.open) return { ...noop(state), window, events: [] };
  return {
    next,
    window: closed,
    events: [...events, windowEvent('window-end', window, { occurrence: new Date(scheduledTime).toISOString() })],
  };
}

export function requireWindow(window: MaintenanceWindow | undefined, id: string): MaintenanceWindow {
  if (!window) throw notFound(`window ${id}`);
  return window;
}
