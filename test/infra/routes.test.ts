/** The CDK stack serves exactly the route table, each route on its family's function. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../functions/http/routes.js';
import { ServiceStack } from '../../lib/service-stack.js';
import { StatefulStack } from '../../lib/stateful-stack.js';
import { workflowDefinitions } from '../../workflows/asl.js';

describe('the service stack', () => {
  // Bundling is skipped here (the `aws:cdk:bundling-stacks` context); `npm run synth` bundles for real.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'State');
  const template = Template.fromStack(new ServiceStack(app, 'Service', { table: stateful.tableReference }));

  it('creates one API Gateway route per route-table entry, and $default for the trailing-slash ones', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey as string,
    );
    const trailing = ROUTES.filter((r) => r.path.endsWith('/'));
    expect(trailing.map((r) => r.family)).toEqual(['maxscale', 'maxscale']);
    expect(routes.sort()).toEqual([...ROUTES.filter((r) => !r.path.endsWith('/')).map(routeKey), '$default'].sort());
  });

  it('runs every function on nodejs22.x, arm64', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
      f.Properties.Runtime?.startsWith('nodejs'),
    );
    expect(fns.length).toBeGreaterThanOrEqual(6);
    for (const fn of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it('keeps the table: retained, deletion protection, point-in-time recovery, TTL, stream', () => {
    const table = Template.fromStack(stateful);
    table.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      },
    });
  });
});

describe('the rollout workflow on AWS', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'State');
  const stack = new ServiceStack(app, 'Service', { table: stateful.tableReference });
  const template = Template.fromStack(stack);
  const machines = template.findResources('AWS::StepFunctions::StateMachine');

  it('deploys the ASL the local engine runs: both definitions generated from the XState model, Standard, traced', () => {
    const definitions = workflowDefinitions();
    const byName = Object.fromEntries(
      Object.values(machines).map((m) => [String(m.Properties.StateMachineName), m.Properties]),
    );
    expect(Object.keys(byName).sort()).toEqual(['Service-node', 'Service-rollout']);
    expect(JSON.parse(byName['Service-node']!.DefinitionString)).toEqual(definitions.node);
    expect(JSON.parse(byName['Service-rollout']!.DefinitionString)).toEqual(definitions.rollout);
    expect(Object.keys(byName['Service-rollout']!.DefinitionSubstitutions).sort()).toEqual([
      'NodeStateMachineArn',
      'TaskFunctionArn',
    ]);
    for (const props of Object.values(byName)) {
      expect(props.StateMachineType).toBe('STANDARD');
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
    }
  });

  it('gives the rollouts API, the window function and the sweeper the state machine, and the windows API the allowlists', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.ROLLOUT_STATE_MACHINE_ARN,
    );
    expect(fns).toHaveLength(3);
    const allowlisted = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.MAINTCTL_UPGRADE_FUNCTIONS !== undefined,
    );
    expect(allowlisted).toHaveLength(5); // those three, the windows API and the task function
  });
});

describe('maintenance windows on AWS', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'State');
  const template = Template.fromStack(new ServiceStack(app, 'Service', { table: stateful.tableReference }));

  it('has a schedule group, a window function Scheduler may invoke through its own role, and the API writes the schedules', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Service-windows' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    });
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.WINDOW_SCHEDULE_GROUP,
    );
    expect(fns).toHaveLength(3); // the windows API, the window function and the sweeper (it reconciles)
    const window = fns.find((f) => f.Properties.FunctionName === 'Service-window');
    expect(window).toBeDefined();
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('scheduler:CreateSchedule');
    expect(policies).toContain('iam:PassRole');
  });

  it('one invoke permission per function for the API (not per route), and the API named after its stack', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    const functions = permissions.map((p) => JSON.stringify(p.Properties.FunctionName));
    expect(new Set(functions).size).toBe(functions.length);
    expect(permissions.length).toBeLessThan(ROUTES.length / 3);
    for (const p of permissions) expect(JSON.stringify(p.Properties.SourceArn)).toContain('/*/*/*');
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'Service-api' });
  });

  it('names the log groups services deliver to under /aws/vendedlogs/, and adds one narrow account-wide log resource policy', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'))
      .map((g) => g.Properties.LogGroupName)
      .filter(Boolean);
    expect(groups.sort()).toEqual([
      '/aws/vendedlogs/apigateway/Service-access',
      '/aws/vendedlogs/states/Service-node',
      '/aws/vendedlogs/states/Service-rollout',
    ]);
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    for (const m of machines) expect(JSON.stringify(m.Properties.LoggingConfiguration)).toContain('Logs');
    const policies = Object.values(template.findResources('AWS::Logs::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    // A CloudFormation join (the group's ARN in it): read as text.
    const document = JSON.stringify(policies[0]!.Properties.PolicyDocument);
    expect(document).toContain('events.amazonaws.com');
    expect(document).not.toContain('delivery.logs.amazonaws.com');
  });
});
