/**
 * Numbers a client sends, at their extremes: every request number is one DynamoDB can store (`storableNumber` in
 * functions/zod.ts: 0, or a magnitude from 1e-130 to 1e125; below, a write underflows and answered a 500), and the ttl
 * parser refuses what overflows. The schedule and duration parsers' bounds are in schedule.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterBody, maintenanceBody, serverBody, statusBody } from '../../../functions/api/schemas.js';
import { MAX_TTL_SECONDS, parseTtlSeconds } from '../../../functions/domain/duration.js';
import { validate } from '../../../functions/validate.js';
import * as z from '../../../functions/zod.js';
import { isStorable, STORABLE_MAX, STORABLE_MIN } from '../../../functions/zod.js';
import { caught } from '.././domain/fixtures.js';

const STORABLE = 'must be 0 or of magnitude between 1e-130 and 1e125 (what DynamoDB can store)';
/** The next double above / below. */
const up = (v: number) => v + Math.abs(v) * Number.EPSILON;
const down = (v: number) => v - Math.abs(v) * Number.EPSILON;

describe("isStorable: DynamoDB's number range, exactly", () => {
  it('0 (either sign) and magnitudes from 1e-130 to 1e125 inclusive, either sign', () => {
    expect([STORABLE_MIN, STORABLE_MAX]).toEqual([1e-130, 1e125]);
    for (const v of [0, -0, 1e-130, -1e-130, 1e125, -1e125, 1, -1, 0.5, 86400, Number.MAX_SAFE_INTEGER])
      expect(isStorable(v), String(v)).toBe(true);
  });

  it('just outside, and what is not a number DynamoDB has, is not', () => {
    expect(down(1e-130)).toBeLessThan(1e-130);
    expect(up(1e125)).toBeGreaterThan(1e125);
    for (const v of [
      down(1e-130),
      -down(1e-130),
      1e-200,
      Number.MIN_VALUE,
      up(1e125),
      -up(1e125),
      1e300,
      Number.MAX_VALUE,
      Infinity,
      -Infinity,
      NaN,
    ])
      expect(isStorable(v), String(v)).toBe(false);
  });
});

describe("storableNumber: the field's own checks first, then storable", () => {
  const any = z.storableNumber();
  const bounded = z.storableNumber(z.minimum(0), z.maximum(10));

  it('accepts the limits and refuses beyond them, with the message naming the limit', () => {
    for (const v of [0, 1e-130, -1e125, 1e125]) expect(validate(any, v, 'n')).toBe(v);
    for (const v of [1e-131, -1e-200, 2e125])
      expect(caught(() => validate(any, v, 'n')).message).toBe(`n: ${STORABLE}`);
    expect(caught(() => validate(any, '1', 'n')).message).toBe('n: Invalid input: expected number, received string');
    expect(validate(bounded, 1e-130, 'n')).toBe(1e-130);
    expect(caught(() => validate(bounded, 1e-200, 'n')).message).toBe(`n: ${STORABLE}`);
  });

  it("a value the field's own checks refuse gets only their message", () => {
    expect(caught(() => validate(bounded, 1e300, 'n')).message).toBe('n: Too big: expected number to be <=10');
    expect(caught(() => validate(bounded, -1e-200, 'n')).message).toBe('n: Too small: expected number to be >=0');
  });
});

describe("the API bodies' numbers", () => {
  it('statusBody.replicationLagSeconds: fractions kept, below 1e-130 refused naming the field and the limit', () => {
    expect(validate(statusBody, { health: 'running', replicationLagSeconds: 0.25 }, 'body').replicationLagSeconds).toBe(
      0.25,
    );
    expect(
      validate(statusBody, { health: 'running', replicationLagSeconds: 1e-130 }, 'body').replicationLagSeconds,
    ).toBe(1e-130);
    expect(validate(statusBody, { health: 'running', replicationLagSeconds: 0 }, 'body').replicationLagSeconds).toBe(0);
    for (const lag of [1e-200, 1e-131])
      expect(
        caught(() => validate(statusBody, { health: 'running', replicationLagSeconds: lag }, 'body')).message,
      ).toBe(`replicationLagSeconds: ${STORABLE}`);
    expect(
      caught(() => validate(statusBody, { health: 'running', replicationLagSeconds: 1e300 }, 'body')).message,
    ).toBe('replicationLagSeconds: Too big: expected number to be <=10000000');
  });

  it('whole numbers (counts, ports, seconds) refuse fractions, tiny or not, and stay in their range', () => {
    expect(caught(() => validate(statusBody, { health: 'running', connections: 1e-200 }, 'body')).message).toContain(
      'connections',
    );
    expect(
      caught(() => validate(clusterBody, { engine: 'mariadb', staleAfterSeconds: 1e300 }, 'body')).message,
    ).toContain('staleAfterSeconds');
    expect(caught(() => validate(serverBody, { port: 1e-131 }, 'body')).message).toContain('port');
    expect(caught(() => validate(maintenanceBody, { drainTimeoutSeconds: 5e-324 }, 'body')).message).toContain(
      'drainTimeoutSeconds',
    );
    expect(caught(() => validate(maintenanceBody, { ttl: 1e-200 }, 'body')).message).toContain('ttl');
    expect(caught(() => validate(maintenanceBody, { ttl: 1e300 }, 'body')).message).toContain('ttl');
  });

  it('no request schema uses z.number() itself: every number goes through storableNumber', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
      );
    const offenders = files('functions')
      .filter((f) => f !== join('functions', 'zod.ts'))
      // The answers' schemas (the OpenAPI document's) describe numbers the API writes, never parse a client's.
      .filter((f) => !f.endsWith(join('api', 'responses.ts')))
      .filter((f) => /\bz\.number\(/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

describe('parseTtlSeconds: what overflows is the range message', () => {
  it.each(['99999999999d', `${'9'.repeat(400)}d`, `${'9'.repeat(30)}s`, `0d${'9'.repeat(400)}h`, '2592001s', '30d1s'])(
    '%s',
    (ttl) => {
      expect(caught(() => parseTtlSeconds(ttl)).message).toBe('ttl must be between 1 second and 30 days');
    },
  );

  it.each([Infinity, -Infinity, NaN, 1e300, MAX_TTL_SECONDS + 1, 1e-200, 0.5])('%d seconds', (ttl) => {
    expect(caught(() => parseTtlSeconds(ttl)).message).toBe('ttl must be between 1 second and 30 days');
  });
});
