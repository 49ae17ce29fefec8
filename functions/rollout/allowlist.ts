/**
 * What a deployment lets an upgrade call, and the check. Apart from the input's schemas (`input.ts`) so that the
 * functions that only read the allowlist do not carry zod.
 */
import { DomainError } from '../domain/errors.js';
import type { RolloutInput } from '../domain/rollout/model.js';

/** What a deployment lets an upgrade call (props on AWS, flags or environment locally). */
export interface UpgradeAllowlist {
  webhookHosts: readonly string[];
  functionArns: readonly string[];
}

export function allowlistFromEnv(env: NodeJS.ProcessEnv = process.env): UpgradeAllowlist {
  const split = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
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
    throw new DomainError(
      'InvalidInput',
      `upgrade.functionArn: ${spec.functionArn} is not on the deployment's function allowlist`,
    );
  }
}
