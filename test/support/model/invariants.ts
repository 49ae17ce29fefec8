/**
 * The promises maintctl makes, checked on the real stored state after every command of a model-based run:
 * the budget at every revision and the audit log replaying to the state; rollouts that never return an unverified
 * server to service, never succeed falsely, run one at a time, each id one run; window claims exactly while an
 * occurrence is open; automation paused only by a holder that can end it; tokens never above their creator;
 * conditional reads that never answer 304 for a changed list; refusals that change nothing.
 */
import { isDeepStrictEqual } from 'node:util';
import { serverJson } from '../../../functions/api/render.js';
import { claimHolds, viewAll } from '../../../functions/domain/derive.js';
import type { ClusterState } from '../../../functions/domain/model.js';
import { MANUAL_PAUSE_MAX_MS } from '../../../functions/domain/maintenance.js';
import type { Rollout, RolloutSnapshot } from '../../../functions/domain/rollout/model.js';
import { compileSchedule, MAX_WINDOW_MS, occurrencesAfter } from '../../../functions/domain/schedule.js';
import type { MaintenanceWindow } from '../../../functions/domain/windows.js';
import type { TokenRecord } from '../../../functions/store/store.js';
import { canon, mismatches, type ApiEvent } from '../api-client.js';
import { replayAudit } from '../audit-replay.js';
import { CLUSTERS, type World } from './world.js';

export const INVARIANTS = [
  'no answer ≥ 500; a revoked token is refused',
  'every refusal (4xx) and dry run changes nothing',
  'the audit log replays to the stored state, revisions contiguous, no lost update',
  'the disruption budget holds at every revision',
  'a rollout clears a server only once it reports the target version, running, and has passed Verify',
  'a rollout succeeds only if every server it did not skip is at the target version',
  'a rollout id names one run (one start, its version and creation never change)',
  'at most one execution runs a rollout at any time',
  "a window's claims exist exactly while its open occurrence lasts; each occurrence due has started, been blocked or skipped",
  'automation is paused only by a holder that can end it (an active rollout, an open window, a manual pause ≤ 12 h)',
  'no token holds more role or scope than the token that created it; an unscoped admin token remains',
  'If-None-Match never answers 304 for a list that changed',
];

const RANK = { viewer: 1, agent: 2, operator: 3, admin: 4 } as const;

/** An audit event as stored: who wrote it, and for which request. */
type ModelEvent = ApiEvent & { actor: string; requestId: string };

interface Seen {
  events: ModelEvent[];
  /** Rollouts as first seen: a rollout id is one run. */
  rollouts: Map<string, { createdAt: number; targetVersion: string }>;
  /** The last snapshot of each rollout, read again while it runs or when its record changed. */
  snapshots: Map<string, RolloutSnapshot>;
  /** The cluster's last list: its tag and its routing-relevant part. */
  list?: { tag: string; routing: unknown };
}

export type Checker = (world: World, opts: { ticked: boolean; previousTick: number }) => Promise<void>;

export function invariantChecker(): Checker {
  const seen = new Map<string, Seen>();
  const of = (cluster: string) => {
    let s = seen.get(cluster);
    if (!s) {
      s = { events: [], rollouts: new Map(), snapshots: new Map() };
      seen.set(cluster, s);
    }
    return s;
  };

  return async (world, { ticked, previousTick }) => {
    const { store } = world.env.deps;
    const now = world.env.deps.now();
    const fail = (message: string) => world.violations.push(message);
    const refused = world.refused.splice(0);
    for (const v of world.executions.violations.splice(0)) fail(v);
    // What was written since, by partition: a cluster nobody wrote to, with no time passed, has nothing new
    // (refused requests included: every change writes its cluster's item).
    const written = [...world.written];
    world.written.clear();
    const touched = (cluster: string) => ticked || written.some((pk) => pk.split('#').includes(cluster));

    await Promise.all(
      CLUSTERS.filter(({ id }) => touched(id)).map(async ({ id: cluster }) => {
        const s = of(cluster);
        const [{ rollouts: records }, windows] = await Promise.all([
          store.listRollouts(cluster, { limit: 1000 }),
          store.listWindows(cluster),
        ]);
        const [events, state, rollouts] = await Promise.all([
          newEvents(world, cluster, s.events.at(-1)),
          store.readCluster(cluster),
          Promise.all(
            records.map(async (r) => {
              const known = s.snapshots.get(r.id);
              if (known && known.rollout.version === r.version && !ACTIVE.includes(r.status)) return known;
              const snapshot = (await store.readRollout(cluster, r.id))!;
              s.snapshots.set(r.id, snapshot);
              return snapshot;
            }),
          ),
        ]);
        s.events.push(...events);
        for (const e of events) world.reached.set(e.action, (world.reached.get(e.action) ?? 0) + 1);
        if (!state) return;

        // The log replays to the state, the budget held at every revision.
        const replay = replayAudit(cluster, s.events);
        for (const p of replay.problems) fail(`${cluster}: ${p}`);
        for (const m of mismatches(state, replay.projections)) fail(`${cluster}: stored and replayed differ: ${m}`);

        // Refusals and dry runs wrote nothing.
        const byRequest = new Set(s.events.map((e) => e.requestId));
        for (const r of refused) if (byRequest.has(r.requestId)) fail(`a refused request wrote an event: ${r.what}`);

        checkRollouts(cluster, s, rollouts, fail);
        checkWindows(cluster, s, state, windows, now, ticked ? previousTick : undefined, fail);
        checkAutomation(cluster, state, windows, rollouts, now, fail);
        await checkConditionalRead(world, cluster, s, state, now, fail);
      }),
    );
    if (written.some((pk) => pk.startsWith('TOKEN'))) await checkTokens(world, fail);
  };
}

