/**
 * A cluster's audit log, replayed: revisions contiguous, every event's `before` what the log had built so far
 * (else an update was lost), and the disruption budget held at every revision, judged by the domain's own
 * rules on the state rebuilt from the log. The replayed projections are compared with what is stored by
 * `mismatches` (api-client.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import { defaultMaxUnavailable, judge } from '../../functions/domain/budget.js';
import { viewAll, type ServerView } from '../../functions/domain/derive.js';
import type { Cluster, ClusterState, Datacenter, Server } from '../../functions/domain/model.js';
import { canon, type ApiEvent } from './api-client.js';

/** The cluster state the projections describe (what a projection leaves out does not decide availability). */
function stateFrom(
  clusterId: string,
  projections: ReadonlyMap<string, unknown>,
  revision: number,
): ClusterState | undefined {
  const cluster = projections.get('cluster') as Omit<Cluster, 'id' | 'revision' | 'createdAt'> | undefined;
  if (!cluster) return undefined;
  const servers = new Map<string, Server>();
  const dcs = new Map<string, Datacenter>();
  for (const [target, after] of projections) {
    if (target.startsWith('server:')) {
      const name = target.slice('server:'.length);
      servers.set(name, { name, registeredAt: 0, ...(after as Omit<Server, 'name' | 'registeredAt'>) });
    } else if (target.startsWith('dc:')) {
      const name = target.slice('dc:'.length);
      dcs.set(name, { name, ...(after as Omit<Datacenter, 'name'>) });
    }
  }
  return { cluster: { id: clusterId, revision, createdAt: 0, ...structuredClone(cluster) }, dcs, servers };
}

export interface Replay {
  /** target → its last `after` (removed targets are absent). */
  projections: Map<string, unknown>;
  problems: string[];
  revisions: number;
}

const BUDGETED = /^(set|update)-maintenance$/;

function byDc(views: ServerView[]): Map<string, ServerView[]> {
  const groups = new Map<string, ServerView[]>();
  for (const v of views) groups.set(v.server.dc, [...(groups.get(v.server.dc) ?? []), v]);
  return groups;
}

/** Replays the log and checks it at every revision: contiguity, `before`s, and the disruption budget. */
const isStateTarget = (target: string) =>
  target === 'cluster' || target.startsWith('server:') || target.startsWith('dc:');

export function replayAudit(clusterId: string, events: readonly ApiEvent[]): Replay {
  const problems: string[] = [];
  const projections = new Map<string, unknown>();
  const byRevision = new Map<number, ApiEvent[]>();
  for (const e of events) byRevision.set(e.revision, [...(byRevision.get(e.revision) ?? []), e]);
  const revisions = [...byRevision.keys()].sort((a, b) => a - b);
  revisions.forEach((revision, i) => {
    if (revision !== i + 1) problems.push(`revisions are not contiguous: expected ${i + 1}, found ${revision}`);
  });
  let overrideSeen = false;
  for (const revision of revisions) {
    const group = byRevision.get(revision)!;
    group.forEach((e, i) => {
      if (e.seq !== i) problems.push(`revision ${revision}: seq ${e.seq} at position ${i} (duplicate or gap)`);
    });
    const prev = stateFrom(clusterId, projections, revision - 1);
    const at = Date.parse(group[0]!.at);
    for (const e of group) {
      // Rollouts and windows are records of their own; their events summarise them (the state is the rest).
      if (!isStateTarget(e.target)) continue;
      const replayed = projections.get(e.target) ?? null;
      if (!isDeepStrictEqual(canon(e.before), canon(replayed))) {
        problems.push(
          `revision ${revision}.${e.seq} ${e.action} ${e.target}: its before ${JSON.stringify(e.before)} is not the replayed ${JSON.stringify(replayed)} (a lost update)`,
        );
      }
      const before =
        BUDGETED.test(e.action) && !e.override && e.target !== 'cluster'
          ? stateFrom(clusterId, projections, revision)
          : undefined;
      if (e.after === null) projections.delete(e.target);
      else projections.set(e.target, e.after);
      // Each request judged on the state it met: a window's start sets its dcs, then its servers, one by one.
      if (before) {
        const scope = e.target.startsWith('dc:')
          ? { kind: 'dc' as const, dc: e.target.slice(3) }
          : { kind: 'server' as const };
        const verdict = judge(before, stateFrom(clusterId, projections, revision)!, scope, at);
        if (!verdict.allowed)
          problems.push(
            `revision ${revision} ${e.action} ${e.target}: the budget refuses it on the replayed state: ${verdict.reason}`,
          );
      }
    }
    const next = stateFrom(clusterId, projections, revision);
    if (!prev || !next) continue;
    // The budget is charged by requests to take servers out (a server that goes down, or stale, is not one).
    if (!group.some((e) => BUDGETED.test(e.action) && e.target !== 'cluster')) continue;

    // The budget after this revision, judged the way the domain judges it.
    const override = group.some((e) => e.override === true);
    overrideSeen ||= override;
    const wasUnavailable = new Set(
      viewAll(prev, at)
        .filter((v) => v.unavailable)
        .map((v) => v.server.name),
    );
    const limitOf = (n: number) => next.cluster.budget.maxUnavailablePerDc ?? defaultMaxUnavailable(n);
    const dcs = byDc(viewAll(next, at));
    const what = group.map((e) => `${e.action} ${e.target}`).join(', ');
    let withinBudget = 0;
    for (const [dc, views] of dcs) {
      const down = views.filter((v) => v.unavailable).map((v) => v.server.name);
      if (down.length <= limitOf(views.length)) {
        withinBudget++;
        continue;
      }
      const newly = down.filter((n) => !wasUnavailable.has(n));
      const dcRequest = group.some((e) => e.target === `dc:${dc}` && BUDGETED.test(e.action));
      if (newly.length > 0 && !dcRequest && !override) {
        problems.push(
          `revision ${revision} (${what}): dc ${dc} has ${down.length} unavailable [${down.join(' ')}], limit ${limitOf(views.length)}; newly [${newly.join(' ')}] without override`,
        );
      }
    }
    // Servers that went down by themselves can leave no dc within its budget; a request must not be what does.
    const newlyAny = viewAll(next, at).some((v) => v.unavailable && !wasUnavailable.has(v.server.name));
    const withinBefore = [...byDc(viewAll(prev, at))].some(
      ([, views]) => views.filter((v) => v.unavailable).length <= limitOf(views.length),
    );
    if (!overrideSeen && dcs.size > 0 && withinBudget === 0 && newlyAny && withinBefore) {
      problems.push(`revision ${revision} (${what}): no dc is within its budget`);
    }
  }
  return { projections, problems, revisions: revisions.length };
}
