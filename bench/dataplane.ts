/**
 * The data plane's figures (`npm run bench`, issue 15): the switchover's write-unavailable window — from the old
 * primary going read-only to the new one writable, and as a client writing through HAProxy sees it — idle and
 * under a steady write load, median of several; and the agent's cost per interval for 3 and for 100 servers.
 * Runs on real mariadbd and HAProxy where installed (skipped, and said, where not).
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Agent } from '../agent/agent.js';
import type { AgentConfig } from '../agent/config.js';
import type { Deps } from '../functions/deps.js';
import { registerMariaDbCluster } from '../local/demo.js';
import { startHaproxy, startMariaDbFleet, type HaproxyInstance, type MariaDbFleet } from '../local/fleet.js';
import { ClientLoad } from '../local/client-load.js';

const SWITCHOVERS = Number(process.env.BENCH_SWITCHOVERS ?? 7);
const TICKS = Number(process.env.BENCH_AGENT_TICKS ?? 15);

export interface DataplaneFigures {
  switchover: Record<
    'idle' | 'load',
    { serverMs: number[]; clientMs: number[]; failedReads: number; lostWrites: number; acknowledged: number }
  >;
  /** Wall ms of one agent interval (probe every server, report it, reconcile HAProxy), by fleet size. */
  tickMs: Record<string, number[]>;
  /** API calls per interval, by fleet size. */
  callsPerTick: Record<string, number>;
}

export const dataplaneAvailable = () => existsSync('/usr/sbin/mariadbd') && existsSync('/usr/sbin/haproxy');

function agentConfig(
  url: string,
  cluster: string,
  token: string,
  fleet: MariaDbFleet,
  haproxy: HaproxyInstance,
  servers: Record<string, { host: string; port: number }>,
): AgentConfig {
  return {
    url,
    cluster,
    token,
    intervalSeconds: 5,
    mariadb: {
      ...fleet.users.agent,
      replication: fleet.users.replication,
      connectTimeoutSeconds: 2,
      switchoverTimeoutSeconds: 10,
      servers,
    },
    haproxy: [
      {
        runtimeApi: `127.0.0.1:${haproxy.runtimeApi.port}`,
        writeBackends: ['writes'],
        servers: Object.fromEntries(
          fleet.servers.map((s) => [
            s.name,
            [
              { backend: 'writes', server: s.name },
              { backend: 'reads', server: s.name },
            ],
          ]),
        ),
      },
    ],
  };
}

/** `operatorToken` asks for the switchovers, as a person would. */
export async function benchDataplane(
  deps: Deps,
  url: string,
  operatorToken: string,
  log: (m: string) => void,
): Promise<DataplaneFigures> {
  log('data plane: starting three mariadbd (GTID replication) and HAProxy');
  const fleet = await startMariaDbFleet(['db1', 'db2', 'db3']);
  const haproxy = await startHaproxy(fleet, { primary: 'db1' });
  const figures: DataplaneFigures = { switchover: {} as DataplaneFigures['switchover'], tickMs: {}, callsPerTick: {} };
  const agents: Agent[] = [];
  try {
    const endpoints = Object.fromEntries(fleet.servers.map((s) => [s.name, { host: '127.0.0.1', port: s.port }]));
    const token = await registerMariaDbCluster(
      deps,
      'bench-fleet',
      fleet.servers.map((s) => ({ name: s.name, port: s.port, role: s.name === 'db1' ? 'primary' : 'replica' })),
    );
    const agent = new Agent(agentConfig(url, 'bench-fleet', token, fleet, haproxy, endpoints), () => undefined);
    agents.push(agent);
    await agent.tick();

    const switchover = async (to: string) => {
      const res = await fetch(`${url}/v1/clusters/bench-fleet/switchover`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to }),
      });
      if (res.status !== 200) throw new Error(`switchover to ${to}: ${res.status} ${await res.text()}`);
    };
    let primary = 'db1';
    for (const mode of ['idle', 'load'] as const) {
      log(
        `data plane: ${SWITCHOVERS} switchovers, ${mode === 'idle' ? 'one writer measuring' : 'under a steady write load (four writers) and two readers'}`,
      );
      const load = (tag: string, readers: number) =>
        new ClientLoad({
          host: '127.0.0.1',
          readPort: haproxy.readPort,
          writePort: haproxy.writePort,
          ...fleet.users.app,
          readers,
          tag,
        });
      // The first load's writer measures; under load three more write and two read beside it.
      const loads = mode === 'idle' ? [load('m', 0)] : [load('m', 2), load('a', 0), load('b', 0), load('c', 0)];
      for (const l of loads) l.start();
      const serverMs: number[] = [];
      const clientMs: number[] = [];
      for (let i = 0; i < SWITCHOVERS; i++) {
        const to = ['db1', 'db2', 'db3'].filter((n) => n !== primary)[i % 2]!;
        await fleet.sync(primary);
        await switchover(to);
        await new Promise((done) => setTimeout(done, 300));
        loads[0]!.resetGap();
        await agent.tick();
        const t = agent.lastSwitchover!;
        serverMs.push(t.writable - t.readOnly);
        await new Promise((done) => setTimeout(done, 300));
        clientMs.push(loads[0]!.current.longestWriteGapMs);
        primary = to;
      }
      const results = await Promise.all(loads.map((l) => l.stop()));
      await fleet.sync(primary);
      const stored = new Set((await fleet.query<{ v: string }[]>(primary, 'SELECT v FROM app.kv')).map((r) => r.v));
      const acknowledged = results.reduce((n, r) => n + r.acknowledged.length, 0);
      const lostWrites = results.reduce((n, r) => n + r.acknowledged.filter((v) => !stored.has(v)).length, 0);
      figures.switchover[mode] = {
        serverMs,
        clientMs,
        failedReads: results.reduce((n, r) => n + r.failedReads.length, 0),
        lostWrites,
        acknowledged,
      };
      await fleet.query(primary, 'DELETE FROM app.kv');
    }

    for (const size of [3, 100]) {
      log(`data plane: the agent's interval with ${size} servers (one connection each, to the three real ones)`);
      const cluster = `bench-agent-${size}`;
      const names = Array.from({ length: size }, (_, i) => (i < 3 ? fleet.servers[i]!.name : `db${i + 1}`));
      const at = (i: number) => fleet.servers[(['db1', 'db2', 'db3'].indexOf(primary) + i) % 3]!;
      const sizeToken = await registerMariaDbCluster(
        deps,
        cluster,
        names.map((name, i) => ({ name, port: at(i).port, role: i === 0 ? 'primary' : 'replica' })),
      );
      const servers = Object.fromEntries(names.map((name, i) => [name, { host: '127.0.0.1', port: at(i).port }]));
      const sized = new Agent(
        { ...agentConfig(url, cluster, sizeToken, fleet, haproxy, servers), haproxy: [] },
        () => undefined,
      );
      agents.push(sized);
      let calls = 0;
      const realFetch = globalThis.fetch;
      globalThis.fetch = (input, init) => {
        calls++;
        return realFetch(input, init);
      };
      const xs: number[] = [];
      try {
        await sized.tick();
        calls = 0;
        for (let i = 0; i < TICKS; i++) {
          const t0 = performance.now();
          await sized.tick();
          xs.push(performance.now() - t0);
        }
      } finally {
        globalThis.fetch = realFetch;
      }
      figures.tickMs[size] = xs;
      figures.callsPerTick[size] = calls / TICKS;
    }
  } finally {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await Promise.allSettled([haproxy.close(), fleet.close()]);
  }
  return figures;
}
