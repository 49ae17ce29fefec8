/**
 * `npm run reliability`: runs the reliability tier (test/reliability: faults, fuzzing, durability, concurrency,
 * the auth matrix) and prints its report from what each test recorded (test/support/reliability-report.ts):
 * cases run, faults injected, invariants checked, violations found, and the seed that replays each run.
 * `--report` prints the report of the last run without running anything (CI calls it after `npm test`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RELIABILITY_REPORTS, type ReliabilityFigures } from '../test/support/reliability-report.js';

let status = 0;
if (!process.argv.includes('--report')) {
  rmSync(RELIABILITY_REPORTS, { recursive: true, force: true });
  status = spawnSync('npx', ['vitest', 'run', 'test/reliability', '--reporter=dot'], { stdio: 'inherit' }).status ?? 1;
}

const files = existsSync(RELIABILITY_REPORTS)
  ? readdirSync(RELIABILITY_REPORTS)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
const reports = files.map((f) => JSON.parse(readFileSync(join(RELIABILITY_REPORTS, f), 'utf8')) as ReliabilityFigures);
const total = (pick: (r: ReliabilityFigures) => number) => reports.reduce((sum, r) => sum + pick(r), 0);

console.log('\nReliability report');
console.log(
  `${'tier'.padEnd(48)} ${'seed'.padStart(10)} ${'cases'.padStart(7)} ${'faults'.padStart(7)} ${'invariants'.padStart(10)} ${'violations'.padStart(10)}`,
);
for (const r of reports) {
  console.log(
    `${r.tier.padEnd(48)} ${String(r.seed ?? '-').padStart(10)} ${String(r.cases).padStart(7)} ${String(r.faults).padStart(7)} ${String(r.invariants.length).padStart(10)} ${String(r.violations.length).padStart(10)}`,
  );
  for (const v of r.violations.slice(0, 5)) console.log(`    violation: ${v}`);
  if (r.detail) console.log(`    ${r.detail}`);
}
console.log(
  `${'total'.padEnd(48)} ${''.padStart(10)} ${String(total((r) => r.cases)).padStart(7)} ${String(total((r) => r.faults)).padStart(7)} ${String(total((r) => r.invariants.length)).padStart(10)} ${String(total((r) => r.violations.length)).padStart(10)}`,
);
if (reports.length === 0) console.log('(no reliability test has recorded anything yet)');
process.exit(status);
