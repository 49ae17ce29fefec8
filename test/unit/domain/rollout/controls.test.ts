/** rollout/controls.ts: the operators' controls: pause, abort, resume, retry and skip. */
import { describe, expect, it } from 'vitest';
import { viewOf } from '../../../../functions/domain/derive.js';
import {
  requestAbort,
  requestPause,
  requireResumable,
  resumeRollout,
  retryNode,
  skipNode,
} from '../../../../functions/domain/rollout/controls.js';
import {
  abortRollout,
  failRollout,
  nextBatch,
  pauseRollout,
  preflight,
} from '../../../../functions/domain/rollout/lifecycle.js';
import { finished, nodeOf } from '../../../../functions/domain/rollout/model.js';
import { actor, caught, claim, HOUR, MIN, NOW, SEC } from '../fixtures.js';
import { ID, HOLDER, started, withRecord, node, done, withNodes, patch, held, holding, actions } from './builders.js';

describe('requestPause and requestAbort', () => {
  it('pause: a running rollout becomes pausing; pausing and paused are answered as they are', () => {
    const { st, r } = started();
    const o = requestPause(st, r, NOW + SEC);
    expect(o.rollout.rollout.status).toBe('pausing');
    expect(actions(o)).toEqual(['request-pause']);
    expect(o.next).toBe(st);
    for (const status of ['pausing', 'paused'] as const) {
      const snap = withRecord(r, { status });
      const again = requestPause(st, snap, NOW);
      expect(again.rollout).toBe(snap);
      expect(again.answer).toEqual({ outcome: status });
      expect(again.events).toEqual([]);
    }
  });

  it('pause: refused for a rollout without an execution or being aborted', () => {
    const { st, r } = started();
    for (const status of ['aborting', 'aborted', 'failed', 'succeeded'] as const) {
      expect(caught(() => requestPause(st, withRecord(r, { status }), NOW)).code).toBe('RolloutConflict');
    }
  });

  it('abort: a running or pausing rollout becomes aborting, stopping at the next step boundary', () => {
    const { st, r } = started();
    for (const status of ['running', 'pausing'] as const) {
      const o = requestAbort(st, withRecord(r, { status }), actor(), NOW);
      expect(o.rollout.rollout.status).toBe('aborting');
      expect(actions(o)).toEqual(['request-abort']);
      expect(o.next.cluster.rollout).toBe(ID);
    }
  });

  it('abort: a paused rollout is aborted at once, releasing its lock', () => {
    const { st, r } = started();
    const paused = pauseRollout(st, r, actor(), NOW);
    const o = requestAbort(paused.next, paused.rollout, actor(), NOW + MIN);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.cluster.rollout).toBeUndefined();
    expect(actions(o)).toEqual(['abort-rollout']);
  });

  it("abort: a paused rollout is aborted at once even while someone else's claim pauses automation", () => {
    const { st, r } = started();
    const paused = pauseRollout(st, r, actor(), NOW);
    const s = { ...paused.next, cluster: { ...paused.next.cluster, claims: { manual: claim({ until: NOW + HOUR }) } } };
    const o = requestAbort(s, paused.rollout, actor(), NOW + MIN);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.cluster.claims).toEqual({ manual: claim({ until: NOW + HOUR }) });
    expect(o.next.cluster.rollout).toBeUndefined();
  });

  it("abort: a failed rollout is aborted at once, its failed node keeping the rollout's claim", () => {
    const { st, r } = started();
    const s = holding(st, 'r1');
    const failed = failRollout(s, withNodes(r, node('r1', { outcome: 'failed', reason: 'x' })), undefined, NOW);
    const o = requestAbort(s, failed.rollout, actor(), NOW);
    expect(o.rollout.rollout.status).toBe('aborted');
    expect(o.next.servers.get('r1')!.claims[HOLDER]).toBeDefined();
    expect(o.next.cluster.claims[HOLDER]).toBeDefined();
  });

  it('abort: aborting and aborted are answered as they are; succeeded is refused', () => {
    const { st, r } = started();
    for (const status of ['aborting', 'aborted'] as const) {
      const snap = withRecord(r, { status });
      const o = requestAbort(st, snap, actor(), NOW);
      expect(o.rollout).toBe(snap);
      expect(o.answer).toEqual({ outcome: status });
    }
    expect(caught(() => requestAbort(st, withRecord(r, { status: 'succeeded' }), actor(), NOW)).code).toBe(
      'RolloutConflict',
    );
  });

  it('requireResumable: only paused, failed or aborted', () => {
    const { r } = started();
    for (const status of ['paused', 'failed', 'aborted'] as const)
      expect(() => requireResumable(withRecord(r, { status }))).not.toThrow();
    for (const status of ['running', 'pausing', 'aborting', 'succeeded'] as const) {
      expect(caught(() => requireResumable(withRecord(r, { status }))).code).toBe('RolloutConflict');
    }
  });
});

