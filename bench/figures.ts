/**
 * The README's table of measured figures, written from `bench/results.json` by `npm run bench` (and checked
 * against it by a unit test), so the figures a reader sees are the last run's, never copied by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface FigureRow {
  id: string;
  what: string;
  measured: string;
  target: string;
  pass: boolean;
}

export interface BenchRun {
  date: string;
  node: string;
  cpus: number;
  loadAverage: number[];
  totalSeconds: number;
  table: FigureRow[];
}

const START = '<!-- bench-figures:start (written by npm run bench from bench/results.json; do not edit) -->';
const END = '<!-- bench-figures:end -->';

const cell = (text: string) => text.replaceAll('|', '\\|');

export function renderFigures(run: BenchRun): string {
  const rows = run.table.map(
    (r) => `| ${r.id} | ${cell(r.what)} | ${cell(r.measured)} | ${cell(r.target)} | ${r.pass ? 'met' : '**missed**'} |`,
  );
  return [
    `Last run: ${run.date.slice(0, 10)}, Node ${run.node}, ${run.cpus} cores, load average ${run.loadAverage[0]} at the end, ${Math.round(run.totalSeconds)} s.`,
    '',
    '| id | what | measured | target | verdict |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/**
 * The README's text between the markers, or undefined when the markers are missing; table rows as `renderFigures`
 * writes them, whatever padding the formatter (Biome formats Markdown too) gave their cells.
 */
export function figuresInReadme(readme: string): string | undefined {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return readme
    .slice(start + START.length, end)
    .trim()
    .split('\n')
    .map((line) => (line.startsWith('|') ? unpadded(line) : line))
    .join('\n');
}

const unpadded = (row: string) =>
  row
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/^-+$/, '---'))
    .join(' | ')
    .trim();

export function writeFiguresIntoReadme(readmePath: string, run: BenchRun): void {
  const readme = readFileSync(readmePath, 'utf8');
  if (figuresInReadme(readme) === undefined) throw new Error(`${readmePath} has no ${START} … ${END} block`);
  const before = readme.slice(0, readme.indexOf(START) + START.length);
  const after = readme.slice(readme.indexOf(END));
  writeFileSync(readmePath, `${before}\n${renderFigures(run)}\n${after}`);
}
