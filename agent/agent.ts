/**
 * `maintctl agent`: one per cluster, beside its databases. Every interval it reports what each MariaDB server
 * is, and — while it holds the cluster's lease — makes HAProxy follow the control plane, carries out a pending
 * switchover and runs the upgrade a rollout waits for. When the control plane cannot be read it changes nothing
 * (fail static): a server never returns to service because maintctl is unreachable.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatusReport } from '../functions/domain/status.js';
import type { AgentConfig } from './config.js';
import { ControlPlane, type ServerJson, type Switchover } from './control-plane.js';
import { RuntimeApi, type ProxyServerState } from './haproxy.js';
import { MariaDbServer, type Probe } from './mariadb.js';
import { desiredState } from './proxy-state.js';
import { runUpgrade } from './upgrade.js';

export type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** The phases of a switchover, ms since its start: what bounds the write pause. */
export interface SwitchoverTimings {
  readOnly: number;
  caughtUp: number;
  writable: number;
  proxy: number;
  repointed: number;
}

interface Proxy {
  api: RuntimeApi;
  writeBackends: Set<string>;
  entries: { name: string; backend: string; server: string }[];
}

const key = (backend: string, server: string) => `${backend}/${server}`;

export class Agent {
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly databases: Map<string, MariaDbServer>;
  private readonly controlPlane: ControlPlane;
  private readonly proxies: Proxy[];
  private readonly leaseSeconds: number;
  private leader = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Each subject's last logged condition: a failure is logged once, and its recovery once. */
  private readonly conditions = new Map<string, string>();
  /** What the agent last set on each proxy entry: anything else found there was changed by hand. */
  private readonly lastSet = new Map<string, string>();
  /** Drift corrected since the server's last report, for that report. */
  private readonly drift = new Map<string, string>();
  private readonly upgrades = new Map<string, Promise<void>>();
  /** Each proxy entry as the last reconcile left it, by server. */
  private proxyEntries = new Map<string, ProxyServerState[]>();
  private switchoverRetryAt = 0;
  /** What the databases said at the last tick: which server is writable decides the write backends. */
  private probes = new Map<string, Probe>();
  /** Sessions each server has through the proxies, counted beside the probe. */
  private proxySessions = new Map<string, number>();
  /** The last switchover's phases (the bench reads them). */
  lastSwitchover: SwitchoverTimings | undefined;

  constructor(
    readonly config: AgentConfig,
    private readonly log: Log,
  ) {
    const { servers, user, password, connectTimeoutSeconds } = config.mariadb;
    this.databases = new Map(
      Object.entries(servers).map(([name, at]) => [
        name,
        new MariaDbServer(at, { user, password }, connectTimeoutSeconds * 1000),
      ]),
    );
    this.controlPlane = new ControlPlane(config.url, config.cluster, config.token);
    this.proxies = config.haproxy.map((h) => ({
      api: new RuntimeApi(h.runtimeApi),
      writeBackends: new Set(h.writeBackends),
      entries: Object.entries(h.servers).flatMap(([name, entries]) => entries.map((e) => ({ name, ...e }))),
    }));
    this.leaseSeconds = Math.max(15, Math.ceil(config.intervalSeconds * 3));
  }

  /** Runs until `stop()`: a tick every interval (a slow tick delays the next, never overlaps it). */
  start(): void {
    this.log('info', 'agent started', {
      cluster: this.config.cluster,
      holder: this.holder,
      servers: [...this.databases.keys()],
      proxies: this.proxies.length,
    });
    this.loop = (async () => {
      while (!this.stopping) {
        const started = Date.now();
        await this.tick().then(
          () => this.condition('tick', undefined),
          (error: Error) => this.condition('tick', `failed: ${error.message}`),
        );
        await sleep(Math.max(0, this.config.intervalSeconds * 1000 - (Date.now() - started)));
      }
    })();
  }

