import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { CompatFamily } from '../functions/http/routes.js';
import { CHANGE_DETAIL_TYPE, ChangeEvents } from './constructs/change-events.js';
import { ChangeIntegrations } from './constructs/change-integrations.js';
import { ConsoleSite } from './constructs/console-site.js';
import { ControlPlaneApi, type Throttle } from './constructs/control-plane-api.js';
import { FamilyFunction } from './constructs/family-function.js';
import { FUNCTION_ENTRIES } from './lambda-bundling.js';
import { OperationsAlarms } from './constructs/operations-alarms.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { RolloutWorkflow, type RolloutWorkflowProps } from './constructs/rollout-workflow.js';
import { grantTableActions, TABLE_MUTATE } from './constructs/table-access.js';
import { WindowScheduling } from './constructs/window-scheduling.js';
import { importTable, type TableReference } from './stateful-stack.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServiceStackProps extends StackProps {
  /** The stateful stack's table, by its SSM parameters (`StatefulStack.tableReference`). */
  readonly table: TableReference;
  /**
   * What rollouts' upgrades may call: allowlisted functions and webhook hosts, and the webhook signing secret.
   * @default none: only `wait-for-report` upgrades
   */
  readonly upgrades?: Omit<RolloutWorkflowProps, 'table'>;
  /** Where the alarms go. @default a new topic (KMS-encrypted, TLS only) to subscribe to */
  readonly alarmTopic?: ITopic;
  /** The cluster each compatible family acts on without a `/c/{cluster}` prefix. @default none */
  readonly defaultClusters?: Partial<Record<CompatFamily, string>>;
  /** The whole stage's throttle. @default 200 requests/s, bursts of 400 */
  readonly throttle?: Throttle;
  /** The agents' status route's own throttle. @default 100 requests/s, bursts of 200 */
  readonly statusThrottle?: Throttle;
  /** The built web console. @default `console/dist` (`npm run build`); a page saying so while it is not built */
  readonly consoleDirectory?: string;
  /** Prometheus Alertmanager's URL: maintenance silences its alerts (issue 17). @default none: no silences */
  readonly alertmanagerUrl?: string;
}

export class ServiceStack extends Stack {
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const table = importTable(this, props.table);
    const workflow = new RolloutWorkflow(this, 'Rollouts', { table, ...props.upgrades });
    const windows = new WindowScheduling(this, 'Windows', { table, workflow });
    const api = new ControlPlaneApi(this, 'ControlPlane', {
      table,
      ...(props.defaultClusters && { defaultClusters: props.defaultClusters }),
      ...(props.throttle && { throttle: props.throttle }),
      ...(props.statusThrottle && { statusThrottle: props.statusThrottle }),
      // The windows API checks a rollout window's input (the allowlists); the window function starts it.
      familyEnvironment: {
        rollouts: workflow.environment,
        windows: { ...workflow.allowlistEnvironment, ...windows.environment },
      },
    });
    workflow.grantControl(api.functions.get('rollouts')!);
    windows.grantManage(api.functions.get('windows')!);
    const sweeper = new FamilyFunction(this, 'Sweeper', {
      ...FUNCTION_ENTRIES.sweeper,
      timeout: Duration.seconds(55),
      environment: { TABLE_NAME: table.tableName, ...workflow.environment, ...windows.environment },
    });
    grantTableActions(table, sweeper, TABLE_MUTATE);
    workflow.grantControl(sweeper);
    windows.grantReconcile(sweeper);
    new Rule(this, 'EveryMinute', {
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(sweeper)],
    });

    const changes = new ChangeEvents(this, 'Changes', { table });
    const topic = props.alarmTopic ?? this.alarmTopic();
    const integrations = new ChangeIntegrations(this, 'Integrations', {
      table,
      bus: changes.bus,
      alarmTopic: topic,
      ...(props.alertmanagerUrl && { alertmanagerUrl: props.alertmanagerUrl }),
      ...(props.upgrades?.webhookSecret && { webhookSecret: props.upgrades.webhookSecret }),
    });
    new OperationsAlarms(this, 'Alarms', {
      topic,
      api: api.api,
      functions: {
        ...Object.fromEntries([...api.functions].map(([family, fn]) => [family, fn])),
        tasks: workflow.tasks,
        window: windows.windowFunction,
        sweeper,
        integrations: integrations.function,
      },
      stateMachines: { rollout: workflow.rolloutMachine, node: workflow.nodeMachine },
      table,
      bus: changes.bus,
      changeDeadLetters: changes.deadLetters,
    });

    // Last but the console: every alarm of the stack is made by now.
    new OperationsDashboard(this, 'Dashboard', {
      alarms: this.node.findAll().filter((c): c is Alarm => c instanceof Alarm),
      requestLogs: [...api.functions.values()].map((fn) => fn.logGroup),
    });

    let siteDirectory = props.consoleDirectory ?? join(ROOT, 'console', 'dist');
    if (!existsSync(join(siteDirectory, 'index.html'))) {
      Annotations.of(this).addWarningV2(
        'maintctl:consoleNotBuilt',
        `${siteDirectory} has no index.html: the console site serves a page asking for \`npm run build\` and a new deploy.`,
      );
      siteDirectory = join(ROOT, 'lib', 'console-not-built');
    }
    new ConsoleSite(this, 'Console', { api: api.api, siteDirectory });

    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'RolloutStateMachineArn', { value: workflow.rolloutMachine.stateMachineArn });
    new CfnOutput(this, 'ChangeBusName', {
      value: changes.bus.eventBusName,
      description: `Audit events as ${CHANGE_DETAIL_TYPE} events`,
    });
  }

  /** A topic CloudWatch may publish to: encrypted with a key whose policy lets CloudWatch use it, TLS only. */
  private alarmTopic(): Topic {
    const key = new Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'maintctl alarm topic' });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'maintctl alarms' });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn, description: 'Subscribe to receive the alarms' });
    return topic;
  }
}
