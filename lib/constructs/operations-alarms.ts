import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CHANGE_DETAIL_TYPE } from './change-events.js';

/** Audit actions that need a person: each becomes a metric (count per 5 minutes) with its alarm. */
export const OUTCOME_METRICS = {
  'window-blocked': {
    metricName: 'WindowBlocked',
    meaning: 'a maintenance window could not start (the disruption budget refused it)',
  },
  'expiry-blocked': { metricName: 'ExpiryBlocked', meaning: 'an expired claim was kept because its server is down' },
  'fail-rollout': { metricName: 'RolloutFailed', meaning: 'a rollout stopped on a failed node and keeps its claims' },
} as const;
const METRIC_NAMESPACE = 'maintctl';

export interface OperationsAlarmsProps {
  /** Where every alarm (and its return to OK) is sent. */
  readonly topic: ITopic;
  readonly api: HttpApi;
  /** Each function's errors and throttles, by a name for the alarm. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly stateMachines: Readonly<Record<string, IStateMachine>>;
  readonly table: ITable;
  /** The change-events bus: the outcome metrics are counted from its audit events. */
  readonly bus: IEventBus;
  /** The change-events pipe's dead letters: any is an audit event that never reached the bus. @default none */
  readonly changeDeadLetters?: IQueue;
}

/**
 * CloudWatch alarms to one topic: API 5xx, each function's errors and throttles, failed executions, DynamoDB
 * throttling, and the outcomes that need a person (`window-blocked`, `expiry-blocked`, a failed rollout), counted
 * from the audit events on the change bus (a rule copies those to a log group, metric filters count them): the
 * handlers are not changed for it, and the figures are exactly the audit log's.
 */
export class OperationsAlarms extends Construct {
  public readonly alarms: Alarm[] = [];
  /** The audit events that need a person, as they came off the bus. */
  public readonly outcomeLog: LogGroup;

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarm = (name: string, metric: IMetric, description: string) => {
      const a = new Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(new SnsAction(props.topic));
      a.addOkAction(new SnsAction(props.topic));
      this.alarms.push(a);
    };

    alarm(
      'Api5xx',
      props.api.metricServerError({ period, statistic: 'Sum' }),
      'The API answered 5xx: a backend failure (503) or a bug (500); no client input should cause one.',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period, statistic: 'Sum' }),
        `The ${name} function failed (an unhandled error or a timeout).`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        `The ${name} function was throttled (account or reserved concurrency).`,
      );
    }
    for (const [name, machine] of Object.entries(props.stateMachines)) {
      alarm(
        `${name}ExecutionsFailed`,
        machine.metricFailed({ period, statistic: 'Sum' }),
        `A ${name} execution failed.`,
      );
    }
    if (props.changeDeadLetters) {
      alarm(
        'ChangeEventsDeadLetters',
        props.changeDeadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'The change-events pipe gave up on audit events (they are in its dead-letter queue, by stream position): the bus and its consumers missed them.',
      );
    }
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      alarm(
        `Table${metricName}`,
        props.table.metric(metricName, { period, statistic: 'Sum' }),
        `DynamoDB throttled the table (${metricName}).`,
      );
    }

    this.outcomeLog = new LogGroup(this, 'OutcomeEvents', { retention: RetentionDays.ONE_YEAR });
    const stack = Stack.of(this);
    // The one account-wide resource policy this stack adds (a region holds 10): EventBridge may write to this group only.
    this.outcomeLog.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.outcomeLog.logGroupArn],
      }),
    );
    // A log group target by its ARN without the `:*` suffix (the L2 target would add a custom-resource Lambda).
    const toOutcomeLog: IRuleTarget = {
      bind: () => ({
        arn: stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.outcomeLog.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      }),
    };
    new Rule(this, 'OutcomeRule', {
      eventBus: props.bus,
      eventPattern: {
        detailType: [CHANGE_DETAIL_TYPE],
        detail: { dynamodb: { NewImage: { action: { S: Object.keys(OUTCOME_METRICS) } } } },
      },
      targets: [toOutcomeLog],
    });
    for (const [action, { metricName, meaning }] of Object.entries(OUTCOME_METRICS)) {
      const filter = new MetricFilter(this, `${metricName}Filter`, {
        logGroup: this.outcomeLog,
        filterPattern: FilterPattern.stringValue('$.detail.dynamodb.NewImage.action.S', '=', action),
        metricNamespace: METRIC_NAMESPACE,
        metricName,
        metricValue: '1',
      });
      alarm(metricName, filter.metric({ period, statistic: 'Sum' }), `Audit event ${action}: ${meaning}.`);
    }
  }
}