/** The events after the last one seen (the log is read newest first, a page at a time, until it meets it). */
async function newEvents(world: World, cluster: string, last: ModelEvent | undefined): Promise<ModelEvent[]> {
  const fresh: ModelEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await world.env.deps.store.listEvents(cluster, { limit: 200, ...(cursor && { cursor }) });
    for (const e of page.events) {
      if (last && (e.revision < last.revision || (e.revision === last.revision && e.seq <= last.seq)))
        return fresh.reverse();
      fresh.push({ ...e, at: new Date(e.at).toISOString() } as unknown as ModelEvent);
    }
    if (!page.cursor) return fresh.reverse();
    cursor = page.cursor;
  }
}

const ACTIVE: Rollout['status'][] = ['running', 'pausing', 'aborting'];

function checkRollouts(cluster: string, s: Seen, rollouts: RolloutSnapshot[], fail: (m: string) => void): void {
  const byId = new Map(rollouts.map((r) => [r.rollout.id, r]));
  // One run per id: one start, and what it was started with never changes.
  const starts = new Map<string, number>();
  for (const e of s.events) if (e.action === 'start-rollout') starts.set(e.target, (starts.get(e.target) ?? 0) + 1);
  for (const [target, n] of starts)
    if (n > 1) fail(`${cluster}: ${target} was started ${n} times (a rollout id is one run)`);
  for (const { rollout } of rollouts) {
    const first = s.rollouts.get(rollout.id);
    if (!first)
      s.rollouts.set(rollout.id, { createdAt: rollout.createdAt, targetVersion: rollout.input.targetVersion });
    else if (first.createdAt !== rollout.createdAt || first.targetVersion !== rollout.input.targetVersion)
      fail(
        `${cluster}: rollout ${rollout.id} was re-created (${first.targetVersion} → ${rollout.input.targetVersion})`,
      );
  }
  if (rollouts.filter((r) => r.rollout.status !== 'succeeded' && r.rollout.status !== 'aborted').length > 1)
    fail(`${cluster}: more than one rollout holds the cluster's lock`);

  // Replayed projections at each revision: what a clear and a finish saw.
  const servers = new Map<string, { version?: string; health?: string }>();
  for (const e of s.events) {
    if (e.target.startsWith('server:')) {
      const name = e.target.slice('server:'.length);
      const rolloutId = e.actor.startsWith('rollout:') ? e.actor.slice('rollout:'.length) : undefined;
      const rollout = rolloutId ? byId.get(rolloutId) : undefined;
      if (rollout && e.action === 'clear-maintenance') {
        const before = e.before as { version?: string; health?: string } | null;
        if (before?.version !== rollout.rollout.input.targetVersion || before.health !== 'running') {
          fail(
            `${cluster}: rollout ${rolloutId} cleared ${name} reporting ${before?.version} (${before?.health}), not ${rollout.rollout.input.targetVersion}`,
          );
        }
        const node = rollout.nodes.get(name);
        if (node?.verifiedAt === undefined)
          fail(`${cluster}: rollout ${rolloutId} cleared ${name} without a passed Verify`);
      }
      if (e.after === null) servers.delete(name);
      else servers.set(name, e.after as { version?: string; health?: string });
    }
    if (e.action === 'finish-rollout') {
      const rollout = byId.get(e.target.slice('rollout:'.length));
      if (!rollout) continue;
      for (const name of rollout.rollout.input.servers ?? []) {
        const node = rollout.nodes.get(name);
        const skipped = node?.outcome === 'skipped';
        const done = node?.outcome === 'upgraded' || rollout.rollout.alreadyUpgraded.includes(name);
        if (!skipped && !done)
          fail(`${cluster}: rollout ${rollout.rollout.id} succeeded with ${name} ${node?.outcome ?? 'pending'}`);
        const server = servers.get(name);
        if (!skipped && server && server.version !== rollout.rollout.input.targetVersion) {
          fail(
            `${cluster}: rollout ${rollout.rollout.id} succeeded with ${name} at ${server.version}, not ${rollout.rollout.input.targetVersion}`,
          );
        }
      }
    }
  }
  for (const r of rollouts) {
    for (const node of r.nodes.values()) {
      if (node.outcome === 'upgraded' && node.verifiedAt === undefined)
        fail(`${cluster}: rollout ${r.rollout.id} marked ${node.server} upgraded without a passed Verify`);
    }
  }
}

