/** `set`, `clear` and `cluster maintenance`: people's maintenance (and drain) claims on servers, dcs and clusters. */
import type { Command } from 'commander';
import { type CliContext, enc, example, oneOf } from '../context.js';
import { print, type Row } from '../output.js';

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

export function maintenanceCommands(program: Command, { format, client, clusterPath: C, done }: CliContext): void {
  maintenanceOptions(
    program
      .command('set')
      .description('put a server or a dc in maintenance (or drain)')
      .argument('<kind>', 'server or dc', oneOf(['server', 'dc']))
      .argument('<name>', 'the server or dc')
      .argument('<mode>', 'maintenance or drain', oneOf(['maintenance', 'drain'])),
  )
    .addHelpText(
      'after',
      example('maintctl --cluster shop set server db2 maintenance --reason "kernel update" --ttl 2h'),
    )
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
}
