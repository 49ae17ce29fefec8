/** Input checked against a zod schema: the value, or a 400 naming every problem (an unknown field by name). */
import type * as z from 'zod/mini';
import { invalid } from './domain/errors.js';

export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const path = i.path.length ? i.path.join('.') : where;
    return i.code === 'unrecognized_keys' ? `${path}: unknown field(s) ${i.keys.join(', ')}` : `${path}: ${i.message}`;
  });
  throw invalid(problems.join('; '), { problems });
}
