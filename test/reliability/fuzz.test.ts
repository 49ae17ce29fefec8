/**
 * R3, bad input: property-based requests (fast-check) over HTTP against the local server, on every route of
 * the route table (the compat families' included: docs/compat.md), on unknown paths and with wrong methods.
 * Most requests carry the admin token so that they get past authentication into validation. The compat
 * families' default clusters point at the fuzzed cluster, so their unprefixed routes act on it too; `ANY`
 * routes get the concrete methods none of their sibling routes takes. For every response: never ≥ 500; every
 * 4xx is in the format of whoever answered it (test/support/compat.ts): the route's family when a route
 * matched (native JSON `{error: {code, message}}`, MaxScale's `{"errors":[...]}` or its empty 404, Cassandra's
 * and GreptimeDB's plain text; bodies over the limit get the family's 413 too), else the local stand-in for
 * API Gateway, whose 404 and 405 are native JSON. For state: a request answered with anything
 * but 2xx makes no successful DynamoDB write (watched per request by an SDK middleware), and per batch the
 * fuzzed cluster's revision, its servers, the cluster list and the token list, read with the admin token
 * before and after, are unchanged unless a request of the batch succeeded that may change state (anything but
 * a read: GreptimeDB's legacy `GET /admin/maintenance?enable=` counts as a change, Cassandra's `PUT /config` as
 * a read); new audit events must carry the request id of such a 2xx answer of that batch.
 *
 * FUZZ_SEED=<n> replays a run (the seed is logged); FUZZ_RUNS=<batches> changes the size (default 1,000
 * batches of 10 requests); FUZZ_SHRINK=1 shrinks a counterexample (slow: the server state moves on).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as apiSchemas from '../../functions/api/schemas.js';
import { windowBody } from '../../functions/windows/input.js';
import { familyOfPath } from '../../functions/http/handler.js';
import { isCompat, matchRoute, ROUTES, routeKey, type Family, type Route } from '../../functions/http/routes.js';
import { anyMethods, errorFormatProblems, mayChange, setDefaultClusters, unprefixed } from '../support/compat.js';
import { createToken, httpEnv, type HttpEnv } from '../support/env.js';
import { rawHttp, type RawAnswer } from '../support/raw-http.js';
import { reported } from '../support/reliability-report.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, not ${process.env.FUZZ_SEED}`);
const BATCHES = Number(process.env.FUZZ_RUNS ?? 1000);
const BATCH_SIZE = 10;
const MIN_REQUESTS = 10_000;
const LIMIT = 64 * 1024;

const FIXTURE_SERVERS = [
  { name: 'db1', dc: 'dc1', role: 'primary' },
  { name: 'db2', dc: 'dc1', role: 'replica' },
  { name: 'db3', dc: 'dc1', role: 'replica' },
  { name: 'db4', dc: 'dc2', role: 'replica' },
  { name: 'db5', dc: 'dc2', role: 'replica' },
] as const;

// ---- the request model: plain data, with symbols resolved at send time --------------------------------------

type Segment = { sym: 'cluster' } | { sym: 'token-id'; pick: number } | { raw: string };
type Auth =
  | 'admin'
  | 'viewer'
  | 'agent'
  | 'operator'
  | 'none'
  | 'bad-token'
  | 'basic-admin'
  | 'basic-wrong-user'
  | 'lower-case-bearer'
  | 'bearer-extra-spaces'
  | 'bearer-empty'
  | 'basic-junk'
  | 'empty'
  | { junk: string };

interface FuzzRequest {
  /** What was aimed at: a route key, 'unknown path' or 'wrong method'. */
  label: string;
  method: string;
  route?: Route;
  params: Record<string, Segment>;
  /** For unknown paths: the raw path. */
  rawPath?: string;
  query: string;
  auth: Auth;
  headers: [string, string][];
  body?: { kind: string; bytes: Buffer };
}

const visible = (max: number, min = 0) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });
const pct = (bytes: Uint8Array) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
const enc = (s: string) => encodeURIComponent(s);

const JUNK_SEGMENTS = [
  '%',
  '%Z',
  '%ZZ',
  '%2F',
  '%2f',
  '%00',
  '%FF',
  '%C3%28',
  '%ED%A0%80',
  '.',
  '..',
  '%2e%2e',
  '%2E',
  'a%20b',
  '~',
  ':',
  '@',
  "'",
  '(',
  ')',
  '*',
  '!',
  '$',
  '&',
  '+',
  ',',
  ';',
  '=',
  '%252F',
  '%0A',
  '%0D%0A',
  '%09',
  '%7F',
  '%E2%80%AE',
  '%F0%9F%92%A9',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'NaN',
  '-1',
  '0',
  '-x',
  '_x',
  'UPPER',
  'a.b',
  'a..b',
  '-',
  '_',
];

/** A path segment: mostly valid names (existing or not), else invalid names, percent-encoded junk, long strings. */
function segmentArb(param: string): fc.Arbitrary<Segment> {
  const existing: fc.Arbitrary<Segment>[] =
    {
      c: [fc.constant<Segment>({ sym: 'cluster' })],
      s: [fc.constantFrom(...FIXTURE_SERVERS.map((s) => s.name)).map((raw): Segment => ({ raw }))],
      pod: [fc.constantFrom(...FIXTURE_SERVERS.map((s) => s.name)).map((raw): Segment => ({ raw }))],
      dc: [fc.constantFrom('dc1', 'dc2').map((raw): Segment => ({ raw }))],
      id: [fc.nat().map((pick): Segment => ({ sym: 'token-id', pick }))],
    }[param] ?? [];
  const validButUnknown = fc
    .oneof(
      fc.constantFrom('nope', 'db99', 'dc9', 'zz-top', 'a', '0', 'abcdef0123456789', 'Db1', 'us-east-1'),
      fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/),
    )
    .map((s): Segment => ({ raw: enc(s) }));
  const invalid = fc.oneof(
    fc.constantFrom(...JUNK_SEGMENTS).map((raw): Segment => ({ raw })),
    fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b): Segment => ({ raw: pct(b) })),
    visible(40, 1).map((s): Segment => ({ raw: enc(s) })),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s): Segment => ({ raw: enc(s) })),
    fc.constantFrom(63, 64, 65, 127, 128, 129, 200, 1000, 4000).map((n): Segment => ({ raw: 'a'.repeat(n) })),
  );
  return existing.length
    ? fc.oneof(
        { weight: 12, arbitrary: fc.oneof(...existing) },
        { weight: 2, arbitrary: validButUnknown },
        { weight: 3, arbitrary: invalid },
      )
    : fc.oneof(validButUnknown, invalid);
}

