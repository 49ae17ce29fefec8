import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { ControlPlaneApi } from './constructs/control-plane-api.js';
import { FamilyFunction } from './constructs/family-function.js';
import { RolloutWorkflow, type RolloutWorkflowProps } from './constructs/rollout-workflow.js';
import { WindowScheduling } from './constructs/window-scheduling.js';

export interface ServiceStackProps extends StackProps {
  readonly table: ITable;
  /** What rollouts' upgrades may call: allowlisted functions and webhook hosts, and the webhook signing secret. */
  readonly upgrades?: Omit<RolloutWorkflowProps, 'table'>;
}

export class ServiceStack extends Stack {
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const workflow = new RolloutWorkflow(this, 'Rollouts', { table: props.table, ...props.upgrades });
    const windows = new WindowScheduling(this, 'Windows', { table: props.table, workflow });
    const api = new ControlPlaneApi(this, 'ControlPlane', {
      table: props.table,
      familyEnvironment: { rollouts: workflow.environment, windows: { ...workflow.environment, ...windows.environment } },
    });
    workflow.grantControl(api.functions.get('rollouts')!);
    windows.grantManage(api.functions.get('windows')!);
    const sweeper = new FamilyFunction(this, 'Sweeper', { entry: 'functions/sweeper.ts', timeout: Duration.seconds(55), environment: { TABLE_NAME: props.table.tableName, ...workflow.environment } });
    props.table.grantReadWriteData(sweeper);
    workflow.grantControl(sweeper);
    new Rule(this, 'EveryMinute', { schedule: Schedule.rate(Duration.minutes(1)), targets: [new LambdaFunction(sweeper)] });
    new CfnOutput(this, 'TableName', { value: props.table.tableName });
    new CfnOutput(this, 'RolloutStateMachineArn', { value: workflow.rolloutMachine.stateMachineArn });
  }
}
