import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnPipe } from 'aws-cdk-lib/aws-pipes';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SK_PREFIX, EVENTS_PK_PREFIX, PK, SK } from '../../functions/store/keys.js';

export interface ChangeEventsProps {
  /** The table whose stream carries the audit events (it must have a stream). */
  readonly table: ITable;
}

/** What consumers match on: every event on the bus is one audit event. */
export const CHANGE_DETAIL_TYPE = 'maintenance.changed';
export const CHANGE_SOURCE = 'maintctl';

/**
 * Which stream records become events: inserts of audit-event items (their keys in `functions/store/keys.ts`).
 * Updates, removals (TTL expiry included) and every other item are dropped by the pipe, unbilled.
 */
export const AUDIT_INSERT_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { [PK]: { S: [{ prefix: EVENTS_PK_PREFIX }] }, [SK]: { S: [{ prefix: EVENT_SK_PREFIX }] } } },
};

/**
 * Change events on AWS: DynamoDB Streams → an EventBridge Pipe (no code) → a custom bus, one
 * `maintenance.changed` event per audit event written (the detail is the stream record: `dynamodb.NewImage` is the
 * event, in DynamoDB JSON). Audit events are written once, in the transaction of their change, so each is one event.
 */
export class ChangeEvents extends Construct {
  public readonly bus: EventBus;
  public readonly pipe: CfnPipe;
  /** Where the pipe puts a record it could not deliver after its retries (the record's stream position, to replay it). */
  public readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: ChangeEventsProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('ChangeEvents needs a table with a stream');
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${Stack.of(this).stackName}-changes` });

    const role = new Role(this, 'PipeRole', { assumedBy: new ServicePrincipal('pipes.amazonaws.com') });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['dynamodb:ListStreams'], resources: ['*'] }),
    );
    role.addToPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which Pipes calls on a DynamoDB stream source, supports no resource-level permission; the stream itself is read by its ARN only.',
    });

    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the change-events pipe.',
    });
    this.deadLetters.grantSendMessages(role);

    this.pipe = new CfnPipe(this, 'Pipe', {
      roleArn: role.roleArn,
      source: streamArn,
      sourceParameters: {
        // One record at a time: each audit event is one event on the bus, never a batch in one detail.
        dynamoDbStreamParameters: {
          startingPosition: 'LATEST',
          batchSize: 1,
          maximumRetryAttempts: 10,
          deadLetterConfig: { arn: this.deadLetters.queueArn },
        },
        filterCriteria: { filters: [{ pattern: JSON.stringify(AUDIT_INSERT_FILTER) }] },
      },
      target: this.bus.eventBusArn,
      targetParameters: { eventBridgeEventBusParameters: { detailType: CHANGE_DETAIL_TYPE, source: CHANGE_SOURCE } },
    });
    this.pipe.node.addDependency(role);
  }
}
