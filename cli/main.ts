/**
 * `maintctl`: maxctrl-style verbs over the native API (console.md). Tables by default, `--json` and `--tsv` for
 * scripts; exit 0 on success, 1 on failure with the API's message on stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { hashToken, newTokenId, newTokenSecret } from '../functions/http/auth.js';
import { DynamoStore } from '../functions/store/dynamo.js';
import { Agent } from '../agent/agent.js';
import { ConfigError, loadAgentConfig } from '../agent/config.js';
import { api, CliError, settings, type Api } from './api.js';
import { print, printObject, type Format, type Row } from './output.js';

interface Globals {
  url?: string;
  token?: string;
  cluster?: string;
  json?: boolean;
  tsv?: boolean;
}

const program = new Command('maintctl')
  .description('Maintenance mode for database fleets: servers, dcs, clusters, rolling upgrades and windows.')
  .option('--url <url>', 'the API (env MAINTCTL_URL, the config file, else http://127.0.0.1:8989)')
  .option('--token <token>', 'bearer token (env MAINTCTL_TOKEN, the config file, else .maintctl/admin-token)')
  .option('-c, --cluster <cluster>', 'the cluster (env MAINTCTL_CLUSTER or the config file)')
  .addOption(new Option('--json', "print the API's JSON").conflicts('tsv'))
  .option('--tsv', 'tab-separated values, no header')
  .showHelpAfterError('(see maintctl --help)')
  .exitOverride();

const globals = (): Globals => program.opts<Globals>();
const format = (): Format => (globals().json ? 'json' : globals().tsv ? 'tsv' : 'table');
const client = (): Api => api(settings(globals()));
const clusterOf = (): string => {
  const cluster = settings(globals()).cluster;
  if (!cluster)
    throw new CliError('which cluster? give --cluster C (or MAINTCTL_CLUSTER, or "cluster" in the config file)');
  return cluster;
};
const C = () => `/v1/clusters/${encodeURIComponent(clusterOf())}`;
const enc = encodeURIComponent;
const positiveInt = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a positive whole number');
  return Number(v);
};
const seconds = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(v);
};
const interval = (v: string) => {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < 0.1)
    throw new InvalidArgumentError('must be a number of seconds, at least 0.1');
  return Number(v);
};
const oneOf = (values: string[]) => (v: string) => {
  if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
  return v;
};
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const done = (message: string) => {
  if (format() === 'table') process.stdout.write(`${message}\n`);
};
const example = (text: string) => `\nExample:\n  ${text}`;

// --------------------------------------------------------------------------------------------- list / show

type Server = {
  name: string;
  dc: string;
  address?: string;
  port?: number;
  role: string;
  state: string;
  connections?: number;
  version?: string;
  claims: { holder: string }[];
};

const LISTS: Record<string, () => Promise<void>> = {
  async clusters() {
    const res = await client()<{ clusters: Row[] }>('GET', '/v1/clusters');
    const rows = res.clusters.map((c) => ({
      ...c,
      budget: (c.budget as { maxUnavailablePerDc?: number }).maxUnavailablePerDc ?? 'default',
    }));
    print(format(), res, rows, ['id', 'engine', 'budget', 'staleAfterSeconds']);
  },
  async servers() {
    const res = await client()<{ servers: Server[] }>('GET', `${C()}/servers`);
    const rows = res.servers.map((s) => ({
      Server: s.name,
      Address: s.address,
      Port: s.port,
      Connections: s.connections,
      State: s.state,
      DC: s.dc,
      Role: s.role,
      Version: s.version,
      Claims: s.claims.map((c) => c.holder),
    }));
    print(format(), res, rows, [
      'Server',
      'Address',
      'Port',
      'Connections',
      'State',
      'DC',
      'Role',
      'Version',
      'Claims',
    ]);
  },
  async rollouts() {
    const res = await client()<{ rollouts: Row[] }>('GET', `${C()}/rollouts`);
    const rows = res.rollouts.map((r) => ({
      ...r,
      batch: `${(r.batch as { current: number; count: number }).current}/${(r.batch as { count: number }).count}`,
    }));
    print(format(), res, rows, ['id', 'status', 'targetVersion', 'batch', 'actor', 'createdAt']);
  },
  async windows() {
    const res = await client()<{ windows: (Row & { next: { start: { local: string } }[] })[] }>(
      'GET',
      `${C()}/windows`,
    );
    const rows = res.windows.map((w) => ({ ...w, next: w.next[0]?.start.local }));
    print(format(), res, rows, ['id', 'name', 'action', 'schedule', 'timezone', 'duration', 'enabled', 'next']);
  },
  async events() {
    const res = await client()<{ events: Row[] }>('GET', `${C()}/events?limit=50`);
    print(format(), res, res.events, ['at', 'revision', 'action', 'target', 'actor', 'reason']);
  },
};

program
  .command('list')
  .description('list clusters, servers, rollouts, windows or events')
  .argument('<what>', `one of ${Object.keys(LISTS).join(', ')}`, oneOf(Object.keys(LISTS)))
  .addHelpText('after', example('maintctl --cluster shop list servers'))
  .action((what: string) => LISTS[what]!());

program
  .command('show')
  .description("show a server, a rollout (with each server's step) or a window (with its next occurrences and runs)")
  .argument('<what>', 'server, rollout or window', oneOf(['server', 'rollout', 'window']))
  .argument('<name>', 'its name or id')
  .addHelpText('after', example('maintctl --cluster shop show server db2'))
  .action(async (what: string, name: string) => {
    if (what === 'server') {
      const s = await client()<Server & Row>('GET', `${C()}/servers/${enc(name)}`);
      return printObject(format(), s, Object.entries(s));
    }
    if (what === 'rollout') {
      const r = await client()<Row & { servers: Row[] }>('GET', `${C()}/rollouts/${enc(name)}`);
      return print(format(), r, r.servers, ['name', 'batch', 'step', 'outcome', 'reason']);
    }
    const w = await client()<Row>('GET', `${C()}/windows/${enc(name)}`);
    printObject(format(), w, Object.entries(w));
  });

// --------------------------------------------------------------------------------------------- maintenance

const maintenanceOptions = (c: Command) =>
  c
    .option('--force', 'close connections at once (no graceful drain)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--ttl <ttl>', 'how long, e.g. 2h, 30m, or seconds')
    .option('--dry-run', "show the budget's verdict, change nothing");

type MaintenanceFlags = { force?: boolean; reason?: string; ttl?: string; dryRun?: boolean };
const maintenanceBody = (mode: string, o: MaintenanceFlags) => ({
  mode,
  ...(o.force && { force: true }),
  ...(o.reason !== undefined && { reason: o.reason }),
  ...(o.ttl !== undefined && { ttl: /^\d+$/.test(o.ttl) ? Number(o.ttl) : o.ttl }),
  ...(o.dryRun && { dryRun: true }),
});

maintenanceOptions(
  program
    .command('set')
    .description('put a server or a dc in maintenance (or drain)')
    .argument('<kind>', 'server or dc', oneOf(['server', 'dc']))
    .argument('<name>', 'the server or dc')
    .argument('<mode>', 'maintenance or drain', oneOf(['maintenance', 'drain'])),
)
  .addHelpText('after', example('maintctl --cluster shop set server db2 maintenance --reason "kernel update" --ttl 2h'))
  .action(async (kind: string, name: string, mode: string, o: MaintenanceFlags) => {
    const res = await client()<Row>(
      'PUT',
      `${C()}/${kind === 'server' ? 'servers' : 'dcs'}/${enc(name)}/maintenance`,
      maintenanceBody(mode, o),
    );
    if (format() !== 'table') return print(format(), res, [res], ['state']);
    done(o.dryRun ? `dry run: ${JSON.stringify((res as { verdict?: unknown }).verdict ?? res)}` : 'OK');
  });

program
  .command('clear')
  .description('remove your maintenance (or drain) claim from a server or a dc')
  .argument('<kind>', 'server or dc', oneOf(['server', 'dc']))
  .argument('<name>', 'the server or dc')
  .argument('[mode]', 'maintenance or drain (default: either)', oneOf(['maintenance', 'drain']))
  .addHelpText('after', example('maintctl --cluster shop clear server db2 maintenance'))
  .action(async (kind: string, name: string, mode: string | undefined) => {
    const res = await client()<Row>(
      'DELETE',
      `${C()}/${kind === 'server' ? 'servers' : 'dcs'}/${enc(name)}/maintenance${mode ? `?mode=${mode}` : ''}`,
    );
    if (format() !== 'table') return print(format(), res, [res], ['state']);
    done('OK');
  });

program
  .command('cluster')
  .description('cluster maintenance (automatic failover paused): on, off or status')
  .argument('<topic>', 'maintenance', oneOf(['maintenance']))
  .argument('<action>', 'on, off or status', oneOf(['on', 'off', 'status']))
  .option('--reason <text>', 'why')
  .option('--ttl <ttl>', 'how long (a manual pause ends after 12 h at most)')
  .addHelpText('after', example('maintctl --cluster shop cluster maintenance on --reason "rolling upgrade" --ttl 3h'))
  .action(async (_topic: string, action: string, o: { reason?: string; ttl?: string }) => {
    const path = `${C()}/maintenance`;
    if (action === 'on')
      await client()('PUT', path, {
        ...(o.reason !== undefined && { reason: o.reason }),
        ...(o.ttl !== undefined && { ttl: o.ttl }),
      });
    if (action === 'off') await client()('DELETE', path);
    const res = await client()<Row & { paused?: boolean; claims?: Row[] }>('GET', path);
    if (format() !== 'table') return print(format(), res, [res], ['paused']);
    done(
      `cluster maintenance: ${res.paused ? 'on' : 'off'}${res.claims?.length ? ` (${res.claims.map((c) => c.holder).join(', ')})` : ''}`,
    );
  });

// --------------------------------------------------------------------------------------------- rollouts

const rollout = program
  .command('rollout')
  .description('rolling upgrades: start, watch, pause, resume, abort, retry, skip');

rollout
  .command('start')
  .description('start a rolling upgrade of the cluster')
  .requiredOption('--version <version>', 'the target version')
  .option('--batch-size <n>', 'servers at once (never more than the budget allows)', positiveInt)
  .option('--servers <list>', 'comma-separated servers (default: all)', list)
  .option('--order <list>', 'component tiers in order, e.g. datanode,metasrv,frontend', list)
  .option('--drain-timeout <seconds>', 'how long to wait for connections to end', seconds)
  .option('--on-drain-timeout <what>', 'force or fail', oneOf(['force', 'fail']))
  .option('--stable-for <seconds>', 'how long a node must stay healthy before it is cleared', seconds)
  .option('--canary', 'pause after the first batch')
  .addHelpText('after', example('maintctl --cluster shop rollout start --version 10.11.7 --canary'))
  .action(
    async (o: {
      version: string;
      batchSize?: number;
      servers?: string[];
      order?: string[];
      drainTimeout?: number;
      onDrainTimeout?: string;
      stableFor?: number;
      canary?: boolean;
    }) => {
      const body = {
        targetVersion: o.version,
        ...(o.batchSize !== undefined && { batchSize: o.batchSize }),
        ...(o.servers && { servers: o.servers }),
        ...(o.order && { order: o.order }),
        ...(o.drainTimeout !== undefined && { drainTimeoutSeconds: o.drainTimeout }),
        ...(o.onDrainTimeout && { onDrainTimeout: o.onDrainTimeout }),
        ...(o.stableFor !== undefined && { verify: { stableForSeconds: o.stableFor } }),
        ...(o.canary && { pauseAfterFirstBatch: true }),
      };
      const res = await client()<Row & { id: string }>('POST', `${C()}/rollouts`, body);
      if (format() !== 'table') return print(format(), res, [res], ['id', 'status']);
      done(`rollout ${res.id} started (maintctl --cluster ${clusterOf()} rollout watch ${res.id})`);
    },
  );

const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];

rollout
  .command('watch')
  .description('follow a rollout until it ends; exit 0 when it succeeds, 1 otherwise')
  .argument('<id>', 'the rollout')
  .option('--interval <seconds>', 'seconds between reads', interval, 2)
  .addHelpText('after', example('maintctl --cluster shop rollout watch 20261122-041100123-3f9a'))
  .action(async (id: string, o: { interval: number }) => {
    let last = '';
    for (;;) {
      const r = await client()<{
        status: string;
        batch: { current: number; count: number };
        servers: { name: string; step: string; outcome: string }[];
        failure?: { server?: string; step: string; reason: string };
      }>('GET', `${C()}/rollouts/${enc(id)}`);
      const active = r.servers.filter((s) => s.outcome === 'in-progress').map((s) => `${s.name}: ${s.step}`);
      const line = `${r.status} · batch ${r.batch.current}/${r.batch.count} · ${active.join(', ') || '—'} · ${r.servers.filter((s) => s.outcome === 'upgraded' || s.outcome === 'already-upgraded').length}/${r.servers.length} done`;
      if (line !== last && format() !== 'json')
        process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
      last = line;
      if (TERMINAL.includes(r.status)) {
        if (format() === 'json') process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        if (r.status !== 'succeeded')
          throw new CliError(
            `rollout ${id} ${r.status}${r.failure ? `: ${r.failure.server ?? ''} ${r.failure.step}: ${r.failure.reason}` : ''}`,
          );
        return;
      }
      await sleep(o.interval * 1000);
    }
  });

for (const verb of ['pause', 'resume', 'abort'] as const) {
  rollout
    .command(verb)
    .description(`${verb} a rollout`)
    .argument('<id>', 'the rollout')
    .addHelpText('after', example(`maintctl --cluster shop rollout ${verb} 20261122-041100123-3f9a`))
    .action(async (id: string) => {
      const res = await client()<Row & { status: string }>('POST', `${C()}/rollouts/${enc(id)}/${verb}`);
      if (format() !== 'table') return print(format(), res, [res], ['id', 'status']);
      done(`rollout ${id}: ${res.status}`);
    });
}
for (const verb of ['retry', 'skip'] as const) {
  rollout
    .command(verb)
    .description(
      verb === 'retry'
        ? 'retry a failed server from Drain (then resume)'
        : 'leave a server out (its claim becomes yours)',
    )
    .argument('<id>', 'the rollout')
    .argument('<server>', 'the server')
    .addHelpText('after', example(`maintctl --cluster shop rollout ${verb} 20261122-041100123-3f9a db2`))
    .action(async (id: string, server: string) => {
      const res = await client()<Row>('POST', `${C()}/rollouts/${enc(id)}/servers/${enc(server)}/${verb}`);
      if (format() !== 'table') return print(format(), res, [res], ['id', 'status']);
      done('OK');
    });
}

// --------------------------------------------------------------------------------------------- windows

const window = program.command('window').description('scheduled maintenance windows: create, delete, skip');

window
  .command('create')
  .description('create a window (EventBridge Scheduler expressions: at(...), cron(...), rate(...))')
  .requiredOption('--name <name>', 'its name')
  .requiredOption('--schedule <expression>', "e.g. 'cron(30 2 ? * SUN *)'")
  .option('--timezone <zone>', 'IANA time zone', 'UTC')
  .requiredOption('--duration <iso>', 'ISO 8601 duration, e.g. PT2H')
  .option(
    '--action <action>',
    'maintenance or cluster-maintenance',
    oneOf(['maintenance', 'cluster-maintenance']),
    'maintenance',
  )
  .option('--servers <list>', 'comma-separated target servers', list)
  .option('--dcs <list>', 'comma-separated target dcs', list)
  .option('--reason <text>', 'why')
  .option('--start-date <iso>', 'for rate(...)')
  .addHelpText(
    'after',
    example(
      "maintctl --cluster shop window create --name sunday --schedule 'cron(30 2 ? * SUN *)' --timezone Europe/Berlin --duration PT2H --servers db2",
    ),
  )
  .action(
    async (o: {
      name: string;
      schedule: string;
      timezone: string;
      duration: string;
      action: string;
      servers?: string[];
      dcs?: string[];
      reason?: string;
      startDate?: string;
    }) => {
      const body = {
        name: o.name,
        schedule: o.schedule,
        timezone: o.timezone,
        duration: o.duration,
        action: o.action,
        targets: { servers: o.servers ?? [], dcs: o.dcs ?? [] },
        ...(o.reason !== undefined && { reason: o.reason }),
        ...(o.startDate !== undefined && { startDate: o.startDate }),
      };
      const res = await client()<Row & { id: string; next: { start: { local: string } }[] }>(
        'POST',
        `${C()}/windows`,
        body,
      );
      if (format() !== 'table') return print(format(), res, [res], ['id', 'name']);
      done(`window ${res.id} created; next: ${res.next.map((n) => n.start.local).join(', ') || 'none'}`);
    },
  );

for (const verb of ['delete', 'skip'] as const) {
  window
    .command(verb)
    .description(verb === 'delete' ? 'delete a window (an open occurrence ends)' : 'skip its next occurrence')
    .argument('<id>', 'the window')
    .addHelpText('after', example(`maintctl --cluster shop window ${verb} 20261122-041100123-3f9a`))
    .action(async (id: string) => {
      const res = await client()<Row>(
        verb === 'delete' ? 'DELETE' : 'POST',
        `${C()}/windows/${enc(id)}${verb === 'skip' ? '/skip' : ''}`,
      );
      if (format() !== 'table') return print(format(), res, [res], ['id']);
      done('OK');
    });
}

// --------------------------------------------------------------------------------------------- tokens

const token = program.command('token').description('API tokens (admin): create, list, revoke');

token
  .command('create')
  .description('create a token; its secret is printed once')
  .requiredOption('--user <user>', 'who it is for')
  .requiredOption('--role <role>', 'viewer, agent, operator or admin', oneOf(['viewer', 'agent', 'operator', 'admin']))
  .option('--clusters <list>', 'limit it to these clusters', list)
  .addHelpText('after', example('maintctl token create --user alice --role operator --clusters shop'))
  .action(async (o: { user: string; role: string; clusters?: string[] }) => {
    const res = await client()<Row & { id: string; token: string }>('POST', '/v1/tokens', {
      user: o.user,
      role: o.role,
      ...(o.clusters && { clusters: o.clusters }),
    });
    if (format() !== 'table') return print(format(), res, [res], ['id', 'user', 'role', 'token']);
    done(`token ${res.id} for ${o.user} (${o.role}): ${res.token}\nthe secret is shown once: keep it now`);
  });

token
  .command('list')
  .description('list tokens (no secrets)')
  .addHelpText('after', example('maintctl token list'))
  .action(async () => {
    const res = await client()<{ tokens: Row[] }>('GET', '/v1/tokens');
    print(format(), res, res.tokens, ['id', 'user', 'role', 'clusters', 'createdAt']);
  });

token
  .command('revoke')
  .description('revoke a token')
  .argument('<id>', 'the token id')
  .addHelpText('after', example('maintctl token revoke 3f9a0c1b2d4e5f60'))
  .action(async (id: string) => {
    await client()('DELETE', `/v1/tokens/${enc(id)}`);
    done('OK');
  });

// --------------------------------------------------------------------------------------------- bootstrap

program
  .command('bootstrap')
  .description("a fresh AWS deployment's first admin token, written with your IAM credentials (printed once)")
  .requiredOption('--table <table>', "the stack's DynamoDB table")
  .option('--region <region>', 'AWS region (default: your AWS configuration)')
  .option('--user <user>', "the token's user", 'admin')
  .addHelpText('after', example('maintctl bootstrap --table MaintctlStateful-Table1234 --region eu-west-1'))
  .action(async (o: { table: string; region?: string; user: string }) => {
    const store = new DynamoStore(
      new DynamoDBClient({
        ...(o.region && { region: o.region }),
        ...(process.env.DYNAMODB_ENDPOINT && { endpoint: process.env.DYNAMODB_ENDPOINT }),
      }),
      o.table,
    );
    const secret = newTokenSecret();
    const id = newTokenId();
    try {
      await store.putToken({ id, user: o.user, role: 'admin', createdAt: Date.now(), hash: hashToken(secret) });
    } catch (error) {
      throw new CliError(`could not write to table ${o.table}: ${(error as Error).message}`);
    }
    process.stdout.write(
      format() === 'json'
        ? `${JSON.stringify({ id, user: o.user, role: 'admin', token: secret })}\n`
        : `admin token ${id} (user ${o.user}): ${secret}\nthe secret is shown once: keep it now\n`,
    );
  });

// --------------------------------------------------------------------------------------------- agent

/** A bad agent configuration exits 2 (usage), not 1. */
class ConfigExit extends CliError {}