  /** Finishes the tick in progress and any upgrade command, lets the lease go, closes the connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await Promise.allSettled(this.upgrades.values());
    if (this.leader) await this.controlPlane.lease(this.holder, 0).catch(() => undefined);
    await Promise.all([...this.databases.values()].map((d) => d.close()));
    this.log('info', 'agent stopped');
  }

  private condition(subject: string, problem: string | undefined): void {
    if (problem === this.conditions.get(subject)) return;
    if (problem === undefined) {
      this.conditions.delete(subject);
      this.log('info', `${subject}: ok again`);
    } else {
      this.conditions.set(subject, problem);
      this.log('warn', `${subject}: ${problem}`);
    }
  }

  private async probeAll(): Promise<Map<string, Probe>> {
    const probes = await Promise.all([...this.databases].map(async ([name, db]) => [name, await db.probe()] as const));
    for (const [name, probe] of probes)
      this.condition(`database ${name}`, probe.health === 'down' ? `unreachable (${probe.error})` : undefined);
    return new Map(probes);
  }

  async tick(): Promise<void> {
    let servers: ServerJson[];
    let pending: Switchover | null;
    try {
      [servers, pending] = await Promise.all([this.controlPlane.servers(), this.controlPlane.pendingSwitchover()]);
      this.leader = (await this.controlPlane.lease(this.holder, this.leaseSeconds)) === this.holder;
      this.condition('control plane', undefined);
    } catch (error) {
      // Fail static: nothing changes on the proxies, the switchover waits, no upgrade starts.
      this.leader = false;
      this.condition('control plane', `unreachable, leaving HAProxy as it is (${(error as Error).message})`);
      return;
    }
    this.condition('lease', this.leader ? undefined : 'held by another agent: reporting only');

    if (this.leader && pending && Date.now() >= this.switchoverRetryAt) {
      const changed = await this.switchover(pending, await this.probeAll()).catch((error: Error) => {
        this.log('error', 'switchover failed', { to: pending!.to, error: error.message });
        this.switchoverRetryAt = Date.now() + 30_000;
        return false;
      });
      // The roles changed: the write backends must follow the new ones, not the last tick's.
      if (changed) this.probes = await this.probeAll();
    }
    // The proxies before the count: sessions are counted once HAProxy sends a server no new ones, so a report of
    // none (which ends a drain, and lets an upgrade restart it) is not undone by a session routed meanwhile.
    const byName = () => new Map(servers.map((s) => [s.name, s]));
    let proxiesAnswered = this.leader && (await this.enforce(byName(), this.probes));
    [this.probes, this.proxySessions] = await Promise.all([this.probeAll(), this.sessionsThroughProxies()]);

    const known = byName();
    const reports = await Promise.allSettled(
      [...this.probes].filter(([name]) => known.has(name)).map(([name, probe]) => this.report(name, probe)),
    );
    const failed = reports.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    this.condition('reports', failed ? `not accepted (${(failed.reason as Error).message})` : undefined);
    if (!this.leader) return;
    if (reports.some((r) => r.status === 'fulfilled' && r.value)) {
      servers = await this.controlPlane.servers().catch(() => servers);
      proxiesAnswered = await this.enforce(byName(), this.probes);
    }
    // Drift just corrected goes out with the server's report now, not an interval later.
    await Promise.allSettled([...this.drift.keys()].map((name) => this.report(name, this.probes.get(name)!)));
    // An upgrade restarts a server: only when every proxy says nothing is sent to it any more.
    if (this.config.upgrade && proxiesAnswered) await this.startUpgrades(servers);
  }

  private async report(name: string, probe: Probe): Promise<boolean> {
    const drift = this.drift.get(name);
    const report: StatusReport =
      probe.health === 'down'
        ? { health: 'down' }
        : {
            health: 'running',
            role: probe.role,
            // A session HAProxy has sent and the server not yet accepted counts too: a drain ends with none of either.
            connections: Math.max(probe.connections, this.proxySessions.get(name) ?? 0),
            openTransactions: probe.openTransactions,
            version: probe.version,
            ...(probe.replicationLagSeconds !== undefined && { replicationLagSeconds: probe.replicationLagSeconds }),
          };
    const relevant = await this.controlPlane.report(name, drift ? { ...report, proxy: drift } : report);
    if (drift) this.drift.delete(name);
    return relevant;
  }

  /**
   * Each proxy's entries to what the control plane wants; drift (a state changed by hand) is corrected and said.
   * False when a proxy did not answer.
   */
  private async enforce(servers: Map<string, ServerJson>, probes: Map<string, Probe>): Promise<boolean> {
    const now = Date.now();
    this.proxyEntries = new Map();
    // Writes go to the one writable server. Two writable (an old primary back after a failover): neither is
    // changed in the write backends — which one keeps the writes is a person's call — and it is said.
    const writable = [...probes]
      .filter(([, p]) => p.health === 'running' && p.role === 'primary')
      .map(([name]) => name);
    this.condition(
      'primary',
      writable.length > 1 ? `${writable.join(' and ')} are all writable: write backends left as they are` : undefined,
    );
    const isPrimary = (name: string) => {
      const probe = probes.get(name);
      if (probe?.health !== 'running') return undefined;
      return writable.length > 1 && writable.includes(name) ? undefined : probe.role === 'primary';
    };
    const answered = await Promise.all(
      this.proxies.map(async (proxy) => {
        let states: ProxyServerState[];
        try {
          states = await proxy.api.servers();
          this.condition(`haproxy ${proxy.api.address}`, undefined);
        } catch (error) {
          this.condition(`haproxy ${proxy.api.address}`, `unreachable (${(error as Error).message})`);
          return false;
        }
        const current = new Map(states.map((s) => [key(s.backend, s.server), s]));
        for (const entry of proxy.entries) {
          const id = key(entry.backend, entry.server);
          const found = current.get(id);
          if (!found) {
            this.condition(`haproxy ${proxy.api.address} ${id}`, 'no such server in HAProxy');
            continue;
          }
          const server = servers.get(entry.name);
          let desired = desiredState(
            server,
            { write: proxy.writeBackends.has(entry.backend), sessions: found.sessions },
            isPrimary(entry.name),
            now,
          );
          // A rollout forces maintenance after its drain; when HAProxy was still sending the server sessions (the
          // drain ended on a report from before it), those in flight get one interval before they are closed.
          if (
            desired?.shutdown &&
            found.state === 'ready' &&
            server?.claims.every((c) => c.holder.startsWith('rollout:'))
          )
            desired = { ...desired, shutdown: false };
          const after = {
            ...found,
            ...(desired && { state: desired.state }),
            ...(desired?.shutdown && { sessions: 0 }),
          };
          this.proxyEntries.set(entry.name, [...(this.proxyEntries.get(entry.name) ?? []), after]);
          if (!desired) continue;
          try {
            if (found.state !== desired.state) {
              const last = this.lastSet.get(`${proxy.api.address} ${id}`);
              if (last !== undefined && last !== found.state) {
                const note = `${new Date(now).toISOString()} ${id}: found ${found.state} (changed by hand), set ${desired.state}`;
                this.drift.set(entry.name, note);
                this.log('warn', 'corrected drift on HAProxy', {
                  server: entry.name,
                  entry: id,
                  found: found.state,
                  set: desired.state,
                });
              } else {
                this.log('info', 'HAProxy state set', {
                  server: entry.name,
                  entry: id,
                  from: found.state,
                  to: desired.state,
                  why: desired.why,
                });
              }
              await proxy.api.setState(entry.backend, entry.server, desired.state);
            }
            this.lastSet.set(`${proxy.api.address} ${id}`, desired.state);
            if (desired.shutdown) {
              await proxy.api.shutdownSessions(entry.backend, entry.server);
              this.log('info', 'HAProxy sessions closed', {
                server: entry.name,
                entry: id,
                sessions: found.sessions,
                why: desired.why,
              });
            }
          } catch (error) {
            this.condition(`haproxy ${proxy.api.address} ${id}`, (error as Error).message);
          }
        }
        return true;
      }),
    );
    return answered.every(Boolean);
  }

