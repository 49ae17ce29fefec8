/** `rollout …`: rolling upgrades (start, watch, pause, resume, abort, retry, skip). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { CliError } from '../api.js';
import { type CliContext, enc, example, interval, list, oneOf, positiveInt, seconds } from '../context.js';
import { print, type Row } from '../output.js';

const TERMINAL = ['succeeded', 'failed', 'aborted', 'paused'];

export function rolloutCommands(program: Command, { format, client, cluster, clusterPath: C, done }: CliContext): void {
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
        done(`rollout ${res.id} started (maintctl --cluster ${cluster()} rollout watch ${res.id})`);
      },
    );

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
}
