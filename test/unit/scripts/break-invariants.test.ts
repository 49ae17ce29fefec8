import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASES, replaceOnce } from '../../../scripts/break-invariants.js';

describe('the builds broken on purpose (scripts/break-invariants.ts)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s still applies to the sources', (_name, c) => {
    for (const { file, from, to } of c.edits) {
      const source = readFileSync(file, 'utf8');
      expect(replaceOnce(source, from, to, file)).not.toBe(source);
    }
  });

  it('matches across line breaks and trailing commas, once only', () => {
    const source = 'call(\n  first,\n  { a: 1 },\n);\nother();\n';
    expect(replaceOnce(source, 'call(first, { a: 1 });', 'broken();', 'x')).toBe('broken();\nother();\n');
    expect(() => replaceOnce(`${source}${source}`, 'other();', '', 'x')).toThrow(/2 times/);
    expect(() => replaceOnce(source, 'missing();', '', 'x')).toThrow(/0 times/);
  });
});