program
  .command('agent')
  .description(
    "run beside a cluster's MariaDB servers: report them, drive HAProxy, switch over, upgrade (until Ctrl-C)",
  )
  .requiredOption('--config <file>', 'the agent\'s JSON configuration (see the README: "Connect your fleet")')
  .addHelpText('after', example('MAINTCTL_DB_PASSWORD=... maintctl agent --config /etc/maintctl/agent.json'))
  .action(async (o: { config: string }) => {
    let config;
    try {
      config = loadAgentConfig(o.config);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigExit(`${o.config}: ${error.message}`);
      throw error;
    }
    const agent = new Agent(config, (level, message, fields) =>
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`),
    );
    agent.start();
    const signal = await new Promise<NodeJS.Signals>((done) => {
      process.once('SIGINT', () => done('SIGINT'));
      process.once('SIGTERM', () => done('SIGTERM'));
    });
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: 'info', message: `${signal}: stopping` })}\n`,
    );
    await agent.stop();
    // Stopped cleanly (lease let go, connections closed): idle keep-alive sockets need not hold the exit up.
    process.exit(0);
  });

/** Runs the CLI; the exit code is the answer. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    process.stderr.write(
      `maintctl: ${error instanceof CliError ? error.message : ((error as Error).message ?? String(error))}\n`,
    );
    return error instanceof ConfigExit ? 2 : 1;
  }
}
