/** The app as the infra tests synthesize it: bundling skipped, the console from a temporary directory. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { guard } from '../../local/guard.js';
import { ServiceStack, type ServiceStackProps } from '../../lib/service-stack.js';
import { StatefulStack } from '../../lib/stateful-stack.js';

let site: string | undefined;

/** A built console stand-in (the tests must not depend on `console/dist`): one per test process, removed after it. */
export function siteDirectory(): string {
  if (site) return site;
  site = mkdtempSync(join(tmpdir(), 'maintctl-console-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>maintctl</title>');
  guard('rm -rf "$0"', site);
  return site;
}

export function synthService(
  props: Partial<ServiceStackProps> | ((stateful: StatefulStack) => Partial<ServiceStackProps>) = {},
  appProps: ConstructorParameters<typeof App>[0] = {},
) {
  // Bundling is skipped here (the `aws:cdk:bundling-stacks` context); `npm run synth` bundles for real.
  const app = new App({ ...appProps, context: { 'aws:cdk:bundling-stacks': [], ...appProps?.context } });
  const stateful = new StatefulStack(app, 'State');
  const stack = new ServiceStack(app, 'Service', {
    table: stateful.tableReference,
    consoleDirectory: siteDirectory(),
    ...(typeof props === 'function' ? props(stateful) : props),
  });
  return { app, stateful, stack, template: Template.fromStack(stack) };
}

type Json = unknown;

/**
 * A template value as one readable string: `Ref`s and `GetAtt`s by logical id without CDK's hash suffix, the
 * table's cross-stack imports as `<table>` / `<table-stream>`, joins concatenated.
 */
export function readable(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, Json>;
    if ('Ref' in v) {
      // The stateful stack's table, read from its SSM parameters at deploy time.
      if (/^SsmParameterValue\w*tablestreamarn/i.test(String(v.Ref))) return '<table-stream>';
      if (/^SsmParameterValue\w*tablearn/i.test(String(v.Ref))) return '<table>';
      return `<${unhash(String(v.Ref))}>`;
    }
    if ('Fn::GetAtt' in v) {
      const [id, attribute] = v['Fn::GetAtt'] as [string, string];
      return `<${unhash(id)}.${attribute}>`;
    }
    if ('Fn::ImportValue' in v) {
      const name = String(v['Fn::ImportValue']);
      if (/Table\w*StreamArn/.test(name)) return '<table-stream>';
      if (/Table\w*Arn/.test(name)) return '<table>';
      if (/Ref\w*Table/.test(name)) return '<table-name>';
      return `<import ${name}>`;
    }
    if ('Fn::Sub' in v) return String(v['Fn::Sub']);
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map(readable).join(separator);
    }
  }
  return JSON.stringify(value);
}

const unhash = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

export const logicalId = (stack: Stack, element: { node: { defaultChild?: unknown } }) =>
  stack.resolve(stack.getLogicalId(element.node.defaultChild as never)) as string;

/** Every statement granted to a role (inline and attached policies), as `action on resource` lines, sorted. */
export function grantsOf(template: Template, roleLogicalId: string): string[] {
  const lines: string[] = [];
  const add = (statements: Json[]) => {
    for (const s of statements as Array<{ Effect: string; Action: string | string[]; Resource: Json | Json[] }>) {
      if (s.Effect !== 'Allow') throw new Error(`unexpected ${s.Effect}`);
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      for (const a of actions) for (const r of resources) lines.push(`${a} on ${readable(r)}`);
    }
  };
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as Json[]).map((r) => (r as { Ref: string }).Ref);
    if (roles.includes(roleLogicalId)) add(policy.Properties.PolicyDocument.Statement);
  }
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`no role ${roleLogicalId}`);
  for (const p of (role.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Json[] } }>)
    add(p.PolicyDocument.Statement);
  return [...new Set(lines)].sort();
}
