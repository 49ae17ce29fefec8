/**
 * The commands of the model-based test, chosen at random with random arguments and callers (tokens of every role,
 * scoped and not, revoked ones too): maintenance of servers, dcs and clusters (graceful, forced, drain, ttl,
 * override, dry run), agents' reports and upgrades, registrations, windows, rollouts and their controls (several
 * at once), tokens, and the clock moving across occurrences, deadlines, expiries and sweeps. After each: the
 * world settles and every invariant is checked.
 */
import fc from 'fast-check';
import { runSweep } from '../../../functions/sweeper.js';
import { compileSchedule, occurrencesAfter } from '../../../functions/domain/schedule.js';
import type { Role } from '../../../functions/http/routes.js';
import type { MaintenanceWindow } from '../../../functions/domain/windows.js';
import type { Checker } from './invariants.js';
import { agentOf, call, CLUSTERS, settle, V0, V1, V2, type World } from './world.js';

/** The model beside the real world: the commands run, and the invariants' memory of what they have seen. */
export interface Model {
  commands: number;
  check: Checker;
}

const RANK: Record<Role, number> = { viewer: 1, agent: 2, operator: 3, admin: 4 };
const SERVERS: Record<string, string[]> = {
  alpha: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'],
  beta: ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'],
};
const pick = <T>(list: readonly T[], n: number): T => list[n % list.length]!;
const callerOf = (world: World, n: number) => pick(world.tokens, n);

class Step implements fc.AsyncCommand<Model, World> {
  constructor(
    private readonly name: string,
    private readonly args: Record<string, unknown>,
    /** Resolves `true` when the command moved the clock. */
    private readonly act: (world: World) => Promise<unknown>,
  ) {}

  check(): boolean {
    return true;
  }

  async run(model: Model, world: World): Promise<void> {
    model.commands++;
    world.log.push(this.toString());
    const previousTick = world.lastTick;
    const t0 = performance.now();
    const ticked = (await this.act(world)) === true;
    const t1 = performance.now();
    await settle(world);
    const t2 = performance.now();
    await model.check(world, { ticked, previousTick });
    Object.assign(world.timing, {
      act: world.timing.act + t1 - t0,
      settle: world.timing.settle + t2 - t1,
      check: world.timing.check + performance.now() - t2,
    });
    if (world.violations.length > 0) {
      throw new Error(
        `invariants broken after command ${model.commands}:\n${world.violations.map((v) => `- ${v}`).join('\n')}\nthe sequence so far:\n${world.log.slice(-120).join('\n')}`,
      );
    }
  }

  toString(): string {
    return `${this.name} ${JSON.stringify(this.args)}`;
  }
}

/** Mostly the bootstrap admin and the unscoped operator; otherwise any token, revoked ones included. */
const caller = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 5, arbitrary: fc.constant(1) },
  { weight: 3, arbitrary: fc.nat(40) },
);
const cluster = fc.constantFrom('alpha', 'beta');
const server = fc.nat(20);
const rarely = fc.constantFrom(false, false, false, true);

type Make = () => fc.Arbitrary<Step>;
type ArgsOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const serverMaintenance: Make = () =>
  fc
    .record({
      cluster,
      server,
      op: fc.constantFrom('set', 'set', 'clear'),
      mode: fc.constantFrom('maintenance', 'maintenance', 'drain'),
      force: fc.boolean(),
      ttl: fc.constantFrom(undefined, undefined, '2m', '1h'),
      override: rarely,
      dryRun: fc.boolean(),
      caller,
    })
    .map(
      (a) =>
        new Step('server-maintenance', a, async (w) => {
          const s = pick(SERVERS[a.cluster]!, a.server);
          const path = `/v1/clusters/${a.cluster}/servers/${s}/maintenance`;
          if (a.op === 'set')
            await call(w, callerOf(w, a.caller), 'PUT', path, {
              mode: a.mode,
              force: a.force,
              ...(a.ttl && { ttl: a.ttl }),
              ...(a.override && { override: true }),
              dryRun: a.dryRun,
            });
          else
            await call(
              w,
              callerOf(w, a.caller),
              'DELETE',
              `${path}?${a.override ? 'override=true&' : ''}dryRun=${a.dryRun}`,
            );
        }),
    );