function holdersOf(state: ClusterState, holder: string): string[] {
  const targets: string[] = [];
  if (Object.hasOwn(state.cluster.claims, holder)) targets.push('cluster');
  for (const dc of state.dcs.values()) if (Object.hasOwn(dc.claims, holder)) targets.push(`dc:${dc.name}`);
  for (const server of state.servers.values())
    if (Object.hasOwn(server.claims, holder)) targets.push(`server:${server.name}`);
  return targets;
}

function checkWindows(
  cluster: string,
  s: Seen,
  state: ClusterState,
  windows: MaintenanceWindow[],
  now: number,
  previousTick: number | undefined,
  fail: (m: string) => void,
): void {
  const holders = new Set<string>();
  for (const c of [
    state.cluster.claims,
    ...[...state.dcs.values()].map((d) => d.claims),
    ...[...state.servers.values()].map((x) => x.claims),
  ]) {
    for (const h of Object.keys(c)) if (h.startsWith('window:')) holders.add(h.slice('window:'.length));
  }
  for (const id of holders) {
    const w = windows.find((x) => x.id === id);
    if (!w) fail(`${cluster}: window ${id} is gone, its claims on ${holdersOf(state, `window:${id}`).join(', ')} stay`);
    else if (!w.open)
      fail(`${cluster}: window ${id} holds ${holdersOf(state, `window:${id}`).join(', ')} with no occurrence open`);
    else if (previousTick !== undefined && now >= w.open.until)
      fail(
        `${cluster}: window ${id} still holds ${holdersOf(state, `window:${id}`).join(', ')} after its occurrence ended`,
      );
  }
  if (previousTick === undefined) return;
  for (const w of windows) {
    if (w.open && now >= w.open.until)
      fail(
        `${cluster}: window ${w.id}'s occurrence ${new Date(w.open.occurrence).toISOString()} is over but still open`,
      );
    if (!w.enabled) continue;
    // Every occurrence the scheduler passed (since the window existed) has a run: started, blocked or skipped.
    const due = occurrencesAfter(
      compileSchedule(w.schedule, w.timezone, w.startDate),
      w.timezone,
      previousTick - MAX_WINDOW_MS,
      200,
    ).filter((t) => t > previousTick && t <= now && t >= w.createdAt && t + w.durationMs > now);
    for (const t of due) {
      const iso = new Date(t).toISOString();
      const run = s.events.find(
        (e) =>
          e.target === `window:${w.id}` &&
          ['window-start', 'window-blocked', 'window-skipped'].includes(e.action) &&
          (e.after as { occurrence?: string }).occurrence === iso,
      );
      if (!run) fail(`${cluster}: window ${w.id}'s occurrence ${iso} is due and has no run`);
      // Occurrences may overlap (a duration longer than the period): the latest one started holds the claims.
      else if (run.action === 'window-start' && w.action !== 'rollout' && !(w.open && w.open.occurrence >= t))
        fail(`${cluster}: window ${w.id} started ${iso}, yet no occurrence since is open`);
    }
  }
  // An occurrence that started and has not reached its end stays open (or a later one does): nothing ended it early.
  for (const w of windows) {
    if (w.action === 'rollout') continue;
    const runs = s.events.filter((e) => e.target === `window:${w.id}`);
    for (const start of runs.filter((e) => e.action === 'window-start')) {
      const { occurrence, until } = start.after as { occurrence: string; until: string };
      const ended = runs.some(
        (e) => e.action === 'window-end' && (e.after as { occurrence?: string }).occurrence === occurrence,
      );
      if (Date.parse(until) > now && !ended && !(w.open && w.open.occurrence >= Date.parse(occurrence)))
        fail(`${cluster}: window ${w.id}'s occurrence ${occurrence} ended before ${until}`);
    }
  }
}

