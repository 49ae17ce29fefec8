/**
 * domain/schedule.ts: EventBridge Scheduler expressions (docs/windows.md) — at(), six-field AWS cron() and rate() in
 * an IANA zone, with Scheduler's daylight-saving rules (a start in the spring-forward gap is skipped, one in the
 * autumn overlap fires once, at the first instant), window durations and time zones. Fixed dates only.
 */
import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../functions/domain/errors.js';
import {
  checkTimezone,
  compileSchedule,
  MAX_RATE_MS,
  MAX_WINDOW_MS,
  occurrencesAfter,
  parseSchedule,
  parseWindowDuration,
} from '../../../functions/domain/schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** "Now" for parsing: New Year 2027 (UTC). */
const NOW = Date.parse('2027-01-01T00:00:00Z');
const BERLIN = 'Europe/Berlin';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const local = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat("yyyy-MM-dd'T'HH:mm ZZ");

function refused(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('InvalidInput');
    return e as DomainError;
  }
  throw new Error('expected an InvalidInput DomainError');
}

/** Occurrences of `expression` in `zone` strictly after `after`, as ISO UTC strings. */
function starts(expression: string, zone: string, after: string, count: number, startDate?: string): string[] {
  const schedule = parseSchedule(expression, zone, NOW, startDate);
  return occurrencesAfter(schedule, zone, t(after), count).map(iso);
}
/** The same, limited to those before `before`. */
const startsBetween = (expression: string, zone: string, after: string, before: string) =>
  starts(expression, zone, after, 50).filter((s) => t(s) < t(before));

describe('cron in Europe/Berlin across daylight-saving changes', () => {
  const SUNDAY_0230 = 'cron(30 2 ? * SUN *)';

  it('a per-minute cron crosses the spring gap: from 01:59 CET the next start is 03:00 CEST', () => {
    const justBefore = t('2027-03-28T00:59:00Z');
    const schedule = parseSchedule('cron(* * * * ? *)', BERLIN, justBefore);
    expect(occurrencesAfter(schedule, BERLIN, justBefore, 2).map(iso)).toEqual([
      '2027-03-28T01:00:00Z',
      '2027-03-28T01:01:00Z',
    ]);
    expect(local(t('2027-03-28T01:00:00Z'), BERLIN)).toBe('2027-03-28T03:00 +02:00');
  });

  it('March 2027: the last Sunday (28 March, 02:30 does not exist) is skipped; the others fire at 02:30 local', () => {
    const march = startsBetween(SUNDAY_0230, BERLIN, '2027-03-01T00:00:00Z', '2027-04-01T00:00:00Z');
    // winter time (CET, +01:00): 02:30 local is 01:30Z
    expect(march).toEqual(['2027-03-07T01:30:00Z', '2027-03-14T01:30:00Z', '2027-03-21T01:30:00Z']);
    expect(march.map((s) => local(t(s), BERLIN))).toEqual([
      '2027-03-07T02:30 +01:00',
      '2027-03-14T02:30 +01:00',
      '2027-03-21T02:30 +01:00',
    ]);
    expect(march.some((s) => s.startsWith('2027-03-28'))).toBe(false);
  });

  it('after the gap the next start is the following Sunday, at 02:30 summer time (00:30Z)', () => {
    expect(starts(SUNDAY_0230, BERLIN, '2027-03-22T00:00:00Z', 3)).toEqual([
      '2027-04-04T00:30:00Z',
      '2027-04-11T00:30:00Z',
      '2027-04-18T00:30:00Z',
    ]);
    expect(local(t('2027-04-04T00:30:00Z'), BERLIN)).toBe('2027-04-04T02:30 +02:00');
  });

  it('October 2027: the last Sunday (31 Oct, 02:30 happens twice) fires exactly once, at the first instant (00:30Z)', () => {
    const october = startsBetween(SUNDAY_0230, BERLIN, '2027-10-01T00:00:00Z', '2027-11-01T00:00:00Z');
    expect(october).toEqual([
      '2027-10-03T00:30:00Z',
      '2027-10-10T00:30:00Z',
      '2027-10-17T00:30:00Z',
      '2027-10-24T00:30:00Z',
      '2027-10-31T00:30:00Z',
    ]);
    expect(october.filter((s) => s.startsWith('2027-10-31'))).toHaveLength(1);
    // 00:30Z is 02:30 CEST, the first pass; 01:30Z (02:30 CET, the second pass) is not a start
    expect(local(t('2027-10-31T00:30:00Z'), BERLIN)).toBe('2027-10-31T02:30 +02:00');
    expect(october).not.toContain('2027-10-31T01:30:00Z');
    // then winter time: 01:30Z
    expect(starts(SUNDAY_0230, BERLIN, '2027-10-31T00:30:00Z', 2)).toEqual([
      '2027-11-07T01:30:00Z',
      '2027-11-14T01:30:00Z',
    ]);
  });

  it('an instant inside the overlap (between the two passes) does not bring the second pass back', () => {
    expect(starts(SUNDAY_0230, BERLIN, '2027-10-31T00:29:59Z', 1)).toEqual(['2027-10-31T00:30:00Z']);
    expect(starts(SUNDAY_0230, BERLIN, '2027-10-31T00:45:00Z', 1)).toEqual(['2027-11-07T01:30:00Z']);
    expect(starts(SUNDAY_0230, BERLIN, '2027-10-31T01:29:00Z', 1)).toEqual(['2027-11-07T01:30:00Z']);
  });

  it('hourly: the missing 02:30 is skipped in March, the repeated 02:30 fires once in October', () => {
    const hourly = 'cron(30 * * * ? *)';
    expect(startsBetween(hourly, BERLIN, '2027-03-27T23:00:00Z', '2027-03-28T03:00:00Z')).toEqual([
      '2027-03-27T23:30:00Z', // 00:30 CET
      '2027-03-28T00:30:00Z', // 01:30 CET
      // 02:30 does not exist
      '2027-03-28T01:30:00Z', // 03:30 CEST
      '2027-03-28T02:30:00Z', // 04:30 CEST
    ]);
    expect(startsBetween(hourly, BERLIN, '2027-10-30T22:00:00Z', '2027-10-31T03:00:00Z')).toEqual([
      '2027-10-30T22:30:00Z', // 00:30 CEST
      '2027-10-30T23:30:00Z', // 01:30 CEST
      '2027-10-31T00:30:00Z', // 02:30 CEST (and not again at 02:30 CET, 01:30Z)
      '2027-10-31T02:30:00Z', // 03:30 CET
    ]);
  });

  it('the same rules in other zones: New York (gap 02:00-03:00, overlap 01:00-02:00) and Sydney (southern seasons)', () => {
    expect(
      startsBetween('cron(30 2 ? * SUN *)', 'America/New_York', '2027-03-01T00:00:00Z', '2027-04-01T00:00:00Z'),
    ).toEqual([
      '2027-03-07T07:30:00Z', // EST
      // 14 March skipped
      '2027-03-21T06:30:00Z', // EDT
      '2027-03-28T06:30:00Z',
    ]);
    expect(starts('cron(30 1 ? * SUN *)', 'America/New_York', '2027-11-01T00:00:00Z', 2)).toEqual([
      '2027-11-07T05:30:00Z',
      '2027-11-14T06:30:00Z',
    ]);
    // Sydney: 4 April 2027 03:00 AEDT -> 02:00 AEST (02:30 twice); 3 October 02:00 -> 03:00 (02:30 missing)
    expect(starts('cron(30 2 ? * SUN *)', 'Australia/Sydney', '2027-03-31T00:00:00Z', 2)).toEqual([
      '2027-04-03T15:30:00Z',
      '2027-04-10T16:30:00Z',
    ]);
    expect(starts('cron(30 2 ? * SUN *)', 'Australia/Sydney', '2027-09-30T00:00:00Z', 1)).toEqual([
      '2027-10-09T15:30:00Z',
    ]);
  });
});