  /** Each server's sessions through every proxy that answers (what is counted when the databases are). */
  private async sessionsThroughProxies(): Promise<Map<string, number>> {
    const sessions = new Map<string, number>();
    await Promise.all(
      this.proxies.map(async (proxy) => {
        const states = await proxy.api.servers().catch(() => []);
        const byEntry = new Map(states.map((s) => [key(s.backend, s.server), s.sessions]));
        for (const e of proxy.entries)
          sessions.set(e.name, (sessions.get(e.name) ?? 0) + (byEntry.get(key(e.backend, e.server)) ?? 0));
      }),
    );
    return sessions;
  }

  /**
   * Carries out the control plane's pending switchover on GTID replication: the old primary read-only, the
   * target caught up to its last transaction, promoted, the write backends moved, the others replicating from
   * it. True when the roles changed. When the target cannot catch up in time the old primary is made writable
   * again and nothing else has changed.
   */
  private async switchover(pending: Switchover, probes: Map<string, Probe>): Promise<boolean> {
    const target = this.databases.get(pending.to);
    const targetProbe = probes.get(pending.to);
    const { replication, switchoverTimeoutSeconds } = this.config.mariadb;
    if (!target || targetProbe?.health !== 'running') {
      this.condition(
        'switchover',
        `cannot switch over to ${pending.to}: ${target ? 'it is not reachable' : 'not a server of this agent'}`,
      );
      return false;
    }
    if (targetProbe.role === 'primary') return false; // done already: the report settles it
    if (!replication) {
      this.condition(
        'switchover',
        'cannot switch over: mariadb.replication (the user replicas connect as) is not configured',
      );
      return false;
    }
    const primaries = [...probes]
      .filter(([, p]) => p.health === 'running' && p.role === 'primary')
      .map(([name]) => name);
    // The old primary: the writable one; else (a failover) the one the control plane names, unreachable.
    const reachable = pending.from !== undefined && primaries.includes(pending.from) ? pending.from : primaries[0];
    const fromName = reachable ?? pending.from;
    const from = reachable === undefined ? undefined : this.databases.get(reachable)!;
    const start = performance.now();
    const at = () => Math.round((performance.now() - start) * 10) / 10;
    const timings: Partial<SwitchoverTimings> = {};
    this.log('info', 'switchover started', { from: fromName ?? null, to: pending.to });

    /** Before the target takes writes, everything is undone: it replicates again, the old primary takes writes. */
    const giveUp = async (why: string, targetStopped = false) => {
      this.switchoverRetryAt = Date.now() + 30_000;
      if (from) {
        if (targetStopped)
          await target
            .replicateFrom(this.config.mariadb.servers[fromName!]!, replication, false)
            .catch(() => undefined);
        await from.setReadOnly(false, switchoverTimeoutSeconds);
      }
      this.log('error', `switchover given up: ${why}; the old primary is writable again`, {
        from: fromName ?? null,
        to: pending.to,
        timeoutSeconds: switchoverTimeoutSeconds,
      });
      return false;
    };
    if (from) {
      await from.setReadOnly(true, switchoverTimeoutSeconds);
      timings.readOnly = at();
      const caughtUp = await from
        .binlogPosition()
        .then((position) => target.waitForPosition(position, switchoverTimeoutSeconds))
        .catch(() => false);
      if (!caughtUp) return giveUp('the target did not catch up');
      timings.caughtUp = at();
    } else {
      this.log('warn', 'switchover without a reachable primary: promoting without waiting for it', { to: pending.to });
    }
    try {
      await target.stopReplicating();
      await target.setReadOnly(false, switchoverTimeoutSeconds);
    } catch (error) {
      return giveUp(`the target could not be promoted (${(error as Error).message})`, true);
    }
    timings.writable = at();
    await this.moveWrites(pending.to, fromName);
    timings.proxy = at();
    const endpoint = this.config.mariadb.servers[pending.to]!;
    await Promise.all(
      [...this.databases]
        .filter(([name]) => name !== pending.to && probes.get(name)?.health === 'running')
        .map(([name, db]) =>
          db
            .replicateFrom(endpoint, replication, name === fromName)
            .catch((error: Error) =>
              this.log('error', 'could not point a server at the new primary', { server: name, error: error.message }),
            ),
        ),
    );
    timings.repointed = at();
    this.lastSwitchover = timings as SwitchoverTimings;
    this.condition('switchover', undefined);
    this.log('info', 'switchover done', { from: fromName ?? null, to: pending.to, ms: timings });
    return true;
  }

