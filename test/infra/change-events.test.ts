/**
 * Change events: the pipe from the table's stream to the bus publishes audit-event inserts only. The synthesized
 * filter is asserted exactly; and real stream records, produced by the API over DynamoDB Local (which has
 * streams), show what the filter's fields hold: exactly the audit events are INSERTs under its key prefixes,
 * once each, while token, idempotency, registry, server and report writes, and removals, are not.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EVENT_SK_PREFIX, EVENTS_PK_PREFIX } from '../../functions/store/keys.js';
import { AUDIT_INSERT_FILTER, CHANGE_DETAIL_TYPE } from '../../lib/constructs/change-events.js';
import { httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';
import { grantsOf, readable, synthService } from './synth.js';

/** The pattern as deployed, spelled out: a change to keys.ts or to the construct must show here. */
const DEPLOYED_FILTER =
  '{"eventName":["INSERT"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"EVENTS#"}]},"sk":{"S":[{"prefix":"EV#"}]}}}}';

describe('the change-events pipe, as synthesized', () => {
  const { template } = synthService();
  const [[, pipe]] = Object.entries(template.findResources('AWS::Pipes::Pipe')) as [
    [string, { Properties: Record<string, any> }],
  ];

  it('reads the table stream and filters on audit-event inserts exactly', () => {
    expect(readable(pipe.Properties.Source)).toBe('<table-stream>');
    expect(pipe.Properties.SourceParameters.FilterCriteria.Filters).toEqual([{ Pattern: DEPLOYED_FILTER }]);
    expect(pipe.Properties.SourceParameters.DynamoDBStreamParameters).toMatchObject({
      StartingPosition: 'LATEST',
      BatchSize: 1,
    });
    expect(JSON.parse(DEPLOYED_FILTER)).toEqual(AUDIT_INSERT_FILTER);
  });

  it('puts one maintenance.changed event per record on the stack bus, with a role that can do only that', () => {
    const buses = template.findResources('AWS::Events::EventBus');
    const [busId] = Object.keys(buses);
    expect(buses[busId!]!.Properties.Name).toBe('Service-changes');
    expect(pipe.Properties.Target).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    expect(pipe.Properties.TargetParameters).toEqual({
      EventBridgeEventBusParameters: { DetailType: CHANGE_DETAIL_TYPE, Source: 'maintctl' },
    });
    expect(grantsOf(template, pipe.Properties.RoleArn['Fn::GetAtt'][0])).toEqual([
      'dynamodb:DescribeStream on <table-stream>',
      'dynamodb:GetRecords on <table-stream>',
      'dynamodb:GetShardIterator on <table-stream>',
      'dynamodb:ListStreams on *',
      `events:PutEvents on <${busId!.replace(/[0-9A-F]{8}$/, '')}.Arn>`,
      'sqs:GetQueueAttributes on <ChangesDeadLetters.Arn>',
      'sqs:GetQueueUrl on <ChangesDeadLetters.Arn>',
      'sqs:SendMessage on <ChangesDeadLetters.Arn>',
    ]);
  });

  it('puts what it could not deliver after its retries on an encrypted dead-letter queue, with an alarm', () => {
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(queueId).toMatch(/^ChangesDeadLetters/);
    expect(pipe.Properties.SourceParameters.DynamoDBStreamParameters.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86400,
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible',
    );
    // (The integrations function's own dead-letter queue has its alarm too: test/infra/integrations.test.ts.)
    expect(alarms.map((a) => a.Properties.Dimensions[0].Value)).toContainEqual({
      'Fn::GetAtt': [queueId, 'QueueName'],
    });
  });

  it('takes the table and its stream from the stateful stack by SSM parameters, not exports (which would pin them)', () => {
    const { stateful, app } = synthService();
    const state = Template.fromStack(stateful);
    state.hasResourceProperties('AWS::SSM::Parameter', {
      Name: stateful.tableReference.streamArnParameter,
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'StreamArn'] },
    });
    state.hasResourceProperties('AWS::SSM::Parameter', {
      Name: stateful.tableReference.arnParameter,
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'Arn'] },
    });
    expect(Object.keys(state.toJSON().Outputs ?? {})).toEqual([]);
    const service = JSON.stringify(Template.fromStack(app.node.findChild('Service') as Stack).toJSON());
    expect(service).not.toContain('Fn::ImportValue');
    expect(service).toContain(stateful.tableReference.streamArnParameter);
  });
});