// Query parameters: the keys the query schemas know, with good and bad values, and keys nobody knows.
const shapeOf = (schema: unknown): string[] => Object.keys((schema as { shape?: object }).shape ?? {});
/** The API's request schemas and a window's (whose `rollout` is the rollout input: its numbers reach DynamoDB too). */
const schemas = { ...apiSchemas, windowBody };
const QUERY_KEYS = [
  ...new Set(
    Object.entries(schemas)
      .filter(([n]) => n.endsWith('Query'))
      .flatMap(([, s]) => shapeOf(s)),
  ),
];
const BODY_SHAPES = Object.entries(schemas)
  .filter(([n]) => n.endsWith('Body'))
  .map(([, s]) => shapeOf(s))
  .filter((k) => k.length > 0);
const BODY_KEYS = [...new Set(BODY_SHAPES.flat())];

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const QUERY_VALUES: Record<string, fc.Arbitrary<string>> = {
  limit: fc.constantFrom(
    '1',
    '2',
    '10',
    '1000',
    '0',
    '1001',
    '-5',
    'abc',
    '1e3',
    '1.5',
    '',
    '0x10',
    ' 7',
    '99999999999999999999999',
    'Infinity',
    'NaN',
  ),
  cursor: fc.oneof(
    fc.constantFrom(
      b64('db1'),
      b64('db3'),
      b64('EV#000000000001#000'),
      b64('EV#999999999999#999'),
      b64('x'.repeat(200)),
      '!!',
      '',
    ),
    visible(60),
    fc.constant('c'.repeat(1100)),
  ),
  since: fc.constantFrom(
    new Date(Date.now() - 3600_000).toISOString(),
    '2020-02-30T00:00:00Z',
    'yesterday',
    '0',
    '9999-12-31T23:59:59+23:59',
    '2024-01-01T00:00:00.123456789Z',
    '',
  ),
  server: fc.constantFrom('db1', 'db2', 'nope', '-x', 'a'.repeat(200), ''),
  action: fc.constantFrom('set-maintenance', 'status', 'register-server', 'X', 'a-', ''),
  mode: fc.constantFrom('maintenance', 'drain', 'MAINTENANCE', 'both', ''),
  override: fc.constantFrom('true', 'false', 'yes', '1', ''),
  dryRun: fc.constantFrom('true', 'false', 'TRUE', '0', ''),
};
const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  {
    weight: 5,
    arbitrary: fc
      .array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: fc
              .constantFrom(...QUERY_KEYS)
              .chain((k) => (QUERY_VALUES[k] ?? visible(20)).map((v) => `${enc(k)}=${enc(v)}`)),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(
                fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x', 'limit[]', ''),
                visible(20),
              )
              .map(([k, v]) => `${enc(k)}=${enc(v)}`),
          },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              '%ZZ',
              '&&',
              '=',
              'a==b',
              'limit',
              'limit=%',
              '%00=%00',
              'dryRun=true&dryRun=false',
              'limit=1&limit=2',
            ),
          },
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((parts) => parts.join('&')),
  },
);

// The compat families' own query parameters (docs/compat.md): MaxScale's state/force/sync/pretty in any order,
// GreptimeDB's enable; mostly values that work, now and then ones that do not.
const maxscaleQuery: fc.Arbitrary<string> = fc
  .record({
    state: fc.option(
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc
            .constantFrom('maintenance', 'maint', 'drain', 'MAINTENANCE', 'Maint', 'DRAIN')
            .map((v) => `state=${v}`),
        },
        {
          weight: 1,
          arbitrary: fc
            .oneof(
              fc.constantFrom('', 'running', 'maintenance,drain', 'Master', '%00', 'maintenance%20', '%ZZ'),
              visible(12).map(enc),
            )
            .map((v) => `state=${v}`),
        },
        { weight: 1, arbitrary: fc.constantFrom('state', 'state=maint&state=drain', 'STATE=drain') },
      ),
      { freq: 8, nil: undefined },
    ),
    force: fc.option(
      fc.constantFrom('yes', 'true', 'on', '1', 'no', '0', '', 'YES', 'maybe', 'yes&force=no').map((v) => `force=${v}`),
      { freq: 2, nil: undefined },
    ),
    extras: fc.subarray(['sync=false', 'pretty=false', 'sync=true', 'pretty=true']),
  })
  .chain(({ state, force, extras }) => {
    const parts = [state, force, ...extras].filter((p): p is string => p !== undefined);
    return fc.shuffledSubarray(parts, { minLength: parts.length, maxLength: parts.length });
  })
  .map((parts) => parts.join('&'));
const enableQuery: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('enable=true', 'enable=false') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'enable=',
      'enable',
      'enable=TRUE',
      'enable=yes',
      'enable=1',
      'enable=true&enable=false',
      'enable=%ZZ',
      'Enable=true',
      'enable=true&x=1',
    ),
  },
);
/** The query a route's clients send: its family's parameters where it has some, else the native keys. */
function routeQueryArb(route: Route): fc.Arbitrary<string> {
  const path = unprefixed(route.path);
  if (route.family === 'maxscale' && /\/(set|clear)$/.test(path))
    return fc.oneof({ weight: 5, arbitrary: maxscaleQuery }, { weight: 1, arbitrary: queryArb });
  if (route.family === 'greptimedb' && path === '/admin/maintenance') {
    // The GET reads without `enable` and changes maintenance mode with it.
    return route.method === 'GET'
      ? fc.oneof(
          { weight: 3, arbitrary: enableQuery },
          { weight: 2, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: queryArb },
        )
      : fc.oneof({ weight: 5, arbitrary: enableQuery }, { weight: 1, arbitrary: queryArb });
  }
  return queryArb;
}