describe('retryNode and skipNode', () => {
  function failedOn(name: string) {
    const { st, r } = started();
    const s = holding(st, name);
    const snap = withNodes(
      withRecord(r, { status: 'failed', failure: { server: name, step: 'verify', reason: 'lag', at: NOW } }),
      node(name, { step: 'verify', outcome: 'failed', reason: 'lag', stableSince: NOW }),
    );
    return { st: s, r: snap };
  }

  it('retry and skip are refused while the rollout has an execution (RolloutConflict)', () => {
    const { st, r } = failedOn('r1');
    for (const status of ['running', 'pausing', 'aborting'] as const) {
      const snap = withRecord(r, { status });
      expect(caught(() => retryNode(st, snap, 'r1', NOW)).code).toBe('RolloutConflict');
      expect(caught(() => skipNode(st, snap, 'r1', actor(), NOW)).code).toBe('RolloutConflict');
    }
    expect(caught(() => retryNode(st, withRecord(r, { status: 'succeeded' }), 'r1', NOW)).message).toMatch(/succeeded/);
  });

  it('retry: the node starts again from the beginning on the next resume; the failure is forgotten; the claim stays', () => {
    const { st, r } = failedOn('r1');
    const o = retryNode(st, r, 'r1', NOW + MIN);
    expect(nodeOf(o.rollout, 'r1')).toEqual({
      server: 'r1',
      step: 'pending',
      outcome: 'pending',
      attempt: 1,
      version: 1,
    });
    expect(o.rollout.rollout.failure).toBeUndefined();
    expect(o.rollout.rollout.status).toBe('failed');
    expect(o.next).toBe(st);
    expect(actions(o)).toEqual(['retry-server']);
    expect(o.events[0]!.after).toMatchObject({ server: 'r1' });
  });

  it("retry: another server's failure stays recorded", () => {
    const { st, r } = failedOn('r1');
    const o = retryNode(st, withNodes(r, node('r2', { outcome: 'stopped' })), 'r2', NOW);
    expect(o.rollout.rollout.failure).toMatchObject({ server: 'r1' });
  });

  it('retry: refused for a finished node', () => {
    const { st, r } = failedOn('r1');
    expect(caught(() => retryNode(st, withNodes(r, done('r2')), 'r2', NOW)).message).toContain('upgraded');
  });

  it("skip: the rollout's claim becomes a manual claim of the operator; the node is skipped", () => {
    const { st, r } = failedOn('r1');
    const bob = actor({ user: 'bob' });
    const o = skipNode(st, r, 'r1', bob, NOW + MIN);
    expect(o.next.servers.get('r1')!.claims).toEqual({
      manual: { ...held(), actor: 'bob', reason: `skipped from rollout ${ID}`, since: NOW + MIN },
    });
    // still in maintenance: never routed while unverified
    expect(viewOf(o.next, 'r1', NOW + MIN)!.maintenance).toBe(true);
    expect(nodeOf(o.rollout, 'r1').outcome).toBe('skipped');
    expect(finished(nodeOf(o.rollout, 'r1'))).toBe(true);
    expect(o.rollout.rollout.failure).toBeUndefined();
    expect(actions(o)).toEqual(['update-maintenance', 'skip-server']);
    expect(o.events[0]!.target).toBe('server:r1');
  });

  it('skip: an existing manual claim is kept as it is', () => {
    const { st, r } = failedOn('r1');
    const mine = claim({ actor: 'carol', reason: 'mine' });
    const s = patch(st, 'r1', { claims: { ...st.servers.get('r1')!.claims, manual: mine } });
    const o = skipNode(s, r, 'r1', actor({ user: 'bob' }), NOW);
    expect(o.next.servers.get('r1')!.claims).toEqual({ manual: mine });
  });

  it('skip: a server the rollout does not hold is only marked skipped; a repeat changes nothing', () => {
    const { st, r } = failedOn('r1');
    const o = skipNode(st, r, 'r3', actor(), NOW);
    expect(o.next).toBe(st);
    expect(actions(o)).toEqual(['skip-server']);
    const again = skipNode(o.next, o.rollout, 'r3', actor(), NOW);
    expect(again.rollout).toBe(o.rollout);
    expect(again.events).toEqual([]);
    expect(caught(() => skipNode(st, withNodes(r, done('r2')), 'r2', actor(), NOW)).code).toBe('RolloutConflict');
  });

  it('after a skip the rollout resumes and the skipped node is not run again', () => {
    const { st, r } = failedOn('r1');
    const skipped = skipNode(st, withRecord(r, { batch: 0, batchesThisExecution: 1 }), 'r1', actor(), NOW);
    // while the skipped server stays in the operator's maintenance, dc1 (4 servers, 1 allowed) has no room
    expect(caught(() => preflight(skipped.next, skipped.rollout, 'exec-2', actor(), NOW)).code).toBe('BudgetExceeded');
    const cleared = patch(skipped.next, 'r1', { claims: {} });
    const resumed = preflight(cleared, skipped.rollout, 'exec-2', actor(), NOW);
    expect(nextBatch(resumed.next, resumed.rollout, NOW).answer).toEqual({
      outcome: 'batch',
      batch: 1,
      servers: ['r2'],
    });
  });

  it('a retried node that the rollout still holds does not block the resume on the budget', () => {
    // dc1 of 4 allows 1 unavailable, and the held r1 is that one: the rollout carries on with it
    const { st, r } = failedOn('r1');
    const retried = retryNode(st, r, 'r1', NOW);
    const resumed = preflight(retried.next, retried.rollout, 'exec-2', actor(), NOW);
    expect(resumed.rollout.rollout.status).toBe('running');
    expect(nextBatch(resumed.next, resumed.rollout, NOW).answer).toEqual({
      outcome: 'batch',
      batch: 0,
      servers: ['r1'],
    });
  });
});