const dcMaintenance: Make = () =>
  fc
    .record({
      cluster,
      dc: fc.constantFrom('dc1', 'dc2', 'dc3'),
      op: fc.constantFrom('set', 'clear'),
      override: rarely,
      dryRun: fc.boolean(),
      caller,
    })
    .map(
      (a) =>
        new Step('dc-maintenance', a, async (w) => {
          const path = `/v1/clusters/${a.cluster}/dcs/${a.dc}/maintenance`;
          if (a.op === 'set')
            await call(w, callerOf(w, a.caller), 'PUT', path, {
              ...(a.override && { override: true }),
              dryRun: a.dryRun,
            });
          else
            await call(
              w,
              callerOf(w, a.caller),
              'DELETE',
              `${path}?${a.override ? 'override=true&' : ''}dryRun=${a.dryRun}`,
            );
        }),
    );

const clusterMaintenance: Make = () =>
  fc
    .record({
      cluster,
      op: fc.constantFrom('set', 'clear'),
      ttl: fc.constantFrom(undefined, '30m', '11h', '13h'),
      caller,
    })
    .map(
      (a) =>
        new Step('cluster-maintenance', a, async (w) => {
          const path = `/v1/clusters/${a.cluster}/maintenance`;
          if (a.op === 'set')
            await call(w, callerOf(w, a.caller), 'PUT', path, { reason: 'drill', ...(a.ttl && { ttl: a.ttl }) });
          else await call(w, callerOf(w, a.caller), 'DELETE', path);
        }),
    );

const report: Make = () =>
  fc
    .record({
      cluster,
      server,
      health: fc.constantFrom('running', 'running', 'running', 'running', 'down'),
      version: fc.constantFrom(undefined, undefined, V0, V1, V2),
      connections: fc.nat(2),
      openTransactions: fc.constantFrom(0, 0, 1),
      lag: fc.constantFrom(0, 0, 0.5, 40),
      byAgent: fc.constantFrom(true, true, true, true, false),
      caller,
    })
    .map(
      (a) =>
        new Step('report', a, async (w) => {
          const s = pick(SERVERS[a.cluster]!, a.server);
          const token = a.byAgent ? agentOf(w, a.cluster) : callerOf(w, a.caller);
          await call(w, token, 'PUT', `/v1/clusters/${a.cluster}/servers/${s}/status`, {
            health: a.health,
            connections: a.connections,
            openTransactions: a.openTransactions,
            replicationLagSeconds: a.lag,
            ...(a.version && { version: a.version }),
          });
        }),
    );

const register: Make = () =>
  fc
    .record({
      cluster,
      server,
      method: fc.constantFrom('PUT', 'PATCH'),
      dc: fc.constantFrom('dc1', 'dc2', 'dc3'),
      role: fc.constantFrom('primary', 'replica', 'member'),
      override: rarely,
      caller,
    })
    .map(
      (a) =>
        new Step('register', a, async (w) => {
          const s = pick(SERVERS[a.cluster]!, a.server);
          await call(w, callerOf(w, a.caller), a.method, `/v1/clusters/${a.cluster}/servers/${s}`, {
            dc: a.dc,
            role: a.cluster === 'beta' ? 'member' : a.role,
            ...(a.override && { override: true }),
          });
        }),
    );

const remove: Make = () =>
  fc.record({ cluster, server, caller }).map(
    (a) =>
      new Step('remove-server', a, async (w) => {
        await call(
          w,
          callerOf(w, a.caller),
          'DELETE',
          `/v1/clusters/${a.cluster}/servers/${pick(SERVERS[a.cluster]!, a.server)}`,
        );
      }),
  );

const SCHEDULES = [
  { schedule: 'cron(*/10 * * * ? *)' },
  { schedule: 'cron(0 * * * ? *)' },
  { schedule: 'rate(15 minutes)', startDate: '2040-03-02T00:05:00' },
  { schedule: 'at(2040-03-02T00:30:00)' },
];