// Bodies: objects built from the request schemas (right and wrong types, unknown fields), arbitrary JSON,
// invalid JSON, huge numbers, deep nesting, bytes that are not UTF-8, empty, and more than 64 KiB.
const future = (ms: number) => new Date(Date.now() + ms).toISOString();
/** Numbers at and past the edges of what DynamoDB stores (0, or a magnitude from 1e-130 to 9.99…e125) and of doubles. */
const EXTREME_NUMBERS = [
  1e-200,
  -1e-200,
  1e-131,
  1e-130,
  Number.MIN_VALUE,
  -0,
  1e125,
  1e126,
  -1e126,
  1e300,
  2 ** 53 + 1,
];
const extremeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...EXTREME_NUMBERS),
  fc.double({ min: -1e-100, max: 1e-100, noNaN: true }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/** Mostly a good value, now and then an extreme number. */
const orExtreme = (good: fc.Arbitrary<number>) =>
  fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: extremeNumber });

// A window (docs/windows.md): schedules of every form, at and past the bounds (a rate of at most 365 days; huge
// counts once made Dates out of range), durations and start dates at their extremes, and a rollout body.
const WINDOW_FIELD: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.constantFrom('sunday-patch', 'w', 'w 1'),
  schedule: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'cron(30 2 ? * SUN *)',
        'cron(0 0 31 12 ? 2199)',
        'rate(12 hours)',
        'rate(1 minute)',
        'rate(365 days)',
        'rate(8760 hours)',
        'rate(525600 minutes)',
        'at(2099-01-01T00:00:00)',
        'at(9999-12-31T23:59:59)',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'rate(366 days)',
        'rate(525601 minutes)',
        'rate(99999999999 days)',
        `rate(${'9'.repeat(240)} minutes)`,
        'cron(0/99999999999 0 ? * MON *)',
        'at(0000-01-01T00:00:00)',
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.constantFrom('minutes', 'hours', 'days'))
        .map(([n, unit]) => `rate(${n} ${unit})`),
    },
  ),
  timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Pacific/Kiritimati', 'UTC', 'Mars/Olympus'),
  startDate: fc.constantFrom(
    '2030-01-01T00:00:00Z',
    '2030-01-01T02:30:00',
    '9999-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '1970-01-01T00:00:00.000000001Z',
  ),
  duration: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('PT2H', 'PT30M', 'P1D', `PT0.${'0'.repeat(19)}1M`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('PT24H1S', 'P99999999999999999999Y', `PT${'9'.repeat(20)}.${'9'.repeat(20)}S`),
    },
  ),
  action: fc.constantFrom('maintenance', 'maintenance', 'maintenance', 'cluster-maintenance', 'rollout'),
  targets: fc.constantFrom({ servers: ['db2'] }, { dcs: ['dc2'] }, { servers: ['db4', 'db5'] }),
  enabled: fc.boolean(),
  rollout: fc.record(
    {
      targetVersion: fc.constantFrom('10.11.7'),
      batchSize: orExtreme(fc.constantFrom(1, 2)),
      drainTimeoutSeconds: orExtreme(fc.constantFrom(0, 300)),
      upgrade: fc.record(
        { kind: fc.constant('wait-for-report'), timeoutSeconds: orExtreme(fc.constant(1800)) },
        { requiredKeys: ['kind'] },
      ),
      verify: fc.record(
        {
          stableForSeconds: orExtreme(fc.constant(30)),
          maxReplicationLagSeconds: orExtreme(fc.constantFrom(0, 0.5, 1e-130, 86400)),
          timeoutSeconds: orExtreme(fc.constant(600)),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['targetVersion'] },
  ),
};
/**
 * Windows whose parts agree (a rollout body exactly when the action is `rollout`; targets for maintenance; always
 * a startDate), so that many pass validation and reach the store and the listing of next starts, where a huge
 * rate once became a 500; their extremes (rates, durations, a rollout's numbers) are then the only thing wrong.
 */
const w = WINDOW_FIELD as Record<
  'name' | 'schedule' | 'timezone' | 'startDate' | 'duration' | 'targets' | 'rollout',
  fc.Arbitrary<unknown>
>;
const coherentWindow: fc.Arbitrary<{ kind: string; bytes: Buffer }> = fc
  .oneof(
    fc.record(
      {
        name: w.name,
        schedule: w.schedule,
        timezone: w.timezone,
        startDate: w.startDate,
        duration: w.duration,
        targets: w.targets,
      },
      { requiredKeys: ['name', 'schedule', 'startDate', 'duration', 'targets'] },
    ),
    fc.record(
      {
        name: w.name,
        schedule: w.schedule,
        timezone: w.timezone,
        startDate: w.startDate,
        duration: w.duration,
        action: fc.constant('cluster-maintenance'),
      },
      { requiredKeys: ['name', 'schedule', 'startDate', 'duration', 'action'] },
    ),
    fc.record(
      {
        name: w.name,
        schedule: w.schedule,
        timezone: w.timezone,
        startDate: w.startDate,
        duration: w.duration,
        action: fc.constant('rollout'),
        rollout: w.rollout,
      },
      { requiredKeys: ['name', 'schedule', 'startDate', 'duration', 'action', 'rollout'] },
    ),
  )
  .map((o) => ({ kind: 'window', bytes: Buffer.from(JSON.stringify(o)) }));

const VALID_FIELD: Record<string, fc.Arbitrary<unknown>> = {
  engine: fc.constantFrom('mariadb', 'cassandra', 'greptimedb', 'generic'),
  budget: fc.record({ maxUnavailablePerDc: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: [] }),
  staleAfterSeconds: fc.constantFrom(5, 60, 86400),
  dc: fc.constantFrom('dc1', 'dc2', 'dc3'),
  address: fc.constantFrom('10.0.0.1', 'db.example.com'),
  port: fc.integer({ min: 1, max: 65535 }),
  role: fc.constantFrom('primary', 'replica', 'member', 'viewer', 'agent', 'operator', 'admin'),
  component: fc.constantFrom('mysqld', 'maxscale'),
  mode: fc.constantFrom('maintenance', 'drain'),
  force: fc.boolean(),
  override: fc.boolean(),
  dryRun: fc.boolean(),
  reason: fc.string({ maxLength: 30 }),
  ttl: fc.oneof(fc.integer({ min: 1, max: 7200 }), fc.constantFrom('2h', '30m', '1h30m', '90s', '1d')),
  until: fc.integer({ min: 60_000, max: 7 * 86400_000 }).map(future),
  drainTimeoutSeconds: fc.integer({ min: 0, max: 600 }),
  onDeadline: fc.constantFrom('force', 'hold'),
  health: fc.constantFrom('running', 'down'),
  connections: fc.integer({ min: 0, max: 20 }),
  openTransactions: fc.integer({ min: 0, max: 3 }),
  version: fc.constantFrom('10.11.6', '11.4.2'),
  replicationLagSeconds: fc.double({ min: 0, max: 100, noNaN: true }),
  to: fc.constantFrom(...FIXTURE_SERVERS.map((s) => s.name), 'nope'),
  user: fc.constantFrom('alice', 'bob@example.com'),
  clusters: fc.constantFrom(['fuzz'], ['nope'], ['fuzz', 'other']),
  ...WINDOW_FIELD,
};
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(-1, 0, 1.5, 2 ** 53 + 1, Number.MAX_VALUE, -Number.MAX_VALUE, 1e-300),
  extremeNumber,
  fc.constantFrom('', ' ', 'x'.repeat(600), '2h2h', '-1', '31d', '0s', '1e3', '\u0000', '\ud800', '\u202e'),
  fc.constantFrom(new Date(Date.now() - 60_000).toISOString(), future(40 * 86400_000), 'tomorrow'),
  fc.jsonValue({ maxDepth: 3 }),
);
const fieldValue = (key: string) =>
  VALID_FIELD[key]
    ? fc.oneof({ weight: 4, arbitrary: VALID_FIELD[key]! }, { weight: 1, arbitrary: wrongValue })
    : wrongValue;

