/**
 * The local change feed over DynamoDB Local's stream: exactly the audit events, once each, in order, as the pipe's
 * `maintenance.changed` events (their NewImage unmarshals to the event the API lists); its positions kept in a file,
 * so a restarted feed hands over only what is new; a record whose consumer threw is handed over again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { auditEventOf, type ChangeEvent } from '../../functions/integrations/consumer.js';
import { LocalChangeFeed } from '../../local/change-feed.js';
import { type HttpEnv, httpEnv, reportAll, seedCluster } from '../support/env.js';

let env: HttpEnv;
let dir: string;

const feed = (consume: (e: ChangeEvent) => Promise<unknown>) =>
  new LocalChangeFeed({
    client: env.client,
    endpoint: inject('dynamodbEndpoint'),
    table: env.table,
    consume,
    positionsFile: join(dir, 'positions.json'),
  });

const label = (e: ChangeEvent) => {
  const event = auditEventOf(e)!;
  return `${event.revision}/${event.seq} ${event.action}`;
};

async function listed(): Promise<string[]> {
  const { body } = await env.call('GET', '/v1/clusters/shop/events?limit=1000');
  return (body.events as { revision: number; seq: number; action: string }[])
    .map((e) => `${e.revision}/${e.seq} ${e.action}`)
    .reverse();
}

beforeAll(async () => {
  env = await httpEnv();
  dir = mkdtempSync(join(tmpdir(), 'maintctl-feed-'));
});
afterAll(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the local change feed', () => {
  it('hands over exactly the audit events, in order, as the pipe publishes them; a restart replays nothing', async () => {
    await seedCluster(env, 'shop', [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
    await reportAll(env, 'shop', ['db1', 'db2', 'db3'], { openTransactions: 0 }); // a first report is an audit event
    await reportAll(env, 'shop', ['db2'], { openTransactions: 0 }); // a routine one is not
    expect((await env.call('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'x' })).status).toBe(200);
    const first: ChangeEvent[] = [];
    const a = feed(async (e) => void first.push(e));
    await a.poll();
    await a.stop();
    expect(first.map(label)).toEqual(await listed());
    expect(first.every((e) => e['detail-type'] === 'maintenance.changed' && e.source === 'maintctl')).toBe(true);
    // An empty map survives the trip (the SDK reads it as {}; the pipe sends {"M": {}}).
    const registered = auditEventOf(first.find((e) => label(e).endsWith('register-server'))!)!;
    expect(registered.after).toMatchObject({ claims: {} });

    expect((await env.call('DELETE', '/v1/clusters/shop/servers/db2/maintenance')).status).toBe(200);
    const second: ChangeEvent[] = [];
    const b = feed(async (e) => void second.push(e));
    await b.poll();
    await b.stop();
    expect(second.map(label)).toEqual((await listed()).slice(first.length));
    expect(second.map(label)).toEqual([expect.stringMatching(/clear-maintenance$/)]);
  });

  it('hands a record over again when its consumer threw, and moves on once it is taken', async () => {
    expect((await env.call('PUT', '/v1/clusters/shop/servers/db3/maintenance', { reason: 'y' })).status).toBe(200);
    const seen: string[] = [];
    let failures = 1;
    const c = feed(async (e) => {
      seen.push(label(e));
      if (failures-- > 0) throw new Error('consumer down');
    });
    await expect(c.poll()).rejects.toThrow('consumer down');
    await c.poll();
    await c.poll();
    await c.stop();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toMatch(/set-maintenance$/);
  });
});