/** The rollout input the commands use: waits short against the clock's steps, so timeouts happen too. */
const rolloutInput = fc
  .record({
    targetVersion: fc.constantFrom(V1, V2),
    batchSize: fc.constantFrom(1, 1, 2),
    pauseAfterFirstBatch: fc.boolean(),
    onDrainTimeout: fc.constantFrom('force', 'fail'),
    drainTimeoutSeconds: fc.constantFrom(20, 300),
    upgradeTimeout: fc.constantFrom(120, 1800, 7200),
    verify: fc.record({
      stableForSeconds: fc.constantFrom(0, 0, 20),
      timeoutSeconds: fc.constantFrom(60, 600, 3600),
      maxReplicationLagSeconds: fc.constantFrom(undefined, undefined, 5),
    }),
  })
  .map(({ upgradeTimeout, verify, ...rest }) => ({
    ...rest,
    upgrade: { kind: 'wait-for-report', timeoutSeconds: upgradeTimeout },
    verify: {
      stableForSeconds: verify.stableForSeconds,
      timeoutSeconds: verify.timeoutSeconds,
      ...(verify.maxReplicationLagSeconds !== undefined && {
        maxReplicationLagSeconds: verify.maxReplicationLagSeconds,
      }),
    },
  }));

const windowArgs = fc
  .record({
    cluster,
    action: fc.constantFrom('maintenance', 'maintenance', 'cluster-maintenance', 'rollout', 'rollout'),
    schedule: fc.nat(3),
    duration: fc.constantFrom('PT2M', 'PT5M', 'PT20M', 'PT1H'),
    servers: fc.uniqueArray(server, { maxLength: 2 }),
    dcs: fc.constantFrom([], ['dc2']),
    rollout: rolloutInput,
    caller,
  })
  // A rollout window recurs (every 10 or 15 minutes) and lasts long enough for its rollout to finish (or be
  // aborted) while it is open: its next occurrence then starts a rollout after one that ended.
  .map((a) =>
    a.action === 'rollout'
      ? { ...a, schedule: [0, 2][a.schedule % 2]!, duration: a.duration === 'PT2M' ? 'PT1H' : a.duration }
      : a,
  );

const windowCreateStep = (a: ArgsOf<typeof windowArgs>) =>
  new Step('window-create', a, async (w) => {
    const servers = [...new Set(a.servers.map((n) => pick(SERVERS[a.cluster]!, n)))];
    const targets =
      a.action === 'maintenance'
        ? { servers: servers.length + a.dcs.length ? servers : [pick(SERVERS[a.cluster]!, 1)], dcs: a.dcs }
        : { servers: [], dcs: [] };
    await call(w, callerOf(w, a.caller), 'POST', `/v1/clusters/${a.cluster}/windows`, {
      name: `w-${a.action}`,
      timezone: 'UTC',
      duration: a.duration,
      action: a.action,
      targets,
      ...pick(SCHEDULES, a.schedule),
      ...(a.action === 'rollout' && { rollout: a.rollout }),
    });
  });
const windowCreate: Make = () => windowArgs.map(windowCreateStep);

/** A window of the cluster, as stored (one that is `preferred` if any is), or undefined if there is none. */
async function someWindow(
  w: World,
  c: string,
  n: number,
  preferred: (window: MaintenanceWindow) => boolean = () => true,
) {
  const windows = (await w.env.deps.store.listWindows(c)).sort((x, y) => (x.id < y.id ? -1 : 1));
  const candidates = windows.some(preferred) ? windows.filter(preferred) : windows;
  return candidates.length === 0 ? undefined : pick(candidates, n);
}

