/**
 * What each reliability test ran and found, for `npm run reliability`'s report: one JSON file per test under
 * reports/reliability/, written before the test asserts, so a failing run reports its violations too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RELIABILITY_REPORTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../reports/reliability');

export interface ReliabilityFigures {
  /** The quality bar it checks (R2, R3, S1, ...) and a few words. */
  tier: string;
  /** The seed that replays the run, where it is random. */
  seed?: number;
  /** Requests or operations run. */
  cases: number;
  /** Faults injected (dropped/delayed/reset connections, processes killed). */
  faults: number;
  /** The invariants checked, each in a few words. */
  invariants: string[];
  /** Violations found: each a line. */
  violations: string[];
  /** Anything else worth a line in the report. */
  detail?: string;
}

export function recordReliability(id: string, figures: ReliabilityFigures): void {
  mkdirSync(RELIABILITY_REPORTS, { recursive: true });
  writeFileSync(
    join(RELIABILITY_REPORTS, `${id}.json`),
    `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** Runs a test's body and records its figures either way: no violations when it passes, its failure when not. */
export async function reported(
  id: string,
  figures: () => Omit<ReliabilityFigures, 'violations'>,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    recordReliability(id, { ...figures(), violations: [String((error as Error).message).split('\n')[0]!] });
    throw error;
  }
  recordReliability(id, { ...figures(), violations: [] });
}
