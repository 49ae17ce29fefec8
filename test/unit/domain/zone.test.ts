/**
 * domain/zone.ts: wall-clock time in an IANA zone from the runtime's zone data. Gaps and overlaps of one hour
 * (Berlin) and of two (Antarctica/Troll, UTC+0 in winter, +2 in summer), where "an hour back" would not find the
 * first instant.
 */
import { describe, expect, it } from 'vitest';
import { instantsOf, isTimeZone, wallClock, wallTime, zonedInstant } from '../../../functions/domain/zone.js';

const t = (iso: string) => Date.parse(iso);
/** A wall time written as if it were UTC (how the module passes wall clocks around). */
const wall = (text: string) => t(`${text}Z`);

describe('isTimeZone', () => {
  it('IANA names (in any case) and UTC are zones; luxon-only aliases and made-up names are not', () => {
    for (const zone of ['Europe/Berlin', 'europe/berlin', 'UTC', 'Etc/GMT+5', 'Antarctica/Troll'])
      expect(isTimeZone(zone), zone).toBe(true);
    for (const zone of ['Mars/Olympus', 'Europe/Berlinn', 'local', 'system', 'UTC+3', ''])
      expect(isTimeZone(zone), zone).toBe(false);
  });
});

describe('wallClock and instantsOf', () => {
  it('the wall clock is the instant plus the offset in force then', () => {
    expect(wallClock(t('2027-01-10T02:00:00Z'), 'Europe/Berlin')).toBe(wall('2027-01-10T03:00:00'));
    expect(wallClock(t('2027-07-10T02:00:00Z'), 'Europe/Berlin')).toBe(wall('2027-07-10T04:00:00'));
    expect(wallClock(t('2027-07-10T02:00:00Z'), 'Asia/Kathmandu')).toBe(wall('2027-07-10T07:45:00'));
  });

  it('an ordinary wall time has one instant', () => {
    expect(instantsOf(wall('2027-01-10T03:00:00'), 'Europe/Berlin')).toEqual([t('2027-01-10T02:00:00Z')]);
  });

  it('none in a spring-forward gap: Berlin 02:30, Troll 01:00 and 02:59', () => {
    expect(instantsOf(wall('2027-03-28T02:30:00'), 'Europe/Berlin')).toEqual([]);
    expect(instantsOf(wall('2026-03-29T01:00:00'), 'Antarctica/Troll')).toEqual([]);
    expect(instantsOf(wall('2026-03-29T02:59:00'), 'Antarctica/Troll')).toEqual([]);
    expect(instantsOf(wall('2026-03-29T03:00:00'), 'Antarctica/Troll')).toEqual([t('2026-03-29T01:00:00Z')]);
  });

  it('two in an autumn overlap, the first first: one hour apart in Berlin, two in Troll', () => {
    expect(instantsOf(wall('2027-10-31T02:15:00'), 'Europe/Berlin')).toEqual([
      t('2027-10-31T00:15:00Z'),
      t('2027-10-31T01:15:00Z'),
    ]);
    expect(instantsOf(wall('2026-10-25T01:30:00'), 'Antarctica/Troll')).toEqual([
      t('2026-10-24T23:30:00Z'),
      t('2026-10-25T01:30:00Z'),
    ]);
  });
});

describe('wallTime', () => {
  it('fields of a real date and time, years below 100 as written', () => {
    expect(wallTime(2028, 2, 29, 23, 59, 59)).toBe(t('2028-02-29T23:59:59Z'));
    expect(new Date(wallTime(50, 1, 1, 0, 0)!).toISOString()).toBe('0050-01-01T00:00:00.000Z');
  });

  it('none for a day the month lacks or an hour 24', () => {
    expect(wallTime(2027, 2, 29, 0, 0)).toBeUndefined();
    expect(wallTime(2027, 4, 31, 0, 0)).toBeUndefined();
    expect(wallTime(2027, 1, 1, 24, 0)).toBeUndefined();
    expect(wallTime(2027, 13, 1, 0, 0)).toBeUndefined();
  });
});

