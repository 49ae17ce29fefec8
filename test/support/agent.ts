/** A simulated agent for one cluster in integration tests: reports status, upgrades what a rollout holds, applies switchovers. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpEnv } from './env.js';

export type Role = 'primary' | 'replica' | 'member';
export interface NodeState {
  role: Role;
  version: string;
  health: 'running' | 'down';
  connections: number;
  openTransactions: number;
  replicationLagSeconds: number;
}

/**
 * The agents of one cluster. Every ~50 ms: servers the rollout holds in maintenance get the new version (unless
 * upgrades are off or the server is held back); a pending switchover makes `to` primary and `from` replica.
 * Changes are reported at once, every server about once a second, so nothing goes stale.
 */
export class Agent {
  readonly nodes = new Map<string, NodeState>();
  /** Upgrade the servers the rollout holds in maintenance. */
  upgrade = true;
  /** Applied to a server when it is upgraded (a lagging or broken node). */
  readonly afterUpgrade = new Map<string, Partial<NodeState>>();
  errors: string[] = [];
  private readonly dirty = new Set<string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private ticks = 0;

  constructor(
    private readonly env: Pick<HttpEnv, 'call'>,
    private readonly cluster: string,
    private readonly target: string,
    servers: { name: string; role: Role; version?: string; connections?: number }[],
    initialVersion: string,
  ) {
    for (const s of servers) {
      this.nodes.set(s.name, {
        role: s.role,
        version: s.version ?? initialVersion,
        health: 'running',
        connections: s.connections ?? 0,
        openTransactions: 0,
        replicationLagSeconds: 0,
      });
    }
  }

  /** Changes what a server reports, and reports it now. */
  async set(name: string, changes: Partial<NodeState>): Promise<void> {
    Object.assign(this.nodes.get(name)!, changes);
    await this.report(name);
  }

  async report(name: string): Promise<void> {
    const n = this.nodes.get(name)!;
    const res = await this.env.call('PUT', `/v1/clusters/${this.cluster}/servers/${name}/status`, {
      health: n.health,
      role: n.role,
      version: n.version,
      connections: n.connections,
      openTransactions: n.openTransactions,
      replicationLagSeconds: n.replicationLagSeconds,
    });
    if (res.status !== 200) this.errors.push(`report ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    this.dirty.delete(name);
  }

  async reportAll(): Promise<void> {
    for (const name of this.nodes.keys()) await this.report(name);
  }

  async tick(): Promise<void> {
    const c = `/v1/clusters/${this.cluster}`;
    const [servers, failover] = await Promise.all([
      this.env.call('GET', `${c}/servers`),
      this.env.call('GET', `${c}/failover`),
    ]);
    const pending = failover.body?.pendingSwitchover as { from?: string; to: string } | null;
    if (pending) {
      const from = pending.from && this.nodes.get(pending.from);
      if (from && from.role !== 'replica') {
        from.role = 'replica';
        this.dirty.add(pending.from!);
      }
      const to = this.nodes.get(pending.to);
      if (to && to.role !== 'primary') {
        to.role = 'primary';
        this.dirty.add(pending.to);
      }
    }
    for (const s of (servers.body?.servers ?? []) as {
      name: string;
      maintenance: boolean;
      claims: { holder: string }[];
      version?: string;
      role?: string;
      health?: string;
    }[]) {
      const n = this.nodes.get(s.name);
      if (!n) continue;
      const held = s.maintenance && s.claims.some((c) => c.holder.startsWith('rollout:'));
      if (this.upgrade && held && n.version !== this.target) {
        Object.assign(n, { version: this.target }, this.afterUpgrade.get(s.name));
        this.dirty.add(s.name);
      }
      if (s.version !== n.version || s.role !== n.role || s.health !== n.health) this.dirty.add(s.name);
    }
    const names = this.ticks++ % 20 === 0 ? [...this.nodes.keys()] : [...this.dirty];
    for (const name of names) await this.report(name);
  }

  start(): this {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.tick();
        } catch (error) {
          this.errors.push(String(error));
        }
        await sleep(50);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
