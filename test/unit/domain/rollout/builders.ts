/** The rollout tests' builders: small explicit states and snapshots. */
import { withServer } from '../../../../functions/domain/outcome.js';
import type { Claim, ClusterState, Server } from '../../../../functions/domain/model.js';
import { createRollout, pauseAutomation, plan, preflight } from '../../../../functions/domain/rollout/lifecycle.js';
import type {
  NodeProgress,
  Rollout,
  RolloutInput,
  RolloutSnapshot,
} from '../../../../functions/domain/rollout/model.js';
import { actor, claim, NOW, replicas, server, state } from '../fixtures.js';
import { rolloutInput } from '../../../support/rollout-input.js';

export const ID = 'r-1';
export const HOLDER = 'rollout:r-1';
export const V1 = '10.6.1';
export const V2 = '10.11.7';

/** The rollout input's defaults (README "Rolling upgrades"), upgrading to V2. */
export const input = (overrides: Partial<RolloutInput> = {}): RolloutInput =>
  rolloutInput({ targetVersion: V2, ...overrides });

/** A primary `p` and replicas r1..r3, all in dc1 at V1: the default budget of 4 allows 1 unavailable. */
export const fleet = (extra: Server[] = []): ClusterState =>
  state([server('p', { role: 'primary', version: V1 }), ...replicas('r', 3, 'dc1', { version: V1 }), ...extra]);

/** A rollout as Preflight, PauseAutomation and Plan leave it: returns the cluster state and the snapshot. */
export function started(st: ClusterState = fleet(), overrides: Partial<RolloutInput> = {}, now = NOW) {
  const created = createRollout(st, ID, input(overrides), actor(), now);
  const ready = preflight(created.next, created.rollout, 'exec-1', actor(), now);
  const paused = pauseAutomation(ready.next, ready.rollout, actor(), now);
  const planned = plan(paused.next, paused.rollout, now);
  return { st: planned.next, r: planned.rollout };
}

/** The snapshot with the record changed (status, batch pointer, ...). */
export const withRecord = (r: RolloutSnapshot, changes: Partial<Rollout>): RolloutSnapshot => ({
  ...r,
  rollout: { ...r.rollout, ...changes },
});

/** A node's stored progress. */
export function node(name: string, overrides: Partial<NodeProgress> = {}): NodeProgress {
  return { server: name, step: 'pending', outcome: 'pending', attempt: 1, version: 1, ...overrides };
}

export const done = (name: string) => node(name, { step: 'done', outcome: 'upgraded' });

/** The snapshot with these nodes stored. */
export function withNodes(r: RolloutSnapshot, ...nodes: NodeProgress[]): RolloutSnapshot {
  const map = new Map(r.nodes);
  for (const n of nodes) map.set(n.server, n);
  return { ...r, nodes: map };
}

/** The state with the server changed. */
export const patch = (st: ClusterState, name: string, changes: Partial<Server>): ClusterState =>
  withServer(st, { ...st.servers.get(name)!, ...changes });

/** The rollout's own graceful claim, as drainNode sets it. */
export const held = (overrides: Partial<Claim> = {}): Claim =>
  claim({ actor: 'alice', onDeadline: 'hold', since: NOW, ...overrides });

/** The state with the rollout holding these servers. */
export function holding(st: ClusterState, ...names: string[]): ClusterState {
  let next = st;
  for (const n of names) {
    const s = next.servers.get(n)!;
    next = withServer(next, { ...s, claims: { ...s.claims, [HOLDER]: held() } });
  }
  return next;
}

export const actions = (o: { events: { action: string }[] }) => o.events.map((e) => e.action);

/** Every server of the fleet upgraded: at V2, each node cleared. */
export function upgradedAll() {
  const { st, r } = started();
  const names = ['p', 'r1', 'r2', 'r3'];
  return { st: names.reduce((x, n) => patch(x, n, { version: V2 }), st), r: withNodes(r, ...names.map(done)) };
}
