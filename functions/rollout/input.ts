/**
 * The rollout input (workflow.md), the same JSON from the API, a window or the Step Functions console, and the
 * deployment's allowlists for what an upgrade may call.
 */
import { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import { CLUSTER_ID, MAX_SERVERS_PER_CLUSTER, OBJECT_ID, SERVER_NAME } from '../domain/names.js';
import { MAX_BATCH_SIZE, type RolloutInput } from '../domain/rollout.js';
import { validate } from '../http/handler.js';

const seconds = (max: number) => z.number().int().min(0).max(max);

const upgrade = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wait-for-report'), timeoutSeconds: seconds(7 * 86400).optional() }),
  z.strictObject({ kind: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }).max(2048), timeoutSeconds: seconds(7 * 86400).optional() }),
  z.strictObject({ kind: z.literal('lambda'), functionArn: z.string().regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/, 'must be a Lambda function ARN'), timeoutSeconds: seconds(7 * 86400).optional() }),
]);

export const rolloutBody = z.strictObject({
  cluster: z.string().regex(CLUSTER_ID).optional(),
  targetVersion: z.string().min(1).max(64),
  servers: z.array(z.string().regex(SERVER_NAME)).min(1).max(MAX_SERVERS_PER_CLUSTER).optional(),
  batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
  order: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/)).max(16).optional(),
  drainTimeoutSeconds: seconds(86400).optional(),
  onDrainTimeout: z.enum(['force', 'fail']).optional(),
  upgrade: upgrade.optional(),
  verify: z.strictObject({
    stableForSeconds: seconds(86400).optional(),
    maxReplicationLagSeconds: z.number().min(0).max(86400).optional(),
    timeoutSeconds: seconds(86400).optional(),
  }).optional(),
  pauseAfterFirstBatch: z.boolean().optional(),
});
export type RolloutBody = z.infer<typeof rolloutBody>;

/** A started execution names the rollout it runs; only Preflight sees anything else. */
export const rolloutRef = z.object({ cluster: z.string().regex(CLUSTER_ID), rolloutId: z.string().regex(OBJECT_ID) });

/** What a deployment lets an upgrade call (props on AWS, flags or environment locally). */
export interface UpgradeAllowlist {
  webhookHosts: readonly string[];
  functionArns: readonly string[];
}

export function allowlistFromEnv(env: NodeJS.ProcessEnv = process.env): UpgradeAllowlist {
  const split = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return { webhookHosts: split(env.MAINTCTL_WEBHOOK_HOSTS), functionArns: split(env.MAINTCTL_UPGRADE_FUNCTIONS) };
}

export function checkAllowed(spec: RolloutInput['upgrade'], allow: UpgradeAllowlist): void {
  if (spec.kind === 'webhook') {
    // An entry is a host name (any port) or host:port (that port only).
    const url = new URL(spec.url);
    const host = url.host.toLowerCase();
    const allowed = allow.webhookHosts.map((h) => h.toLowerCase());
    if (!allowed.includes(host) && !allowed.includes(url.hostname.toLowerCase())) {
      throw new DomainError('InvalidInput', `upgrade.url: host ${host} is not on the deployment's webhook allowlist`);
    }
  }
  if (spec.kind === 'lambda' && !allow.functionArns.includes(spec.functionArn)) {
    throw new DomainError('InvalidInput', `upgrade.functionArn: ${spec.functionArn} is not on the deployment's function allowlist`);
  }
}

/** Validates, applies workflow.md's defaults and checks the allowlists. */
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
      ...(body.verify?.maxReplicationLagSeconds !== undefined && { maxReplicationLagSeconds: body.verify.maxReplicationLagSeconds }),
    },
    pauseAfterFirstBatch: body.pauseAfterFirstBatch ?? false,
    ...(body.servers && { servers: body.servers }),
    ...(body.order && { order: body.order }),
  };
  checkAllowed(input.upgrade, allow);
  return { ...(body.cluster && { cluster: body.cluster }), input };
}

/** Rollout and window ids sort by creation time, to the millisecond: `20261122-041100123-3f9a`. */
export function newTimeId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18);
  return `${stamp}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
}