const windowChange: Make = () =>
  fc
    .record({
      cluster,
      window: fc.nat(5),
      op: fc.constantFrom('edit-duration', 'disable', 'enable', 'edit-version', 'edit-schedule', 'delete', 'skip'),
      value: fc.nat(3),
      caller,
    })
    .map(
      (a) =>
        new Step('window-change', a, async (w) => {
          const win = await someWindow(w, a.cluster, a.window);
          if (!win) return;
          const path = `/v1/clusters/${a.cluster}/windows/${win.id}`;
          if (a.op === 'delete') return void (await call(w, callerOf(w, a.caller), 'DELETE', path));
          if (a.op === 'skip') return void (await call(w, callerOf(w, a.caller), 'POST', `${path}/skip`));
          const body: Record<string, unknown> = {
            name: win.name,
            schedule: win.schedule,
            timezone: win.timezone,
            duration: win.duration,
            action: win.action,
            targets: win.targets,
            enabled: win.enabled,
            ...(win.startDate && { startDate: win.startDate }),
            ...(win.reason && { reason: win.reason }),
            ...(win.rollout && { rollout: win.rollout }),
          };
          if (a.op === 'edit-duration') body.duration = pick(['PT1M', 'PT5M', 'PT30M'], a.value);
          if (a.op === 'disable' || a.op === 'enable') body.enabled = a.op === 'enable';
          if (a.op === 'edit-version' && win.rollout)
            body.rollout = { ...win.rollout, targetVersion: pick([V1, V2], a.value) };
          if (a.op === 'edit-schedule') Object.assign(body, { startDate: undefined }, pick(SCHEDULES, a.value));
          await call(w, callerOf(w, a.caller), 'PUT', path, body);
        }),
    );

const rolloutStart: Make = () =>
  fc.record({ cluster, input: rolloutInput, some: fc.constantFrom(0, 1, 2, 3), caller }).map(
    (a) =>
      new Step('rollout-start', a, async (w) => {
        // Every server, or the last one, two or three (replicas and members: the primary is a1).
        const servers = a.some > 0 ? SERVERS[a.cluster]!.slice(1, 1 + a.some) : undefined;
        await call(w, callerOf(w, a.caller), 'POST', `/v1/clusters/${a.cluster}/rollouts`, {
          ...a.input,
          ...(servers && { servers }),
        });
      }),
  );

/** The cluster's rollouts, newest first. */
async function rolloutsOf(w: World, c: string) {
  return (await w.env.deps.store.listRollouts(c, { limit: 20 })).rollouts;
}

const controlArgs = fc.record({
  cluster,
  op: fc.constantFrom('pause', 'resume', 'resume', 'abort', 'abort'),
  parallel: fc.constantFrom(1, 1, 2, 3),
  which: fc.constantFrom(0, 0, 0, 1),
  caller,
});
const rolloutControlStep = (a: ArgsOf<typeof controlArgs>) =>
  new Step('rollout-control', a, async (w) => {
    const rollouts = await rolloutsOf(w, a.cluster);
    if (rollouts.length === 0) return;
    const id = rollouts[Math.min(a.which, rollouts.length - 1)]!.id;
    await Promise.all(
      Array.from({ length: a.parallel }, () =>
        call(w, callerOf(w, a.caller), 'POST', `/v1/clusters/${a.cluster}/rollouts/${id}/${a.op}`),
      ),
    );
  });
const rolloutControl: Make = () => controlArgs.map(rolloutControlStep);

const rolloutNode: Make = () =>
  fc.record({ cluster, op: fc.constantFrom('retry', 'skip'), server, caller }).map(
    (a) =>
      new Step('rollout-node', a, async (w) => {
        const [latest] = await rolloutsOf(w, a.cluster);
        if (!latest) return;
        const snapshot = await w.env.deps.store.readRollout(a.cluster, latest.id);
        const failed = [...(snapshot?.nodes.values() ?? [])]
          .filter((n) => n.outcome === 'failed' || n.outcome === 'stopped')
          .map((n) => n.server);
        const s =
          failed.length > 0 && a.server % 3 !== 0
            ? pick(failed, a.server)
            : pick(latest.input.servers ?? SERVERS[a.cluster]!, a.server);
        await call(
          w,
          callerOf(w, a.caller),
          'POST',
          `/v1/clusters/${a.cluster}/rollouts/${latest.id}/servers/${s}/${a.op}`,
        );
      }),
  );

type Behaviour = 'upgrade' | 'drain' | 'switchover' | 'fail' | 'wrong-version' | 'lag' | 'recover';

