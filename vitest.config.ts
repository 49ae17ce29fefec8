import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { LongestFirst } from './test/support/sequencer.js';

// Hermetic: the caller's MAINTCTL_* settings (an exported admin token, a port) do not reach what the tests start.
for (const key of Object.keys(process.env)) if (key.startsWith('MAINTCTL_')) delete process.env[key];
// The tests' DynamoDB Local processes: one GC thread and the quick JIT only (a quarter less CPU on two cores, as
// fast for the tests' short runs).
process.env.JAVA_TOOL_OPTIONS ??= '-XX:+UseSerialGC -XX:TieredStopAtLevel=1';

/** One project per tier (`npm test -- --project unit`); every tier but the unit tests gets DynamoDB Local. */
const tier = (name: string, needsDynamo = true, setupFiles: string[] = []): TestProjectInlineConfiguration => ({
  extends: true,
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    ...(needsDynamo && { globalSetup: ['test/support/global-setup.ts'] }),
    setupFiles,
  },
});

/** Every tier that needs no AWS account: unit, integration (DynamoDB Local), HTTP end to end. */
export default defineConfig({
  test: {
    projects: [
      tier('unit', false),
      // Every native answer the integration tests receive is checked against docs/openapi.json.
      tier('integration', true, ['test/support/response-check-setup.ts']),
      tier('compat'),
      tier('reliability'),
      tier('dataplane'),
      tier('browser'),
      tier('infra'),
    ],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: LongestFirst },
  },
});
