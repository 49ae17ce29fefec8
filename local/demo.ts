/**
 * `npm start -- --demo`: a demo fleet and simulated agents that report over the API the way real ones would:
 * health, connections, open transactions that fall to zero after a graceful drain, versions, switchovers, and
 * the upgrade a rollout waits for: a server a rollout holds in maintenance restarts at the rollout's version.
 */
import { randomUUID } from 'node:crypto';
import { registerCluster, registerServer, DEFAULT_STALE_AFTER_SECONDS } from '../functions/domain/registry.js';
import type { Engine, ServerRole } from '../functions/domain/model.js';
import { hashToken, newTokenId, newTokenSecret } from '../functions/http/auth.js';
import type { Deps } from '../functions/deps.js';

interface DemoServer {
  name: string;
  dc: string;
  role: ServerRole;
  component?: string;
  version: string;
}
interface DemoCluster {
  id: string;
  engine: Engine;
  servers: DemoServer[];
}

export const DEMO_FLEET: DemoCluster[] = [
  {
    id: 'demo-mariadb',
    engine: 'mariadb',
    servers: [
      { name: 'db1', dc: 'dc1', role: 'primary', version: '10.11.6' },
      { name: 'db2', dc: 'dc1', role: 'replica', version: '10.11.6' },
      { name: 'db3', dc: 'dc1', role: 'replica', version: '10.11.6' },
    ],
  },
  {
    id: 'demo-cassandra',
    engine: 'cassandra',
    servers: ['dc1', 'dc2'].flatMap((dc) =>
      [0, 1, 2].map((i) => ({ name: `cassandra-${dc}-${i}`, dc, role: 'member' as const, version: '4.1.5' })),
    ),
  },
  {
    id: 'demo-greptime',
    engine: 'greptimedb',
    servers: [0, 1, 2].map((i) => ({
      name: `datanode-${i}`,
      dc: 'dc1',
      role: 'member' as const,
      component: 'datanode',
      version: '0.9.5',
    })),
  },
];

/** The cluster each compat family acts on by default, locally. */
export const DEMO_DEFAULT_CLUSTERS = {
  maxscale: 'demo-mariadb',
  cassandra: 'demo-cassandra',
  greptimedb: 'demo-greptime',
} as const;

const demoActor = { user: 'demo', isAdmin: true, source: 'demo', requestId: 'demo' };

interface Registration {
  name: string;
  dc: string;
  role: ServerRole;
  address: string;
  port: number;
  component?: string;
}

async function register(deps: Deps, id: string, engine: Engine, servers: Registration[]): Promise<void> {
  const config = { engine, budget: {}, staleAfterSeconds: DEFAULT_STALE_AFTER_SECONDS };
  await deps.store.mutate(id, (state) => registerCluster(state, id, config, deps.now()), {
    actor: demoActor,
    result: () => null,
  });
  for (const { name, ...reg } of servers) {
    await deps.store.mutate(id, (state) => registerServer(state!, name, reg, deps.now()), {
      actor: demoActor,
      result: () => null,
    });
  }
}

/** An agent token of one cluster; the secret, which is shown once. */
async function agentToken(deps: Deps, cluster: string): Promise<string> {
  const secret = newTokenSecret();
  await deps.store.putToken({
    id: newTokenId(),
    user: `agent-${cluster}`,
    role: 'agent',
    clusters: [cluster],
    createdAt: deps.now(),
    hash: hashToken(secret),
  });
  return secret;
}

/** Registers the demo clusters that are absent; existing ones are left as they are. */
export async function registerDemoFleet(deps: Deps): Promise<void> {
  for (const cluster of DEMO_FLEET) {
    if (await deps.store.readCluster(cluster.id)) continue;
    const port = cluster.engine === 'mariadb' ? 3306 : 9042;
    await register(
      deps,
      cluster.id,
      cluster.engine,
      cluster.servers.map(({ version: _v, ...s }) => ({ ...s, address: `${s.name}.demo.internal`, port })),
    );
  }
}

