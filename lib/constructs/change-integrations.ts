import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INTEGRATIONS_DIMENSIONS } from '../../functions/integrations/metrics-names.js';
import { METRIC_NAMESPACE } from '../../functions/telemetry.js';
import { FUNCTION_ENTRIES } from '../lambda-bundling.js';
import { CHANGE_DETAIL_TYPE, CHANGE_SOURCE } from './change-events.js';
import { FamilyFunction } from './family-function.js';
import { grantTableActions } from './table-access.js';

export interface ChangeIntegrationsProps {
  readonly table: ITable;
  /** The change-events bus (`ChangeEvents.bus`). */
  readonly bus: IEventBus;
  /** Prometheus Alertmanager's URL (API v2 under it): silences for maintenance. @default none: no silences */
  readonly alertmanagerUrl?: string;
  /** The notifications' signing secret: the upgrade webhook's. @default none: deliveries fail, saying so */
  readonly webhookSecret?: ISecret;
  /** Where the pending-silences and failed-notifications alarms go. */
  readonly alarmTopic: ITopic;
}

/**
 * The change-event consumer on AWS (issue 17 #3, #4): one function, sent every `maintenance.changed` event by a
 * rule on the change bus (silences, notifications) and a schedule every minute (the reconciler: pending silences
 * retried, rolling ends renewed). Its metrics (Powertools EMF) feed two alarms: silences left pending for five
 * minutes (Alertmanager down or refusing), and notifications that failed after their retries.
 */
export class ChangeIntegrations extends Construct {
  readonly function: FamilyFunction;
  /** Events the function could not take after EventBridge's retries (a DynamoDB outage, a crash). */
  readonly deadLetters: Queue;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ChangeIntegrationsProps) {
    super(scope, id);
    this.function = new FamilyFunction(this, 'Function', {
      ...FUNCTION_ENTRIES.integrations,
      // Three webhook attempts of 5 s with 1 s and 2 s between them, beside the Alertmanager calls (2.5 s each).
      timeout: Duration.seconds(60),
      environment: {
        TABLE_NAME: props.table.tableName,
        ...(props.alertmanagerUrl && { MAINTCTL_ALERTMANAGER_URL: props.alertmanagerUrl }),
        ...(props.webhookSecret && { MAINTCTL_WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn }),
      },
    });
    // Settings, silence records and deliveries (functions/store/integrations.ts); the cluster partitions read.
    grantTableActions(props.table, this.function, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]);
    if (props.webhookSecret) {
      this.function.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.webhookSecret.secretArn],
        }),
      );
      props.webhookSecret.encryptionKey?.grantDecrypt(this.function);
    }

    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the change-integrations rule.',
    });
    new Rule(this, 'OnChange', {
      eventBus: props.bus,
      eventPattern: { detailType: [CHANGE_DETAIL_TYPE], source: [CHANGE_SOURCE] },
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.deadLetters,
        }),
      ],
    });
    new Rule(this, 'Reconcile', {
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.function)],
    });

    const metric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: INTEGRATIONS_DIMENSIONS,
        period: Duration.minutes(1),
        statistic,
      });
    const alarm = (name: string, props2: ConstructorParameters<typeof Alarm>[2]) => {
      const a = new Alarm(this, name, props2);
      a.addAlarmAction(new SnsAction(props.alarmTopic));
      a.addOkAction(new SnsAction(props.alarmTopic));
      this.alarms.push(a);
    };
    alarm('SilencesPending', {
      metric: metric('SilencesPending', 'Minimum'),
      threshold: 1,
      evaluationPeriods: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Maintenance silences have waited five minutes for Alertmanager (down, unreachable or refusing): alerts of servers in maintenance are not silenced. GET /v1/clusters/{c}/alertmanager names the error.',
    });
    alarm('NotificationsFailed', {
      metric: metric('NotificationsFailed', 'Sum'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A notification webhook failed after its retries (GET /v1/clusters/{c}/notifications/deliveries says why).',
    });
    alarm('DeadLettersAlarm', {
      metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Change events the integrations function never took (silences and notifications missed for them; the reconciler still ends silences whose claims are gone).',
    });
  }
}
