/**
 * A list's paging query, apart from the request bodies (`schemas.ts`): a function that lists and takes no body
 * (the rollouts') bundles this alone (zod schemas are built at load, so every schema of a module imported ships).
 */
import * as z from '../zod.js';

export const limit = z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000));
const cursor = z.string().check(z.maxLength(1024));

export const listQuery = z.object({ limit: z.optional(limit), cursor: z.optional(cursor) });
