/** The deployment's choices as CDK context (`-c key=value`), into the service stack's props. */
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEPLOY_CONTEXT_KEYS, deployProps } from '../../lib/deploy-context.js';
import { synthService } from './synth.js';

const props = (context: Record<string, string>) => deployProps(new Stack(new App(), 'S'), (key) => context[key]);

describe('deploy context', () => {
  it('knows the documented keys', () => {
    expect([...DEPLOY_CONTEXT_KEYS]).toEqual([
      'alarmTopicArn',
      'upgradeFunctions',
      'webhookHosts',
      'webhookSecretArn',
      'webhookSecretKeyArn',
      'defaultClusters',
      'consoleDirectory',
      'alertmanagerUrl',
    ]);
  });

  it('turns each key into its prop', () => {
    const p = props({
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
      upgradeFunctions:
        'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-a, arn:aws:lambda:eu-west-1:123456789012:function:upgrade-b',
      webhookHosts: 'deploy.example.com,ci.example.com:8443',
      webhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:maintctl-webhook-AbCdEf',
      defaultClusters: 'maxscale=prod-mariadb,cassandra=prod-cassandra',
      consoleDirectory: '/tmp/site',
    });
    expect(p.alarmTopic?.topicArn).toBe('arn:aws:sns:eu-west-1:123456789012:ops');
    expect(p.upgrades?.upgradeFunctions?.map((f) => f.functionArn)).toEqual([
      'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-a',
      'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-b',
    ]);
    expect(p.upgrades?.webhookHosts).toEqual(['deploy.example.com', 'ci.example.com:8443']);
    expect(p.upgrades?.webhookSecret?.secretArn).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:maintctl-webhook-AbCdEf',
    );
    expect(p.defaultClusters).toEqual({ maxscale: 'prod-mariadb', cassandra: 'prod-cassandra' });
    expect(p.consoleDirectory).toBe('/tmp/site');
  });

  it('gives no choice nothing: a new alarm topic, no upgrade targets, no secret', () => {
    const p = props({});
    expect(p.alarmTopic).toBeUndefined();
    expect(p.upgrades).toEqual({ upgradeFunctions: [], webhookHosts: [] });
  });

  it.each([
    ['alarmTopicArn', 'ops'],
    ['upgradeFunctions', 'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-a:live'],
    ['webhookHosts', 'https://deploy.example.com'],
    ['webhookSecretArn', 'maintctl-webhook'],
    ['webhookSecretKeyArn', 'alias/maintctl'],
    ['defaultClusters', 'postgres=prod'],
  ])('refuses a malformed %s', (key, value) => {
    expect(() => props({ [key]: value })).toThrow(new RegExp(`context ${key}`));
  });

  it('a webhook secret under a customer managed key: the task and integrations functions may decrypt with that key, and only they', () => {
    const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:maintctl-webhook-AbCdEf';
    const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(() => props({ webhookSecretKeyArn: KEY })).toThrow(/without webhookSecretArn/);
    const { template } = synthService((stateful) =>
      deployProps(
        stateful,
        (key) =>
          ({ webhookSecretArn: SECRET, webhookSecretKeyArn: KEY, webhookHosts: 'deploy.example.com' })[key as string],
      ),
    );
    // Which roles may use the key: the task function's and the notifications' (they read the secret), no other.
    const decrypting = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) =>
        (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).some(
          (st) => [st.Action].flat().includes('kms:Decrypt') && JSON.stringify(st.Resource) === JSON.stringify(KEY),
        ),
      )
      .flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));
    expect(decrypting.map((r) => r.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'IntegrationsFunctionRole',
      'RolloutsTasksRole',
    ]);
  });

  it('wires the default clusters into the compatible families', () => {
    const { template } = synthService({ defaultClusters: { maxscale: 'prod-mariadb' } });
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment?.Variables ?? {},
    );
    expect(fns.filter((v) => Object.values(v).includes('prod-mariadb'))).toHaveLength(1);
  });
});