const schemaObject: fc.Arbitrary<Record<string, unknown>> = fc
  .oneof(fc.constantFrom(...BODY_SHAPES), fc.subarray(BODY_KEYS, { maxLength: 4 }))
  .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, fieldValue(k)])), { requiredKeys: [] }))
  .chain((object) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(object) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom('unknown', 'Reason', '__proto__', 'constructor', ''), wrongValue)
          .map(([k, v]) => ({ ...object, [k]: v })),
      },
    ),
  );

const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '1.7976931348623157e309',
  '-0',
  '0.0000000000000000000001',
  '1E2',
  '9007199254740993',
  '1e-200',
  '-1e-131',
  '5e-324',
  '1e-400',
  '1e126',
  '-1e126',
];
const INVALID_JSON = [
  '{',
  '}',
  '{"a":',
  "{'a':1}",
  '{"a":1,}',
  '[1,]',
  'NaN',
  'undefined',
  '{"reason":"\\x"}',
  '{"a":1}{"b":2}',
  '"\\ud800"',
  'nul',
  ' ',
  '\n',
  '\u0000',
  '{"health":"running"',
  '[]',
  'null',
  'true',
  '1',
  '"x"',
];

const bodyArb: fc.Arbitrary<{ kind: string; bytes: Buffer }> = fc.oneof(
  { weight: 10, arbitrary: schemaObject.map((o) => ({ kind: 'schema', bytes: Buffer.from(JSON.stringify(o)) })) },
  {
    weight: 2,
    arbitrary: fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => ({ kind: 'json', bytes: Buffer.from(JSON.stringify(v) ?? 'null') })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...INVALID_JSON).map((s) => ({ kind: 'invalid-json', bytes: Buffer.from(s) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...BODY_KEYS), fc.constantFrom(...HUGE_NUMBERS))
      .map(([k, n]) => ({ kind: 'huge-number', bytes: Buffer.from(`{"${k}":${n}}`) })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ kind: 'bytes', bytes: Buffer.from(b) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
        Buffer.from('{"reason":"\xff\xfe"}', 'latin1'),
        Buffer.from([0x7b, 0x22, 0x72, 0x65, 0x61, 0x73, 0x6f, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      )
      .map((bytes) => ({ kind: 'not-utf8', bytes })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty', bytes: Buffer.alloc(0) }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 20_000 })
      .map((n) => ({ kind: 'deep', bytes: Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 5_000 })
      .map((n) => ({ kind: 'deep-object', bytes: Buffer.from(`${'{"reason":'.repeat(n)}1${'}'.repeat(n)}`) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.constant(LIMIT), fc.constant(LIMIT + 1), fc.integer({ min: LIMIT - 16, max: LIMIT + 4096 }))
      .map((n) => ({
        kind: `size-${n > LIMIT ? 'over' : 'at'}-limit`,
        bytes: Buffer.from(`{"reason":"${'r'.repeat(Math.max(0, n - 14))}"}`),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 40_000 })
      .map((n) => ({ kind: 'big-multibyte', bytes: Buffer.from(`{"reason":"${'é'.repeat(n)}"}`) })),
  },
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/vnd.api+json',
  'application/json;charset=latin1',
  'text/plain',
  'text/json',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/xml',
  'json',
  '',
  '*/*',
  'application/json, text/plain',
];
const contentTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: visible(40) },
);

const authArb: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 40, arbitrary: fc.constant<Auth>('admin') },
  {
    weight: 10,
    arbitrary: fc.constantFrom<Auth>(
      'viewer',
      'agent',
      'operator',
      'none',
      'bad-token',
      'basic-admin',
      'basic-wrong-user',
      'lower-case-bearer',
      'bearer-extra-spaces',
      'bearer-empty',
      'basic-junk',
      'empty',
    ),
  },
  { weight: 1, arbitrary: visible(80).map((junk): Auth => ({ junk })) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 60 })
      .map((b): Auth => ({ junk: `Basic ${Buffer.from(b).toString('base64')}` })),
  },
);

const ETAG = '$etag';
const headerEntry: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constant('if-match'),
    fc.oneof(fc.constant(ETAG), fc.constantFrom('*', '"1-0"', 'W/"1-0"', '', ',,,', '"x", *', 'W/'), visible(60)),
  ),
  fc.tuple(
    fc.constant('if-none-match'),
    fc.oneof(fc.constant(ETAG), fc.constantFrom('*', '"1-0"', '', ','), visible(60)),
  ),
  fc.tuple(
    fc.constant('idempotency-key'),
    fc.oneof(
      fc.constantFrom('k1', 'k2', 'k3'),
      fc.constantFrom('', ' ', 'a b', 'x'.repeat(256), 'x'.repeat(255)),
      visible(80),
      fc.uuid(),
    ),
  ),
  fc.tuple(fc.constant('x-requested-with'), fc.constantFrom('XMLHttpRequest', 'xmlhttprequest', 'fetch', '')),
  fc.tuple(
    fc.constantFrom('accept', 'x-junk', 'cookie', 'x-forwarded-for', 'origin', 'x-request-id', 'content-encoding'),
    visible(100),
  ),
);
const headerArb: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 2, arbitrary: fc.array(headerEntry, { minLength: 1, maxLength: 3 }) },
);

