/**
 * Maintenance-window schedules in EventBridge Scheduler's own terms (docs/windows.md): `at(...)`, six-field AWS
 * `cron(...)` and `rate(...)` with a start date, evaluated in an IANA time zone. Scheduler's daylight-saving
 * rules apply: a start that falls in the spring-forward gap is skipped; one in the autumn overlap fires once
 * (at the first of the two instants). aws-cron-parser expands the cron fields (it trusts its input, so the
 * syntax is checked here first); `zone.ts` does the time zones.
 */
// The two parts used: the package's index also loads its English descriptions (number-to-words), ≈ 6 KB.
import { next as cronNext } from 'aws-cron-parser/built/lib/next.js';
import { parse as cronParse, type ParsedCron } from 'aws-cron-parser/built/lib/parse.js';
import { invalid } from './errors.js';
import { instantsOf, isTimeZone, wallClock, wallTime, zonedInstant } from './zone.js';

export type Schedule =
  | { kind: 'at'; expression: string; at: number }
  | { kind: 'cron'; expression: string; cron: ParsedCron }
  | { kind: 'rate'; expression: string; everyMs: number; startDate: number };

const MINUTE = 60_000;
export const MAX_WINDOW_MS = 24 * 3600 * 1000;
/**
 * The longest `rate(...)` a new window takes: a year. Scheduler documents no upper bound (its value is "a positive
 * integer"); a year is the longest rate in common use (`rate(365 days)`), anything rarer is a cron with a year or an
 * `at()`, and every start computed from it stays a valid Date (1000 periods past a startDate in year 9999).
 */
export const MAX_RATE_MS = 365 * 1440 * MINUTE;

