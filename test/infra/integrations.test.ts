/**
 * The change-event consumer on AWS (issue 17 #3, #4), as synthesized: one function on the change bus (every
 * `maintenance.changed` event, retried, then a dead-letter queue) and on a one-minute schedule (the reconciler),
 * configured by the deploy context's `alertmanagerUrl` and the upgrade webhook's secret, holding exactly the table
 * actions its store calls, with the alarms on its EMF metrics.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import {
  CHANGE_DETAIL_TYPE as CONSUMED_TYPE,
  CHANGE_SOURCE as CONSUMED_SOURCE,
} from '../../functions/integrations/consumer.js';
import { deployProps } from '../../lib/deploy-context.js';
import { CHANGE_DETAIL_TYPE, CHANGE_SOURCE } from '../../lib/constructs/change-events.js';
import { FUNCTION_ENTRIES } from '../../lib/lambda-bundling.js';
import { grantsOf, readable, synthService } from './synth.js';

type Resource = { Properties: Record<string, any> };
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:maintctl-webhook-AbCdEf';

function synthesize(props: Parameters<typeof synthService>[0] = {}) {
  const { template } = synthService(props);
  const functions = Object.entries(template.findResources('AWS::Lambda::Function')) as [string, Resource][];
  const [id, fn] = functions.find(([id]) => id.startsWith('IntegrationsFunction'))!;
  const rules = Object.values(template.findResources('AWS::Events::Rule')) as Resource[];
  const targeting = rules.filter((r) =>
    r.Properties.Targets.some((t: any) => readable(t.Arn) === `<${id.replace(/[0-9A-F]{8}$/, '')}.Arn>`),
  );
  return { template, id, fn, targeting };
}

// Two syntheses for the whole file (each takes seconds): the defaults, and Alertmanager with the signing secret.
let plain: ReturnType<typeof synthesize> | undefined;
let full: ReturnType<typeof synthesize> | undefined;
function synth(configured?: 'configured') {
  if (!configured) {
    plain ??= synthesize();
    return plain;
  }
  full ??= synthesize((stateful) => ({
    alertmanagerUrl: 'https://alertmanager.example.com:9093',
    upgrades: { webhookSecret: Secret.fromSecretCompleteArn(stateful, 'S', SECRET) },
  }));
  return full;
}

describe('the integrations function, as synthesized', () => {
  it('is the consumer’s entry, told the table, Alertmanager and the signing secret', () => {
    expect(FUNCTION_ENTRIES.integrations.entry).toBe('functions/integrations/runtime.ts');
    const { fn } = synth('configured');
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Timeout).toBe(60);
    const env = fn.Properties.Environment.Variables;
    expect(env.MAINTCTL_ALERTMANAGER_URL).toBe('https://alertmanager.example.com:9093');
    expect(env.MAINTCTL_WEBHOOK_SECRET_ARN).toBe(SECRET);
    expect(readable(env.TABLE_NAME)).toMatch(/table/i);
  });

  it('without alertmanagerUrl it still runs notifications, and makes no silences', () => {
    const { fn } = synth();
    expect(fn.Properties.Environment.Variables.MAINTCTL_ALERTMANAGER_URL).toBeUndefined();
  });

  it('is sent every maintenance.changed event of the bus (retried, then dead letters) and a tick every minute', () => {
    const { template, targeting } = synth();
    expect(CONSUMED_TYPE).toBe(CHANGE_DETAIL_TYPE);
    expect(CONSUMED_SOURCE).toBe(CHANGE_SOURCE);
    const onBus = targeting.find((r) => r.Properties.EventPattern);
    expect(onBus!.Properties.EventPattern).toEqual({ 'detail-type': [CHANGE_DETAIL_TYPE], source: [CHANGE_SOURCE] });
    expect(readable(onBus!.Properties.EventBusName)).toMatch(/^<ChangesBus/);
    const [target] = onBus!.Properties.Targets;
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 3600 });
    expect(readable(target.DeadLetterConfig.Arn)).toMatch(/^<IntegrationsDeadLetters\.Arn>$/);
    const tick = targeting.find((r) => r.Properties.ScheduleExpression);
    expect(tick!.Properties.ScheduleExpression).toBe('rate(1 minute)');
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
  });

  it('holds exactly the table actions its store calls, and the secret', () => {
    const { template, fn } = synth('configured');
    const role = fn.Properties.Role['Fn::GetAtt'][0];
    expect(grantsOf(template, role).filter((g) => !g.startsWith('logs:'))).toEqual([
      'dynamodb:DeleteItem on <table>',
      'dynamodb:GetItem on <table>',
      'dynamodb:PutItem on <table>',
      'dynamodb:Query on <table>',
      'dynamodb:UpdateItem on <table>',
      `secretsmanager:GetSecretValue on ${SECRET}`,
    ]);
  });

  it('alarms when silences stay pending five minutes, when a notification fails, and on dead letters', () => {
    const { template } = synth();
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][];
    const mine = Object.fromEntries(
      alarms.filter(([id]) => id.startsWith('Integrations')).map(([id, a]) => [id.replace(/[0-9A-F]{8}$/, ''), a]),
    );
    expect(Object.keys(mine).sort()).toEqual([
      'IntegrationsDeadLettersAlarm',
      'IntegrationsNotificationsFailed',
      'IntegrationsSilencesPending',
    ]);
    expect(mine.IntegrationsSilencesPending!.Properties).toMatchObject({
      Namespace: 'maintctl',
      MetricName: 'SilencesPending',
      Dimensions: [{ Name: 'function', Value: 'integrations' }],
      Statistic: 'Minimum',
      Period: 60,
      EvaluationPeriods: 5,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(mine.IntegrationsNotificationsFailed!.Properties).toMatchObject({
      MetricName: 'NotificationsFailed',
      Statistic: 'Sum',
    });
    for (const alarm of Object.values(mine)) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});

describe('the alertmanagerUrl deploy context key', () => {
  const props = (value: string) =>
    deployProps(new Stack(new App(), 'S'), (key) => (key === 'alertmanagerUrl' ? value : undefined));

  it('takes an http(s) URL, a path prefix included', () => {
    expect(props('http://alertmanager.internal:9093').alertmanagerUrl).toBe('http://alertmanager.internal:9093');
    expect(props('https://ops.example.com/alertmanager').alertmanagerUrl).toBe('https://ops.example.com/alertmanager');
  });

  it.each(['alertmanager:9093', 'ftp://x', 'http://a b'])('refuses %s, naming the key', (value) => {
    expect(() => props(value)).toThrow(/context alertmanagerUrl/);
  });
});
