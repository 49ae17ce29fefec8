/**
 * S4: every function's role and both state machines' roles hold exactly the actions and resources their code
 * uses — the whole list asserted, so a grant that widens (or a `grantReadWriteData` coming back) fails here.
 */
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { grantsOf, synthService } from './synth.js';

const on = (resource: string, ...actions: string[]) => actions.map((a) => `${a} on ${resource}`);
const logsOf = (logGroup: string) => on(`<${logGroup}.Arn>`, 'logs:CreateLogStream', 'logs:PutLogEvents');
const TABLE = '<table>';
const READ = on(TABLE, 'dynamodb:GetItem', 'dynamodb:Query');
const WRITE = [...READ, ...on(TABLE, 'dynamodb:PutItem', 'dynamodb:UpdateItem')];
const MUTATE = [...WRITE, ...on(TABLE, 'dynamodb:ConditionCheckItem')];
const ARN = 'arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:';
const arn = (service: string, rest: string) => ARN.replace('{service}', service) + rest;
const START_AND_DESCRIBE_ROLLOUTS = [
  ...on('<RolloutsRollout>', 'states:StartExecution'),
  ...on(arn('states', 'execution:Service-rollout:*'), 'states:DescribeExecution'),
];
const MANAGE_SCHEDULES = [
  ...on(
    arn('scheduler', 'schedule/Service-windows/*'),
    'scheduler:CreateSchedule',
    'scheduler:UpdateSchedule',
    'scheduler:DeleteSchedule',
  ),
  ...on('<WindowsSchedulerRole.Arn>', 'iam:PassRole'),
];

/** By the function's logical id (CDK's hash suffix dropped). */
const EXPECTED: Record<string, string[]> = {
  ControlPlanehealthFunction: logsOf('ControlPlanehealthFunctionLogs'),
  ControlPlaneeventsFunction: [...logsOf('ControlPlaneeventsFunctionLogs'), ...READ],
  ControlPlaneclustersFunction: [
    ...logsOf('ControlPlaneclustersFunctionLogs'),
    ...WRITE,
    ...on(TABLE, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'),
  ],
  ControlPlanemaintenanceFunction: [...logsOf('ControlPlanemaintenanceFunctionLogs'), ...MUTATE],
  ControlPlanerolloutsFunction: [
    ...logsOf('ControlPlanerolloutsFunctionLogs'),
    ...MUTATE,
    ...START_AND_DESCRIBE_ROLLOUTS,
  ],
  ControlPlanewindowsFunction: [
    ...logsOf('ControlPlanewindowsFunctionLogs'),
    ...MUTATE,
    ...on(TABLE, 'dynamodb:DeleteItem'),
    ...MANAGE_SCHEDULES,
  ],
  ControlPlanetokensFunction: [
    ...logsOf('ControlPlanetokensFunctionLogs'),
    ...READ,
    ...on(TABLE, 'dynamodb:PutItem', 'dynamodb:DeleteItem'),
  ],
  ControlPlanemaxscaleFunction: [...logsOf('ControlPlanemaxscaleFunctionLogs'), ...WRITE],
  ControlPlanecassandraFunction: [...logsOf('ControlPlanecassandraFunctionLogs'), ...WRITE],
  ControlPlanegreptimedbFunction: [
    ...logsOf('ControlPlanegreptimedbFunctionLogs'),
    ...READ,
    ...on(TABLE, 'dynamodb:PutItem'),
  ],
  RolloutsTasks: [...logsOf('RolloutsTasksLogs'), ...MUTATE],
  WindowsWindow: [...logsOf('WindowsWindowLogs'), ...MUTATE, ...START_AND_DESCRIBE_ROLLOUTS, ...MANAGE_SCHEDULES],
  Sweeper: [
    ...logsOf('SweeperLogs'),
    ...MUTATE,
    ...START_AND_DESCRIBE_ROLLOUTS,
    ...MANAGE_SCHEDULES,
    ...on('*', 'scheduler:ListSchedules'),
  ],
  // The change-event consumer: settings, silence records and deliveries (functions/store/integrations.ts).
  IntegrationsFunction: [...logsOf('IntegrationsFunctionLogs'), ...WRITE, ...on(TABLE, 'dynamodb:DeleteItem')],
};

/** What Step Functions adds for logging to CloudWatch Logs and X-Ray tracing (no resource-level permissions exist). */
const MACHINE_SERVICE = [
  ...on(
    '*',
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
  ),
  ...on('*', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'),
];
const INVOKE_TASKS = on('<RolloutsTasks.Arn>', 'lambda:InvokeFunction');
const EXPECTED_MACHINES: Record<string, string[]> = {
  RolloutsNode: [...INVOKE_TASKS, ...MACHINE_SERVICE],
  RolloutsRollout: [
    ...INVOKE_TASKS,
    ...MACHINE_SERVICE,
    // a batch's node executions (.sync:2) and the managed rule Step Functions follows them with
    ...on('<RolloutsNode>', 'states:StartExecution'),
    ...on(arn('states', 'execution:Service-node:*'), 'states:DescribeExecution', 'states:StopExecution'),
    ...on(
      arn('events', 'rule/StepFunctionsGetEventsForStepFunctionsExecutionRule'),
      'events:PutTargets',
      'events:PutRule',
      'events:DescribeRule',
    ),
    // its successor
    ...on(arn('states', 'stateMachine:Service-rollout'), 'states:StartExecution'),
  ],
};

const unhash = (id: string) => id.replace(/[0-9A-F]{8}$/, '');

describe('IAM: each role holds exactly what its code uses (S4)', () => {
  const { template } = synthService();
  const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, f]) =>
    String(f.Properties.Runtime).startsWith('nodejs'),
  );
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'));

  it('knows every function of the stack', () => {
    expect(functions.map(([id]) => unhash(id)).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))('%s: exactly its actions on exactly its resources', (name) => {
    const [, fn] = functions.find(([id]) => unhash(id) === name)!;
    expect(grantsOf(template, fn.Properties.Role['Fn::GetAtt'][0])).toEqual([...EXPECTED[name]!].sort());
  });

  it('the state machines invoke only the task function, and start, follow and stop only their own executions', () => {
    expect(machines.map(([id]) => unhash(id)).sort()).toEqual(Object.keys(EXPECTED_MACHINES).sort());
    for (const [id, machine] of machines) {
      expect(grantsOf(template, machine.Properties.RoleArn['Fn::GetAtt'][0]), id).toEqual(
        [...EXPECTED_MACHINES[unhash(id)]!].sort(),
      );
    }
  });

  it('grants no wildcard action to any function or state machine of the project', () => {
    const roles = [
      ...functions.map(([, f]) => f.Properties.Role['Fn::GetAtt'][0] as string),
      ...machines.map(([, m]) => m.Properties.RoleArn['Fn::GetAtt'][0] as string),
    ];
    const actions = roles.flatMap((role) => grantsOf(template, role)).map((line) => line.split(' on ')[0]!);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    expect(new Set(actions.map((a) => a.split(':')[0]))).toEqual(
      new Set(['logs', 'dynamodb', 'states', 'scheduler', 'iam', 'lambda', 'events', 'xray']),
    );
  });
});