/** The agents' side of a rollout: upgrading the servers it holds (or failing to), draining, switching roles. */
async function actAsAgent(w: World, cluster: string, behaviours: Behaviour[]): Promise<void> {
  for (const behaviour of behaviours) await act(w, cluster, behaviour);
}

async function act(w: World, cluster: string, behaviour: Behaviour): Promise<void> {
  const state = await w.env.deps.store.readCluster(cluster);
  if (!state) return;
  // Nothing held, nothing pending, nothing down: nothing for the agents to do.
  const idle =
    !state.cluster.pendingSwitchover &&
    [...state.servers.values()].every(
      (s) => s.health !== 'down' && !Object.keys(s.claims).some((h) => h.startsWith('rollout:')),
    );
  if (idle) return;
  const status = (name: string, fields: Record<string, unknown>) => {
    const s = state.servers.get(name)!;
    return call(w, agentOf(w, cluster), 'PUT', `/v1/clusters/${cluster}/servers/${name}/status`, {
      health: 'running',
      role: s.role,
      connections: 0,
      openTransactions: 0,
      replicationLagSeconds: 0,
      ...fields,
    });
  };
  if (behaviour === 'switchover') {
    const pending = state.cluster.pendingSwitchover;
    if (pending?.from && state.servers.has(pending.from)) await status(pending.from, { role: 'replica' });
    if (pending && state.servers.has(pending.to)) await status(pending.to, { role: 'primary' });
    return;
  }
  if (behaviour === 'recover') {
    for (const s of state.servers.values()) if (s.health === 'down') await status(s.name, { version: s.version ?? V0 });
    return;
  }
  const lock = state.cluster.rollout ?? (await rolloutsOf(w, cluster))[0]?.id;
  const target = lock
    ? (await w.env.deps.store.readRollout(cluster, lock, []))?.rollout.input.targetVersion
    : undefined;
  const held = [...state.servers.values()].filter((s) => Object.keys(s.claims).some((h) => h.startsWith('rollout:')));
  for (const s of held) {
    if (behaviour === 'upgrade' && target && s.version !== target) await status(s.name, { version: target });
    if (behaviour === 'drain' && (s.connections ?? 0) > 0) await status(s.name, {});
    if (behaviour === 'fail') await status(s.name, { health: 'down' });
    if (behaviour === 'wrong-version') await status(s.name, { version: V0 });
    if (behaviour === 'lag') await status(s.name, { replicationLagSeconds: 40 });
  }
}

const agent: Make = () =>
  fc
    .record({
      cluster,
      behaviour: fc.constantFrom<Behaviour>(
        'upgrade',
        'upgrade',
        'upgrade',
        'drain',
        'switchover',
        'fail',
        'wrong-version',
        'lag',
        'recover',
      ),
    })
    .map((a) => new Step('agent', a, (w) => actAsAgent(w, a.cluster, [a.behaviour])));

const tokenCreate: Make = () =>
  fc
    .record({
      role: fc.constantFrom<Role>('viewer', 'agent', 'operator', 'admin'),
      clusters: fc.constantFrom<string[] | undefined>(undefined, ['alpha'], ['beta'], ['alpha', 'beta']),
      caller,
    })
    .map(
      (a) =>
        new Step('token-create', a, async (w) => {
          const creator = callerOf(w, a.caller);
          const clusters = a.role === 'agent' ? (a.clusters?.slice(0, 1) ?? ['alpha']) : a.clusters;
          const n = w.tokens.length;
          const res = await call(w, creator, 'POST', '/v1/tokens', {
            user: `t${n}`,
            role: a.role,
            ...(clusters && { clusters }),
          });
          // The reference model: an admin creates what it holds, no more.
          const may =
            !creator.revoked &&
            creator.role === 'admin' &&
            RANK[a.role] <= RANK[creator.role] &&
            (!creator.clusters || clusters?.every((c) => creator.clusters!.includes(c)) === true);
          if (may !== (res.status === 201))
            w.violations.push(
              `token-create by ${creator.user}: the model says ${may ? 'allowed' : 'refused'}, the API answered ${res.status}`,
            );
          if (res.status === 201)
            w.tokens.push({
              id: res.body.id,
              secret: res.body.token,
              user: `t${n}`,
              role: a.role,
              ...(clusters && { clusters }),
              revoked: false,
            });
        }),
    );

