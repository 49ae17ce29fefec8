/**
 * Triggering a node's upgrade (docs/workflow.md, Maintain): a signed POST to an allowlisted webhook, or an
 * asynchronous invocation of an allowlisted Lambda function. `wait-for-report` triggers nothing.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkAllowed, type UpgradeAllowlist } from './allowlist.js';
import { StepFailed, type UpgradeSpec } from '../domain/rollout/model.js';

/** What the upgrader is told: enough to act, and a key to recognise a repeat. */
export interface UpgradeRequest {
  cluster: string;
  rolloutId: string;
  server: string;
  address?: string;
  port?: number;
  targetVersion: string;
  idempotencyKey: string;
}

export const WEBHOOK_ATTEMPTS = 3;
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface UpgradeTriggerOptions {
  allow: UpgradeAllowlist;
  /** The webhook signing secret (Secrets Manager on AWS). */
  secret: () => Promise<string | undefined>;
  /** Invokes a function asynchronously (Lambda Invoke on AWS, registered functions locally). */
  invoke: (functionArn: string, payload: UpgradeRequest) => Promise<void>;
  /** The backoff between webhook attempts, in ms (tests shorten it). */
  backoffMs?: number;
}

/** `sha256=` HMAC of `<timestamp>.<body>`: the receiver recomputes it and rejects stale timestamps. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type UpgradeTrigger = (spec: UpgradeSpec, request: UpgradeRequest) => Promise<void>;

export function upgradeTrigger(options: UpgradeTriggerOptions): UpgradeTrigger {
  return async (spec, request) => {
    // Checked again here: the allowlist may have shrunk since the rollout started.
    checkAllowed(spec, options.allow);
    if (spec.kind === 'lambda') return options.invoke(spec.functionArn, request);
    if (spec.kind !== 'webhook') return;
    const secret = await options.secret();
    if (!secret) throw new StepFailed('maintain', 'no webhook signing secret is configured');
    const body = JSON.stringify(request);
    let last = '';
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(spec.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-maintctl-timestamp': timestamp,
            'x-maintctl-signature': signWebhook(secret, timestamp, body),
            'idempotency-key': request.idempotencyKey,
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = `the webhook answered ${res.status}`;
        if (res.status < 500 && res.status !== 429) break;
      } catch (error) {
        last = `the webhook did not answer: ${(error as Error).message}`;
      }
      if (attempt < WEBHOOK_ATTEMPTS) await sleep((options.backoffMs ?? 500) * 2 ** (attempt - 1));
    }
    throw new StepFailed('maintain', last);
  };
}