/** A MariaDB cluster of real servers on this machine (`npm run demo:mariadb`, the bench), and its agent's token. */
export async function registerMariaDbCluster(
  deps: Deps,
  id: string,
  servers: { name: string; port: number; role: ServerRole }[],
): Promise<string> {
  await register(
    deps,
    id,
    'mariadb',
    servers.map((s) => ({ ...s, dc: 'dc1', address: '127.0.0.1' })),
  );
  return agentToken(deps, id);
}

interface ServerJson {
  name: string;
  role: ServerRole;
  pending: boolean;
  maintenance: boolean;
  draining: boolean;
  drained: boolean;
  connections?: number;
  openTransactions?: number;
  version?: string;
  claims: { holder: string; mode: string }[];
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** One simulated agent per cluster, reporting for each of its servers every `everyMs`. */
export async function startDemoAgents(deps: Deps, url: string, everyMs = 2000): Promise<() => void> {
  // The previous run's agent tokens are replaced, not accumulated.
  for (const t of await deps.store.listTokens())
    if (t.user.startsWith('agent-demo-')) await deps.store.revokeToken(t.id);
  const agents = await Promise.all(
    DEMO_FLEET.map(async (cluster) => ({ cluster, auth: `Bearer ${await agentToken(deps, cluster.id)}` })),
  );
  const versions = new Map<string, string>(
    DEMO_FLEET.flatMap((c) => c.servers.map((s) => [`${c.id}/${s.name}`, s.version] as const)),
  );
  /** Servers being upgraded: down for one report, then running at the new version. */
  const restarting = new Map<string, string>();

  async function tick(cluster: DemoCluster, auth: string) {
    const call = (path: string, method = 'GET', body?: unknown) =>
      fetch(`${url}/v1/clusters/${cluster.id}${path}`, {
        method,
        headers: { authorization: auth, 'content-type': 'application/json', 'x-request-id': randomUUID() },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    const [list, fo] = await Promise.all([call('/servers'), call('/failover')]);
    if (!list.ok || !fo.ok) return;
    const { servers } = (await list.json()) as { servers: ServerJson[] };
    const { pendingSwitchover } = (await fo.json()) as { pendingSwitchover: { from?: string; to: string } | null };
    for (const s of servers) {
      const key = `${cluster.id}/${s.name}`;
      const rollout = s.claims.find((c) => c.holder.startsWith('rollout:'))?.holder.slice('rollout:'.length);
      if (restarting.has(key)) {
        versions.set(key, restarting.get(key)!);
        restarting.delete(key);
      } else if (rollout && s.maintenance) {
        const res = await call(`/rollouts/${rollout}`);
        const target = res.ok ? ((await res.json()) as { targetVersion: string }).targetVersion : undefined;
        if (target && target !== versions.get(key)) {
          restarting.set(key, target);
          await call(`/servers/${s.name}/status`, 'PUT', {
            health: 'down',
            role: s.role,
            connections: 0,
            openTransactions: 0,
            version: versions.get(key)!,
          });
          continue;
        }
      }
      let role = s.role;
      if (pendingSwitchover?.to === s.name) role = 'primary';
      else if (pendingSwitchover?.from === s.name) role = 'replica';
      const closed = s.maintenance || s.drained;
      const openTransactions =
        role !== 'primary' || closed
          ? 0
          : s.pending
            ? Math.max(0, (s.openTransactions ?? 0) - random(1, 3))
            : random(1, 4);
      const connections = closed ? 0 : s.draining && !s.pending ? Math.floor((s.connections ?? 0) / 4) : random(5, 40);
      await call(`/servers/${s.name}/status`, 'PUT', {
        health: 'running',
        role,
        connections,
        openTransactions,
        version: versions.get(key)!,
        replicationLagSeconds: role === 'replica' ? random(0, 2) : 0,
      });
    }
  }

  let stopped = false;
  const loops = agents.map(async ({ cluster, auth }) => {
    while (!stopped) {
      await tick(cluster, auth).catch(() => undefined);
      await new Promise((done) => setTimeout(done, everyMs).unref());
    }
  });
  void Promise.all(loops);
  return () => {
    stopped = true;
  };
}
