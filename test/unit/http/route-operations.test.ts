/** The one route table and the families' operations agree: every route is served, every operation is routed. */
import { describe, expect, it } from 'vitest';
import { FAMILIES, ROUTES, routeKey, type Family } from '../../../functions/http/routes.js';
import type { Operations } from '../../../functions/http/handler.js';

const operationsOf = async (family: Family) =>
  ((await import(`../../../${FAMILIES[family]}`)) as { operations: Operations }).operations;

describe('the route table and the operations', () => {
  it.each(Object.keys(FAMILIES) as Family[])(
    '%s: each of its routes has its operation, and each operation its route',
    async (family) => {
      const operations = await operationsOf(family);
      const routed = ROUTES.filter((r) => r.family === family).map(routeKey);
      expect(routed.filter((key) => !(key in operations))).toEqual([]);
      expect(Object.keys(operations).filter((key) => !routed.includes(key))).toEqual([]);
    },
  );
});
