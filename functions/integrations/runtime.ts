/**
 * The integrations function on AWS: a rule on the change bus sends it every `maintenance.changed` event, and a
 * schedule every minute for the reconciler. Its metrics go out as CloudWatch EMF (functions/telemetry.ts), dimension
 * `function=integrations`: `AlertmanagerFailures` (calls that failed), `SilencesPending` (records waiting for
 * Alertmanager, the alarm's), `NotificationsFailed`. An error from DynamoDB is thrown (the event is retried); Alertmanager's or a receiver's
 * never are (recorded and retried by the reconciler, or recorded as a failed delivery).
 */
import { getSecretString } from '../rollout/aws-calls.js';
import { dynamoClient, runtimeDeps } from '../runtime.js';
import { IntegrationStore } from '../store/integrations.js';
import { Alertmanager } from './alertmanager.js';
import { type ChangeEvent, type ConsumerDeps, consumeChange, reconcile } from './consumer.js';
import { log, type MetricGroup } from '../telemetry.js';
import { INTEGRATIONS_DIMENSIONS } from './metrics-names.js';

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

/** One line per invocation; its counts as metrics when there is something to count (no Alertmanager: nothing). */
function report(what: string, counts: Record<string, number | undefined>): void {
  const metrics: MetricGroup['metrics'] = {};
  for (const [name, value] of Object.entries(counts)) if (value !== undefined) metrics[name] = [value, 'Count'];
  log('info', what, {}, Object.keys(metrics).length ? [{ dimensions: INTEGRATIONS_DIMENSIONS, metrics }] : []);
}

export const handler = async (input: Input) => {
  if (input['detail-type'] === 'Scheduled Event') {
    const result = await reconcile(consumerDeps());
    report('reconcile', { SilencesPending: result?.pending, AlertmanagerFailures: result?.failed });
    return result ?? {};
  }
  const result = await consumeChange(consumerDeps(), input as ChangeEvent);
  report('change', {
    AlertmanagerFailures: result.silences?.failed,
    NotificationsFailed: result.notifications?.failed || undefined,
  });
  return result;
};
