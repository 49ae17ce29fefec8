import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES } from '../lambda-bundling.js';
import { acknowledgeOn } from './acknowledge.js';
import { FamilyFunction } from './family-function.js';
import { grantTableActions, TABLE_MUTATE } from './table-access.js';
import type { RolloutWorkflow } from './rollout-workflow.js';

export interface WindowSchedulingProps {
  readonly table: ITable;
  readonly workflow: RolloutWorkflow;
}

/**
 * Maintenance windows on AWS: a schedule group, the window function Scheduler invokes with each phase, and the
 * role Scheduler assumes to invoke it. `grantManage` lets a function create, update and delete the schedules;
 * `grantReconcile` also list them (the sweeper recreates missing ones and deletes orphans).
 */
export class WindowScheduling extends Construct {
  readonly windowFunction: FamilyFunction;
  readonly schedulerRole: Role;
  readonly groupName: string;
  /** What a function that writes schedules needs to know. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: WindowSchedulingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = `${stack.stackName}-windows`;
    new CfnScheduleGroup(this, 'Group', { name: this.groupName });
    // A fixed name: the function schedules its own invocations (the end of each occurrence).
    const functionName = `${stack.stackName}-window`;
    const functionArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // Only this account's schedules may use the role (the confused-deputy guard Scheduler documents).
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.schedulerRole.addToPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [functionArn] }),
    );
    this.environment = {
      WINDOW_SCHEDULE_GROUP: this.groupName,
      WINDOW_FUNCTION_ARN: functionArn,
      WINDOW_SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
    };
    this.windowFunction = new FamilyFunction(this, 'Window', {
      ...FUNCTION_ENTRIES.window,
      functionName,
      timeout: Duration.seconds(55),
      environment: { TABLE_NAME: props.table.tableName, ...props.workflow.environment, ...this.environment },
    });
    grantTableActions(props.table, this.windowFunction, TABLE_MUTATE);
    props.workflow.grantControl(this.windowFunction);
    this.grantManage(this.windowFunction);
  }

  /** Create, update and delete the windows' schedules (in this group only), passing them the scheduler role. */
  grantManage(grantee: IGrantable): Grant {
    const schedules = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.groupName}/*`,
    });
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resourceArns: [schedules],
    }).combine(this.schedulerRole.grantPassRole(grantee.grantPrincipal));
    acknowledgeOn(grantee, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.groupName}/*]`,
      reason:
        "Each window's schedules are named at run time (a hash of the window and occurrence): the function may manage schedules in this stack's own group only.",
    });
    return grant;
  }

  /** `grantManage`, and list the schedules (the sweeper recreates missing ones and deletes orphans). */
  grantReconcile(grantee: IGrantable): Grant {
    const grant = this.grantManage(grantee).combine(
      Grant.addToPrincipal({ grantee, actions: ['scheduler:ListSchedules'], resourceArns: ['*'] }),
    );
    acknowledgeOn(grantee, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'scheduler:ListSchedules supports no resource-level permission; the function lists its own group (the ScheduleGroup parameter) only.',
    });
    return grant;
  }
}
