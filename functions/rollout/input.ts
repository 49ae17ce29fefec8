/**
 * The rollout input (README "Rolling upgrades", docs/workflow.md), the same JSON from the API, a window or the
 * Step Functions console, and the deployment's allowlists for what an upgrade may call.
 */
import * as z from '../zod.js';
import { CLUSTER_ID, MAX_SERVERS_PER_CLUSTER, OBJECT_ID, SERVER_NAME } from '../domain/names.js';
import { MAX_BATCH_SIZE, type RolloutInput } from '../domain/rollout/model.js';
import { validate } from '../validate.js';
import { checkAllowed, type UpgradeAllowlist } from './allowlist.js';

export { newTimeId } from './ids.js';

const seconds = (max: number) => z.storableNumber(z.int(), z.minimum(0), z.maximum(max));

/** The longest waits the input accepts (a node execution must fit them: `test/unit/workflows/asl.test.ts`). */
export const MAX_INPUT_SECONDS = {
  drainTimeout: 86400,
  upgradeTimeout: 7 * 86400,
  verifyTimeout: 86400,
  stableFor: 86400,
} as const;

const upgradeTimeout = z.optional(seconds(MAX_INPUT_SECONDS.upgradeTimeout));
const upgrade = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wait-for-report'), timeoutSeconds: upgradeTimeout }),
  z.strictObject({
    kind: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)),
    timeoutSeconds: upgradeTimeout,
  }),
  z.strictObject({
    kind: z.literal('lambda'),
    functionArn: z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/,
          'must be a Lambda function ARN',
        ),
      ),
    timeoutSeconds: upgradeTimeout,
  }),
]);

export const rolloutBody = z.strictObject({
  cluster: z.optional(z.string().check(z.regex(CLUSTER_ID))),
  targetVersion: z.string().check(z.minLength(1), z.maxLength(64)),
  servers: z.optional(
    z.array(z.string().check(z.regex(SERVER_NAME))).check(z.minLength(1), z.maxLength(MAX_SERVERS_PER_CLUSTER)),
  ),
  batchSize: z.optional(z.storableNumber(z.int(), z.minimum(1), z.maximum(MAX_BATCH_SIZE))),
  order: z.optional(z.array(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/))).check(z.maxLength(16))),
  drainTimeoutSeconds: z.optional(seconds(MAX_INPUT_SECONDS.drainTimeout)),
  onDrainTimeout: z.optional(z.enum(['force', 'fail'])),
  upgrade: z.optional(upgrade),
  verify: z.optional(
    z.strictObject({
      stableForSeconds: z.optional(seconds(MAX_INPUT_SECONDS.stableFor)),
      // Fractions kept (a lag below a second); storable: 1e-200 underflows DynamoDB (a 400, not a 500).
      maxReplicationLagSeconds: z.optional(z.storableNumber(z.minimum(0), z.maximum(86400))),
      timeoutSeconds: z.optional(seconds(MAX_INPUT_SECONDS.verifyTimeout)),
    }),
  ),
  pauseAfterFirstBatch: z.optional(z.boolean()),
});

/** A started execution names the rollout it runs; only Preflight sees anything else. */
export const rolloutRef = z.object({
  cluster: z.string().check(z.regex(CLUSTER_ID)),
  rolloutId: z.string().check(z.regex(OBJECT_ID)),
});

/** Validates, applies the defaults (README "Rolling upgrades") and checks the allowlists. */
export function parseRolloutInput(value: unknown, allow: UpgradeAllowlist): { cluster?: string; input: RolloutInput } {
  const body = validate(rolloutBody, value, 'input');
  const up = body.upgrade ?? { kind: 'wait-for-report' as const };
  const input: RolloutInput = {
    targetVersion: body.targetVersion,
    batchSize: body.batchSize ?? 1,
    drainTimeoutSeconds: body.drainTimeoutSeconds ?? 300,
    onDrainTimeout: body.onDrainTimeout ?? 'force',
    upgrade: { ...up, timeoutSeconds: up.timeoutSeconds ?? 1800 },
    verify: {
      stableForSeconds: body.verify?.stableForSeconds ?? 30,
      timeoutSeconds: body.verify?.timeoutSeconds ?? 600,
      ...(body.verify?.maxReplicationLagSeconds !== undefined && {
        maxReplicationLagSeconds: body.verify.maxReplicationLagSeconds,
      }),
    },
    pauseAfterFirstBatch: body.pauseAfterFirstBatch ?? false,
    ...(body.servers && { servers: body.servers }),
    ...(body.order && { order: body.order }),
  };
  checkAllowed(input.upgrade, allow);
  return { ...(body.cluster && { cluster: body.cluster }), input };
}