  /** The write backends send new sessions to the new primary only; the old primary's sessions are closed. */
  private async moveWrites(to: string, from: string | undefined): Promise<void> {
    await Promise.all(
      this.proxies.flatMap((proxy) =>
        proxy.entries
          .filter((e) => proxy.writeBackends.has(e.backend) && (e.name === to || e.name === from))
          .map(async (e) => {
            const state = e.name === to ? 'ready' : 'maint';
            await proxy.api.setState(e.backend, e.server, state);
            this.lastSet.set(`${proxy.api.address} ${key(e.backend, e.server)}`, state);
            if (e.name === from) await proxy.api.shutdownSessions(e.backend, e.server);
          }),
      ),
    );
  }

  /** Servers a running rollout holds at its upgrade step: the command runs once per trigger. */
  private async startUpgrades(servers: ServerJson[]): Promise<void> {
    const upgrade = this.config.upgrade!;
    const rolloutIds = new Set(
      servers.flatMap((s) =>
        s.maintenance
          ? s.claims.filter((c) => c.holder.startsWith('rollout:')).map((c) => c.holder.slice('rollout:'.length))
          : [],
      ),
    );
    for (const id of rolloutIds) {
      const rollout = await this.controlPlane.rollout(id).catch(() => undefined);
      if (rollout?.status !== 'running' || rollout.input.upgrade.kind !== 'wait-for-report') continue;
      for (const node of rollout.servers) {
        const server = servers.find((s) => s.name === node.name);
        const endpoint = this.config.mariadb.servers[node.name];
        if (node.step !== 'maintain' || node.outcome !== 'in-progress' || !server?.maintenance || !endpoint) continue;
        if (server.version === rollout.targetVersion && server.health === 'running') continue;
        const run = `${id}/${node.name}/${node.attempt}/${node.stepStartedAt}`;
        if (this.upgrades.has(run)) continue;
        // Not while HAProxy may still send it sessions or has some in flight: a restart would cut them off.
        const busy = (this.proxyEntries.get(node.name) ?? []).filter((e) => e.state === 'ready' || e.sessions > 0);
        this.condition(
          `upgrade of ${node.name}`,
          busy.length > 0
            ? `waits for HAProxy: ${busy.map((e) => `${e.backend}/${e.server} ${e.state}, ${e.sessions} sessions`).join('; ')}`
            : undefined,
        );
        if (busy.length > 0) continue;
        this.log('info', 'upgrade started', { rollout: id, server: node.name, targetVersion: rollout.targetVersion });
        const env = {
          MAINTCTL_CLUSTER: this.config.cluster,
          MAINTCTL_SERVER: node.name,
          MAINTCTL_ADDRESS: endpoint.host,
          MAINTCTL_PORT: String(endpoint.port),
          MAINTCTL_TARGET_VERSION: rollout.targetVersion,
          MAINTCTL_ROLLOUT: id,
        };
        this.upgrades.set(
          run,
          runUpgrade(upgrade.command, env, upgrade.timeoutSeconds * 1000).then(async (failure) => {
            if (failure === undefined) {
              this.log('info', 'upgrade command succeeded', { rollout: id, server: node.name });
              await this.report(node.name, await this.databases.get(node.name)!.probe()).catch(() => undefined);
              return;
            }
            this.log('error', 'upgrade command failed', { rollout: id, server: node.name, failure });
            await this.controlPlane
              .upgradeFailed(id, node.name, failure)
              .catch((error: Error) =>
                this.log('error', 'could not report the upgrade failure', { error: error.message }),
              );
          }),
        );
      }
    }
  }
}