async function streamRecords(env: HttpEnv): Promise<_Record[]> {
  const endpoint = inject('dynamodbEndpoint');
  const streams = new DynamoDBStreamsClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { Table } = await env.client.send(new DescribeTableCommand({ TableName: env.table }));
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table!.LatestStreamArn! }));
  const records: _Record[] = [];
  for (const shard of StreamDescription!.Shards ?? []) {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: Table!.LatestStreamArn!,
          ShardId: shard.ShardId!,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    for (let page = 0; iterator && page < 100; page++) {
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records.push(...(out.Records ?? []));
      if (!out.Records?.length) break;
      iterator = out.NextShardIterator;
    }
  }
  streams.destroy();
  return records;
}

describe('real stream records (DynamoDB Local)', () => {
  let env: HttpEnv;
  let records: _Record[];
  let auditEvents: { revision: number; seq: number; action: string }[];

  beforeAll(async () => {
    env = await httpEnv();
    await seedCluster(env, 'shop', [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
    await reportAll(env, 'shop', ['db1', 'db2', 'db3'], { connections: 1, openTransactions: 0, version: '10.11.6' });
    await reportAll(env, 'shop', ['db1', 'db2'], { connections: 2, openTransactions: 0, version: '10.11.6' }); // routine: an UpdateItem
    const key = { headers: { 'idempotency-key': 'k-1' } };
    expect((await env.call('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'patch' }, key)).status).toBe(
      200,
    );
    expect((await env.call('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'patch' }, key)).status).toBe(
      200,
    ); // replayed
    expect((await env.call('DELETE', '/v1/clusters/shop/servers/db2/maintenance')).status).toBe(200);
    expect((await env.call('POST', '/v1/tokens', { user: 'ops', role: 'operator' })).status).toBe(201);
    expect((await env.call('DELETE', '/v1/clusters/shop/servers/db3')).status).toBe(200);
    const events = await env.call('GET', '/v1/clusters/shop/events?limit=1000');
    auditEvents = events.body.events;
    records = await streamRecords(env);
  });
  afterAll(() => env.close());

  /** The filter's three conditions, read on one record. */
  const selected = (r: _Record) =>
    r.eventName === 'INSERT' &&
    r.dynamodb?.Keys?.pk?.S?.startsWith(EVENTS_PK_PREFIX) === true &&
    r.dynamodb?.Keys?.sk?.S?.startsWith(EVENT_SK_PREFIX) === true;

  it('has the fields the filter reads on every record', () => {
    expect(records.length).toBeGreaterThan(auditEvents.length);
    for (const r of records) {
      expect(['INSERT', 'MODIFY', 'REMOVE']).toContain(r.eventName);
      expect(typeof r.dynamodb?.Keys?.pk?.S).toBe('string');
      expect(typeof r.dynamodb?.Keys?.sk?.S).toBe('string');
    }
  });

  it('selects exactly the audit events, each once', () => {
    const chosen = records
      .filter(selected)
      .map(
        (r) =>
          `${r.dynamodb!.NewImage!.revision!.N}/${r.dynamodb!.NewImage!.seq!.N} ${r.dynamodb!.NewImage!.action!.S}`,
      );
    expect(chosen.sort()).toEqual(auditEvents.map((e) => `${e.revision}/${e.seq} ${e.action}`).sort());
    expect(auditEvents.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'register-cluster',
        'register-server',
        'set-maintenance',
        'clear-maintenance',
        'remove-server',
      ]),
    );
  });

  it('drops every other write: modifications, removals, tokens, idempotency records, the registry, servers', () => {
    const dropped = records.filter((r) => !selected(r));
    const kinds = new Set(dropped.map((r) => `${r.eventName} ${r.dynamodb!.Keys!.pk!.S!.replace(/#.*/, '#')}`));
    expect(kinds).toEqual(
      new Set([
        'INSERT CLUSTER#',
        'MODIFY CLUSTER#',
        'REMOVE CLUSTER#',
        'INSERT CLUSTERS',
        'INSERT TOKEN#',
        'INSERT TOKENS',
        'INSERT IDEMPOTENCY#',
      ]),
    );
  });
});
