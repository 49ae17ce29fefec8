/**
 * What a deployment chooses, as CDK context (`npx cdk deploy --all -c key=value`, or `cdk.context.json`), turned
 * into the service stack's props. Lists are comma-separated; a malformed value stops the synth with the key it came from.
 */
import { Key as KmsKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { COMPAT_FAMILIES, type CompatFamily } from '../functions/http/routes.js';
import type { ServiceStackProps } from './service-stack.js';

export const DEPLOY_CONTEXT_KEYS = [
  'alarmTopicArn',
  'upgradeFunctions',
  'webhookHosts',
  'webhookSecretArn',
  'webhookSecretKeyArn',
  'defaultClusters',
  'consoleDirectory',
  'alertmanagerUrl',
] as const;
type Key = (typeof DEPLOY_CONTEXT_KEYS)[number];

const list = (value: unknown) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function check(key: Key, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`context ${key}: ${value} is not ${what}`);
  return value;
}

/** `scope` holds the imported resources (the topic, functions and secret are referenced, never created). */
export function deployProps(scope: Construct, context: (key: Key) => unknown): Omit<ServiceStackProps, 'table'> {
  const topic = context('alarmTopicArn');
  const functions = list(context('upgradeFunctions')).map((arn) =>
    check(
      'upgradeFunctions',
      arn,
      /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}$/,
      'an unqualified Lambda function ARN',
    ),
  );
  const hosts = list(context('webhookHosts')).map((h) =>
    check('webhookHosts', h, /^[a-z0-9.-]+(:\d{1,5})?$/i, 'a host or host:port'),
  );
  const secret = context('webhookSecretArn');
  // A secret encrypted with a customer managed key is read only with kms:Decrypt on that key (the AWS managed
  // key needs nothing): its ARN, for the grant.
  const secretKey = context('webhookSecretKeyArn');
  if (secretKey !== undefined && secret === undefined)
    throw new Error('context webhookSecretKeyArn: given without webhookSecretArn');
  const clusters = list(context('defaultClusters')).map((pair) => {
    const [family, cluster] = pair.split('=');
    if (!(COMPAT_FAMILIES as readonly string[]).includes(family ?? '') || !cluster)
      throw new Error(`context defaultClusters: ${pair} is not family=cluster (${COMPAT_FAMILIES.join(', ')})`);
    return [family as CompatFamily, cluster] as const;
  });
  const directory = context('consoleDirectory');
  const alertmanager = context('alertmanagerUrl');
  return {
    ...(topic !== undefined && {
      alarmTopic: Topic.fromTopicArn(
        scope,
        'AlarmTopic',
        check(
          'alarmTopicArn',
          String(topic),
          /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
          'an SNS topic ARN',
        ),
      ),
    }),
    upgrades: {
      upgradeFunctions: functions.map((arn, i) => LambdaFunction.fromFunctionArn(scope, `UpgradeFunction${i}`, arn)),
      webhookHosts: hosts,
      ...(secret !== undefined && {
        webhookSecret: Secret.fromSecretAttributes(scope, 'WebhookSecret', {
          secretCompleteArn: check(
            'webhookSecretArn',
            String(secret),
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
            'a complete Secrets Manager secret ARN',
          ),
          ...(secretKey !== undefined && {
            encryptionKey: KmsKey.fromKeyArn(
              scope,
              'WebhookSecretKey',
              check(
                'webhookSecretKeyArn',
                String(secretKey),
                /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
                'a KMS key ARN',
              ),
            ),
          }),
        }),
      }),
    },
    ...(clusters.length > 0 && { defaultClusters: Object.fromEntries(clusters) }),
    ...(directory !== undefined && { consoleDirectory: String(directory) }),
    ...(alertmanager !== undefined && {
      alertmanagerUrl: check(
        'alertmanagerUrl',
        String(alertmanager),
        /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?(\/[\w./-]*)?$/i,
        'an http(s) URL of Alertmanager',
      ),
    }),
  };
}