const tokenRevoke: Make = () =>
  fc.record({ target: fc.nat(40), caller }).map(
    (a) =>
      new Step('token-revoke', a, async (w) => {
        const by = callerOf(w, a.caller);
        // The agents' tokens stay: servers that nobody reports for only go stale (the silent advance does that).
        const target = pick(
          w.tokens.filter((t) => t.role !== 'agent' || !t.user.startsWith('agent-')),
          a.target,
        );
        const res = await call(w, by, 'DELETE', `/v1/tokens/${target.id}`);
        if (res.status === 200) target.revoked = true;
        if (
          res.status === 200 &&
          by.clusters &&
          (!target.clusters || target.clusters.some((c) => !by.clusters!.includes(c)))
        ) {
          w.violations.push(
            `${by.user} (limited to ${by.clusters.join(',')}) revoked ${target.user} (${target.clusters?.join(',') ?? 'every cluster'})`,
          );
        }
      }),
  );

const failover: Make = () =>
  fc.record({ cluster, op: fc.constantFrom('failover', 'switchover'), to: server, caller }).map(
    (a) =>
      new Step('failover', a, async (w) => {
        const path = `/v1/clusters/${a.cluster}/${a.op}`;
        await call(
          w,
          callerOf(w, a.caller),
          'POST',
          path,
          a.op === 'switchover' ? { to: pick(SERVERS[a.cluster]!, a.to) } : {},
        );
      }),
  );

/**
 * Time passes: the agents report meanwhile, each server as it is (unless they fall silent and the servers go
 * stale), then the scheduler fires what came due and the sweeper applies what time changed.
 */
async function passTime(w: World, a: { ms: number; silent: boolean; agentsWork: boolean }): Promise<true> {
  const before = w.env.deps.now();
  w.env.clock.now = before + a.ms;
  // The agents kept reporting meanwhile, every few seconds: routine reports, each the one conditional write of
  // the API's routine path, so a server fresh when the time began stays fresh (a stale one's agent is silent).
  if (!a.silent) {
    await Promise.all(
      CLUSTERS.map(async ({ id }) => {
        const state = await w.env.deps.store.readCluster(id);
        const reportedSince = before - (state?.cluster.staleAfterSeconds ?? 0) * 1000;
        // Only the reports that keep a server fresh through the new time matter here.
        const staleAt = (s: { reportedAt?: number }) => s.reportedAt! + (state?.cluster.staleAfterSeconds ?? 0) * 1000;
        await Promise.all(
          [...(state?.servers.values() ?? [])]
            .filter((s) => s.reportedAt !== undefined && staleAt(s) < w.env.deps.now())
            .map(async (s) => {
              const report = { health: s.health as 'running' | 'down' };
              if (s.reportedAt! >= reportedSince)
                return w.env.deps.store.writeRoutineReport(
                  id,
                  s.name,
                  report,
                  { ...report, reportedSince },
                  w.env.deps.now(),
                );
              // A silent agent is back: its first report is news (the server is fresh, and running, again).
              await call(w, agentOf(w, id), 'PUT', `/v1/clusters/${id}/servers/${s.name}/status`, {
                health: 'running',
                role: s.role,
                ...(s.version && { version: s.version }),
                connections: 0,
                openTransactions: 0,
                replicationLagSeconds: 0,
              });
            }),
        );
      }),
    );
  }
  // Meanwhile the agents may have done their part of the rollouts: drained, switched roles, upgraded.
  if (a.agentsWork) {
    await Promise.all(CLUSTERS.map(({ id }) => actAsAgent(w, id, ['drain', 'switchover', 'upgrade'])));
  }
  await w.env.windows.tick();
  await runSweep(w.env.deps);
  w.lastTick = w.env.deps.now();
  return true;
}

const silentOrNot = fc.constantFrom(false, false, false, false, false, false, false, true);

