/**
 * The change-event consumer: one `maintenance.changed` event (the detail is the DynamoDB stream record, the audit
 * event in `dynamodb.NewImage`) in, its silences and notifications out. On AWS a function on the change bus runs
 * it; locally the change feed (`local/change-feed.ts`) feeds it the same records from DynamoDB Local's stream.
 * Nothing here can fail a change: the change is already written; what could not be done is recorded and retried.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AuditEvent } from '../domain/model.js';
import { EVENT_SK, EVENTS_PK_PREFIX, PK, SK } from '../store/keys.js';
import type { IntegrationStore } from '../store/integrations.js';
import { type NotificationDeps, type NotificationStats, notificationsForEvent } from './notifications.js';
import { reconcileSilences, type SilenceDeps, type SilenceStats, silencesForEvent } from './silences.js';

/** The pipe's detail-type and source (`lib/constructs/change-events.ts`; a test holds them equal). */
export const CHANGE_DETAIL_TYPE = 'maintenance.changed';
export const CHANGE_SOURCE = 'maintctl';

/** What the pipe puts on the bus (the fields read here). */
export interface ChangeEvent {
  'detail-type': string;
  source: string;
  detail: {
    eventName?: string;
    dynamodb?: { Keys?: Record<string, AttributeValue>; NewImage?: Record<string, AttributeValue> };
  };
}

export interface ConsumerDeps {
  integrations: IntegrationStore;
  /** Absent where no Alertmanager is configured: no silences. */
  silences?: SilenceDeps;
  notifications: NotificationDeps;
}

export interface ConsumerResult {
  event?: string;
  silences?: SilenceStats;
  notifications?: NotificationStats;
}

/** The audit event a change event carries; undefined for a record that is no audit event's insert. */
export function auditEventOf(change: ChangeEvent): AuditEvent | undefined {
  const { eventName, dynamodb } = change.detail;
  const pk = dynamodb?.Keys?.[PK]?.S;
  const sk = dynamodb?.Keys?.[SK]?.S;
  if (eventName !== 'INSERT' || !pk?.startsWith(EVENTS_PK_PREFIX) || !sk || !EVENT_SK.test(sk) || !dynamodb?.NewImage)
    return undefined;
  const { [PK]: _pk, [SK]: _sk, expiresAt: _ttl, ...event } = unmarshall(dynamodb.NewImage) as Record<string, unknown>;
  return event as unknown as AuditEvent;
}

export async function consumeChange(deps: ConsumerDeps, change: ChangeEvent): Promise<ConsumerResult> {
  const event = auditEventOf(change);
  if (!event) return {};
  // Side by side: a slow webhook receiver does not hold a silence back.
  const [silences, notifications] = await Promise.all([
    deps.silences ? silencesForEvent(deps.silences, event) : undefined,
    notificationsForEvent(deps.notifications, event),
  ]);
  if (event.action === 'remove-cluster') await deps.integrations.removeSettings(event.cluster, event.at);
  return {
    event: `${event.cluster}/${event.revision}/${event.seq} ${event.action}`,
    ...(silences && { silences }),
    notifications,
  };
}

/** The every-minute pass (the reconciler): pending silences retried, rolling ends renewed, lost ends applied. */
export async function reconcile(deps: ConsumerDeps): Promise<(SilenceStats & { pending: number }) | undefined> {
  return deps.silences && reconcileSilences(deps.silences);
}
