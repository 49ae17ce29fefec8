/** The stage (access logs, throttles), the alarms and their topic, log retention, the outputs, the console site. */
import { Match } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../functions/http/routes.js';
import { CONSOLE_REDIRECT } from '../../lib/constructs/console-site.js';
import { OUTCOME_METRICS } from '../../lib/constructs/operations-alarms.js';
import { synthService } from './synth.js';

describe('the API stage', () => {
  const { template } = synthService();
  const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));

  it('is the auto-deployed $default stage with access logs to a retained log group, no header logged', () => {
    expect(stage!.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    expect(stage!.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]).toMatch(/^ControlPlaneAccessLogs/);
    const format = JSON.parse(stage!.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(JSON.stringify(format)).not.toMatch(/header|authorization/i);
  });

  it('throttles the stage, and the agents status route on its own (route settings)', () => {
    expect(stage!.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 });
    const status = ROUTES.filter((r) => r.throttled === 'status').map(routeKey);
    expect(status).toEqual(['PUT /v1/clusters/{c}/servers/{s}/status']);
    expect(stage!.Properties.RouteSettings).toEqual({
      [status[0]!]: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
    // created after the route it names (CloudFormation refuses route settings for a route it does not have yet)
    const stageId = Object.keys(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const routeIds = Object.entries(template.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, r]) => r.Properties.RouteKey === status[0])
      .map(([id]) => id);
    expect(routeIds).toHaveLength(1);
    expect(template.toJSON().Resources[stageId!].DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('takes other limits from props', () => {
    const custom = synthService({
      throttle: { rateLimit: 50, burstLimit: 60 },
      statusThrottle: { rateLimit: 20, burstLimit: 30 },
    }).template;
    const [s] = Object.values(custom.findResources('AWS::ApiGatewayV2::Stage'));
    expect(s!.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 60 });
    expect(Object.values(s!.Properties.RouteSettings)).toEqual([{ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 30 }]);
  });
});

describe('operations', () => {
  const { template } = synthService();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  const functionIds = Object.entries(template.findResources('AWS::Lambda::Function'))
    .filter(([, f]) => String(f.Properties.Runtime).startsWith('nodejs'))
    .map(([id]) => id);
  const metricOf = (name: string, namespace: string) =>
    alarms.filter((a) => a.MetricName === name && a.Namespace === namespace);

  it('alarms on API 5xx, each function errors and throttles, failed executions and DynamoDB throttling', () => {
    expect(metricOf('5xx', 'AWS/ApiGateway')).toHaveLength(1);
    for (const name of ['Errors', 'Throttles']) {
      const dimensions = metricOf(name, 'AWS/Lambda').map((a) => a.Dimensions[0].Value.Ref);
      expect(dimensions.sort()).toEqual([...functionIds].sort());
    }
    expect(metricOf('ExecutionsFailed', 'AWS/States')).toHaveLength(2);
    expect(metricOf('ReadThrottleEvents', 'AWS/DynamoDB')).toHaveLength(1);
    expect(metricOf('WriteThrottleEvents', 'AWS/DynamoDB')).toHaveLength(1);
  });

  it('counts window-blocked, expiry-blocked and failed rollouts from the audit events on the change bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: {
        'detail-type': ['maintenance.changed'],
        detail: { dynamodb: { NewImage: { action: { S: ['window-blocked', 'expiry-blocked', 'fail-rollout'] } } } },
      },
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
    for (const [action, { metricName }] of Object.entries(OUTCOME_METRICS)) {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: `{ $.detail.dynamodb.NewImage.action.S = "${action}" }`,
        MetricTransformations: [{ MetricNamespace: 'maintctl', MetricName: metricName, MetricValue: '1' }],
      });
      expect(metricOf(metricName, 'maintctl'), metricName).toHaveLength(1);
    }
    const [policy] = Object.values(template.findResources('AWS::Logs::ResourcePolicy'));
    expect(JSON.stringify(policy!.Properties.PolicyDocument)).toContain('events.amazonaws.com');
  });

  it('sends every alarm, and its return to OK, to a KMS-encrypted, TLS-only topic of its own by default', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(1);
    const [topicId, topic] = Object.entries(topics)[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(alarms.length).toBeGreaterThan(30);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('uses the topic given by props instead', () => {
    const { template: given } = synthService((stateful) => ({
      alarmTopic: Topic.fromTopicArn(stateful, 'Ops', 'arn:aws:sns:us-east-1:123456789012:ops'),
    }));
    expect(Object.keys(given.findResources('AWS::SNS::Topic'))).toHaveLength(0);
    for (const a of Object.values(given.findResources('AWS::CloudWatch::Alarm')))
      expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:ops']);
  });

  it('keeps every log group for a fixed time', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBe(functionIds.length + 2 + 2 + 1); // the functions, the two state machines, access logs, outcomes, the console's deployment
    // every function logs to a group the stack holds (none left to Lambda's own, kept forever)
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')))
      expect(fn.Properties.LoggingConfig?.LogGroup).toBeDefined();
    for (const g of groups) expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('outputs the API URL, the console URL, the state machine, the bus and the table', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'ChangeBusName',
      'ConsoleUrl',
      'RolloutStateMachineArn',
      'TableName',
    ]);
  });
});

describe('the console site', () => {
  const { template } = synthService();
  const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution')).map(
    (d) => d.Properties.DistributionConfig,
  );

  it('serves the API by default: every method, uncached, every viewer header but Host', () => {
    const api = distribution.Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(api.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    expect(JSON.stringify(api.DomainName)).toContain('ApiEndpoint');
    expect(distribution.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: api.Id,
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader (Authorization included)
      ViewerProtocolPolicy: 'https-only',
    });
  });

  it("sends a browser's `/` and `/console` to the console; every other request, and any other method, to the API", () => {
    expect(distribution.DefaultCacheBehavior.FunctionAssociations).toEqual([
      {
        EventType: 'viewer-request',
        FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/^ConsoleConsoleRedirect/), 'FunctionARN'] },
      },
    ]);
    // The function as CloudFront runs it (cloudfront-js-2.0 is plain JavaScript).
    const handler = new Function(`${CONSOLE_REDIRECT}; return handler;`)() as (e: unknown) => {
      statusCode?: number;
      headers?: { location: { value: string } };
      uri?: string;
    };
    const run = (method: string, uri: string) => handler({ request: { method, uri, headers: {} } });
    for (const uri of ['/', '/console']) {
      expect(run('GET', uri)).toEqual({
        statusCode: 302,
        statusDescription: 'Found',
        headers: { location: { value: '/console/' } },
      });
      expect(run('HEAD', uri).statusCode).toBe(302);
      expect(run('POST', uri)).toMatchObject({ uri });
    }
    for (const uri of ['/v1/', '/v1/servers', '/console/', '/consoles', '/c/prod/v1/maxscale'])
      expect(run('GET', uri)).toMatchObject({ uri });
  });

  it('serves /console/* from a private bucket through origin access control, published under console/', () => {
    const [behavior] = distribution.CacheBehaviors;
    expect(behavior.PathPattern).toBe('/console/*');
    const s3 = distribution.Origins.find((o: { Id: string }) => o.Id === behavior.TargetOriginId);
    expect(s3.OriginAccessControlId).toBeDefined();
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'console/',
      DistributionPaths: ['/console/*'],
    });
  });
});
