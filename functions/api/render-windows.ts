/**
 * A window as the API renders it (`GET …/windows`), apart from its handler so that the console can take its type
 * without the handler's imports (node, the store, Scheduler).
 */
import { compileSchedule, occurrencesAfter } from '../domain/schedule.js';
import type { MaintenanceWindow } from '../domain/windows.js';
import { iso } from './render.js';
import type { WindowJson } from './responses.js';

const UPCOMING = 3;

/** The next starts, the skipped one left out. */
export function nextStarts(window: MaintenanceWindow, now: number, count = UPCOMING): number[] {
  return occurrencesAfter(
    compileSchedule(window.schedule, window.timezone, window.startDate),
    window.timezone,
    now,
    count + 1,
  )
    .filter((t) => t !== window.skip)
    .slice(0, count);
}

/** An instant in the window's zone (with its offset) and in UTC. */
function zoned(t: number, timezone: string) {
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).format(new Date(t));
  return { local: local.replace(' ', 'T').replace(' GMT', ''), utc: iso(t) };
}

export function windowJson(window: MaintenanceWindow, now: number): WindowJson {
  const { version: _v, durationMs: _d, skip, open, createdAt, updatedAt, ...rest } = window;
  return {
    ...rest,
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
    ...(skip !== undefined && { skipping: zoned(skip, window.timezone) }),
    ...(open && { open: { start: zoned(open.occurrence, window.timezone), end: zoned(open.until, window.timezone) } }),
    next: nextStarts(window, now).map((t) => ({
      start: zoned(t, window.timezone),
      end: zoned(t + window.durationMs, window.timezone),
    })),
  };
}
