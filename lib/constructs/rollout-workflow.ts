import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { workflowDefinitions } from '../../workflows/asl.js';
import { FamilyFunction } from './family-function.js';

export interface RolloutWorkflowProps {
  readonly table: ITable;
  /** Functions an `upgrade.kind: "lambda"` may invoke: the state machine's tasks may call nothing else. */
  readonly upgradeFunctions?: readonly IFunction[];
  /** Hosts an `upgrade.kind: "webhook"` may call. */
  readonly webhookHosts?: readonly string[];
  /** The webhook signing secret. */
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

  constructor(scope: Construct, id: string, props: RolloutWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const allowlist = {
      MAINTCTL_WEBHOOK_HOSTS: (props.webhookHosts ?? []).join(','),
      MAINTCTL_UPGRADE_FUNCTIONS: (props.upgradeFunctions ?? []).map((f) => f.functionArn).join(','),
    };
    this.tasks = new FamilyFunction(this, 'Tasks', {
      entry: 'functions/rollout/runtime.ts',
      timeout: Duration.seconds(55),
      environment: { TABLE_NAME: props.table.tableName, ...allowlist, ...(props.webhookSecret && { MAINTCTL_WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn }) },
    });
    props.table.grantReadWriteData(this.tasks);
    props.webhookSecret?.grantRead(this.tasks);
    for (const fn of props.upgradeFunctions ?? []) fn.grantInvoke(this.tasks);

    const definitions = workflowDefinitions();
    const machine = (name: 'Node' | 'Rollout', definition: object, substitutions: Record<string, string>) =>
      new StateMachine(this, name, {
        // A fixed name: the rollout machine starts its own successor, and a policy cannot reference the machine it belongs to.
        stateMachineName: `${stack.stackName}-${name.toLowerCase()}`,
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
        definitionSubstitutions: substitutions,
        logs: { destination: new LogGroup(this, `${name}Logs`, { retention: RetentionDays.ONE_MONTH }), level: LogLevel.ERROR, includeExecutionData: false },
        tracingEnabled: true,
      });
    this.nodeMachine = machine('Node', definitions.node, { TaskFunctionArn: this.tasks.functionArn });
    this.rolloutMachine = machine('Rollout', definitions.rollout, { TaskFunctionArn: this.tasks.functionArn, NodeStateMachineArn: this.nodeMachine.stateMachineArn });
    this.tasks.grantInvoke(this.nodeMachine);
    this.tasks.grantInvoke(this.rolloutMachine);

    // A batch's node executions (.sync:2: start, describe, stop, and the managed rule Step Functions uses to follow them).
    this.nodeMachine.grantStartExecution(this.rolloutMachine);
    const nodeExecutions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${stack.stackName}-node:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.rolloutMachine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [nodeExecutions] }));
    this.rolloutMachine.addToRolePolicy(new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' })],
    }));
    // Its successor ("continue as new").
    const rolloutArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: `${stack.stackName}-rollout`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.rolloutMachine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: [rolloutArn] }));

    this.environment = { ROLLOUT_STATE_MACHINE_ARN: this.rolloutMachine.stateMachineArn, ...allowlist };
  }

  /** The API and the sweeper: start executions, and read their status. */
  grantControl(fn: FamilyFunction): void {
    this.rolloutMachine.grantStartExecution(fn);
    const executions = Stack.of(this).formatArn({ service: 'states', resource: 'execution', resourceName: `${Stack.of(this).stackName}-rollout:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeExecution'], resources: [executions] }));
  }
}
