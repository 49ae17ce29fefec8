/** A whole rollout input, as the API completes one (docs/workflow.md's defaults), for tests that store it directly. */
import type { RolloutInput } from '../../functions/domain/rollout/model.js';

/** The defaults with `overrides` on top (a `verify` or `upgrade` given replaces the default one whole). */
export function rolloutInput(overrides: Pick<RolloutInput, 'targetVersion'> & Partial<RolloutInput>): RolloutInput {
  return {
    batchSize: 1,
    drainTimeoutSeconds: 300,
    onDrainTimeout: 'force',
    upgrade: { kind: 'wait-for-report', timeoutSeconds: 1800 },
    verify: { stableForSeconds: 30, timeoutSeconds: 600 },
    pauseAfterFirstBatch: false,
    ...overrides,
  };
}
