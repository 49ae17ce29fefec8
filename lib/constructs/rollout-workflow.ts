import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { vendedLogGroup } from './vended-log-group.js';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { workflowDefinitions } from '../../workflows/asl.js';
import { FUNCTION_ENTRIES } from '../lambda-bundling.js';
import { FamilyFunction } from './family-function.js';
import { acknowledgeOn } from './acknowledge.js';
import { grantTableActions, TABLE_MUTATE } from './table-access.js';

export interface RolloutWorkflowProps {
  readonly table: ITable;
  /**
   * Functions an `upgrade.kind: "lambda"` may invoke: the state machine's tasks may call nothing else.
   * @default none: a rollout with a lambda upgrade is refused
   */
  readonly upgradeFunctions?: readonly IFunction[];
  /** Hosts an `upgrade.kind: "webhook"` may call. @default none: a rollout with a webhook upgrade is refused */
  readonly webhookHosts?: readonly string[];
  /** The webhook signing secret. @default none: a webhook upgrade fails at its Maintain step (nothing to sign with) */
  readonly webhookSecret?: ISecret;
}

/**
 * The rolling-upgrade workflow on AWS: the task function and the two Standard state machines whose
 * definitions are generated from the XState model (`workflows/asl.ts`), the same ASL the local engine runs.
 */
export class RolloutWorkflow extends Construct {
  readonly rolloutMachine: StateMachine;
  readonly nodeMachine: StateMachine;
  readonly tasks: FamilyFunction;
  /** What the API's and the sweeper's functions need to start and inspect executions. */
  readonly environment: Record<string, string>;
  /** What a function that only checks rollout input needs: the upgrade allowlists. */
  readonly allowlistEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: RolloutWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const allowlist = {
      MAINTCTL_WEBHOOK_HOSTS: (props.webhookHosts ?? []).join(','),
      MAINTCTL_UPGRADE_FUNCTIONS: (props.upgradeFunctions ?? []).map((f) => f.functionArn).join(','),
    };
    this.tasks = new FamilyFunction(this, 'Tasks', {
      ...FUNCTION_ENTRIES.tasks,
      timeout: Duration.seconds(55),
      environment: {
        TABLE_NAME: props.table.tableName,
        ...allowlist,
        ...(props.webhookSecret && { MAINTCTL_WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn }),
      },
    });
    grantTableActions(props.table, this.tasks, TABLE_MUTATE);
    if (props.webhookSecret) {
      this.tasks.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.webhookSecret.secretArn],
        }),
      );
      props.webhookSecret.encryptionKey?.grantDecrypt(this.tasks);
    }
    // The allowlisted functions by their exact ARNs (the allowlist compares ARNs as given: no version or alias).
    const upgradeArns = (props.upgradeFunctions ?? []).map((f) => f.functionArn);
    if (upgradeArns.length > 0)
      this.tasks.addToRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: upgradeArns }),
      );

    const definitions = workflowDefinitions();
    const machine = (name: 'Node' | 'Rollout', definition: object, substitutions: Record<string, string>) =>
      new StateMachine(this, name, {
        // A fixed name: the rollout machine starts its own successor, and a policy cannot reference the machine it belongs to.
        stateMachineName: `${stack.stackName}-${name.toLowerCase()}`,
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
        definitionSubstitutions: substitutions,
        // Every state's events, without the data (ids only travel anyway); a few KB per node.
        logs: {
          destination: vendedLogGroup(
            this,
            `${name}Logs`,
            `states/${stack.stackName}-${name.toLowerCase()}`,
            RetentionDays.ONE_MONTH,
          ),
          level: LogLevel.ALL,
          includeExecutionData: false,
        },
        tracingEnabled: true,
      });
    this.nodeMachine = machine('Node', definitions.node, { TaskFunctionArn: this.tasks.functionArn });
    this.rolloutMachine = machine('Rollout', definitions.rollout, {
      TaskFunctionArn: this.tasks.functionArn,
      NodeStateMachineArn: this.nodeMachine.stateMachineArn,
    });
    // The task function by its unqualified ARN, as the ASL calls it: no version, no alias, nothing else.
    for (const machine of [this.nodeMachine, this.rolloutMachine]) {
      machine.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['lambda:InvokeFunction'],
          resources: [this.tasks.functionArn],
        }),
      );
      Validations.of(machine.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions adds these for its own logging (logs:CreateLogDelivery and the other vended-log delivery actions) and X-Ray tracing (xray:PutTraceSegments and friends): those actions support no resource-level permissions.',
      });
    }
    Validations.of(this.rolloutMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stack.stackName}-node:*]`,
      reason:
        "A batch's node executions are named at run time: the rollout machine may describe and stop any execution of its own stack's node machine, and nothing else.",
    });

    // A batch's node executions (.sync:2: start, describe, stop, and the managed rule Step Functions uses to follow them).
    this.nodeMachine.grantStartExecution(this.rolloutMachine);
    const nodeExecutions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stack.stackName}-node:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.rolloutMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [nodeExecutions],
      }),
    );
    this.rolloutMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
          }),
        ],
      }),
    );
    // Its successor ("continue as new").
    const rolloutArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: `${stack.stackName}-rollout`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.rolloutMachine.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: [rolloutArn] }),
    );

    this.allowlistEnvironment = allowlist;
    this.environment = { ROLLOUT_STATE_MACHINE_ARN: this.rolloutMachine.stateMachineArn, ...allowlist };
  }

  /** Start executions of the rollout machine and read their status (the API's rollouts family, windows, the sweeper). */
  grantControl(grantee: IGrantable): Grant {
    const stack = Stack.of(this);
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stack.stackName}-rollout:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const grant = this.rolloutMachine
      .grantStartExecution(grantee)
      .combine(Grant.addToPrincipal({ grantee, actions: ['states:DescribeExecution'], resourceArns: [executions] }));
    acknowledgeOn(grantee, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stack.stackName}-rollout:*]`,
      reason:
        "Executions are named at run time (rollout id and start time): the function may describe any execution of this stack's rollout machine, and nothing else.",
    });
    return grant;
  }
}
