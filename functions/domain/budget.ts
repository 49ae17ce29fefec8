/**
 * The disruption budget (docs/claims-and-budget.md). It judges a proposed next state against the current one:
 * only servers that the change makes unavailable are charged.
 */
import { viewAll, type ServerView } from './derive.js';
import type { ClusterState } from './model.js';

export type RequestScope = { kind: 'server' } | { kind: 'dc'; dc: string };

export interface Verdict {
  allowed: boolean;
  /** Why a refused change is refused. */
  reason?: string;
  /** Servers this change would make unavailable. */
  newlyUnavailable: string[];
  /** Primaries among them: who would lose primary. */
  losesPrimary: string[];
  /** Servers using the budget that a refusal is about. */
  usingBudget: string[];
}

/** Default unavailable servers allowed per dc of n servers: a majority stays up. */
export function defaultMaxUnavailable(n: number): number {
  if (n >= 3) return Math.floor((n - 1) / 2);
  return n === 2 ? 1 : 0;
}

function byDc(views: ServerView[]): Map<string, ServerView[]> {
  const groups = new Map<string, ServerView[]>();
  for (const v of views) {
    const group = groups.get(v.server.dc);
    if (group) group.push(v);
    else groups.set(v.server.dc, [v]);
  }
  return groups;
}

export function judge(current: ClusterState, next: ClusterState, scope: RequestScope, now: number): Verdict {
  const before = new Map(viewAll(current, now).map((v) => [v.server.name, v]));
  const after = viewAll(next, now);
  const newly = after.filter((v) => v.unavailable && !(before.get(v.server.name)?.unavailable ?? false));
  const verdict: Verdict = {
    allowed: true,
    newlyUnavailable: newly.map((v) => v.server.name),
    losesPrimary: newly.filter((v) => v.server.role === 'primary').map((v) => v.server.name),
    usingBudget: [],
  };
  if (newly.length === 0) return verdict;

  const limit = (n: number) => next.cluster.budget.maxUnavailablePerDc ?? defaultMaxUnavailable(n);
  const dcs = byDc(after);
  const unavailableIn = (servers: ServerView[]) => servers.filter((v) => v.unavailable).map((v) => v.server.name);
  const refuse = (reason: string, usingBudget: string[]): Verdict => ({
    ...verdict,
    allowed: false,
    reason,
    usingBudget,
  });

  if (scope.kind === 'server') {
    for (const dc of new Set(newly.map((v) => v.server.dc))) {
      const servers = dcs.get(dc)!;
      const down = unavailableIn(servers);
      if (down.length > limit(servers.length)) {
        return refuse(
          `dc ${dc} allows ${limit(servers.length)} unavailable of ${servers.length}; this would make ${down.length}`,
          down,
        );
      }
    }
  } else {
    const healthyElsewhere = [...dcs].some(
      ([dc, servers]) => dc !== scope.dc && unavailableIn(servers).length <= limit(servers.length),
    );
    if (!healthyElsewhere) {
      const others = [...dcs].filter(([dc]) => dc !== scope.dc).flatMap(([, s]) => unavailableIn(s));
      return refuse(`taking dc ${scope.dc} out needs another dc within its budget, and there is none`, others);
    }
  }

  const electableBefore = [...before.values()].filter((v) => v.electable).length;
  const hasPrimaryReplica = after.some((v) => v.server.role !== 'member');
  if (hasPrimaryReplica && electableBefore > 0 && !after.some((v) => v.electable)) {
    return refuse(
      'the cluster must keep at least one electable server',
      after.filter((v) => v.unavailable).map((v) => v.server.name),
    );
  }
  return verdict;
}