describe('zonedInstant', () => {
  it('an offset or Z wins over the zone', () => {
    expect(zonedInstant('2027-01-10T03:00:00Z', 'Europe/Berlin')).toBe(t('2027-01-10T03:00:00Z'));
    expect(zonedInstant('2027-01-10T03:00:00+05:00', 'Europe/Berlin')).toBe(t('2027-01-09T22:00:00Z'));
    expect(zonedInstant('2027-01-10T03:00:00-00:30', 'UTC')).toBe(t('2027-01-10T03:30:00Z'));
  });

  it('without one it is local to the zone, seconds and a fraction optional (milliseconds kept, the rest cut)', () => {
    expect(zonedInstant('2027-01-10T03:00', 'Europe/Berlin')).toBe(t('2027-01-10T02:00:00Z'));
    expect(zonedInstant('2027-01-10T03:00:07.1239', 'Europe/Berlin')).toBe(t('2027-01-10T02:00:07.123Z'));
  });

  it('in an overlap the first instant; in a gap moved on by the gap', () => {
    expect(zonedInstant('2027-10-31T02:15:00', 'Europe/Berlin')).toBe(t('2027-10-31T00:15:00Z'));
    expect(zonedInstant('2026-10-25T01:30:00', 'Antarctica/Troll')).toBe(t('2026-10-24T23:30:00Z'));
    expect(zonedInstant('2027-03-28T02:30:00', 'Europe/Berlin')).toBe(t('2027-03-28T01:30:00Z'));
    expect(zonedInstant('2026-03-29T01:30:00', 'Antarctica/Troll')).toBe(t('2026-03-29T01:30:00Z'));
  });

  it('none for what is not an ISO 8601 date-time or names no real day', () => {
    for (const text of [
      'yesterday',
      '2027-01-10',
      '2027-01-10 03:00:00',
      '2027-02-30T03:00:00',
      '2027-01-10T03:00:00+5',
    ])
      expect(zonedInstant(text, 'UTC'), text).toBeUndefined();
  });
});

describe('zones behind UTC: the offset in force a day later counts too (mutation-driven)', () => {
  // New York: 14 March 2027 02:00 EST -> 03:00 EDT (07:00Z); 7 November 2027 02:00 EDT -> 01:00 EST (06:00Z).
  // Read as UTC, the wall time lies hours before its instant, so the offset at the wall time itself is the old one.
  it('just after the spring-forward gap, 03:30 EDT exists (07:30Z)', () => {
    expect(instantsOf(wall('2027-03-14T03:30:00'), 'America/New_York')).toEqual([t('2027-03-14T07:30:00Z')]);
    expect(zonedInstant('2027-03-14T03:30:00', 'America/New_York')).toBe(t('2027-03-14T07:30:00Z'));
    // in the gap: moved on by the gap
    expect(zonedInstant('2027-03-14T02:30:00', 'America/New_York')).toBe(t('2027-03-14T07:30:00Z'));
  });

  it('in the autumn overlap, 01:30 has both instants: EDT (05:30Z) first, then EST (06:30Z)', () => {
    expect(instantsOf(wall('2027-11-07T01:30:00'), 'America/New_York')).toEqual([
      t('2027-11-07T05:30:00Z'),
      t('2027-11-07T06:30:00Z'),
    ]);
    expect(zonedInstant('2027-11-07T01:30:00', 'America/New_York')).toBe(t('2027-11-07T05:30:00Z'));
  });
});

describe('zonedInstant reads the whole text (mutation-driven)', () => {
  it('nothing may come before the date', () => {
    for (const text of ['x2027-01-10T03:00:00', ' 2027-01-10T03:00:00', '12027-01-10T03:00:00Z'])
      expect(zonedInstant(text, 'UTC'), text).toBeUndefined();
  });
});