describe('exact answers of the idempotent and the normal paths', () => {
  it('requestPause and requestAbort answer pausing and aborting', () => {
    const { st, r } = started();
    expect(requestPause(st, r, NOW).answer).toEqual({ outcome: 'pausing' });
    expect(requestAbort(st, r, actor(), NOW).answer).toEqual({ outcome: 'aborting' });
  });

  it('retryNode and skipNode answer retried and skipped (skipped also when repeated) and name the server in the event', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'paused' }),
      node('r1', { step: 'verify', outcome: 'failed', reason: 'lag' }),
    );
    const retried = retryNode(st, paused, 'r1', NOW);
    expect(retried.answer).toEqual({ outcome: 'retried' });
    const skipped = skipNode(st, paused, 'r1', actor(), NOW);
    expect(skipped.answer).toEqual({ outcome: 'skipped' });
    expect(skipped.events.at(-1)).toMatchObject({ action: 'skip-server', after: { server: 'r1' } });
    expect(skipNode(st, skipped.rollout, 'r1', actor(), NOW).answer).toEqual({ outcome: 'skipped' });
  });

  it('skipping a held server hands the claim over and says why in the event', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'paused' }),
      node('r1', { step: 'verify', outcome: 'failed', reason: 'lag' }),
    );
    const o = skipNode(holding(st, 'r1'), paused, 'r1', actor({ user: 'bob' }), NOW);
    expect(o.events[0]).toMatchObject({ action: 'update-maintenance', reason: `skipped from rollout ${ID}` });
  });
});

describe('exact messages (mutation-driven)', () => {
  it('operator controls', () => {
    const { st, r } = started();
    expect(caught(() => requestPause(st, withRecord(r, { status: 'failed' }), NOW)).message).toBe(
      `rollout ${ID} is failed: only a running rollout can be paused`,
    );
    expect(caught(() => requestAbort(st, withRecord(r, { status: 'succeeded' }), actor(), NOW)).message).toBe(
      `rollout ${ID} has already succeeded`,
    );
    expect(caught(() => requireResumable(r)).message).toBe(
      `rollout ${ID} is running: only a paused, failed or aborted rollout can be resumed`,
    );
    expect(caught(() => retryNode(st, r, 'r1', NOW)).message).toBe(
      `rollout ${ID} is running: pause or abort it before you retry a server`,
    );
    expect(caught(() => skipNode(st, r, 'r1', actor(), NOW)).message).toBe(
      `rollout ${ID} is running: pause or abort it before you skip a server`,
    );
    const done_ = caught(() => skipNode(st, withRecord(r, { status: 'succeeded' }), 'r1', actor(), NOW));
    expect([done_.code, done_.message]).toEqual(['RolloutConflict', `rollout ${ID} has already succeeded`]);
    const paused = withNodes(withRecord(r, { status: 'paused' }), done('r1'));
    const again = caught(() => retryNode(st, paused, 'r1', NOW));
    expect([again.code, again.message]).toEqual(['RolloutConflict', 'server r1 is already upgraded']);
    expect(caught(() => skipNode(st, paused, 'r1', actor(), NOW)).message).toBe('server r1 is already upgraded');
  });
});