export function checkTimezone(zone: string): string {
  if (!isTimeZone(zone)) throw invalid(`timezone: ${zone} is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  return zone;
}

// ISO 8601 durations as luxon read them (the windows stored so far were read so): its grammar, and its casual
// units (a year 365 days, a month 30), summed in its order so the milliseconds come out the same.
const ISO_DURATION =
  /^-?P(?:(?:(-?\d{1,20}(?:\.\d{1,20})?)Y)?(?:(-?\d{1,20}(?:\.\d{1,20})?)M)?(?:(-?\d{1,20}(?:\.\d{1,20})?)W)?(?:(-?\d{1,20}(?:\.\d{1,20})?)D)?(?:T(?:(-?\d{1,20}(?:\.\d{1,20})?)H)?(?:(-?\d{1,20}(?:\.\d{1,20})?)M)?(?:(-?\d{1,20})(?:[.,](-?\d{1,20}))?S)?)?)$/;
const DURATION_UNIT_MS = [
  365 * 1440 * MINUTE,
  30 * 1440 * MINUTE,
  7 * 1440 * MINUTE,
  1440 * MINUTE,
  60 * MINUTE,
  MINUTE,
  1000,
];

function isoDurationMs(text: string): number | undefined {
  const match = ISO_DURATION.exec(text);
  if (!match) return undefined;
  const [, ...fields] = match;
  const negative = text.startsWith('-');
  const seconds = fields[6]; // present whenever its fraction is
  let total = 0;
  fields.slice(0, 7).forEach((field, i) => {
    if (field === undefined) return;
    const value = Number.parseFloat(field);
    // (The sign of a zero does not matter: it is added to the total.)
    total += DURATION_UNIT_MS[i]! * (negative ? -value : value);
  });
  if (fields[7] !== undefined) {
    const ms = Math.floor(Number.parseFloat(`0.${fields[7]}`) * 1000);
    total += seconds!.startsWith('-') || negative ? -ms : ms;
  }
  const whole = Math.trunc(total);
  return whole + (total * 1000 - whole * 1000) / 1000;
}

/** `PT2H`, `PT90M`: more than 0, at most 24 hours. */
export function parseWindowDuration(text: string): number {
  const ms = isoDurationMs(text);
  if (ms === undefined) throw invalid(`duration: ${text} is not an ISO 8601 duration (e.g. PT2H, PT30M)`);
  if (!(ms > 0) || ms > MAX_WINDOW_MS) throw invalid(`duration: ${text} must be more than 0 and at most 24 hours`);
  return ms;
}

// Six fields: minutes hours day-of-month month day-of-week year (AWS's syntax).
const NUM = (min: number, max: number, names: string[] = []) => {
  const number = (v: string) => {
    const i = names.indexOf(v.toUpperCase());
    return i >= 0 ? i + min : /^\d+$/.test(v) ? Number(v) : NaN;
  };
  const value = (v: string) => number(v) >= min && number(v) <= max;
  return (token: string) => {
    const [range, step] = token.split('/');
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0 && Number(step) <= max)) return false;
    if (range === '*') return true;
    const [from, to, ...rest] = range!.split('-');
    // Ranges go upwards (FRI-MON does not wrap around).
    return rest.length === 0 && value(from!) && (to === undefined || (value(to) && number(to) >= number(from!)));
  };
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: { name: string; ok: (token: string) => boolean; special?: RegExp }[] = [
  { name: 'minutes', ok: NUM(0, 59) },
  { name: 'hours', ok: NUM(0, 23) },
  { name: 'day-of-month', ok: NUM(1, 31), special: /^(\?|L|L-([1-9]|[12]\d|30)|([1-9]|[12]\d|3[01])W)$/ },
  { name: 'month', ok: NUM(1, 12, MONTHS) },
  { name: 'day-of-week', ok: NUM(1, 7, DAYS), special: /^(\?|[1-7]L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5])$/i },
  { name: 'year', ok: NUM(1970, 2199) },
];

function checkCron(body: string): void {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6)
    throw invalid(
      `schedule: cron(${body}) needs six fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`,
    );
  fields.forEach((field, i) => {
    const { name, ok, special } = FIELDS[i]!;
    if (special?.test(field)) return;
    if (!field.split(',').every(ok)) throw invalid(`schedule: cron(${body}): ${name} field "${field}" is not valid`);
  });
  if ((fields[2] === '?') === (fields[4] === '?'))
    throw invalid(`schedule: cron(${body}): exactly one of day-of-month and day-of-week must be "?"`);
}

/**
 * A stored window's schedule: the expression's syntax, zone and start date checked, nothing about time. For new
 * input use `parseSchedule`, which also refuses what would never fire.
 */
export function compileSchedule(expression: string, timezone: string, startDate?: string): Schedule {
  checkTimezone(timezone);
  const match = /^(at|cron|rate)\((.*)\)$/.exec(expression.trim());
  if (!match) throw invalid(`schedule: ${expression} is not at(...), cron(...) or rate(...)`);
  const [, kind, body] = match as unknown as [string, 'at' | 'cron' | 'rate', string];
  if (kind === 'at') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(body))
      throw invalid(`schedule: at(${body}) must be at(yyyy-mm-ddThh:mm:ss)`);
    const [year, month, day, hour, minute, second] = body.split(/[-T:]/).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const wall = wallTime(year, month, day, hour, minute, second);
    // In the autumn overlap, the first of the two instants (as for cron).
    const at = wall === undefined ? undefined : instantsOf(wall, timezone)[0];
    if (at === undefined) throw invalid(`schedule: at(${body}) is not a time that exists in ${timezone}`);
    return { kind, expression, at };
  }
  if (kind === 'cron') {
    checkCron(body);
    return { kind, expression, cron: cronParse(body.trim().split(/\s+/).join(' ')) };
  }
  const rate = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body.trim());
  if (!rate || Number(rate[1]) < 1)
    throw invalid(`schedule: rate(${body}) must be rate(<positive number> minutes|hours|days)`);
  if (!startDate) throw invalid('startDate: a rate(...) schedule needs a startDate');
  const start = zonedInstant(startDate, timezone);
  if (start === undefined) throw invalid(`startDate: ${startDate} is not an ISO 8601 date-time`);
  const unit = { minute: MINUTE, hour: 60 * MINUTE, day: 1440 * MINUTE }[
    rate[2]!.replace(/s$/, '') as 'minute' | 'hour' | 'day'
  ];
  return { kind, expression, everyMs: Number(rate[1]) * unit, startDate: start };
}

/**
 * Parses and checks a new schedule expression: `startDate` (ISO 8601) is required by `rate(...)`, whose period is
 * at most a year; `at(...)` must be in the future, and a cron must fire again after `now`.
 */
export function parseSchedule(expression: string, timezone: string, now: number, startDate?: string): Schedule {
  const schedule = compileSchedule(expression, timezone, startDate);
  if (schedule.kind === 'at' && schedule.at <= now) throw invalid(`schedule: ${expression.trim()} is in the past`);
  if (schedule.kind === 'rate' && !(schedule.everyMs <= MAX_RATE_MS))
    throw invalid(`schedule: ${expression.trim()} is too long: at most 365 days (8760 hours, 525600 minutes)`);
  // As Scheduler (and EventBridge) read it: `rate(1 hour)`, `rate(2 hours)`; `rate(1 hours)` is refused there.
  const rate = schedule.kind === 'rate' ? /^rate\((\d+) [a-z]*?(s?)\)$/.exec(expression.trim()) : null;
  if (rate && (Number(rate[1]) === 1) !== (rate[2] === ''))
    throw invalid(
      `schedule: ${expression.trim()}: the unit is singular for 1 and plural otherwise, e.g. rate(1 hour), rate(2 hours)`,
    );
  if (schedule.kind === 'cron') {
    let next: number[] = [];
    try {
      next = occurrencesAfter(schedule, timezone, now, 1);
    } catch {
      // the parser gives up on it (a fifth Monday of February)
    }
    if (next.length === 0) throw invalid(`schedule: ${expression.trim()} never fires`);
  }
  return schedule;
}

/**
 * The real instant of a local wall-clock time (aws-cron-parser's, whole minutes): none in a spring-forward gap,
 * the first in an autumn overlap.
 */
function instantOf(wall: Date, timezone: string): number | undefined {
  return instantsOf(wall.getTime(), timezone)[0];
}

/** Local wall-clock fields of an instant, written as a UTC Date (how aws-cron-parser reads them; it drops the seconds). */
function wallOf(instant: number, timezone: string): Date {
  return new Date(wallClock(instant, timezone));
}

/** aws-cron-parser turns a day the month lacks (31 April, 29 February 2027) into the next month's first days. */
function inCalendar(cron: ParsedCron, wall: Date): boolean {
  if (typeof cron.daysOfMonth[0] !== 'number') return true;
  return cron.daysOfMonth.includes(wall.getUTCDate()) && cron.months.includes(wall.getUTCMonth() + 1);
}

/** The next `count` starts strictly after `after`. */
export function occurrencesAfter(schedule: Schedule, timezone: string, after: number, count: number): number[] {
  const out: number[] = [];
  if (schedule.kind === 'at') return schedule.at > after ? [schedule.at] : [];
  if (schedule.kind === 'rate') {
    const k = after < schedule.startDate ? 0 : Math.floor((after - schedule.startDate) / schedule.everyMs) + 1;
    for (let i = 0; i < count; i++) out.push(schedule.startDate + (k + i) * schedule.everyMs);
    return out;
  }
  // From the wall time of `after`: a wall time of the autumn overlap fires once, at its first instant, so no
  // start hides behind it. The guard stops crons whose fields never meet the calendar; it leaves room for a
  // per-minute cron to cross a spring gap (up to two hours of wall times that do not exist).
  let wall = wallOf(after, timezone);
  for (let guard = 0; out.length < count && guard < count * 10 + 250; guard++) {
    const next = cronNext(schedule.cron, wall);
    if (!next) break;
    wall = next;
    if (!inCalendar(schedule.cron, next)) continue;
    const instant = instantOf(next, timezone);
    if (instant !== undefined && instant > after && !out.includes(instant)) out.push(instant);
  }
  return out;
}
