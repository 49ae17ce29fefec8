/** `list` and `show`: the read-only commands (clusters, servers, rollouts, windows, events). */
import type { Command } from 'commander';
import { type CliContext, enc, example, oneOf } from '../context.js';
import { print, printObject, type Row } from '../output.js';

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

export function readCommands(program: Command, { format, client, clusterPath: C }: CliContext): void {
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
}