const OTHER_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PURGE'];

/**
 * The request schema each route reads its body with (the handlers' `jsonBody` calls), so that a good share of
 * bodies is nearly right for the route: required fields present, mostly valid values, now and then one wrong
 * type or unknown field. A route missing here still gets every other kind of body.
 */
const ROUTE_BODY: Record<string, keyof typeof schemas> = {
  'PUT /v1/clusters/{c}': 'clusterBody',
  'PUT /v1/clusters/{c}/servers/{s}': 'serverBody',
  'PUT /v1/clusters/{c}/servers/{s}/maintenance': 'maintenanceBody',
  'PUT /v1/clusters/{c}/dcs/{dc}/maintenance': 'maintenanceBody',
  'PUT /v1/clusters/{c}/maintenance': 'clusterMaintenanceBody',
  'PUT /v1/clusters/{c}/servers/{s}/status': 'statusBody',
  'POST /v1/clusters/{c}/failover': 'failoverBody',
  'POST /v1/clusters/{c}/switchover': 'switchoverBody',
  'POST /v1/tokens': 'tokenBody',
  // (Not the rollouts' POST: a rollout it started would change the servers between batches.)
  'POST /v1/clusters/{c}/windows': 'windowBody',
  'PUT /v1/clusters/{c}/windows/{id}': 'windowBody',
};

function nearlyValidBody(schemaName: keyof typeof schemas): fc.Arbitrary<{ kind: string; bytes: Buffer }> {
  const shape = (
    schemas[schemaName] as unknown as { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> }
  ).shape;
  const keys = Object.keys(shape);
  const required = keys.filter((k) => !shape[k]!.safeParse(undefined).success);
  // A sample is valid for this schema only if the schema says so (`role` means different things in two bodies).
  const valid = (k: string) => (VALID_FIELD[k] ?? wrongValue).filter((v) => shape[k]!.safeParse(v).success);
  return fc
    .record(
      Object.fromEntries(
        keys.map((k) => [k, fc.oneof({ weight: 12, arbitrary: valid(k) }, { weight: 1, arbitrary: wrongValue })]),
      ),
      { requiredKeys: required },
    )
    .chain((object) =>
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(object) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom('unknown', 'Reason', '__proto__', ''), wrongValue)
            .map(([k, v]) => ({ ...object, [k]: v })),
        },
      ),
    )
    .map((o) => ({ kind: 'nearly-valid', bytes: Buffer.from(JSON.stringify(o)) }));
}

/** One arbitrary per route, built once (building arbitraries is the expensive part of generating). */
const segmentArbs = new Map<string, fc.Arbitrary<Segment>>();
const segmentFor = (name: string) => segmentArbs.get(name) ?? segmentArbs.set(name, segmentArb(name)).get(name)!;
const routeArbs = ROUTES.map((route) => {
  const schemaName = ROUTE_BODY[routeKey(route)];
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  // An `ANY` route is called with the concrete methods none of its siblings takes.
  const methods = route.method === 'ANY' ? anyMethods(route, OTHER_METHODS) : [route.method];
  return fc
    .record({
      method: fc.constantFrom(...methods),
      params: fc.record(Object.fromEntries(names.map((n) => [n, segmentFor(n)]))) as fc.Arbitrary<
        Record<string, Segment>
      >,
      query: routeQueryArb(route),
      auth: authArb,
      headers: headerArb,
      body: fc.option(
        schemaName === 'windowBody'
          ? fc.oneof(
              { weight: 2, arbitrary: coherentWindow },
              { weight: 1, arbitrary: nearlyValidBody(schemaName) },
              { weight: 2, arbitrary: bodyArb },
            )
          : schemaName
            ? fc.oneof({ weight: 2, arbitrary: nearlyValidBody(schemaName) }, { weight: 3, arbitrary: bodyArb })
            : bodyArb,
        { freq: 4, nil: undefined },
      ),
      contentType: fc.option(contentTypeArb, { freq: 6, nil: undefined }),
    })
    .map(
      ({ method, params, query, auth, headers, body, contentType }): FuzzRequest => ({
        label: routeKey(route),
        method,
        route,
        params,
        query,
        auth,
        headers: contentType === undefined ? headers : [...headers, ['content-type', contentType]],
        ...(body && { body }),
      }),
    );
});
const routeRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(...routeArbs);

const wrongMethodRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(routeRequest, fc.constantFrom(...OTHER_METHODS))
  .filter(([r, m]) => m !== r.method && !ROUTES.some((x) => x.path === r.route!.path && x.method === m))
  .map(([r, method]) => ({ ...r, label: 'wrong method', method }));

const unknownPathRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    rawPath: fc.oneof(
      fc.constantFrom(
        '/',
        '/v1',
        '/v1/',
        '/v2/health',
        '/V1/health',
        '/v1/health/',
        '/v1//clusters',
        '/v1/clusters/',
        '/v1/tokens/',
        '/v1/nope',
        '/v1/clusters/fuzz/servers/db1/extra',
        '/v1/clusters/fuzz/rollouts',
        '/v1/clusters/fuzz/windows',
        '/console/',
        '/favicon.ico',
        '/v1/clusters/fuzz/servers/db1/maintenance/x',
        '/v1/clusters/fuzz/dcs',
        '/v1/clusters/fuzz/dcs/dc1',
        '/v1/%2e%2e/v1/tokens',
        '/v1/clusters/%2Fetc%2Fpasswd',
        '/v1/health?x',
        '//v1/health',
        '/v1/clusters/fuzz/../../tokens',
        '/pods',
        '/pods/',
        '/dcs/',
        '/config/',
        '/c/fuzz',
        '/c/fuzz/',
        '/c/fuzz/pods',
        '/c//pods/db1',
        '/c/fuzz/c/fuzz/pods/db1',
        '/C/fuzz/pods/db1',
        '/admin',
        '/admin/maintenance/',
        '/admin/maintenance/x',
        '/admin/procedure-manager',
        '/c/fuzz/admin/procedure-manager/status/x',
        '/v1/servers/',
        '/v1/servers/db1/',
        '/v1/servers/db1/set/x',
        '/v1/servers/db1/state',
        '/c/fuzz/v1',
        '/c/fuzz/v1/servers/',
        '/c/fuzz/../../tokens',
        '/pods/db1/../../v1/tokens',
        '/c/%2e%2e/v1/servers',
      ),
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              'v1',
              'clusters',
              'fuzz',
              'servers',
              'tokens',
              'x',
              '',
              'c',
              'pods',
              'dcs',
              'config',
              'admin',
              'maintenance',
              'set',
            ),
            visible(10).map(enc),
          ),
          { minLength: 1, maxLength: 7 },
        )
        .map((s) => `/${s.join('/')}`),
    ),
    method: fc.constantFrom(...OTHER_METHODS),
    query: queryArb,
    auth: authArb,
    headers: headerArb,
    body: fc.option(bodyArb, { freq: 3, nil: undefined }),
  })
  .map(
    ({ rawPath, method, query, auth, headers, body }): FuzzRequest => ({
      label: 'unknown path',
      method,
      params: {},
      rawPath,
      query,
      auth,
      headers: body ? [...headers, ['content-type', 'application/json']] : headers,
      ...(body && { body }),
    }),
  );

/** How fast-check prints a counterexample: short, whatever the body's size. */
const printable = (r: FuzzRequest): FuzzRequest =>
  Object.defineProperty(r, fc.toStringMethod, {
    enumerable: false,
    value: () => {
      const path = r.rawPath ?? r.route!.path.replace(/\{(\w+)\}/g, (_, n: string) => JSON.stringify(r.params[n]));
      const body = r.body
        ? `${r.body.kind}:${r.body.bytes.length}B:${JSON.stringify(r.body.bytes.subarray(0, 120).toString('latin1'))}`
        : 'none';
      return `${r.method} ${path.slice(0, 200)}?${r.query.slice(0, 200)} auth=${JSON.stringify(r.auth)} headers=${JSON.stringify(r.headers).slice(0, 200)} body=${body}`;
    },
  });

const requestArb = fc
  .oneof(
    { weight: 16, arbitrary: routeRequest },
    { weight: 2, arbitrary: wrongMethodRequest },
    { weight: 2, arbitrary: unknownPathRequest },
  )
  .map(printable);

// ---- the harness --------------------------------------------------------------------------------------------

let env: HttpEnv;
let port: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const secrets: Record<'admin' | 'viewer' | 'agent' | 'operator', string> = {
  admin: '',
  viewer: '',
  agent: '',
  operator: '',
};
const fixture = { cluster: 'fuzz', generation: 0, etag: '"0-0"', tokenIds: [] as string[] };

/** One request on the kept-alive connection, exactly as generated. */
const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawAnswer> =>
  rawHttp(`http://127.0.0.1:${port}`, method, path, { headers, agent, ...(body && { body }) });

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

function authorization(auth: Auth): string | undefined {
  if (typeof auth === 'object') return auth.junk;
  switch (auth) {
    case 'admin':
    case 'viewer':
    case 'agent':
    case 'operator':
      return `Bearer ${secrets[auth]}`;
    case 'none':
      return undefined;
    case 'bad-token':
      return `Bearer mct_${randomBytes(32).toString('base64url')}`;
    case 'basic-admin':
      return basic('admin', secrets.admin);
    case 'basic-wrong-user':
      return basic('mallory', secrets.admin);
    case 'lower-case-bearer':
      return `bearer ${secrets.admin}`;
    case 'bearer-extra-spaces':
      return `Bearer    ${secrets.admin}  `;
    case 'bearer-empty':
      return 'Bearer ';
    case 'basic-junk':
      return 'Basic ###';
    case 'empty':
      return '';
  }
}

function pathOf(r: FuzzRequest): string {
  const path =
    r.rawPath ??
    r.route!.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const seg = r.params[name]!;
      if ('raw' in seg) return seg.raw;
      if (seg.sym === 'cluster') return fixture.cluster;
      return fixture.tokenIds[seg.pick % Math.max(1, fixture.tokenIds.length)] ?? 'none';
    });
  return r.query ? `${path}${path.includes('?') ? '&' : '?'}${r.query}` : path;
}

const describeRequest = (r: FuzzRequest, path: string) =>
  `${r.method} ${path.length > 300 ? `${path.slice(0, 300)}…` : path} [${r.label}] auth=${JSON.stringify(r.auth)} headers=${JSON.stringify(r.headers).slice(0, 300)} body=${r.body ? `${r.body.kind}:${r.body.bytes.length}B ${JSON.stringify(r.body.bytes.subarray(0, 200).toString('latin1'))}` : 'none'}`;

async function admin(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers }> {
  return env.call(method, path, body);
}

