/**
 * Outbound webhooks for chosen audit-event actions per cluster (issue 17 #4), signed as the upgrade webhook is
 * (`x-maintctl-signature: sha256=HMAC(secret, "<x-maintctl-timestamp>.<body>")`). One delivery per event and
 * target, taken by a conditional write (a redelivered event sends nothing twice), a bounded number of attempts
 * with backoff, and the outcome kept for the cluster's deliveries list.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from '../domain/model.js';
import { signWebhook } from '../rollout/upgrade.js';
import type { Delivery, IntegrationStore, NotificationTarget } from '../store/integrations.js';
import { checkNotificationUrl } from './notification-url.js';

export const NOTIFY_ATTEMPTS = 3;
const NOTIFY_TIMEOUT_MS = 5_000;
/** Longer than all attempts with their backoff: a delivery still pending after it was abandoned. */
const DELIVERY_LEASE_MS = 60_000;

export interface NotificationDeps {
  integrations: IntegrationStore;
  now: () => number;
  /** The signing secret (the upgrade webhook's: Secrets Manager on AWS, MAINTCTL_WEBHOOK_SECRET locally). */
  secret: () => Promise<string | undefined>;
  /** The first backoff (doubled after each attempt); tests shorten it. @default 1000 */
  backoffMs?: number;
  /** Locally, and only when the local stack says so: http to 127.0.0.1 (tests' receivers). */
  allowLocalHttp?: boolean;
}

export interface NotificationStats {
  delivered: number;
  failed: number;
}

/** What the receiver gets: the audit event, named by cluster and position. */
function notificationBody(event: AuditEvent) {
  const { cluster, revision, seq, action, target, actor, source, at, reason, before, after } = event;
  return {
    id: `${cluster}/${revision}/${seq}`,
    cluster,
    action,
    target,
    actor,
    source,
    at: new Date(at).toISOString(),
    ...(reason !== undefined && { reason }),
    before,
    after,
  };
}

export const deliveryId = (event: Pick<AuditEvent, 'revision' | 'seq'>, url: string) =>
  `D#${String(event.revision).padStart(12, '0')}#${String(event.seq).padStart(3, '0')}#${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;

async function deliver(deps: NotificationDeps, delivery: Delivery, body: string, secret: string): Promise<Delivery> {
  let current = delivery;
  for (let attempt = 1; attempt <= NOTIFY_ATTEMPTS; attempt++) {
    const timestamp = String(Math.floor(deps.now() / 1000));
    let retry = true;
    try {
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-maintctl-timestamp': timestamp,
          'x-maintctl-signature': signWebhook(secret, timestamp, body),
          'x-maintctl-event': delivery.action,
          'idempotency-key': `${delivery.cluster}/${delivery.id}`,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS),
      });
      await res.body?.cancel();
      current = { ...current, attempts: attempt, lastStatus: res.status };
      if (res.ok) return { ...current, status: 'delivered', lastError: undefined, finishedAt: deps.now() };
      current.lastError = `the receiver answered ${res.status}`;
      // A refusal is final; an overload or a server error may pass.
      retry = res.status >= 500 || res.status === 429;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      current = { ...current, attempts: attempt, lastError: `no answer: ${cause ?? (error as Error).message}` };
    }
    if (!retry) break;
    if (attempt < NOTIFY_ATTEMPTS) await sleep((deps.backoffMs ?? 1000) * 2 ** (attempt - 1));
  }
  return { ...current, status: 'failed', finishedAt: deps.now() };
}

/** The event's deliveries: one per target that chose its action. */
export async function notificationsForEvent(deps: NotificationDeps, event: AuditEvent): Promise<NotificationStats> {
  const stats: NotificationStats = { delivered: 0, failed: 0 };
  const targets = (await deps.integrations.notificationTargets(event.cluster)).filter((t: NotificationTarget) =>
    t.actions.includes(event.action),
  );
  if (targets.length === 0) return stats;
  const body = JSON.stringify(notificationBody(event));
  const secret = await deps.secret();
  await Promise.all(
    targets.map(async ({ url }) => {
      const delivery: Delivery = {
        cluster: event.cluster,
        id: deliveryId(event, url),
        url,
        action: event.action,
        target: event.target,
        revision: event.revision,
        seq: event.seq,
        status: 'pending',
        attempts: 0,
        createdAt: deps.now(),
        leaseUntil: deps.now() + DELIVERY_LEASE_MS,
      };
      if (!(await deps.integrations.claimDelivery(delivery))) return;
      let outcome: Delivery;
      const refused = checkNotificationUrl(url, deps.allowLocalHttp ?? false);
      if (refused) outcome = { ...delivery, status: 'failed', lastError: refused, finishedAt: deps.now() };
      else if (!secret)
        outcome = { ...delivery, status: 'failed', lastError: 'no webhook signing secret is configured' };
      else outcome = await deliver(deps, delivery, body, secret);
      await deps.integrations.updateDelivery({ ...outcome, leaseUntil: undefined });
      if (outcome.status === 'delivered') stats.delivered++;
      else stats.failed++;
    }),
  );
  return stats;
}
