/** The agent's rule for one HAProxy entry: what the control plane wants, and which server is writable. */
import { describe, expect, it } from 'vitest';
import type { ClaimJson, ServerJson } from '../../../agent/control-plane.js';
import { desiredState } from '../../../agent/proxy-state.js';

const NOW = Date.parse('2040-01-01T00:00:00Z');
const server = (over: Partial<ServerJson> = {}): ServerJson => ({
  name: 'db2',
  dc: 'dc1',
  address: undefined,
  port: undefined,
  role: 'replica',
  component: undefined,
  state: 'Slave, Running',
  health: 'running',
  maintenance: false,
  pending: false,
  draining: false,
  drained: false,
  closeConnections: false,
  routable: true,
  electable: true,
  stale: false,
  connections: 0,
  openTransactions: 0,
  version: '10.11.6',
  replicationLagSeconds: 0,
  proxy: undefined,
  reportedAt: undefined,
  claims: [],
  ...over,
});
const claim = (over: Partial<ClaimJson> = {}): ClaimJson => ({
  holder: 'manual',
  mode: 'maintenance',
  force: false,
  reason: undefined,
  actor: 'ops',
  since: '2026-01-01T00:00:00.000Z',
  until: undefined,
  drainDeadline: undefined,
  onDeadline: 'force',
  ...over,
});
const read = (sessions = 0) => ({ write: false, sessions });
const write = (sessions = 0) => ({ write: true, sessions });

describe('desiredState', () => {
  it('routable: ready; a read entry whatever the database says, a write entry only for the primary', () => {
    expect(desiredState(server(), read(), undefined, NOW)?.state).toBe('ready');
    expect(desiredState(server(), write(), true, NOW)?.state).toBe('ready');
    expect(desiredState(server(), write(), false, NOW)).toMatchObject({ state: 'maint', shutdown: false });
    expect(desiredState(server(), write(), undefined, NOW)).toBeUndefined(); // nobody can tell: left as it is
  });

  it('graceful maintenance: drain while sessions remain, then maint; none closed', () => {
    const s = server({ maintenance: true, routable: false, claims: [claim()] });
    expect(desiredState(s, read(3), undefined, NOW)).toMatchObject({ state: 'drain', shutdown: false });
    expect(desiredState(s, read(0), undefined, NOW)).toMatchObject({ state: 'maint', shutdown: false });
  });

  it('forced maintenance, or a drain deadline passed with onDeadline force: maint and the sessions closed', () => {
    const forced = server({ maintenance: true, routable: false, claims: [claim({ force: true })] });
    expect(desiredState(forced, read(2), undefined, NOW)).toMatchObject({ state: 'maint', shutdown: true });
    expect(desiredState(forced, read(0), undefined, NOW)).toMatchObject({ state: 'maint', shutdown: false });
    const deadline = (at: number, onDeadline: 'force' | 'hold') =>
      server({
        maintenance: true,
        routable: false,
        claims: [claim({ drainDeadline: new Date(at).toISOString(), onDeadline })],
      });
    expect(desiredState(deadline(NOW - 1, 'force'), read(1), undefined, NOW)?.shutdown).toBe(true);
    expect(desiredState(deadline(NOW + 1000, 'force'), read(1), undefined, NOW)?.state).toBe('drain');
    expect(desiredState(deadline(NOW - 1, 'hold'), read(1), undefined, NOW)?.state).toBe('drain');
    // A drain claim is never forced, whatever it says.
    expect(
      desiredState(
        server({ drained: true, routable: false, claims: [claim({ mode: 'drain', force: true })] }),
        read(1),
        undefined,
        NOW,
      ),
    ).toMatchObject({ state: 'drain', shutdown: false });
  });

  it('a primary finishing its transactions, a drain claim: drain', () => {
    expect(
      desiredState(
        server({ role: 'primary', pending: true, draining: true, routable: false, claims: [claim()] }),
        write(1),
        true,
        NOW,
      )?.state,
    ).toBe('drain');
    expect(
      desiredState(
        server({ draining: true, routable: false, claims: [claim({ mode: 'drain' })] }),
        read(4),
        undefined,
        NOW,
      )?.state,
    ).toBe('drain');
    expect(
      desiredState(
        server({ drained: true, routable: false, claims: [claim({ mode: 'drain' })] }),
        read(0),
        undefined,
        NOW,
      )?.state,
    ).toBe('drain');
  });

  it('left as it is: a server the control plane does not know, a down or unreported one without claims', () => {
    expect(desiredState(undefined, read(), true, NOW)).toBeUndefined();
    expect(desiredState(server({ health: 'down', routable: false }), read(), undefined, NOW)).toBeUndefined();
    expect(desiredState(server({ health: 'unknown', routable: false }), read(), undefined, NOW)).toBeUndefined();
  });

  it('a write entry of a server that is not the primary stays out even when its maintenance ends', () => {
    expect(
      desiredState(
        server({ maintenance: true, routable: false, claims: [claim({ force: true })] }),
        write(2),
        false,
        NOW,
      ),
    ).toMatchObject({ state: 'maint' });
  });
});
