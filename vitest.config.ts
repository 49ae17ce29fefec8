import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/support/sequencer.js';

/** Every tier that needs no AWS account: unit, integration (DynamoDB Local), HTTP end to end. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: LongestFirst },
  },
});
