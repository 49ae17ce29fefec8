/**
 * `npm start`: the whole control plane on 127.0.0.1:8989 over DynamoDB Local.
 *   --port N (MAINTCTL_PORT)   --memory   --demo   --data DIR   --tls-cert F --tls-key F
 *   --dynamodb-endpoint URL (share a running DynamoDB Local)   --table NAME   --sweep-interval SECONDS
 *   --compat-ports (also listen on 8889, the Cassandra operator's, and 3002 and 4000, GreptimeDB metasrv's)
 *   --poll-interval SECONDS (every Wait of a rollout's workflow locally; default 1)
 *   --log-format json|pretty (a line per request, task and change on stdout; pretty by default on a terminal)
 *   --alertmanager URL (silence alerts of what is in maintenance, in that Prometheus Alertmanager)
 * The compat families act on MAINTCTL_{MAXSCALE,CASSANDRA,GREPTIMEDB}_CLUSTER, by default the demo clusters.
 */
import { parseArgs } from 'node:util';
import { JAVA_MISSING, javaAvailable } from '../local/dynamodb.js';
import { DEFAULT_CLUSTER_ENV } from '../functions/compat/common.js';
import type { CompatFamily } from '../functions/http/routes.js';
import { startHttpServer } from '../local/http-server.js';
import { configureLogs } from '../functions/telemetry.js';
import { DEMO_DEFAULT_CLUSTERS, registerDemoFleet, startDemoAgents } from '../local/demo.js';
import { DEFAULT_PORT, startLocalStack } from '../local/stack.js';

/** The families' customary ports, for `--compat-ports`. */
const COMPAT_PORTS = [8889, 3002, 4000];

function fail(message: string): never {
  console.error(`maintctl: ${message}`);
  process.exit(1);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        memory: { type: 'boolean', default: false },
        demo: { type: 'boolean', default: false },
        data: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'dynamodb-endpoint': { type: 'string' },
        table: { type: 'string' },
        'sweep-interval': { type: 'string' },
        'compat-ports': { type: 'boolean', default: false },
        'poll-interval': { type: 'string' },
        'log-format': { type: 'string' },
        alertmanager: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    fail(`${(error as Error).message} (see --help)`);
  }
}
const args = parseOptions();
if (args.help) {
  console.log(
    'usage: npm start -- [--port N] [--memory] [--demo] [--data DIR] [--tls-cert F --tls-key F] [--dynamodb-endpoint URL] [--table NAME] [--sweep-interval S] [--compat-ports] [--poll-interval S] [--log-format json|pretty] [--alertmanager URL]',
  );
  process.exit(0);
}

const port = Number(args.port ?? process.env.MAINTCTL_PORT ?? DEFAULT_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port ${args.port ?? process.env.MAINTCTL_PORT}`);
if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) fail('--tls-cert and --tls-key go together');
const sweepSeconds = Number(args['sweep-interval'] ?? 60);
if (!Number.isFinite(sweepSeconds) || sweepSeconds < 0) fail('invalid --sweep-interval');
const pollSeconds = Number(args['poll-interval'] ?? 1);
if (!Number.isFinite(pollSeconds) || pollSeconds < 0) fail('invalid --poll-interval');
if (args.table !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(args.table))
  fail(`invalid --table ${args.table} (3 to 255 of A-Z a-z 0-9 _ . -)`);
if (args.alertmanager !== undefined && !/^https?:\/\/[^\s/]+/.test(args.alertmanager))
  fail(`invalid --alertmanager ${args.alertmanager} (http://host:port)`);
if (!args['dynamodb-endpoint'] && !javaAvailable()) fail(JAVA_MISSING);
const logFormat = args['log-format'] ?? (process.stdout.isTTY ? 'pretty' : 'json');
if (logFormat !== 'json' && logFormat !== 'pretty') fail(`invalid --log-format ${logFormat} (json or pretty)`);
configureLogs({ format: logFormat, level: 'info', metrics: true });

for (const [family, variable] of Object.entries(DEFAULT_CLUSTER_ENV))
  process.env[variable] ??= DEMO_DEFAULT_CLUSTERS[family as CompatFamily];

const stack = await startLocalStack({
  port,
  memory: args.memory,
  ...(args.data && { dataDir: args.data }),
  ...(args['dynamodb-endpoint'] && { dynamodbEndpoint: args['dynamodb-endpoint'] }),
  ...(args.table && { table: args.table }),
  ...(process.env.MAINTCTL_ADMIN_TOKEN && { adminToken: process.env.MAINTCTL_ADMIN_TOKEN }),
  ...(args['tls-cert'] && { tls: { cert: args['tls-cert'], key: args['tls-key']! } }),
  sweepIntervalMs: sweepSeconds * 1000,
  rollouts: { waitMs: pollSeconds * 1000 },
  ...(args.alertmanager && { integrations: { alertmanagerUrl: args.alertmanager } }),
}).catch((error: Error) =>
  fail((error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? `port ${port} is in use (try --port)` : error.message),
);

const compatServers = args['compat-ports']
  ? await Promise.all(
      COMPAT_PORTS.map((p) =>
        startHttpServer(stack.deps, {
          port: p,
          ...(args['tls-cert'] && { tls: { cert: args['tls-cert'], key: args['tls-key']! } }),
        }).catch((error: NodeJS.ErrnoException) =>
          fail(error.code === 'EADDRINUSE' ? `port ${p} is in use (needed by --compat-ports)` : error.message),
        ),
      ),
    )
  : [];

let stopAgents = () => {};
if (args.demo) {
  await registerDemoFleet(stack.deps);
  stopAgents = await startDemoAgents(stack.deps, stack.url);
}

// A token the user handed in is not echoed (output ends up in logs); one made or kept here is shown to its owner.
const given = Boolean(process.env.MAINTCTL_ADMIN_TOKEN);
const tokenNote = stack.adminTokenCreated
  ? args.memory
    ? ' (created now)'
    : ' (created now; saved in .maintctl/admin-token)'
  : '';
const tokenText = given ? 'the one in MAINTCTL_ADMIN_TOKEN' : stack.adminToken;
console.log(`maintctl is running at ${stack.url}${args.memory ? ' (in memory)' : ''}
admin token${tokenNote}: ${tokenText}
  (Basic credentials: user "admin", password = the token)
try:
  curl -s -H "Authorization: Bearer ${given ? '$MAINTCTL_ADMIN_TOKEN' : stack.adminToken}" ${stack.url}/v1/clusters
${compatServers.length ? `also listening on ${COMPAT_PORTS.map((p) => `127.0.0.1:${p}`).join(', ')}\n` : ''}${args.demo ? `demo fleet: demo-mariadb, demo-cassandra, demo-greptime (simulated agents report every 2 s)\n` : ''}Ctrl-C stops it.`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  stopAgents();
  for (const server of compatServers) server.close();
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
// A closed terminal: DynamoDB Local runs in its own process group and does not get this hangup itself.
process.on('SIGHUP', shutdown);
