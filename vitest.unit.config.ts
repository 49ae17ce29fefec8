import { defineConfig } from 'vitest/config';

/** The unit tier alone, for Stryker (its vitest runner takes a config file, not a project). */
export default defineConfig({
  test: { include: ['test/unit/**/*.test.ts'] },
});
