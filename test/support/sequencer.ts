/**
 * The run's file order: vitest runs the largest files first when it has no timings yet (a clean clone, as CI's),
 * which leaves the longest-running file, the model-based tier, a small file, to the end, alone on one worker.
 * It starts first instead, beside everything else.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const FIRST = ['test/reliability/model-based.test.ts'];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification) => FIRST.some((f) => spec.moduleId.endsWith(f));
    return [...sorted.filter(first), ...sorted.filter((s) => !first(s))];
  }
}