describe('edges of the rules (mutation-driven)', () => {
  it('retry and skip keep the failure of another server, and work on a rollout without a failure', () => {
    const { st, r } = started();
    const paused = withNodes(
      withRecord(r, { status: 'failed', failure: { server: 'r1', step: 'verify', reason: 'lag', at: NOW } }),
      node('r1', { outcome: 'failed' }),
      node('r2', { outcome: 'failed' }),
    );
    expect(retryNode(st, paused, 'r2', NOW).rollout.rollout.failure).toMatchObject({ server: 'r1' });
    expect(skipNode(st, paused, 'r2', actor(), NOW).rollout.rollout.failure).toMatchObject({ server: 'r1' });
    const noFailure = withNodes(withRecord(r, { status: 'paused' }), node('r2', { outcome: 'failed' }));
    expect(retryNode(st, noFailure, 'r2', NOW).answer).toEqual({ outcome: 'retried' });
    expect(skipNode(st, noFailure, 'r2', actor(), NOW).answer).toEqual({ outcome: 'skipped' });
  });
});

describe('safe under any sequence (issue 14)', () => {
  it('resumeRollout: only a paused, failed or aborted rollout, claimed for the new execution', () => {
    const { st, r } = started();
    expect(caught(() => resumeRollout(st, r, 'exec-2', actor(), NOW)).message).toMatch(
      /only a paused, failed or aborted rollout can be resumed/,
    );
    const o = resumeRollout(st, withRecord(r, { status: 'paused' }), 'exec-2', actor(), NOW);
    expect(o.rollout.rollout.executions).toEqual(['exec-1', 'exec-2']);
    // a second resume decided on what the first wrote is refused
    expect(caught(() => resumeRollout(o.next, o.rollout, 'exec-3', actor(), NOW)).code).toBe('RolloutConflict');
  });

  it("abort, then skip of the last held server: the rollout's pause of automation ends with it", () => {
    const { st, r } = started();
    const heldSt = holding(st, 'r1');
    const aborted = abortRollout(
      heldSt,
      withNodes(
        withRecord(r, { status: 'aborting', batch: 0 }),
        node('r1', { step: 'verify', outcome: 'in-progress' }),
      ),
      actor(),
      NOW,
    );
    expect(aborted.next.cluster.claims[HOLDER]).toBeDefined();
    const skipped = skipNode(aborted.next, aborted.rollout, 'r1', actor({ user: 'bob' }), NOW);
    expect(skipped.next.cluster.claims[HOLDER]).toBeUndefined();
    expect(skipped.next.servers.get('r1')!.claims.manual).toMatchObject({ actor: 'bob' });
    expect(actions(skipped)).toEqual(['update-maintenance', 'clear-maintenance', 'skip-server']);
  });

  it('skip of a server removed from the cluster works (nothing to hand over), and so does the resume after it', () => {
    const { st, r } = started();
    const servers = new Map(st.servers);
    servers.delete('r1');
    const gone = { ...st, servers };
    const failed = withNodes(
      withRecord(r, { status: 'failed', failure: { server: 'r1', step: 'verify', reason: 'NotFound', at: NOW } }),
      node('r1', { outcome: 'failed', step: 'verify' }),
    );
    const skipped = skipNode(gone, failed, 'r1', actor(), NOW);
    expect(nodeOf(skipped.rollout, 'r1').outcome).toBe('skipped');
    expect(skipped.rollout.rollout.failure).toBeUndefined();
    expect(resumeRollout(skipped.next, skipped.rollout, 'exec-2', actor(), NOW).rollout.rollout.status).toBe('running');
  });
});
