import { defineConfig } from 'vitest/config';

/** The domain core's unit tests alone: what Stryker mutates against. */
export default defineConfig({
  test: { include: ['test/unit/**/*.test.ts'] },
});