describe('IAM with upgrades: the allowlisted functions and the webhook secret go to the task function only', () => {
  const UPGRADE = 'arn:aws:lambda:us-east-1:123456789012:function:upgrade-mariadb';
  const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:maintctl-webhook-AbCdEf';
  const { template } = synthService((stateful) => ({
    upgrades: {
      upgradeFunctions: [LambdaFunction.fromFunctionArn(stateful, 'Upgrade', UPGRADE)],
      webhookHosts: ['deploy.example.com'],
      webhookSecret: Secret.fromSecretCompleteArn(stateful, 'WebhookSecret', SECRET),
    },
  }));
  const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
  const grants = (name: string) =>
    grantsOf(template, functions.find(([id]) => unhash(id) === name)![1].Properties.Role['Fn::GetAtt'][0]);

  it('the task function may invoke exactly the allowlisted ARN and read exactly the secret', () => {
    expect(grants('RolloutsTasks')).toEqual(
      [
        ...EXPECTED.RolloutsTasks!,
        `lambda:InvokeFunction on ${UPGRADE}`,
        `secretsmanager:GetSecretValue on ${SECRET}`,
      ].sort(),
    );
  });

  it('nothing else gains either (the notifications sign with the secret too), and the state machines still invoke only the task function', () => {
    for (const [id, fn] of functions.filter(([id]) => unhash(id) !== 'RolloutsTasks')) {
      expect(
        grantsOf(template, fn.Properties.Role['Fn::GetAtt'][0]).filter(
          (g) => g.includes(UPGRADE) || g.includes(SECRET),
        ),
        id,
      ).toEqual(unhash(id) === 'IntegrationsFunction' ? [`secretsmanager:GetSecretValue on ${SECRET}`] : []);
    }
    for (const [id, machine] of Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))) {
      expect(
        grantsOf(template, machine.Properties.RoleArn['Fn::GetAtt'][0]).filter((g) => g.startsWith('lambda:')),
        id,
      ).toEqual(INVOKE_TASKS);
    }
  });

  it('gives the task function the allowlists it enforces', () => {
    const [, tasks] = functions.find(([id]) => unhash(id) === 'RolloutsTasks')!;
    expect(tasks.Properties.Environment.Variables).toMatchObject({
      MAINTCTL_UPGRADE_FUNCTIONS: UPGRADE,
      MAINTCTL_WEBHOOK_HOSTS: 'deploy.example.com',
      MAINTCTL_WEBHOOK_SECRET_ARN: SECRET,
    });
  });
});
