/**
 * Wall-clock time in an IANA zone, from the runtime's own zone data (Intl, through @date-fns/tz's `tzOffset`).
 * Its own module: the window function needs a start date's instant, not the schedules (aws-cron-parser).
 */
// The subpath: the package's index also loads TZDate, which has side effects esbuild must keep.
import { tzOffset } from '@date-fns/tz/tzOffset';

const DAY = 24 * 3600 * 1000;

/** Whether the runtime knows `zone` (Intl's IANA names; case does not matter). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone's UTC offset at an instant, in ms (rounded: pre-1900 offsets have seconds). */
const offsetMs = (zone: string, instant: number) => Math.round(tzOffset(zone, new Date(instant)) * 60_000);

/** The wall clock in `zone` at `instant`, as the UTC fields of the returned epoch ms. */
export const wallClock = (instant: number, zone: string) => instant + offsetMs(zone, instant);

/** The offsets in force around a wall time: a day either side covers any transition it could fall in. */
const offsetsAround = (wall: number, zone: string) => [
  offsetMs(zone, wall - DAY),
  offsetMs(zone, wall),
  offsetMs(zone, wall + DAY),
];

/**
 * Every instant whose wall clock in `zone` reads `wall` (epoch ms of the wall time's UTC fields), earliest first:
 * none in a spring-forward gap, two in an autumn overlap.
 */
export function instantsOf(wall: number, zone: string): number[] {
  const instants = new Set(
    offsetsAround(wall, zone)
      .map((offset) => wall - offset)
      .filter((t) => wallClock(t, zone) === wall),
  );
  return [...instants].sort((a, b) => a - b);
}

/** Epoch ms of wall-clock fields read as UTC (years below 100 included), if they name a real date and time. */
export function wallTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second = 0,
  ms = 0,
): number | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return same ? date.getTime() : undefined;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,30}))?)?(Z|([+-])(\d{2}):(\d{2}))?$/;

/**
 * An ISO 8601 date-time (the API's form: `2027-01-10T03:00`, seconds and fraction optional, `Z` or `±hh:mm`) as an
 * instant; without an offset it is a wall time in `zone`: in an overlap its first instant, in a gap moved on by
 * the gap (02:30 on a spring-forward night is 03:30). Undefined if it is not one.
 */
export function zonedInstant(text: string, zone: string): number | undefined {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction, offset, sign, offsetHours, offsetMinutes] = m;
  const ms = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  const wall = wallTime(+year!, +month!, +day!, +hour!, +minute!, +second, ms);
  if (wall === undefined) return undefined;
  if (offset === 'Z') return wall;
  if (offset) return wall - (sign === '-' ? -1 : 1) * (+offsetHours! * 60 + +offsetMinutes!) * 60_000;
  return instantsOf(wall, zone)[0] ?? wall - Math.min(...offsetsAround(wall, zone));
}