async function must(res: Promise<{ status: number; body: any }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

async function seed(cluster: string) {
  await must(
    admin('PUT', `/v1/clusters/${cluster}`, { engine: 'mariadb', staleAfterSeconds: 86400 }),
    `seed ${cluster}`,
  );
  for (const s of FIXTURE_SERVERS)
    await must(admin('PUT', `/v1/clusters/${cluster}/servers/${s.name}`, { dc: s.dc, role: s.role }), `seed ${s.name}`);
  for (const s of FIXTURE_SERVERS)
    await must(
      admin('PUT', `/v1/clusters/${cluster}/servers/${s.name}/status`, {
        health: 'running',
        role: s.role,
        connections: 2,
      }),
      `report ${s.name}`,
    );
}

/** The parts of a server that only requests change (derived fields and claims may change with time). */
const rawServer = ({
  name,
  dc,
  address,
  port: p,
  role,
  component,
  health,
  connections,
  openTransactions,
  version,
  replicationLagSeconds,
  reportedAt,
}: Record<string, unknown>) => ({
  name,
  dc,
  address,
  port: p,
  role,
  component,
  health,
  connections,
  openTransactions,
  version,
  replicationLagSeconds,
  reportedAt,
});

interface Snapshot {
  exists: boolean;
  revision: number;
  servers: unknown[];
  clusters: unknown;
  tokens: unknown;
}

async function snapshot(): Promise<Snapshot> {
  const [servers, clusters, tokens] = await Promise.all([
    admin('GET', `/v1/clusters/${fixture.cluster}/servers`),
    admin('GET', '/v1/clusters'),
    admin('GET', '/v1/tokens'),
  ]);
  if (clusters.status !== 200 || tokens.status !== 200 || (servers.status !== 200 && servers.status !== 404)) {
    throw new Error(`snapshot: ${servers.status} ${clusters.status} ${tokens.status}`);
  }
  if (servers.status === 200) fixture.etag = servers.headers.get('etag') ?? fixture.etag;
  return {
    exists: servers.status === 200,
    revision: servers.body?.revision ?? -1,
    servers: servers.status === 200 ? servers.body.servers.map(rawServer) : [],
    clusters: clusters.body.clusters,
    tokens: tokens.body.tokens,
  };
}

/** Puts back what earlier batches legitimately removed, so that later batches still hit real objects. */
async function restore(s: Snapshot): Promise<boolean> {
  let changed = false;
  if (!s.exists) {
    // A removed cluster is re-created under a new name: its audit log outlives it.
    fixture.cluster = `fuzz-${++fixture.generation}`;
    await seed(fixture.cluster);
    return true;
  }
  const present = new Set(s.servers.map((x) => (x as { name: string }).name));
  if (FIXTURE_SERVERS.filter((x) => present.has(x.name)).length < 3)
    for (const server of FIXTURE_SERVERS) {
      if (present.has(server.name)) continue;
      await must(
        admin('PUT', `/v1/clusters/${fixture.cluster}/servers/${server.name}`, { dc: server.dc, role: server.role }),
        `restore ${server.name}`,
      );
      changed = true;
    }
  const live = new Set((s.tokens as { id: string }[]).map((t) => t.id));
  fixture.tokenIds = fixture.tokenIds.filter((id) => live.has(id));
  if (fixture.tokenIds.length < 2) {
    // Throwaway tokens for DELETE /v1/tokens/{id}, written straight to the store: no need for the API here.
    for (let i = 0; i < 5; i++) {
      const id = randomBytes(8).toString('hex');
      await env.deps.store.putToken({
        id,
        user: `victim-${id}`,
        role: 'viewer',
        createdAt: Date.now(),
        hash: randomBytes(32).toString('hex'),
      });
      fixture.tokenIds.push(id);
    }
    changed = true;
  }
  return changed;
}

const stats = {
  errorFormats: new Map<string, number>(),
  requests: 0,
  batches: 0,
  byLabel: new Map<string, Map<number, number>>(),
  byBody: new Map<string, number>(),
  unchangedBatches: 0,
  requestMs: 0,
  snapshotMs: 0,
  restoreMs: 0,
  writesOn2xx: 0,
  attributedBatches: 0,
};
const count = (label: string, status: number) => {
  const m = stats.byLabel.get(label) ?? new Map<number, number>();
  m.set(status, (m.get(status) ?? 0) + 1);
  stats.byLabel.set(label, m);
};

let last: Snapshot | undefined;

/**
 * Who answers a request, as the local server decides (local/http-server.ts): a path that no route takes is
 * answered by the stand-in for API Gateway (native JSON); otherwise the route's family, oversized bodies included.
 */
function answeredBy(r: FuzzRequest, pathname: string): { responder: Family | 'gateway'; route?: Route } {
  const match = matchRoute(r.method, pathname);
  if (match.kind === 'wrong-method') return { responder: familyOfPath(pathname, match.allowed) };
  return match.kind === 'found' ? { responder: match.route.family, route: match.route } : { responder: 'gateway' };
}

async function runBatch(batch: FuzzRequest[]): Promise<void> {
  const restoreStart = performance.now();
  let before = last ?? (await snapshot());
  if (await restore(before)) before = await snapshot();
  stats.restoreMs += performance.now() - restoreStart;
  /** Answers of this batch that may have changed something: 2xx to anything but a read. */
  const succeeded: { requestId: string; method: string; path: string }[] = [];

  for (const r of batch) {
    const path = pathOf(r);
    const headers: Record<string, string> = {};
    for (const [k, v] of r.headers) headers[k] = v === ETAG ? fixture.etag : v;
    const auth = authorization(r.auth);
    if (auth !== undefined) headers.authorization = auth;
    // The compat families' unprefixed routes act on the fuzzed cluster (read per request: it may be re-created).
    setDefaultClusters(fixture.cluster);
    const writesBefore = env.writes.length;
    const sent = performance.now();
    const res = await send(r.method, path, headers, r.body?.bytes);
    stats.requestMs += performance.now() - sent;
    const wrote = env.writes.slice(writesBefore);
    stats.requests++;
    count(r.label, res.status);
    if (r.body) stats.byBody.set(r.body.kind, (stats.byBody.get(r.body.kind) ?? 0) + 1);
    const what = () =>
      `${describeRequest(r, path)}\n→ ${res.status} ${res.headers['content-type']} ${res.body.subarray(0, 500).toString()}`;

    if (res.status >= 500) throw new Error(`a 5xx answer: ${what()}`);
    // The path as the server reads it: `..` segments resolved, a leading `//` still a path.
    const url = new URL(`http://localhost${path}`);
    const { responder, route } = answeredBy(r, url.pathname);
    if (res.status >= 400) {
      const problems = errorFormatProblems(
        responder,
        { status: res.status, headers: res.headers, text: res.text },
        { method: r.method, headers },
      );
      if (problems.length > 0)
        throw new Error(
          `a ${res.status} not in the format of ${responder === 'gateway' ? 'the gateway (native JSON)' : responder}: ${problems.join('; ')}: ${what()}`,
        );
      const key = `${responder} ${res.status}`;
      stats.errorFormats.set(key, (stats.errorFormats.get(key) ?? 0) + 1);
    }
    if (res.status >= 200 && res.status < 300) stats.writesOn2xx += wrote.length;
    if ((res.status < 200 || res.status >= 300) && wrote.length > 0)
      throw new Error(`a ${res.status} answer wrote to DynamoDB (${wrote.join(', ')}): ${what()}`);
    // Reads change nothing; a 2xx answer to anything else may (an answer without a route: as if it could).
    if (res.status >= 200 && res.status < 300 && (!route || mayChange(route, r.method, url.searchParams))) {
      succeeded.push({ requestId: String(res.headers['x-request-id']), method: r.method, path: url.pathname });
    }
  }

  const snapshotStart = performance.now();
  const after = await snapshot();
  stats.snapshotMs += performance.now() - snapshotStart;
  last = after;
  stats.batches++;
  if (succeeded.length === 0) {
    stats.unchangedBatches++;
    expect(
      after,
      `a batch without a 2xx answer changed the state: ${batch.map((r) => describeRequest(r, pathOf(r))).join('\n')}`,
    ).toEqual(before);
    return;
  }
  if (before.exists && after.exists && after.revision !== before.revision) {
    // Each new revision was made by a request of this batch that succeeded.
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.revision - before.revision).toBeLessThanOrEqual(succeeded.length);
    const events = await admin(
      'GET',
      `/v1/clusters/${fixture.cluster}/events?limit=${Math.min(1000, (after.revision - before.revision) * 10 + 10)}`,
    );
    expect(events.status).toBe(200);
    const fresh = events.body.events.filter((e: { revision: number }) => e.revision > before.revision);
    const ids = new Set(succeeded.map((s) => s.requestId));
    for (const e of fresh)
      expect(ids, `event ${JSON.stringify(e).slice(0, 300)} from a request that was not answered 2xx`).toContain(
        e.requestId,
      );
    expect(new Set(fresh.map((e: { revision: number }) => e.revision)).size).toBe(after.revision - before.revision);
    stats.attributedBatches++;
  }
}

