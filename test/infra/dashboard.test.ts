/**
 * The CloudWatch dashboard beside the alarms: every alarm's state, a graph per metric the functions embed in their
 * log lines (namespace, name, dimensions as `functions/telemetry.ts` writes them), the request lines in Logs Insights.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../../functions/http/routes.js';
import { METRIC_NAMESPACE } from '../../functions/telemetry.js';
import { DASHBOARD_METRICS } from '../../lib/constructs/operations-dashboard.js';
import { readable, synthService } from './synth.js';

describe('the operations dashboard', () => {
  const { stack, template } = synthService();
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(readable(dashboards[0]?.Properties.DashboardBody)) as {
    widgets: { type: string; properties: Record<string, any> }[];
  };
  const metricWidgets = body.widgets.filter((w) => w.type === 'metric');

  it('is one dashboard, its first widget the state of every alarm of the stack', () => {
    expect(dashboards).toHaveLength(1);
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(10);
    const [first] = body.widgets;
    expect(first!.type).toBe('alarm');
    expect(first!.properties.alarms).toHaveLength(alarms.length);
    for (const id of alarms) expect(first!.properties.alarms).toContain(`<${id.replace(/[0-9A-F]{8}$/, '')}.Arn>`);
  });

  it('graphs each EMF metric by its dimensions, in the maintctl namespace', () => {
    const expressions = metricWidgets.map((w) => w.properties.metrics[0][0].expression as string);
    expect(expressions).toHaveLength(Object.keys(DASHBOARD_METRICS).length);
    for (const [name, { dimensions, statistic }] of Object.entries(DASHBOARD_METRICS))
      expect(expressions).toContain(
        `SEARCH('{${METRIC_NAMESPACE},${dimensions.join(',')}} MetricName="${name}"', '${statistic}', 300)`,
      );
    expect(METRIC_NAMESPACE).toBe('maintctl');
  });

  it("queries the request lines in every API function's log group", () => {
    const [query] = body.widgets.filter((w) => w.type === 'log');
    expect(query!.properties.query).toMatch(/^SOURCE '.+' \| fields @timestamp, route, status, code, actor/);
    expect(query!.properties.query).toContain('filter message = "request" and status >= 400');
    expect(query!.properties.query.match(/SOURCE/g)).toHaveLength(Object.keys(FAMILIES).length);
  });

  it('synthesizes without a warning', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('.*'));
    expect(warnings.filter((w) => /Dashboard/.test(w.id))).toEqual([]);
  });
});
