/**
 * Prints the mutation score of the domain core from Stryker's JSON report (mutation-testing-report-schema) and
 * fails below the quality bar (S6: ≥ 85 %).
 *
 *   npx tsx scripts/mutation-score.ts [path/to/mutation.json]
 *
 * score = (killed + timeout) / (killed + timeout + survived + noCoverage); compile and runtime errors, ignored
 * and pending mutants are left out, as Stryker itself does for its "mutation score of covered and uncovered code".
 */
import { readFileSync } from 'node:fs';

const THRESHOLD = 85;
const DOMAIN_PREFIX = 'functions/domain/';

type MutantStatus =
  | 'Killed'
  | 'Survived'
  | 'NoCoverage'
  | 'Timeout'
  | 'CompileError'
  | 'RuntimeError'
  | 'Ignored'
  | 'Pending';

interface Report {
  files?: Record<string, { mutants?: { status: MutantStatus }[] }>;
}

export interface Tally {
  killed: number;
  survived: number;
  noCoverage: number;
  timeout: number;
}

export function tally(report: Report): Tally {
  const t: Tally = { killed: 0, survived: 0, noCoverage: 0, timeout: 0 };
  for (const [path, file] of Object.entries(report.files ?? {})) {
    if (!path.replaceAll('\\', '/').includes(DOMAIN_PREFIX)) continue;
    for (const m of file.mutants ?? []) {
      if (m.status === 'Killed') t.killed++;
      else if (m.status === 'Survived') t.survived++;
      else if (m.status === 'NoCoverage') t.noCoverage++;
      else if (m.status === 'Timeout') t.timeout++;
    }
  }
  return t;
}

export function score(t: Tally): number {
  const detected = t.killed + t.timeout;
  const valid = detected + t.survived + t.noCoverage;
  return valid === 0 ? NaN : (100 * detected) / valid;
}

function main(): number {
  const file = process.argv[2] ?? 'reports/mutation/mutation.json';
  let report: Report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  } catch (e) {
    console.error(`cannot read the mutation report ${file}: ${(e as Error).message} (run \`npx stryker run\` first)`);
    return 1;
  }
  const t = tally(report);
  const s = score(t);
  if (Number.isNaN(s)) {
    console.error(`no mutants of ${DOMAIN_PREFIX} in ${file}`);
    return 1;
  }
  console.log(
    `Mutation score (domain core): ${s.toFixed(2)} % (killed ${t.killed}, survived ${t.survived}, no coverage ${t.noCoverage}, timeout ${t.timeout})`,
  );
  if (s < THRESHOLD) {
    console.error(`below the ${THRESHOLD} % bar (S6)`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
