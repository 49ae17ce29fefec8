/**
 * `npm run demo:mariadb [-- --port N]`: a real fleet on this machine, to watch a real rolling upgrade — three
 * mariadbd with GTID replication, HAProxy in front of them, the control plane (in memory) and `maintctl agent`
 * driving them. Needs Debian's `mariadb-server` and `haproxy` packages. Ctrl-C stops everything.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { registerMariaDbCluster } from '../local/demo.js';
import { startHaproxy, startMariaDbFleet } from '../local/fleet.js';
import { DEFAULT_PORT, startLocalStack } from '../local/stack.js';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: String(DEFAULT_PORT) } } });
const CLUSTER = 'shop';

console.log('starting three MariaDB servers (db1 → db2, db3), HAProxy and maintctl …');
const fleet = await startMariaDbFleet(['db1', 'db2', 'db3']);
const haproxy = await startHaproxy(fleet, { primary: 'db1' });
const stack = await startLocalStack({
  port: Number(args.port),
  memory: true,
  sweepIntervalMs: 5000,
  rollouts: { waitMs: 1000 },
});
const token = await registerMariaDbCluster(
  stack.deps,
  CLUSTER,
  fleet.servers.map((s, i) => ({ name: s.name, port: s.port, role: i === 0 ? 'primary' : 'replica' })),
);

// The agent's configuration as a user writes it, secrets beside it (0600) and in the environment.
const dir = resolve('.maintctl', 'demo-mariadb');
mkdirSync(dir, { recursive: true });
writeFileSync(resolve(dir, 'agent.token'), token, { mode: 0o600 });
chmodSync(resolve(dir, 'agent.token'), 0o600);
const configFile = resolve(dir, 'agent.json');
writeFileSync(
  configFile,
  `${JSON.stringify(
    {
      url: stack.url,
      cluster: CLUSTER,
      tokenFile: 'agent.token',
      intervalSeconds: 1,
      mariadb: {
        user: fleet.users.agent.user,
        passwordEnv: 'MAINTCTL_DB_PASSWORD',
        replication: { user: fleet.users.replication.user, passwordEnv: 'MAINTCTL_REPLICATION_PASSWORD' },
        servers: Object.fromEntries(fleet.servers.map((s) => [s.name, `127.0.0.1:${s.port}`])),
      },
      haproxy: [
        {
          runtimeApi: `127.0.0.1:${haproxy.runtimeApi.port}`,
          writeBackends: ['writes'],
          servers: Object.fromEntries(fleet.servers.map((s) => [s.name, [`writes/${s.name}`, `reads/${s.name}`]])),
        },
      ],
      upgrade: { command: [fleet.upgradeCommand], timeoutSeconds: 120 },
    },
    null,
    2,
  )}\n`,
);
const agent = new Agent(
  loadAgentConfig(configFile, {
    MAINTCTL_DB_PASSWORD: fleet.users.agent.password,
    MAINTCTL_REPLICATION_PASSWORD: fleet.users.replication.password,
  }),
  (level, message, fields) =>
    console.log(`agent ${level.padEnd(5)} ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
);
agent.start();

const app = fleet.users.app;
console.log(`
maintctl is running at ${stack.url} (console: ${stack.url}/console/, user admin, token ${stack.adminToken})
cluster "${CLUSTER}": ${fleet.servers.map((s) => `${s.name} 127.0.0.1:${s.port}`).join(', ')}
HAProxy: writes on 127.0.0.1:${haproxy.writePort}, reads on 127.0.0.1:${haproxy.readPort}, runtime API 127.0.0.1:${haproxy.runtimeApi.port}
the agent's configuration: ${configFile}

try:
  mariadb -h 127.0.0.1 -P ${haproxy.writePort} -u ${app.user} -p${app.password} app -e "INSERT INTO kv (v) VALUES ('hello')"
  npx maintctl --url ${stack.url} --token ${stack.adminToken} --cluster ${CLUSTER} set server db2 maintenance
  npx maintctl --url ${stack.url} --token ${stack.adminToken} --cluster ${CLUSTER} rollout start --version 10.11.99 --stable-for 5
  echo "show servers state" | nc 127.0.0.1 ${haproxy.runtimeApi.port}
Ctrl-C stops everything.`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  await agent.stop();
  await Promise.allSettled([stack.stop(), haproxy.close(), fleet.close()]);
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGHUP', shutdown);
