import { defineConfig } from 'vitest/config';

/** Every tier that needs no AWS account: unit, integration (DynamoDB Local), HTTP end to end. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
