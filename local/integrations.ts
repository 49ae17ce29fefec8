/**
 * The change-event consumer locally: the same `consumeChange` the AWS function runs, fed by the local change feed
 * (DynamoDB Local's stream), and the same reconciler on a timer (the AWS function's every-minute schedule).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Deps } from '../functions/deps.js';
import { Alertmanager } from '../functions/integrations/alertmanager.js';
import { type ConsumerDeps, consumeChange, reconcile } from '../functions/integrations/consumer.js';
import { LOCAL_HTTP_ENV } from '../functions/integrations/notification-url.js';
import { IntegrationStore } from '../functions/store/integrations.js';
import { LocalChangeFeed } from './change-feed.js';

export interface LocalIntegrationOptions {
  /** Prometheus Alertmanager's URL (`--alertmanager`): silences for maintenance; none without it. */
  alertmanagerUrl?: string;
  /** The notifications' signing secret. @default MAINTCTL_WEBHOOK_SECRET, as the upgrade webhook's */
  webhookSecret?: string;
  /** The first backoff between webhook attempts (tests shorten it). */
  webhookBackoffMs?: number;
  /** Let notification targets be http://127.0.0.1 (tests' receivers); https only otherwise. */
  allowLocalHttpWebhooks?: boolean;
  /** Milliseconds between reconciler passes; 0: none (tests run `reconcile()` themselves). */
  reconcileIntervalMs?: number;
  /** Where the feed keeps its stream positions. */
  positionsFile?: string;
}

export interface LocalIntegrations {
  feed: LocalChangeFeed;
  deps: ConsumerDeps;
  /** Everything written so far handed to the consumer (the feed's pass, awaited). */
  drain(): Promise<void>;
  reconcile(): ReturnType<typeof reconcile>;
  stop(): Promise<void>;
}

const warn = (message: string) => (error: unknown) =>
  console.error(JSON.stringify({ level: 'warn', message, error: String(error) }));

export function startLocalIntegrations(
  deps: Deps,
  db: { client: DynamoDBClient; endpoint: string; table: string },
  options: LocalIntegrationOptions = {},
): LocalIntegrations {
  // Read by the API's validation of notification targets in this process (the AWS functions never set it).
  if (options.allowLocalHttpWebhooks) process.env[LOCAL_HTTP_ENV] = '1';
  const integrations = new IntegrationStore(db.client, db.table);
  // The API's settings routes use the same store (on AWS they make their own from TABLE_NAME).
  deps.integrations = integrations;
  const consumer: ConsumerDeps = {
    integrations,
    ...(options.alertmanagerUrl && {
      silences: {
        store: deps.store,
        integrations,
        alertmanager: new Alertmanager(options.alertmanagerUrl),
        now: deps.now,
      },
    }),
    notifications: {
      integrations,
      now: deps.now,
      secret: async () => options.webhookSecret ?? process.env.MAINTCTL_WEBHOOK_SECRET,
      allowLocalHttp: options.allowLocalHttpWebhooks ?? false,
      ...(options.webhookBackoffMs !== undefined && { backoffMs: options.webhookBackoffMs }),
    },
  };
  const feed = new LocalChangeFeed({
    ...db,
    consume: (event) => consumeChange(consumer, event),
    ...(options.positionsFile && { positionsFile: options.positionsFile }),
    onError: warn('change feed: a record will be handed over again'),
  });
  feed.start();
  const interval = options.reconcileIntervalMs ?? 60_000;
  const timer =
    interval > 0
      ? setInterval(() => reconcile(consumer).catch(warn('silence reconciler failed')), interval)
      : undefined;
  timer?.unref();
  return {
    feed,
    deps: consumer,
    drain: () => feed.poll(),
    reconcile: () => reconcile(consumer),
    async stop() {
      clearInterval(timer);
      await feed.stop();
    },
  };
}
