import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BenchRun, figuresInReadme, renderFigures } from '../../../bench/figures.js';

const run: BenchRun = {
  date: '2026-12-06T05:44:00.333Z',
  node: 'v22.23.3',
  cpus: 2,
  loadAverage: [0.5],
  totalSeconds: 421.3,
  table: [
    { id: 'P2', what: 'a | b', measured: '1.33×', target: '≤ 1.3×', pass: false },
    { id: 'P3', what: 'c', measured: '0.09×', target: '≤ 0.1×', pass: true },
  ],
};

describe("the README's figures", () => {
  it('are the last bench run’s, as npm run bench writes them', () => {
    const readme = readFileSync('README.md', 'utf8');
    const results = JSON.parse(readFileSync('bench/results.json', 'utf8')) as BenchRun;
    expect(figuresInReadme(readme)).toBe(renderFigures(results));
  });

  it('render every row with its verdict, escaping table pipes', () => {
    const text = renderFigures(run);
    expect(text).toContain('| P2 | a \\| b | 1.33× | ≤ 1.3× | **missed** |');
    expect(text).toContain('| P3 | c | 0.09× | ≤ 0.1× | met |');
    expect(text).toContain('Last run: 2026-12-06, Node v22.23.3, 2 cores');
  });

  it('are missing when the markers are', () => {
    expect(figuresInReadme('# no figures here')).toBeUndefined();
  });
});

describe('figuresInReadme', () => {
  it('reads a table the formatter padded as the renderer wrote it', () => {
    const written = renderFigures(run);
    const padded = written
      .replace('| id | what |', '| id  | what    |')
      .replace('| --- | --- |', '| --- | ------- |')
      .replace('| P3 | c |', '| P3  | c       |');
    const start = '<!-- bench-figures:start (written by npm run bench from bench/results.json; do not edit) -->';
    expect(figuresInReadme(`x\n${start}\n${padded}\n<!-- bench-figures:end -->\n`)).toBe(written);
  });
});
