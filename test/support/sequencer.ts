/**
 * The run's file order, the same on a clean clone (CI's) as here: the model-based tier first (the longest file, a
 * small one), then the other files largest first, whatever their tier (vitest groups by project otherwise, which left
 * the reliability tier's heavy files to the end, together, against a DynamoDB Local that has slowed with every table
 * the run made).
 */
import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const FIRST = ['test/reliability/model-based.test.ts'];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const first = (spec: TestSpecification) => FIRST.some((f) => spec.moduleId.endsWith(f));
    const size = (spec: TestSpecification) => statSync(spec.moduleId).size;
    return [...files].sort((a, b) => Number(first(b)) - Number(first(a)) || size(b) - size(a));
  }
}