function checkAutomation(
  cluster: string,
  state: ClusterState,
  windows: MaintenanceWindow[],
  rollouts: RolloutSnapshot[],
  now: number,
  fail: (m: string) => void,
): void {
  for (const [holder, claim] of Object.entries(state.cluster.claims)) {
    if (!claimHolds(claim, now, false)) continue;
    if (holder === 'manual') {
      if (claim.until === undefined || claim.until - now > MANUAL_PAUSE_MAX_MS)
        fail(
          `${cluster}: a manual pause of automation without its 12 h limit (until ${claim.until && new Date(claim.until).toISOString()})`,
        );
    } else if (holder.startsWith('window:')) {
      const w = windows.find((x) => x.id === holder.slice('window:'.length));
      if (!w?.open || now >= w.open.until) fail(`${cluster}: ${holder} pauses automation with no open occurrence`);
    } else if (holder.startsWith('rollout:')) {
      const r = rollouts.find((x) => x.rollout.id === holder.slice('rollout:'.length))?.rollout;
      const live =
        r &&
        (ACTIVE.includes(r.status) ||
          r.status === 'failed' ||
          (r.status === 'aborted' && holdersOf(state, holder).length > 1));
      if (!live) fail(`${cluster}: ${holder} pauses automation, yet it is ${r?.status ?? 'gone'} and holds nothing`);
    }
  }
}

/** The fields of a server's JSON that routing and election read. */
const ROUTING_FIELDS = [
  'name',
  'state',
  'routable',
  'electable',
  'stale',
  'maintenance',
  'pending',
  'draining',
  'drained',
  'closeConnections',
  'claims',
  'dc',
  'role',
  'version',
  'health',
] as const;

/** The list's routing-relevant part, as the API renders it. */
const routingOf = (state: ClusterState, now: number) =>
  canon(
    viewAll(state, now)
      .map(serverJson)
      .map((json) => Object.fromEntries(ROUTING_FIELDS.map((field) => [field, json[field]]))),
  );

/** If-None-Match with the last tag: a 304 only while the list is what it was. */
async function checkConditionalRead(
  world: World,
  cluster: string,
  s: Seen,
  state: ClusterState,
  now: number,
  fail: (m: string) => void,
): Promise<void> {
  const res = await fetch(`${world.env.url}/v1/clusters/${cluster}/servers`, {
    headers: { authorization: `Bearer ${world.observer}`, ...(s.list && { 'if-none-match': s.list.tag }) },
  });
  await res.arrayBuffer();
  const routing = routingOf(state, now);
  if (res.status === 304) {
    if (!isDeepStrictEqual(routing, s.list!.routing))
      fail(
        `${cluster}: If-None-Match answered 304 for tag ${s.list!.tag}, yet the list changed: ${JSON.stringify(routing).slice(0, 400)}`,
      );
    return;
  }
  if (res.status !== 200) return fail(`${cluster}: a read of the list answered ${res.status}`);
  s.list = { tag: res.headers.get('etag')!, routing };
}

async function checkTokens(world: World, fail: (m: string) => void): Promise<void> {
  const stored = await world.env.deps.store.listTokens();
  const byId = new Map<string, TokenRecord | { role: TokenRecord['role']; clusters?: string[] }>(
    stored.map((t) => [t.id, t]),
  );
  for (const t of world.tokens) if (!byId.has(t.id)) byId.set(t.id, t);
  for (const t of stored) {
    if (!t.createdBy) continue;
    const creator = byId.get(t.createdBy.tokenId);
    if (!creator) continue;
    if (RANK[t.role] > RANK[creator.role])
      fail(`token ${t.user} (${t.role}) was created by ${t.createdBy.user} (${creator.role})`);
    if (creator.clusters && (!t.clusters || t.clusters.some((c) => !creator.clusters!.includes(c))))
      fail(
        `token ${t.user} (${t.clusters?.join(',') ?? 'every cluster'}) was created by ${t.createdBy.user}, limited to ${creator.clusters.join(',')}`,
      );
  }
  if (!stored.some((t) => t.role === 'admin' && !t.clusters)) fail('no unscoped admin token is left');
  for (const t of world.tokens)
    if (t.revoked && stored.some((x) => x.id === t.id)) fail(`token ${t.user} was revoked (200) yet is still stored`);
}
