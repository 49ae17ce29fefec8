/**
 * The integrations function on AWS: a rule on the change bus sends it every `maintenance.changed` event, and a
 * schedule every minute for the reconciler. Its metrics go out as CloudWatch EMF through Powertools:
 * `AlertmanagerFailures` (calls that failed), `SilencesPending` (records waiting for Alertmanager, the alarm's),
 * `NotificationsFailed`. An error from DynamoDB is thrown (the event is retried); Alertmanager's or a receiver's
 * never are (recorded and retried by the reconciler, or recorded as a failed delivery).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecretString } from '../rollout/aws-calls.js';
import { runtimeDeps } from '../runtime.js';
import { dynamoClient } from '../runtime.js';
import { IntegrationStore } from '../store/integrations.js';
import { Alertmanager } from './alertmanager.js';
import { type ChangeEvent, type ConsumerDeps, consumeChange, reconcile } from './consumer.js';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './metrics-names.js';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

const SECRET_TTL_MS = 5 * 60_000;
let secret: { value: string | undefined; at: number } | undefined;

/** The upgrade webhook's signing secret, cached for five minutes as the task function caches it. */
async function webhookSecret(): Promise<string | undefined> {
  const arn = process.env.MAINTCTL_WEBHOOK_SECRET_ARN;
  if (!arn) return undefined;
  if (!secret || Date.now() - secret.at > SECRET_TTL_MS) secret = { value: await getSecretString(arn), at: Date.now() };
  return secret.value;
}

let deps: ConsumerDeps | undefined;

function consumerDeps(): ConsumerDeps {
  if (deps) return deps;
  const { store, now } = runtimeDeps();
  const integrations = new IntegrationStore(dynamoClient(), process.env.TABLE_NAME!);
  const url = process.env.MAINTCTL_ALERTMANAGER_URL;
  deps = {
    integrations,
    ...(url && { silences: { store, integrations, alertmanager: new Alertmanager(url), now } }),
    notifications: { integrations, now, secret: webhookSecret },
  };
  return deps;
}

type Input = ChangeEvent | { 'detail-type': 'Scheduled Event' };

export const handler = async (input: Input) => {
  try {
    if (input['detail-type'] === 'Scheduled Event') {
      const result = await reconcile(consumerDeps());
      if (result) {
        metrics.addMetric('SilencesPending', MetricUnit.Count, result.pending);
        metrics.addMetric('AlertmanagerFailures', MetricUnit.Count, result.failed);
      }
      return result ?? {};
    }
    const result = await consumeChange(consumerDeps(), input as ChangeEvent);
    if (result.silences) metrics.addMetric('AlertmanagerFailures', MetricUnit.Count, result.silences.failed);
    if (result.notifications?.failed)
      metrics.addMetric('NotificationsFailed', MetricUnit.Count, result.notifications.failed);
    return result;
  } finally {
    // Nothing to say (no Alertmanager, nothing failed): no EMF line, and no Powertools warning about it.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