describe('cron fields', () => {
  it('L: the last day of each month, leap years included', () => {
    expect(starts('cron(0 0 L * ? *)', 'UTC', '2027-01-01T00:00:00Z', 5)).toEqual([
      '2027-01-31T00:00:00Z',
      '2027-02-28T00:00:00Z',
      '2027-03-31T00:00:00Z',
      '2027-04-30T00:00:00Z',
      '2027-05-31T00:00:00Z',
    ]);
    expect(starts('cron(0 0 L * ? *)', 'UTC', '2028-02-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T00:00:00Z',
      '2028-03-31T00:00:00Z',
    ]);
  });

  it('L in a zone: midnight local on the last day', () => {
    expect(starts('cron(0 0 L * ? *)', BERLIN, '2027-01-01T00:00:00Z', 2)).toEqual([
      '2027-01-30T23:00:00Z',
      '2027-02-27T23:00:00Z',
    ]);
  });

  it('a fixed day the month lacks is not rolled into the next month (31st: only months with 31 days)', () => {
    expect(starts('cron(0 0 31 * ? *)', 'UTC', '2027-01-01T00:00:00Z', 5)).toEqual([
      '2027-01-31T00:00:00Z',
      '2027-03-31T00:00:00Z',
      '2027-05-31T00:00:00Z',
      '2027-07-31T00:00:00Z',
      '2027-08-31T00:00:00Z',
    ]);
    expect(starts('cron(0 0 29 2 ? *)', 'UTC', '2027-01-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T00:00:00Z',
      '2032-02-29T00:00:00Z',
    ]);
    expect(starts('cron(0 0 1,31 4 ? *)', 'UTC', '2027-04-02T00:00:00Z', 1)).toEqual(['2028-04-01T00:00:00Z']);
    expect(refused(() => parseSchedule('cron(0 0 31 2 ? *)', 'UTC', NOW)).message).toContain('never fires');
  });

  it('2#3: the third Monday of each month', () => {
    const third = starts('cron(0 10 ? * 2#3 *)', 'UTC', '2027-01-01T00:00:00Z', 4);
    expect(third).toEqual([
      '2027-01-18T10:00:00Z',
      '2027-02-15T10:00:00Z',
      '2027-03-15T10:00:00Z',
      '2027-04-19T10:00:00Z',
    ]);
    for (const s of third) {
      const d = new Date(s);
      expect(d.getUTCDay()).toBe(1);
      expect(d.getUTCDate()).toBeGreaterThanOrEqual(15);
      expect(d.getUTCDate()).toBeLessThanOrEqual(21);
    }
    expect(starts('cron(0 10 ? * MON#3 *)', 'UTC', '2027-01-01T00:00:00Z', 4)).toEqual(third);
  });

  it('6L: the last Friday', () => {
    expect(starts('cron(0 10 ? * 6L *)', 'UTC', '2027-01-01T00:00:00Z', 2)).toEqual([
      '2027-01-29T10:00:00Z',
      '2027-02-26T10:00:00Z',
    ]);
  });

  it('day-of-week names: MON-FRI skips the weekend (2027-01-01 is a Friday), case-insensitively, like 2-6', () => {
    const weekdays = starts('cron(0 10 ? * MON-FRI *)', 'UTC', '2027-01-01T00:00:00Z', 6);
    expect(weekdays).toEqual([
      '2027-01-01T10:00:00Z',
      '2027-01-04T10:00:00Z',
      '2027-01-05T10:00:00Z',
      '2027-01-06T10:00:00Z',
      '2027-01-07T10:00:00Z',
      '2027-01-08T10:00:00Z',
    ]);
    expect(weekdays.map((s) => new Date(s).getUTCDay()).every((d) => d >= 1 && d <= 5)).toBe(true);
    expect(starts('cron(0 10 ? * mon-fri *)', 'UTC', '2027-01-01T00:00:00Z', 6)).toEqual(weekdays);
    expect(starts('cron(0 10 ? * 2-6 *)', 'UTC', '2027-01-01T00:00:00Z', 6)).toEqual(weekdays);
    expect(starts('cron(0 10 ? * SAT,SUN *)', 'UTC', '2027-01-01T00:00:00Z', 3)).toEqual([
      '2027-01-02T10:00:00Z',
      '2027-01-03T10:00:00Z',
      '2027-01-09T10:00:00Z',
    ]);
  });

  it('month names and lists', () => {
    expect(starts('cron(0 9 1 JAN,JUL ? *)', 'UTC', '2027-01-01T10:00:00Z', 2)).toEqual([
      '2027-07-01T09:00:00Z',
      '2028-01-01T09:00:00Z',
    ]);
  });

  it('steps: 0/15 every quarter hour, 1/10 from minute 1, */6 hours', () => {
    expect(starts('cron(0/15 * * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 5)).toEqual([
      '2027-01-01T00:15:00Z',
      '2027-01-01T00:30:00Z',
      '2027-01-01T00:45:00Z',
      '2027-01-01T01:00:00Z',
      '2027-01-01T01:15:00Z',
    ]);
    expect(starts('cron(1/10 * * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 3)).toEqual([
      '2027-01-01T00:01:00Z',
      '2027-01-01T00:11:00Z',
      '2027-01-01T00:21:00Z',
    ]);
    expect(starts('cron(0 */6 * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 3)).toEqual([
      '2027-01-01T06:00:00Z',
      '2027-01-01T12:00:00Z',
      '2027-01-01T18:00:00Z',
    ]);
  });

  it('years: a range ends, a past year never fires', () => {
    expect(starts('cron(0 12 1 1 ? 2029-2030)', 'UTC', '2027-01-01T00:00:00Z', 3)).toEqual([
      '2029-01-01T12:00:00Z',
      '2030-01-01T12:00:00Z',
    ]);
    expect(starts('cron(0 12 1 1 ? 2028)', 'UTC', '2027-01-01T00:00:00Z', 3)).toEqual(['2028-01-01T12:00:00Z']);
    expect(refused(() => parseSchedule('cron(0 12 1 1 ? 2026)', 'UTC', t('2027-01-01T00:00:00Z'))).message).toContain(
      'never fires',
    );
  });

  it('surrounding and repeated white space between fields is tolerated, and read as the same fields', () => {
    const single = starts('cron(0 10 * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 2);
    expect(single).toEqual(['2027-01-01T10:00:00Z', '2027-01-02T10:00:00Z']);
    expect(starts('cron( 0 10 * * ? * )', 'UTC', '2027-01-01T00:00:00Z', 2)).toEqual(single);
    expect(starts('cron(0  10 * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 2)).toEqual(single);
    expect(starts('cron(0\t10 * * ? *)', 'UTC', '2027-01-01T00:00:00Z', 2)).toEqual(single);
  });

  it('keeps the expression as given and reports its kind', () => {
    const s = parseSchedule('cron(30 2 ? * SUN *)', BERLIN, NOW);
    expect(s.kind).toBe('cron');
    expect(s.expression).toBe('cron(30 2 ? * SUN *)');
  });
});

describe('at(...)', () => {
  it('a future local time in the zone: one start, at that instant', () => {
    const s = parseSchedule('at(2027-06-01T10:00:00)', BERLIN, NOW);
    expect(s).toEqual({ kind: 'at', expression: 'at(2027-06-01T10:00:00)', at: t('2027-06-01T08:00:00Z') });
    expect(occurrencesAfter(s, BERLIN, NOW, 3).map(iso)).toEqual(['2027-06-01T08:00:00Z']);
    expect(occurrencesAfter(s, BERLIN, t('2027-06-01T08:00:00Z'), 3)).toEqual([]);
    // the zone matters: the same text in UTC is two hours later
    expect(parseSchedule('at(2027-06-01T10:00:00)', 'UTC', NOW)).toMatchObject({ at: t('2027-06-01T10:00:00Z') });
  });

  it('a time in the past (or exactly now) is refused', () => {
    expect(refused(() => parseSchedule('at(2026-06-01T10:00:00)', BERLIN, NOW)).message).toMatch(
      /at\(2026-06-01T10:00:00\) is in the past/,
    );
    expect(refused(() => parseSchedule('at(2027-01-01T00:00:00)', 'UTC', NOW)).message).toMatch(/in the past/);
    expect(parseSchedule('at(2027-01-01T00:00:01)', 'UTC', NOW)).toMatchObject({ at: NOW + 1000 });
  });

  it('a local time in the spring-forward gap is refused (it does not exist in the zone)', () => {
    const error = refused(() => parseSchedule('at(2027-03-28T02:30:00)', BERLIN, NOW));
    expect(error.message).toMatch(/at\(2027-03-28T02:30:00\)/);
    expect(error.message).toMatch(/not a time that exists in Europe\/Berlin/);
    // the same wall time exists in UTC
    expect(parseSchedule('at(2027-03-28T02:30:00)', 'UTC', NOW)).toMatchObject({ at: t('2027-03-28T02:30:00Z') });
  });

  it('a local time in the autumn overlap is its first instant, as for cron, whatever the zone', () => {
    expect(parseSchedule('at(2027-10-31T02:30:00)', BERLIN, NOW)).toMatchObject({ at: t('2027-10-31T00:30:00Z') });
    expect(parseSchedule('at(2027-11-07T01:30:00)', 'America/New_York', NOW)).toMatchObject({
      at: t('2027-11-07T05:30:00Z'),
    });
    expect(parseSchedule('at(2027-04-04T02:30:00)', 'Australia/Sydney', NOW)).toMatchObject({
      at: t('2027-04-03T15:30:00Z'),
    });
  });

  it('malformed or impossible dates are refused', () => {
    expect(refused(() => parseSchedule('at(2027-06-01 10:00)', 'UTC', NOW)).message).toMatch(/yyyy-mm-ddThh:mm:ss/);
    expect(refused(() => parseSchedule('at(2027-06-01T10:00:00Z)', 'UTC', NOW)).message).toMatch(/yyyy-mm-ddThh:mm:ss/);
    expect(refused(() => parseSchedule('at(2027-02-30T10:00:00)', 'UTC', NOW)).message).toMatch(
      /not a time that exists/,
    );
    expect(refused(() => parseSchedule('at(2027-13-01T00:00:00)', 'UTC', NOW)).message).toMatch(
      /not a time that exists/,
    );
  });
});

describe('rate(...)', () => {
  it('rate(2 hours) counts from its startDate', () => {
    const s = parseSchedule('rate(2 hours)', 'UTC', NOW, '2027-01-01T00:00:00Z');
    expect(s).toEqual({
      kind: 'rate',
      expression: 'rate(2 hours)',
      everyMs: 2 * HOUR,
      startDate: t('2027-01-01T00:00:00Z'),
    });
    expect(occurrencesAfter(s, 'UTC', t('2027-01-01T05:00:00Z'), 3).map(iso)).toEqual([
      '2027-01-01T06:00:00Z',
      '2027-01-01T08:00:00Z',
      '2027-01-01T10:00:00Z',
    ]);
    // strictly after: an instant on the grid is not repeated
    expect(occurrencesAfter(s, 'UTC', t('2027-01-01T06:00:00Z'), 1).map(iso)).toEqual(['2027-01-01T08:00:00Z']);
    // before the startDate the first start is the startDate itself
    expect(occurrencesAfter(s, 'UTC', t('2026-12-31T12:00:00Z'), 2).map(iso)).toEqual([
      '2027-01-01T00:00:00Z',
      '2027-01-01T02:00:00Z',
    ]);
  });

  it('needs a startDate: refused, naming startDate', () => {
    const error = refused(() => parseSchedule('rate(2 hours)', 'UTC', NOW));
    expect(error.message).toMatch(/startDate/);
    expect(refused(() => parseSchedule('rate(2 hours)', 'UTC', NOW, 'yesterday')).message).toMatch(
      /startDate: yesterday/,
    );
  });

  it('rate(1 day): every 24 hours; a startDate without an offset is local to the zone', () => {
    const s = parseSchedule('rate(1 day)', BERLIN, NOW, '2027-01-10T03:00:00');
    expect(s).toMatchObject({ kind: 'rate', everyMs: DAY, startDate: t('2027-01-10T02:00:00Z') });
    expect(occurrencesAfter(s, BERLIN, t('2027-01-10T05:00:00Z'), 2).map(iso)).toEqual([
      '2027-01-11T02:00:00Z',
      '2027-01-12T02:00:00Z',
    ]);
    // an explicit offset wins over the zone
    expect(parseSchedule('rate(1 day)', BERLIN, NOW, '2027-01-10T03:00:00Z')).toMatchObject({
      startDate: t('2027-01-10T03:00:00Z'),
    });
  });

  it('minutes, hours and days, singular or plural', () => {
    expect(parseSchedule('rate(1 minute)', 'UTC', NOW, '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: MIN });
    expect(parseSchedule('rate(5 minutes)', 'UTC', NOW, '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: 5 * MIN });
    expect(parseSchedule('rate(1 hour)', 'UTC', NOW, '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: HOUR });
    expect(parseSchedule('rate(3 days)', 'UTC', NOW, '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: 3 * DAY });
  });

  it('the unit singular for 1 and plural otherwise, as Scheduler refuses rate(1 hours) and rate(2 hour)', () => {
    for (const expression of [
      'rate(1 minutes)',
      'rate(1 hours)',
      'rate(1 days)',
      'rate(2 minute)',
      'rate(12 hour)',
      'rate(3 day)',
    ]) {
      expect(refused(() => parseSchedule(expression, 'UTC', NOW, '2027-01-01T00:00:00Z')).message, expression).toMatch(
        /singular for 1 and plural otherwise/,
      );
    }
    // A window stored before keeps working.
    expect(compileSchedule('rate(1 minutes)', 'UTC', '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: MIN });
  });

  it('a zero rate, an unknown unit or no number is refused', () => {
    for (const expression of ['rate(0 hours)', 'rate(5 weeks)', 'rate(hours)', 'rate(-1 hours)', 'rate(1.5 hours)']) {
      expect(refused(() => parseSchedule(expression, 'UTC', NOW, '2027-01-01T00:00:00Z')).message).toMatch(
        /rate\(<positive number> minutes\|hours\|days\)/,
      );
    }
  });
});

describe('bounds: extreme numbers are a 400 naming the limit, never a computation that overflows', () => {
  const START = '2027-01-01T00:00:00Z';
  const TOO_LONG = 'is too long: at most 365 days (8760 hours, 525600 minutes)';

  it('a rate is at most a year, exactly, in every unit', () => {
    expect(MAX_RATE_MS).toBe(365 * DAY);
    expect(parseSchedule('rate(365 days)', 'UTC', NOW, START)).toMatchObject({ everyMs: 365 * DAY });
    expect(parseSchedule('rate(8760 hours)', 'UTC', NOW, START)).toMatchObject({ everyMs: 365 * DAY });
    expect(parseSchedule('rate(525600 minutes)', 'UTC', NOW, START)).toMatchObject({ everyMs: 365 * DAY });
    for (const expression of ['rate(366 days)', 'rate(8761 hours)', 'rate(525601 minutes)']) {
      expect(refused(() => parseSchedule(expression, 'UTC', NOW, START)).message).toBe(
        `schedule: ${expression} ${TOO_LONG}`,
      );
    }
  });

  it('huge rates are refused (they made Dates out of range: a 500), naming the trimmed expression', () => {
    expect(refused(() => parseSchedule(' rate(99999999999 days) ', 'UTC', NOW, START)).message).toBe(
      `schedule: rate(99999999999 days) ${TOO_LONG}`,
    );
    // 250 digits read as 1e250 (finite) and 400 as Infinity: both refused
    for (const digits of [250, 400]) {
      const expression = `rate(${'9'.repeat(digits)} minutes)`;
      expect(refused(() => parseSchedule(expression, 'UTC', NOW, START)).message).toBe(
        `schedule: ${expression} ${TOO_LONG}`,
      );
    }
  });

  it('a stored rate longer than a year is still read (compileSchedule checks syntax only), its starts finite', () => {
    const s = compileSchedule('rate(36500 days)', 'UTC', START);
    expect(s).toMatchObject({ kind: 'rate', everyMs: 36500 * DAY });
    expect(occurrencesAfter(s, 'UTC', NOW, 2).map(iso)).toEqual(['2126-12-08T00:00:00Z', '2226-11-14T00:00:00Z']);
  });

  it('the latest startDate and the longest rate: 1000 starts are all valid Dates', () => {
    const s = parseSchedule('rate(365 days)', 'UTC', NOW, '9999-12-31T23:59:59Z');
    const starts = occurrencesAfter(s, 'UTC', NOW, 1000);
    expect(starts).toHaveLength(1000);
    expect(starts.every((t) => !Number.isNaN(new Date(t).getTime()))).toBe(true);
    expect(starts[0]).toBe(t('9999-12-31T23:59:59Z'));
  });

  it('at(...) years are four digits: the farthest, 9999, is a valid instant; five digits are not at(...)', () => {
    expect(parseSchedule('at(9999-12-31T23:59:59)', 'UTC', NOW)).toMatchObject({ at: t('9999-12-31T23:59:59Z') });
    expect(refused(() => parseSchedule('at(10000-01-01T00:00:00)', 'UTC', NOW)).message).toBe(
      'schedule: at(10000-01-01T00:00:00) must be at(yyyy-mm-ddThh:mm:ss)',
    );
    expect(refused(() => parseSchedule('at(0000-01-01T00:00:00)', 'UTC', NOW)).message).toBe(
      'schedule: at(0000-01-01T00:00:00) is in the past',
    );
  });

  it('cron numbers of any length are compared, not overflowed: refused naming the field', () => {
    const huge = '9'.repeat(30);
    expect(refused(() => parseSchedule(`cron(${huge} 0 ? * MON *)`, 'UTC', NOW)).message).toBe(
      `schedule: cron(${huge} 0 ? * MON *): minutes field "${huge}" is not valid`,
    );
    expect(refused(() => parseSchedule(`cron(0/${huge} 0 ? * MON *)`, 'UTC', NOW)).message).toBe(
      `schedule: cron(0/${huge} 0 ? * MON *): minutes field "0/${huge}" is not valid`,
    );
    expect(refused(() => parseSchedule(`cron(0 0 ? * MON 2027-${huge})`, 'UTC', NOW)).message).toBe(
      `schedule: cron(0 0 ? * MON 2027-${huge}): year field "2027-${huge}" is not valid`,
    );
    expect(refused(() => parseSchedule(`cron(0 0 ? * MON#${huge} *)`, 'UTC', NOW)).message).toBe(
      `schedule: cron(0 0 ? * MON#${huge} *): day-of-week field "MON#${huge}" is not valid`,
    );
    // the last year Scheduler's cron takes still fires, at a valid instant
    expect(occurrencesAfter(parseSchedule('cron(59 23 31 12 ? 2199)', 'UTC', NOW), 'UTC', NOW, 2).map(iso)).toEqual([
      '2199-12-31T23:59:00Z',
    ]);
  });

  it('window durations: 20-digit amounts and 20-digit fractions stay finite, and out of range is the range message', () => {
    const big = '9'.repeat(20);
    for (const text of [
      `P${big}Y`,
      `PT${big}H`,
      `P${big}Y${big}M${big}W${big}DT${big}H${big}M${big}.${big}S`,
      `-P${big}Y`,
      `PT-${big}S`,
    ]) {
      expect(refused(() => parseWindowDuration(text)).message).toBe(
        `duration: ${text} must be more than 0 and at most 24 hours`,
      );
    }
    // the smallest fraction is far above DynamoDB's 1e-130 (a window's durationMs is stored); seconds keep whole ms
    const tiny = parseWindowDuration(`PT0.${'0'.repeat(19)}1M`);
    expect(tiny).toBeGreaterThan(5e-16);
    expect(tiny).toBeLessThan(7e-16);
    expect(refused(() => parseWindowDuration(`PT0.${'0'.repeat(19)}1S`)).message).toMatch(/must be more than 0/);
    // more than 20 digits is not a duration at all
    expect(refused(() => parseWindowDuration(`PT${big}9H`)).message).toMatch(/is not an ISO 8601 duration/);
  });
});

describe('refused expressions: a 400 (InvalidInput) whose message names the problem', () => {
  const cases: [string, RegExp][] = [
    ['cron(0 2 * * ?)', /needs six fields .* not 5/],
    ['cron(0 2 * * ? * *)', /needs six fields .* not 7/],
    ['cron()', /needs six fields/],
    ['cron(0 2 1 * MON *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 ? * ? *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(60 2 * * ? *)', /minutes field "60" is not valid/],
    ['cron(-1 2 * * ? *)', /minutes field "-1" is not valid/],
    ['cron(0 24 * * ? *)', /hours field "24" is not valid/],
    ['cron(0 2 * 13 ? *)', /month field "13" is not valid/],
    ['cron(0 2 * 0 ? *)', /month field "0" is not valid/],
    ['cron(0 2 * FOO ? *)', /month field "FOO" is not valid/],
    ['cron(0 2 32 * ? *)', /day-of-month field "32" is not valid/],
    ['cron(0 2 0 * ? *)', /day-of-month field "0" is not valid/],
    ['cron(0 2 ? * 8 *)', /day-of-week field "8" is not valid/],
    ['cron(0 2 ? * 2#6 *)', /day-of-week field "2#6" is not valid/],
    ['cron(0 2 * * ? 1969)', /year field "1969" is not valid/],
    ['cron(0 2 * * ? 2200)', /year field "2200" is not valid/],
    ['cron(0/0 2 * * ? *)', /minutes field "0\/0" is not valid/],
    ['cron(0/x 2 * * ? *)', /minutes field "0\/x" is not valid/],
    ['cron(*/60 * * * ? *)', /minutes field "\*\/60" is not valid/],
    ['cron(0 0/24 * * ? *)', /hours field "0\/24" is not valid/],
    ['cron(0 2 1/32 * ? *)', /day-of-month field "1\/32" is not valid/],
    ['cron(0 2 1-2-3 * ? *)', /day-of-month field "1-2-3" is not valid/],
    ['cron(0 2 ,1 * ? *)', /day-of-month field ",1" is not valid/],
    ['every(5)', /every\(5\) is not at\(\.\.\.\), cron\(\.\.\.\) or rate\(\.\.\.\)/],
    ['cron 0 2 * * ? *', /is not at\(\.\.\.\), cron\(\.\.\.\) or rate\(\.\.\.\)/],
    ['', /is not at\(\.\.\.\), cron\(\.\.\.\) or rate\(\.\.\.\)/],
  ];
  it.each(cases)('%s', (expression, message) => {
    const error = refused(() => parseSchedule(expression, 'UTC', NOW));
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^schedule: /);
  });
});

describe('time zones', () => {
  it('IANA names and UTC are accepted', () => {
    expect(checkTimezone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(checkTimezone('America/New_York')).toBe('America/New_York');
    expect(checkTimezone('UTC')).toBe('UTC');
  });

  it('an unknown zone is refused, naming it — by checkTimezone and by parseSchedule, before the expression', () => {
    expect(refused(() => checkTimezone('Mars/Olympus')).message).toMatch(
      /timezone: Mars\/Olympus is not an IANA time zone/,
    );
    expect(refused(() => checkTimezone('Europe/Berlinn')).message).toMatch(/Europe\/Berlinn/);
    expect(refused(() => parseSchedule('cron(0 2 * * ? *)', 'Mars/Olympus', NOW)).message).toMatch(/Mars\/Olympus/);
    expect(refused(() => parseSchedule('every(5)', 'Mars/Olympus', NOW)).message).toMatch(/^timezone: Mars\/Olympus/);
  });
});

describe('parseWindowDuration', () => {
  it('more than 0 and at most 24 hours, in ms', () => {
    expect(parseWindowDuration('PT2H')).toBe(2 * HOUR);
    expect(parseWindowDuration('PT90M')).toBe(90 * MIN);
    expect(parseWindowDuration('PT1H30M')).toBe(90 * MIN);
    expect(parseWindowDuration('PT1S')).toBe(1000);
    expect(parseWindowDuration('PT24H')).toBe(MAX_WINDOW_MS);
    expect(parseWindowDuration('P1D')).toBe(MAX_WINDOW_MS);
  });

  it.each(['PT0S', 'PT0H', '-PT1H', 'PT-1H', 'PT25H', 'PT24H1S', 'P2D', 'P1W'])(
    '%s is refused: out of range',
    (text) => {
      expect(refused(() => parseWindowDuration(text)).message).toBe(
        `duration: ${text} must be more than 0 and at most 24 hours`,
      );
    },
  );

  it.each(['garbage', '2h', '', '120', 'P1H'])('%j is refused: not ISO 8601', (text) => {
    expect(refused(() => parseWindowDuration(text)).message).toMatch(/is not an ISO 8601 duration/);
  });

  it('an empty PT (zero) is refused', () => {
    expect(refused(() => parseWindowDuration('PT')).message).toMatch(/^duration: PT /);
  });
});

describe('cron field syntax, exactly (mutation-driven)', () => {
  const accepts = (e: string) => expect(() => compileSchedule(e, 'UTC')).not.toThrow();
  const refuses = (e: string, msg?: string) => {
    const err = refused(() => compileSchedule(e, 'UTC'));
    if (msg) expect(err.message).toBe(msg);
  };

  it('numbers must be all digits; steps must be digits, more than 0 and at most the field maximum', () => {
    refuses('cron(5x 0 ? * MON *)', 'schedule: cron(5x 0 ? * MON *): minutes field "5x" is not valid');
    refuses('cron(x5 0 ? * MON *)');
    refuses('cron(*/5x 0 ? * MON *)');
    refuses('cron(*/x5 0 ? * MON *)');
    // what Number() would still read as a number: hex, exponents
    for (const token of ['0x5', '5e1', '*/0x5', '*/1e1', '0/5e1']) refuses(`cron(${token} 0 ? * MON *)`);
    refuses('cron(0 0 1 0x5 ? *)');
    accepts('cron(0/59 0 ? * MON *)');
    accepts('cron(0 */23 ? * MON *)');
    refuses('cron(0 */24 ? * MON *)', 'schedule: cron(0 */24 ? * MON *): hours field "*/24" is not valid');
  });

  it('ranges: both ends in range, upwards, a single-value range is fine', () => {
    accepts('cron(0 5-5 ? * MON *)');
    refuses('cron(0 5-99 ? * MON *)', 'schedule: cron(0 5-99 ? * MON *): hours field "5-99" is not valid');
    refuses('cron(0 10-5 ? * MON *)');
  });

  it('every month and day name is known, whatever the case, and maps to its number', () => {
    accepts('cron(0 0 1 JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC ? *)');
    accepts('cron(0 0 1 jan-dec ? *)');
    accepts('cron(0 0 ? * SUN,MON,TUE,WED,THU,FRI,SAT *)');
    for (const [name, month] of [
      ['FEB', 2],
      ['MAR', 3],
      ['APR', 4],
      ['MAY', 5],
      ['JUN', 6],
      ['AUG', 8],
      ['SEP', 9],
      ['OCT', 10],
      ['NOV', 11],
      ['DEC', 12],
    ] as const) {
      const [first] = occurrencesAfter(compileSchedule(`cron(0 12 1 ${name} ? *)`, 'UTC'), 'UTC', NOW, 1);
      expect(new Date(first!).getUTCMonth() + 1).toBe(month);
    }
    for (const [name, dow] of [
      ['TUE', 2],
      ['WED', 3],
      ['THU', 4],
    ] as const) {
      const [first] = occurrencesAfter(compileSchedule(`cron(0 12 ? * ${name} *)`, 'UTC'), 'UTC', NOW, 1);
      expect(new Date(first!).getUTCDay()).toBe(dow);
    }
  });

  it('day-of-month specials: L, L-n (1..30), nW (1..31); anything around them is refused', () => {
    for (const s of ['L', 'L-5', 'L-15', 'L-30', '5W', '15W', '31W']) accepts(`cron(0 12 ${s} * ? *)`);
    for (const s of ['xL', 'Lx', 'L-31', 'L-0', '32W', '0W', 'x5W', '5Wx']) refuses(`cron(0 12 ${s} * ? *)`);
    expect(occurrencesAfter(compileSchedule('cron(0 12 L-5 * ? *)', 'UTC'), 'UTC', NOW, 1).map(iso)).toEqual([
      '2027-01-26T12:00:00Z',
    ]);
    expect(occurrencesAfter(compileSchedule('cron(0 12 15W * ? *)', 'UTC'), 'UTC', NOW, 1).map(iso)).toEqual([
      '2027-01-15T12:00:00Z',
    ]);
  });

  it('day-of-week specials: nL and n#k / NAME#k; anything around them is refused', () => {
    for (const s of ['2L', 'MON#1', 'mon#5', '7#5']) accepts(`cron(0 12 ? * ${s} *)`);
    for (const s of ['x2L', '2Lx', 'MON#1x', 'xMON#1', 'MON#6', '8L']) refuses(`cron(0 12 ? * ${s} *)`);
  });

  it('the expression is trimmed, but nothing may surround it', () => {
    accepts('  cron(0 12 ? * MON *)  ');
    refuses('xcron(0 12 ? * MON *)', 'schedule: xcron(0 12 ? * MON *) is not at(...), cron(...) or rate(...)');
    refuses('cron(0 12 ? * MON *)x');
    refuses('xat(2027-06-01T10:00:00)');
    refuses('rate(5 minutes)x', 'schedule: rate(5 minutes)x is not at(...), cron(...) or rate(...)');
  });

  it('at(...) must be exactly yyyy-mm-ddThh:mm:ss', () => {
    refuses('at(x2027-06-01T10:00:00)', 'schedule: at(x2027-06-01T10:00:00) must be at(yyyy-mm-ddThh:mm:ss)');
    refuses('at(2027-06-01T10:00:00x)', 'schedule: at(2027-06-01T10:00:00x) must be at(yyyy-mm-ddThh:mm:ss)');
  });

  it('a past at(...) names the trimmed expression', () => {
    const err = refused(() => parseSchedule('  at(2026-06-01T10:00:00)  ', 'UTC', NOW));
    expect(err.message).toBe('schedule: at(2026-06-01T10:00:00) is in the past');
  });

  it('a cron that never fires names the trimmed expression; so does one the parser gives up on', () => {
    expect(refused(() => parseSchedule('  cron(0 0 30 2 ? *)  ', 'UTC', NOW)).message).toBe(
      'schedule: cron(0 0 30 2 ? *) never fires',
    );
    expect(refused(() => parseSchedule('cron(0 0 ? 2 2#5 2027)', 'UTC', NOW)).message).toBe(
      'schedule: cron(0 0 ? 2 2#5 2027) never fires',
    );
    // 30W in February: aws-cron-parser throws; that too is a schedule that never fires
    expect(refused(() => parseSchedule('cron(0 12 30W 2 ? *)', 'UTC', NOW)).message).toBe(
      'schedule: cron(0 12 30W 2 ? *) never fires',
    );
  });

  it('a cron that only names days the month lacks gives no starts (and stops looking)', () => {
    expect(occurrencesAfter(compileSchedule('cron(* * 30 2 ? *)', 'UTC'), 'UTC', NOW, 3)).toEqual([]);
    expect(occurrencesAfter(compileSchedule('cron(0 * 31 4 ? *)', 'UTC'), 'UTC', NOW, 2)).toEqual([]);
  });

  it('looks far enough for the starts asked for: 26 leap days from 2027 (the search is bounded by the count)', () => {
    const leap = occurrencesAfter(compileSchedule('cron(0 0 29 2 ? *)', 'UTC'), 'UTC', NOW, 26).map(iso);
    expect(leap).toHaveLength(26);
    expect(leap[0]).toBe('2028-02-29T00:00:00Z');
    expect(leap.at(-1)).toBe('2132-02-29T00:00:00Z');
  });
});

describe('rate(...) arithmetic, exactly (mutation-driven)', () => {
  it('multi-digit counts and padded bodies', () => {
    const s = compileSchedule('rate( 15 minutes )', 'UTC', '2027-01-01T00:00:00Z');
    expect(s).toMatchObject({ kind: 'rate', everyMs: 15 * MIN, startDate: NOW });
    expect(compileSchedule('rate(12 hours)', 'UTC', '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: 12 * HOUR });
    expect(compileSchedule('rate(1 day)', 'UTC', '2027-01-01T00:00:00Z')).toMatchObject({ everyMs: DAY });
    expect(refused(() => compileSchedule('rate(5 minutesx)', 'UTC', '2027-01-01T00:00:00Z')).message).toBe(
      'schedule: rate(5 minutesx) must be rate(<positive number> minutes|hours|days)',
    );
  });

  it('a rate without startDate is refused with that reason', () => {
    expect(refused(() => compileSchedule('rate(5 minutes)', 'UTC')).message).toBe(
      'startDate: a rate(...) schedule needs a startDate',
    );
  });

  it('starts are strictly after `after`: at the startDate itself the first start is one period later', () => {
    const s = compileSchedule('rate(2 hours)', 'UTC', '2027-01-01T00:00:00Z');
    expect(occurrencesAfter(s, 'UTC', NOW, 2)).toEqual([NOW + 2 * HOUR, NOW + 4 * HOUR]);
    expect(occurrencesAfter(s, 'UTC', NOW - 1, 2)).toEqual([NOW, NOW + 2 * HOUR]);
    expect(occurrencesAfter(s, 'UTC', NOW + 2 * HOUR - 1, 1)).toEqual([NOW + 2 * HOUR]);
  });
});

describe('cron starts read in the schedule zone (mutation-driven)', () => {
  it('a zone behind UTC: the local wall clock, not UTC, decides the next start', () => {
    const NY = 'America/New_York';
    const s = compileSchedule('cron(0 20 * * ? *)', NY);
    // 23:30Z is 19:30 local (EDT): today's 20:00 local (00:00Z) is still to come
    expect(occurrencesAfter(s, NY, t('2027-06-01T23:30:00Z'), 2).map(iso)).toEqual([
      '2027-06-02T00:00:00Z',
      '2027-06-03T00:00:00Z',
    ]);
  });

  it('Lord Howe (30-minute DST): a start in the half-hour gap is skipped', () => {
    const LH = 'Australia/Lord_Howe';
    const s = compileSchedule('cron(15 2 * * ? 2027)', LH);
    expect(occurrencesAfter(s, LH, t('2027-09-30T00:00:00Z'), 3).map(iso)).toEqual([
      '2027-09-30T15:45:00Z',
      '2027-10-01T15:45:00Z',
      '2027-10-03T15:15:00Z',
    ]);
  });

  it('Lord Howe (30-minute DST): a start in the half-hour overlap fires once, at the first instant', () => {
    const LH = 'Australia/Lord_Howe';
    const s = compileSchedule('cron(45 1 * * ? 2027)', LH);
    expect(occurrencesAfter(s, LH, t('2027-04-02T00:00:00Z'), 3).map(iso)).toEqual([
      '2027-04-02T14:45:00Z',
      '2027-04-03T14:45:00Z',
      '2027-04-04T15:15:00Z',
    ]);
  });
});

describe('ISO 8601 window durations, every unit, as luxon read them (mutation-driven)', () => {
  // Casual units: a year 365 days, a month 30, a week 7. Fractions of the larger units can still be within a day.
  const read: [string, number][] = [
    ['P0.001Y', 0.365 * DAY],
    ['P0.01M', 0.3 * DAY],
    ['P0.125W', 0.875 * DAY],
    ['P0.25D', 6 * HOUR],
    ['P01D', DAY],
    ['PT0.25H', 15 * MIN],
    ['PT1.25H', 75 * MIN],
    ['PT10H', 10 * HOUR],
    ['PT1.25M', 75_000],
    ['PT10M', 10 * MIN],
    ['PT10S', 10_000],
    ['PT1.25S', 1250],
    ['PT1,25S', 1250],
    ['PT0.0015S', 1], // milliseconds kept, the rest cut
    // leading zeros in every unit
    ['P00Y00M00W00DT01H', HOUR],
    ['P00YT1H', HOUR],
    ['P00MT1H', HOUR],
    ['P00WT1H', HOUR],
    ['P00DT1H', HOUR],
    ['P0Y0M0W1DT0H0M0S', DAY],
    // signed parts: a negative seconds part takes its fraction with it; a leading minus negates every part
    ['PT1H-1.5S', HOUR - 1500],
    ['PT1H-0.5S', HOUR - 500],
    ['P1DT-1.5S', DAY - 1500],
    ['-PT-2H1.5S', 2 * HOUR - 1500],
    ['-PT-1.5S', 500],
  ];

  it.each(read)('%s is %d ms', (text, ms) => {
    expect(parseWindowDuration(text)).toBe(ms);
    expect(parseWindowDuration(text)).toBe(Duration.fromISO(text).toMillis());
  });

  it('a fraction of an hour below a millisecond is kept as luxon keeps it', () => {
    expect(parseWindowDuration('PT1.0000001H')).toBeCloseTo(HOUR + 0.36, 6);
    expect(parseWindowDuration('PT1.0000001H')).toBe(Duration.fromISO('PT1.0000001H').toMillis());
  });

  it.each(['P-0.001Y', 'P-0.01M', 'P-0.125W', 'P-0.25D', 'P00Y', 'PT-1.25S', 'PT1H-60M'])(
    '%s is an ISO 8601 duration, but not more than 0',
    (text) => {
      expect(refused(() => parseWindowDuration(text)).message).toBe(
        `duration: ${text} must be more than 0 and at most 24 hours`,
      );
    },
  );

  it.each(['xPT1H', ' PT1H', 'PT1H ', 'PT1x5S', 'PT1.S', 'PT.5S', 'P.5D', 'P1.D', 'PTxH'])(
    '%j is refused: not ISO 8601',
    (text) => {
      expect(refused(() => parseWindowDuration(text)).message).toBe(
        `duration: ${text} is not an ISO 8601 duration (e.g. PT2H, PT30M)`,
      );
    },
  );
});
