/**
 * S3: cdk-nag's AwsSolutions pack over both stacks: no finding left, errors and warnings alike; every
 * acknowledgement names its rule (and finding) and gives a reason.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ServiceStack } from '../../lib/service-stack.js';
import { StatefulStack } from '../../lib/stateful-stack.js';
import { siteDirectory } from './synth.js';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

function nag(): { violations: Violation[]; acknowledged: { id: string; reason: string; path: string }[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'maintctl-nag-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'State');
  new ServiceStack(app, 'Service', { table: stateful.tableReference, consoleDirectory: siteDirectory() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let failed: unknown;
  try {
    app.synth();
  } catch (error) {
    failed = error;
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: Violation[] }[];
  };
  rmSync(outdir, { recursive: true, force: true });
  const violations = report.pluginReports.flatMap((p) => p.violations);
  if (failed && violations.length === 0) throw failed;
  const acknowledged = app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([key, reason]) => ({ id: key.replace(/^Annotation::/, ''), reason, path: c.node.path })),
  );
  return { violations, acknowledged };
}

describe('cdk-nag AwsSolutions', () => {
  const { violations, acknowledged } = nag();

  it('leaves no finding unacknowledged (errors and warnings)', () => {
    const findings = violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.severity} ${v.ruleName} at ${c.constructPath}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a specific reason', () => {
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const a of acknowledged) {
      expect(a.id, a.path).toMatch(/^AwsSolutions-[A-Z]+\d+/);
      expect(a.reason.length, `${a.id} at ${a.path}`).toBeGreaterThan(60);
    }
  });

  it('acknowledges only what cannot be fixed: the authorizer, runtime pin, and wildcards the services require', () => {
    const rules = [...new Set(acknowledged.map((a) => a.id.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-CFR1',
      'AwsSolutions-CFR2',
      'AwsSolutions-CFR3',
      'AwsSolutions-CFR4',
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SQS3',
    ]);
  });
});