const advanceStep = (a: { ms: number; silent: boolean; agentsWork: boolean }) =>
  new Step('advance', a, (w) => passTime(w, a));
const advance: Make = () =>
  fc
    .record({
      ms: fc.constantFrom(1_000, 15_000, 61_000, 3 * 60_000, 7 * 60_000, 16 * 60_000, 40 * 60_000),
      silent: silentOrNot,
      agentsWork: fc.boolean(),
    })
    .map(advanceStep);

/** To just past the next start of one of a cluster's windows (mostly a rollout window): occurrences begin, and follow their last rollout, often. */
const occurrenceArgs = fc.record({
  cluster,
  window: fc.nat(5),
  rolloutWindow: fc.constantFrom(true, true, false),
  silent: silentOrNot,
  agentsWork: fc.boolean(),
});
const advanceToOccurrenceStep = (a: ArgsOf<typeof occurrenceArgs>) =>
  new Step('advance-to-occurrence', a, async (w) => {
    const win = await someWindow(w, a.cluster, a.window, (x) => !a.rolloutWindow || x.action === 'rollout');
    const now = w.env.deps.now();
    const [next] = win
      ? occurrencesAfter(compileSchedule(win.schedule, win.timezone, win.startDate), win.timezone, now, 1)
      : [];
    if (next === undefined || next - now > 2 * 3_600_000) return;
    return passTime(w, { ...a, ms: next - now + 1_000 });
  });
const advanceToOccurrence: Make = () => occurrenceArgs.map(advanceToOccurrenceStep);

/**
 * Sequences written out, run before the random ones: the paths the random ones reach too seldom to be sure of.
 * A recurring rollout window whose rollout is aborted while the occurrence lasts, then its next occurrence (a new
 * rollout, with an id of its own, issue 14 #3), its rollout then carried to its end by the agents.
 */
export function scenarios(): Step[][] {
  const input: ArgsOf<typeof rolloutInput> = {
    targetVersion: V1,
    batchSize: 2,
    pauseAfterFirstBatch: false,
    onDrainTimeout: 'force',
    drainTimeoutSeconds: 20,
    upgrade: { kind: 'wait-for-report', timeoutSeconds: 1800 },
    verify: { stableForSeconds: 0, timeoutSeconds: 600 },
  };
  const next = advanceToOccurrenceStep({
    cluster: 'alpha',
    window: 0,
    rolloutWindow: true,
    silent: false,
    agentsWork: true,
  });
  const work = advanceStep({ ms: 61_000, silent: false, agentsWork: true });
  return [
    [
      windowCreateStep({
        cluster: 'alpha',
        action: 'rollout',
        schedule: 0,
        duration: 'PT1H',
        servers: [],
        dcs: [],
        rollout: input,
        caller: 0,
      }),
      next,
      rolloutControlStep({ cluster: 'alpha', op: 'abort', parallel: 1, which: 0, caller: 0 }),
      work,
      next,
      work,
      work,
      work,
      work,
      work,
      next,
    ],
  ];
}

/** Every command, weighted: the clock and the agents often, so rollouts and windows get somewhere. */
export function commandArbitrary(): fc.Arbitrary<Step> {
  return fc.oneof(
    { weight: 5, arbitrary: serverMaintenance() },
    { weight: 2, arbitrary: dcMaintenance() },
    { weight: 2, arbitrary: clusterMaintenance() },
    { weight: 4, arbitrary: report() },
    { weight: 2, arbitrary: register() },
    { weight: 1, arbitrary: remove() },
    { weight: 4, arbitrary: windowCreate() },
    { weight: 3, arbitrary: windowChange() },
    { weight: 3, arbitrary: rolloutStart() },
    { weight: 4, arbitrary: rolloutControl() },
    { weight: 2, arbitrary: rolloutNode() },
    { weight: 5, arbitrary: agent() },
    { weight: 2, arbitrary: tokenCreate() },
    { weight: 2, arbitrary: tokenRevoke() },
    { weight: 1, arbitrary: failover() },
    { weight: 6, arbitrary: advance() },
    { weight: 3, arbitrary: advanceToOccurrence() },
  );
}
