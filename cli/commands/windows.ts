/** `window …`: scheduled maintenance windows (create, delete, skip). */
import type { Command } from 'commander';
import { type CliContext, enc, example, list, oneOf } from '../context.js';
import { print, type Row } from '../output.js';

export function windowCommands(program: Command, { format, client, clusterPath: C, done }: CliContext): void {
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
}
