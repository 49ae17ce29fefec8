/**
 * The run's file order, the same on a clean clone (CI's, which has no timings) as here: the files that take longest
 * first (as a CI run measured them), so that two workers end together, then the others largest first, whatever their
 * tier. Vitest would otherwise group the files by project, which left the reliability tier's heavy files to the end,
 * together, against a DynamoDB Local slowed by every table the run had made (fuzzing: 50 s alone, 300 s there).
 */
import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST = [
  'test/reliability/model-based.test.ts',
  'test/integration/workflow-model.test.ts',
  'test/reliability/faults.test.ts',
  'test/reliability/fuzz.test.ts',
  'test/reliability/auth-matrix.test.ts',
  'test/integration/local-stack.test.ts',
  'test/browser/operations.test.ts',
  'test/reliability/concurrency.test.ts',
  'test/integration/cli.test.ts',
  'test/reliability/durability.test.ts',
];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = SLOWEST.findIndex((f) => spec.moduleId.endsWith(f));
      return i < 0 ? SLOWEST.length : i;
    };
    const size = (spec: TestSpecification) => statSync(spec.moduleId).size;
    return [...files].sort((a, b) => rank(a) - rank(b) || size(b) - size(a));
  }
}
