import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IWidget,
  LogQueryWidget,
  MathExpression,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../../functions/telemetry.js';

/**
 * The metrics the functions embed in their log lines (`functions/telemetry.ts`, EMF), each with its dimensions and
 * the statistic the dashboard shows; `test/integration/telemetry.test.ts` checks that what a handler run emits is here.
 */
export const DASHBOARD_METRICS = {
  Requests: { dimensions: ['family', 'statusClass'], statistic: 'Sum', title: 'Requests by family and status class' },
  Latency: { dimensions: ['family', 'statusClass'], statistic: 'p99', title: 'Latency p99 (ms) by family' },
  Refusals: { dimensions: ['code'], statistic: 'Sum', title: 'Refusals by code (BudgetExceeded, HeldByOthers, …)' },
  ServersInMaintenance: { dimensions: ['cluster'], statistic: 'Maximum', title: 'Servers in maintenance per cluster' },
  ServersDraining: { dimensions: ['cluster'], statistic: 'Maximum', title: 'Servers draining per cluster' },
  MaintenanceDuration: { dimensions: ['cluster'], statistic: 'p50', title: 'Maintenance claims: duration (s), p50' },
  DrainDuration: { dimensions: ['cluster'], statistic: 'p50', title: 'Drain claims: duration (s), p50' },
  StepDuration: { dimensions: ['step'], statistic: 'Average', title: 'Rollout node steps: duration (s)' },
  StepFailures: { dimensions: ['step'], statistic: 'Sum', title: 'Rollout node steps: failures' },
} as const;
type DashboardMetric = keyof typeof DASHBOARD_METRICS;

export interface OperationsDashboardProps {
  /** The alarms to show first (their state at a glance). */
  readonly alarms: readonly IAlarm[];
  /** Where the request lines are: the API functions' log groups (a Logs Insights table of the last 5xx and refusals). */
  readonly requestLogs: readonly ILogGroup[];
  /** @default a name CloudFormation generates */
  readonly dashboardName?: string;
}

/**
 * A CloudWatch dashboard of the control plane: the alarms, then the EMF metrics. Each graph is a SEARCH over the
 * metric's dimensions, so a new family, refusal code, cluster or step shows up without a deploy.
 */
export class OperationsDashboard extends Construct {
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const graph = (name: DashboardMetric, width = 12) => {
      const { dimensions, statistic, title } = DASHBOARD_METRICS[name];
      return new GraphWidget({
        title,
        width,
        height: 6,
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},${dimensions.join(',')}} MetricName="${name}"', '${statistic}', ${period.toSeconds()})`,
            usingMetrics: {},
            period,
            label: '',
          }),
        ],
      });
    };
    const rows: IWidget[][] = [
      [new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 4 })],
      [graph('Requests'), graph('Latency')],
      [graph('Refusals'), graph('ServersInMaintenance')],
      [graph('ServersDraining', 8), graph('MaintenanceDuration', 8), graph('DrainDuration', 8)],
      [graph('StepDuration'), graph('StepFailures')],
      [
        new TextWidget({
          markdown:
            '**Requests**: one JSON line each (`message = "request"`: route, status, code, actor, cluster, `correlation_id` = the API Gateway request id, which the answer carries as `x-request-id`).',
          width: 24,
          height: 2,
        }),
      ],
      [
        new LogQueryWidget({
          title: 'Last refusals and errors',
          logGroupNames: props.requestLogs.map((group) => group.logGroupName),
          queryLines: [
            'fields @timestamp, route, status, code, actor, cluster, correlation_id',
            'filter message = "request" and status >= 400',
            'sort @timestamp desc',
            'limit 50',
          ],
          width: 24,
          height: 6,
        }),
      ],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName && { dashboardName: props.dashboardName }),
      widgets: rows,
    });
  }
}
