/**
 * `maintctl`: maxctrl-style verbs over the native API (README "The `maintctl` CLI"). Tables by default, `--json` and `--tsv` for
 * scripts; exit 0 on success, 1 on failure with the API's message on stderr. Each command group lives in
 * `cli/commands/`; this file holds the global options and the exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliError } from './api.js';
import { agentCommand, ConfigExit } from './commands/agent.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { readCommands } from './commands/read.js';
import { rolloutCommands } from './commands/rollouts.js';
import { tokenCommands } from './commands/tokens.js';
import { windowCommands } from './commands/windows.js';
import { cliContext } from './context.js';

const program = new Command('maintctl')
  .description('Maintenance mode for database fleets: servers, dcs, clusters, rolling upgrades and windows.')
  .option('--url <url>', 'the API (env MAINTCTL_URL, the config file, else http://127.0.0.1:8989)')
  .option('--token <token>', 'bearer token (env MAINTCTL_TOKEN, the config file, else .maintctl/admin-token)')
  .option('-c, --cluster <cluster>', 'the cluster (env MAINTCTL_CLUSTER or the config file)')
  .addOption(new Option('--json', "print the API's JSON").conflicts('tsv'))
  .option('--tsv', 'tab-separated values, no header')
  .showHelpAfterError('(see maintctl --help)')
  .exitOverride();

// Registered in the order `maintctl --help` lists them.
const cli = cliContext(program);
readCommands(program, cli);
maintenanceCommands(program, cli);
rolloutCommands(program, cli);
windowCommands(program, cli);
tokenCommands(program, cli);
agentCommand(program);

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
