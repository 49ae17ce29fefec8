/**
 * The one zod every request schema uses (`import * as z from '../zod.js'`): `zod/mini`, the same library's
 * tree-shakable API (a Lambda bundle carries ~20 KB of it instead of ~440 KB), with zod's English messages, which
 * the classic API loads by itself. Re-exported binding by binding, so that the bundler keeps only what is used.
 */
import { config, number, refine, type ZodMiniNumber } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

/**
 * DynamoDB's numbers (besides 0): magnitudes from 1e-130 to 9.99…e125. A write of anything else fails (`1e-200`
 * underflows), which would answer a client's number with a 500.
 */
export const STORABLE_MIN = 1e-130;
export const STORABLE_MAX = 1e125;

/** 0, or a magnitude within [STORABLE_MIN, STORABLE_MAX] (NaN and ±Infinity are neither). */
export const isStorable = (v: number) => v === 0 || (Math.abs(v) >= STORABLE_MIN && Math.abs(v) <= STORABLE_MAX);

/**
 * Every number a request may send: `z.number()` with the field's own checks, then the check that DynamoDB can
 * store it (run only when the field's own pass: a value over the field's maximum gets that one message).
 */
export const storableNumber = (...checks: Parameters<ZodMiniNumber<number>['check']>): ZodMiniNumber<number> =>
  number().check(
    ...checks,
    refine(isStorable, {
      message: 'must be 0 or of magnitude between 1e-130 and 1e125 (what DynamoDB can store)',
      when: (payload) => payload.issues.length === 0,
    }),
  );