beforeAll(async () => {
  env = await httpEnv();
  port = Number(new URL(env.url).port);
  secrets.admin = env.admin;
  secrets.viewer = await createToken(env.deps, 'viewer');
  secrets.operator = await createToken(env.deps, 'operator');
  secrets.agent = await createToken(env.deps, 'agent', ['fuzz']);
  await seed(fixture.cluster);
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await env?.close();
});

describe('R3: property-based bad input on every route', () => {
  it(`≥ ${MIN_REQUESTS} requests: no 5xx, JSON errors, rejected requests change nothing`, async () => {
    await reported(
      'r3-fuzz',
      () => ({
        tier: 'R3 fuzzing every route (fast-check)',
        seed: SEED,
        cases: stats.requests,
        faults: 0,
        invariants: [
          'no answer ≥ 500',
          "every 4xx in its family's format",
          'a rejected request writes nothing',
          'a batch without a 2xx leaves the state as it was',
          'new audit events come from 2xx answers',
        ],
      }),
      async () => {
        console.log(`fuzz seed ${SEED} (set FUZZ_SEED=${SEED} to replay)`);
        const started = Date.now();
        await fc.assert(
          fc.asyncProperty(fc.array(requestArb, { minLength: BATCH_SIZE, maxLength: BATCH_SIZE }), runBatch),
          { numRuns: BATCHES, seed: SEED, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
        );

        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const table = [...stats.byLabel]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(
            ([label, m]) =>
              `${label.padEnd(52)} ${[...m]
                .sort(([a], [b]) => a - b)
                .map(([s, n]) => `${s}:${n}`)
                .join(' ')}`,
          );
        console.log(
          `fuzz: ${stats.requests} requests in ${stats.batches} batches (${stats.unchangedBatches} without a 2xx) in ${seconds}s (requests ${(stats.requestMs / 1000).toFixed(1)}s, snapshots ${(stats.snapshotMs / 1000).toFixed(1)}s, restore ${(stats.restoreMs / 1000).toFixed(1)}s), seed ${SEED}\n${table.join('\n')}\nbodies: ${JSON.stringify(Object.fromEntries(stats.byBody))}\nerrors by responder: ${JSON.stringify(Object.fromEntries([...stats.errorFormats].sort()))}`,
        );

        if (BATCHES * BATCH_SIZE < MIN_REQUESTS) return; // a reduced run (FUZZ_RUNS): no coverage claims
        expect(stats.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
        // Every route, unknown paths and wrong methods were exercised, and every route was reached past auth.
        for (const route of ROUTES) {
          const m = stats.byLabel.get(routeKey(route));
          const total = [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);
          expect(total, routeKey(route)).toBeGreaterThanOrEqual(Math.floor((stats.requests / ROUTES.length) * 0.4));
          const pastAuth = [...(m ?? [])].filter(([s]) => s !== 401 && s !== 403).reduce((a, [, n]) => a + n, 0);
          expect(pastAuth, routeKey(route)).toBeGreaterThan(total / 2);
        }
        expect(stats.byLabel.get('unknown path')?.size).toBeGreaterThan(0);
        expect(stats.byLabel.get('wrong method')?.get(405)).toBeGreaterThan(0);
        // Every family's error format was checked, on refusals of every kind that matter to its clients.
        const seen = (responder: string, status: number) => stats.errorFormats.get(`${responder} ${status}`) ?? 0;
        for (const family of ['clusters', 'maintenance', 'maxscale', 'cassandra', 'greptimedb'])
          for (const status of [400, 401, 403]) expect(seen(family, status), `${family} ${status}`).toBeGreaterThan(0);
        for (const family of ['maxscale', 'cassandra', 'greptimedb'])
          expect(seen(family, 404), `${family} 404`).toBeGreaterThan(0);
        expect(seen('greptimedb', 405)).toBeGreaterThan(0);
        for (const status of [404, 405]) expect(seen('gateway', status), `gateway ${status}`).toBeGreaterThan(0);
        expect(
          [...stats.errorFormats.keys()].filter((k) => k.endsWith(' 413') && !k.startsWith('gateway')).length,
          'families answered 413',
        ).toBeGreaterThan(0);
        for (const route of ROUTES.filter((x) => isCompat(x.family) && x.method !== 'ANY' && x.method !== 'GET')) {
          expect(
            stats.byLabel.get(routeKey(route))?.get(route.family === 'maxscale' ? 204 : 200),
            `${routeKey(route)} succeeded`,
          ).toBeGreaterThan(0);
        }
        expect(stats.unchangedBatches).toBeGreaterThan(0);
        // The watchers are not blind: successful requests were seen writing, and new revisions were attributed.
        expect(stats.writesOn2xx).toBeGreaterThan(0);
        expect(stats.attributedBatches).toBeGreaterThan(0);
      },
    );
  }, 300_000);
});
