/** `agent`: the data-plane agent, run in the foreground beside a cluster's servers until a signal stops it. */
import type { Command } from 'commander';
import { Agent } from '../../agent/agent.js';
import { type AgentConfig, ConfigError, loadAgentConfig } from '../../agent/config.js';
import { CliError } from '../api.js';
import { example } from '../context.js';

/** A bad agent configuration exits 2 (usage), not 1. */
export class ConfigExit extends CliError {}

export function agentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      "run beside a cluster's MariaDB servers: report them, drive HAProxy, switch over, upgrade (until Ctrl-C)",
    )
    .requiredOption('--config <file>', 'the agent\'s JSON configuration (see the README: "Connect your fleet")')
    .addHelpText('after', example('MAINTCTL_DB_PASSWORD=... maintctl agent --config /etc/maintctl/agent.json'))
    .action(async (o: { config: string }) => {
      let config: AgentConfig;
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
}
