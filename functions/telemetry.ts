/**
 * Structured logs and CloudWatch metrics: one JSON object per line on stdout. A line that carries metrics is also an
 * embedded metric format (EMF) document, from which CloudWatch Logs extracts them: no API call, no client.
 *
 * Why not Powertools' Logger and Metrics, which do the same: measured in the bundles, they add 23 and 13 KB to each
 * (P4: ≤ 300 KB, and the largest were at 283–297 KB), for one JSON line per event. The keys are Powertools' (`level`,
 * `message`, `timestamp`, `service`, `correlation_id`), so queries written for them read these lines too.
 */

export const METRIC_NAMESPACE = 'maintctl';

export type Level = 'debug' | 'info' | 'warn' | 'error';
type LogFormat = 'json' | 'pretty';
type Unit = 'Count' | 'Milliseconds' | 'Seconds';

/** Metrics that share one set of dimensions. Dimension values come from bounded sets (families, codes, clusters). */
export interface MetricGroup {
  dimensions: Record<string, string>;
  /** Name → value (several values: several data points), each with its unit. */
  metrics: Record<string, [value: number | number[], unit: Unit]>;
}

export interface LogSettings {
  format: LogFormat;
  write: (line: string) => void;
  /** The least level written; a JSON line that carries metrics is written whatever its level while `metrics` is on. */
  level: Level;
  metrics: boolean;
}

const LEVELS: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

// On Lambda, every line and metric. Elsewhere (scripts, tests' in-process handlers) warnings and errors only, until
// the caller says otherwise: the local server writes them all (`bin/local.ts`).
const onLambda = Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);
let settings: LogSettings = {
  format: 'json',
  write: (line) => process.stdout.write(`${line}\n`),
  level: onLambda ? 'info' : 'warn',
  metrics: onLambda,
};

/** Where the lines go and how they look (the local server: pretty on a terminal; the tests: a buffer). */
export function configureLogs(options: Partial<LogSettings>): LogSettings {
  const previous = settings;
  settings = { ...settings, ...options };
  return previous;
}

/** Whether metrics are written: what measures a change skips the work when not. */
export const metricsEnabled = () => settings.metrics;

/** One EMF document's metadata: a directive per group; the values and dimension values sit at the top level. */
function embed(groups: MetricGroup[]): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  const directives = groups.map(({ dimensions, metrics }) => {
    Object.assign(top, dimensions);
    for (const [name, [value]] of Object.entries(metrics)) top[name] = value;
    return {
      Namespace: METRIC_NAMESPACE,
      Dimensions: [Object.keys(dimensions)],
      Metrics: Object.entries(metrics).map(([Name, [, Unit]]) => ({ Name, Unit })),
    };
  });
  return { ...top, _aws: { Timestamp: Date.now(), CloudWatchMetrics: directives } };
}

/** Groups that can share one document: no dimension with two values, no metric twice. */
function compatible(a: MetricGroup, b: MetricGroup): boolean {
  return (
    Object.entries(b.dimensions).every(([k, v]) => !(k in a.dimensions) || a.dimensions[k] === v) &&
    Object.keys(b.metrics).every((name) => !(name in a.metrics))
  );
}

/**
 * Writes one line (`level`, `message`, the fields) with the groups' metrics embedded; a group that cannot share the
 * line (a dimension with another value) gets a line of its own with the same message and correlation id.
 */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}, groups: MetricGroup[] = []) {
  const lines: MetricGroup[][] = [];
  for (const group of groups) {
    const line = lines.find((l) => l.every((g) => compatible(g, group)));
    if (line) line.push(group);
    else lines.push([group]);
  }
  const [first = [], ...rest] = settings.metrics ? lines : [];
  // A terminal shows what its level asks for: metrics are only collected from JSON lines.
  const metricsOnly = first.length > 0 && settings.format === 'json';
  if (LEVELS[level] >= LEVELS[settings.level] || metricsOnly) write(level, message, fields, first);
  if (settings.format === 'pretty') return;
  const { correlation_id } = fields;
  for (const line of rest) write(level, message, correlation_id ? { correlation_id } : {}, line);
}

function write(level: Level, message: string, fields: Record<string, unknown>, groups: MetricGroup[]): void {
  const entry = {
    level: level.toUpperCase(),
    message,
    timestamp: new Date().toISOString(),
    service: 'maintctl',
    ...fields,
    ...(groups.length && embed(groups)),
  };
  settings.write(settings.format === 'pretty' ? pretty(entry) : JSON.stringify(entry));
}

/** `08:01:02.345 INFO  request route=… status=409 …`: the same fields, without the EMF metadata. */
export function pretty(entry: Record<string, unknown>): string {
  const { level, message, timestamp, service: _service, _aws, ...fields } = entry;
  const pairs = Object.entries(fields).map(
    ([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`,
  );
  return [String(timestamp).slice(11, 23), String(level).padEnd(5), message, ...pairs].join(' ');
}

/** The class of an HTTP status, a bounded dimension: `2xx` … `5xx`. */
export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;
