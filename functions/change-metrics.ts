/**
 * The metrics of every change a store writes, whoever makes it (a request, a rollout's task, a window, the sweeper):
 * servers in maintenance per cluster (a gauge, after each change and on each sweep), how long a drain or maintenance
 * claim lasted when it ends, how long a rollout node's step took when the node leaves it. Computed from the state
 * the rule read and the outcome it wrote, so no handler has to remember to report them.
 */
import { viewServer } from './domain/derive.js';
import type { Claims, ClusterState } from './domain/model.js';
import type { Store } from './store/store.js';
import { log, type MetricGroup, metricsEnabled } from './telemetry.js';

type Decide = Parameters<Store['mutate']>[1];
type Snapshot = NonNullable<Parameters<Decide>[1]>;
type Outcome = ReturnType<Decide>;

/** Claims present before and gone (or replaced by a newer one) after: their durations by mode, in seconds. */
function endedClaims(before: Claims, after: Claims | undefined, now: number, into: Record<string, number[]>): void {
  for (const [holder, claim] of Object.entries(before)) {
    if (after?.[holder]?.since === claim.since) continue;
    const name = claim.mode === 'drain' ? 'DrainDuration' : 'MaintenanceDuration';
    into[name] = [...(into[name] ?? []), Math.max(0, (now - claim.since) / 1000)];
  }
}

export function changeMetrics(
  before: ClusterState | undefined,
  rollout: Snapshot | undefined,
  outcome: Outcome,
  now: number,
): MetricGroup[] {
  const { next } = outcome;
  // A sweep of a cluster removed meanwhile decides on nothing.
  if (outcome.removed || !next) return [];
  const cluster = { cluster: next.cluster.id };
  let inMaintenance = 0;
  let draining = 0;
  for (const server of next.servers.values()) {
    const view = viewServer(server, next.dcs.get(server.dc), next.cluster, now);
    if (view.maintenance) inMaintenance++;
    if (view.draining) draining++;
  }
  const durations: Record<string, number[]> = {};
  for (const [name, server] of before?.servers ?? [])
    endedClaims(server.claims, next.servers.get(name)?.claims, now, durations);
  for (const [name, dc] of before?.dcs ?? []) endedClaims(dc.claims, next.dcs.get(name)?.claims, now, durations);
  const groups: MetricGroup[] = [
    {
      dimensions: cluster,
      metrics: {
        ServersInMaintenance: [inMaintenance, 'Count'],
        ServersDraining: [draining, 'Count'],
        ...Object.fromEntries(Object.entries(durations).map(([name, values]) => [name, [values, 'Seconds']])),
      },
    },
  ];
  // A node that left a step it was in: that step's duration.
  for (const [server, after] of outcome.rollout?.nodes ?? []) {
    const node = rollout?.nodes.get(server);
    if (node?.outcome !== 'in-progress' || node.stepStartedAt === undefined) continue;
    if (after.step === node.step && after.stepStartedAt === node.stepStartedAt) continue;
    groups.push({
      dimensions: { step: node.step },
      metrics: { StepDuration: [Math.max(0, (now - node.stepStartedAt) / 1000), 'Seconds'] },
    });
  }
  return groups;
}

/**
 * The store, its writes measured: after each mutation that did not only decide (`dryRun`) or replay, one metrics
 * line with the change's request id as correlation id.
 */
export function meteredStore(store: Store, now: () => number): Store {
  const mutate: Store['mutate'] = async (id, decide, options) => {
    let read: { state: ClusterState | undefined; rollout: Snapshot | undefined } | undefined;
    const result = await store.mutate(
      id,
      (state, rollout, window) => {
        read = { state, rollout };
        return decide(state, rollout, window);
      },
      options,
    );
    if (!options.dryRun && !result.replayed && read && metricsEnabled()) {
      try {
        const groups = changeMetrics(read.state, read.rollout, result.outcome, now());
        if (groups.length) log('debug', 'change', { correlation_id: options.actor.requestId }, groups);
      } catch (error) {
        // Measuring must never fail a change that was written.
        log('warn', 'change metrics failed', { error: String(error) });
      }
    }
    return result;
  };
  return new Proxy(store, {
    get: (target, key) => {
      if (key === 'mutate') return mutate;
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
