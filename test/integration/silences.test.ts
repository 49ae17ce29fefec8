/**
 * Alert silences against a real Prometheus Alertmanager (Debian's 0.25, started on a free port with its own
 * config and storage): the local stack's change feed reads DynamoDB Local's stream and hands each audit event to
 * the same consumer the AWS function runs. Maintenance set → one active silence with the template's matchers, the
 * reason and the actor; cleared → expired; the same events delivered again, concurrently → still one; Alertmanager
 * down → the maintenance succeeds all the same, the silence is pending (and says why), and appears once it is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { consumeChange } from '../../functions/integrations/consumer.js';
import { ROLLING_SILENCE_MS } from '../../functions/domain/silences.js';
import { asChangeEvent, selectedByPipe } from '../../local/change-feed.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { startAlertmanager, type TestAlertmanager } from '../support/alertmanager.js';
import { apiClient } from '../support/api-client.js';

let am: TestAlertmanager;
let stack: LocalStack;
let dataDir: string;
const clock = { now: undefined as number | undefined };

/** An answer as the tests read it (any body). */
const call = async (method: string, path: string, body?: unknown, token = stack.adminToken) =>
  (await apiClient({ url: stack.url, token }).call(method, path, body)) as { status: number; body: any };

const ok = (method: string, path: string, body?: unknown) =>
  apiClient({ url: stack.url, token: stack.adminToken }).ok<any>(method, path, body);

/** The silences maintctl made for a claim, by the marker its comments end with. */
async function silencesFor(cluster: string, target: string) {
  return (await am.silences()).filter((s) => s.comment.includes(`[maintctl:${cluster}/${target}#manual#`));
}
const active = <T extends { status: { state: string } }>(list: T[]) => list.filter((s) => s.status.state === 'active');

/** Every stream record of the table so far, as the pipe would publish them (for redelivery). */
async function publishedEvents() {
  const streams = new DynamoDBStreamsClient({
    endpoint: stack.dynamodbEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const { Table } = await stack.client.send(new DescribeTableCommand({ TableName: table }));
  const arn = Table!.LatestStreamArn!;
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: arn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription!.Shards ?? []) {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(out.Records ?? []));
      if (!out.Records?.length) break;
      iterator = out.NextShardIterator;
    }
  }
  streams.destroy();
  return records.filter(selectedByPipe).map(asChangeEvent);
}

const table = `t-${randomUUID()}`;

beforeAll(async () => {
  am = await startAlertmanager();
  dataDir = mkdtempSync(join(tmpdir(), 'maintctl-silences-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    memory: true,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    table,
    adminToken: `admin-${randomUUID()}`,
    sweepIntervalMs: 0,
    now: () => clock.now ?? Date.now(),
    integrations: { alertmanagerUrl: am.url, reconcileIntervalMs: 0 },
  });
  await ok('PUT', '/v1/clusters/shop', { engine: 'mariadb' });
  for (const [name, address] of [
    ['db1', '10.0.0.1'],
    ['db2', '10.0.0.2'],
    ['db3', '10.0.0.3'],
    ['db4', '10.0.0.4'],
    ['db5', '10.0.0.5'],
    ['db6', '10.0.0.6'],
  ] as const)
    await ok('PUT', `/v1/clusters/shop/servers/${name}`, {
      role: name === 'db1' ? 'primary' : 'replica',
      address,
      port: 3306,
      dc: name === 'db5' || name === 'db6' ? 'dc2' : 'dc1',
    });
  for (const name of ['db1', 'db2', 'db3', 'db4', 'db5', 'db6'])
    await ok('PUT', `/v1/clusters/shop/servers/${name}/status`, { health: 'running', openTransactions: 0 });
  await ok('PUT', '/v1/clusters/shop/alertmanager', {
    matchers: {
      server: ['cluster="{cluster}"', 'instance=~"{address}:.*"'],
      dc: ['cluster="{cluster}"', 'dc="{dc}"'],
      cluster: ['cluster="{cluster}"'],
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await am?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('silences in a real Alertmanager', () => {
  it('a server in maintenance gets one active silence: the template’s matchers, the reason, the actor, a rolling end', async () => {
    const before = Date.now();
    await ok('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'kernel update' });
    await stack.integrations.drain();
    const [silence, ...others] = active(await silencesFor('shop', 'server:db2'));
    expect(others).toEqual([]);
    expect(silence!.matchers).toEqual([
      { name: 'cluster', value: 'shop', isRegex: false, isEqual: true },
      { name: 'instance', value: '10\\.0\\.0\\.2:.*', isRegex: true, isEqual: true },
    ]);
    expect(silence!.comment).toMatch(/^kernel update \(maintctl: shop server:db2, manual\)/);
    expect(silence!.createdBy).toBe('admin');
    const endsAt = Date.parse(silence!.endsAt);
    expect(endsAt).toBeGreaterThanOrEqual(before + ROLLING_SILENCE_MS - 1000);
    expect(endsAt).toBeLessThanOrEqual(Date.now() + ROLLING_SILENCE_MS + 1000);
    const view = await ok('GET', '/v1/clusters/shop/alertmanager');
    expect(view.silences).toEqual([
      expect.objectContaining({ target: 'server:db2', holder: 'manual', state: 'active', silenceId: silence!.id }),
    ]);
  });

  it('a claim with a TTL ends its silence at the claim’s until; a new reason updates the same silence', async () => {
    // db5 is in dc2 with db6: its budget allows one.
    const res = await ok('PUT', '/v1/clusters/shop/servers/db5/maintenance', { reason: 'disk swap', ttl: '2h' });
    const until = Date.parse(res.claims.find((c: { holder: string }) => c.holder === 'manual').until);
    await stack.integrations.drain();
    const [silence] = active(await silencesFor('shop', 'server:db5'));
    expect(Date.parse(silence!.endsAt)).toBe(until);
    await ok('PUT', '/v1/clusters/shop/servers/db5/maintenance', { reason: 'disk swap, second try', ttl: '2h' });
    await stack.integrations.drain();
    const now = active(await silencesFor('shop', 'server:db5'));
    expect(now).toHaveLength(1);
    expect(now[0]!.comment).toMatch(/^disk swap, second try/);
    await ok('DELETE', '/v1/clusters/shop/servers/db5/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db5'))).toEqual([]);
  });

  it('clearing the maintenance expires the silence', async () => {
    await ok('DELETE', '/v1/clusters/shop/servers/db2/maintenance');
    await stack.integrations.drain();
    const list = await silencesFor('shop', 'server:db2');
    expect(list).toHaveLength(1);
    expect(list[0]!.status.state).toBe('expired');
    expect((await ok('GET', '/v1/clusters/shop/alertmanager')).silences).toEqual([]);
  });

  it('every event delivered again, twice at once, makes no second silence and revives no expired one', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db3/maintenance', { reason: 'redelivery' });
    await stack.integrations.drain();
    const events = await publishedEvents();
    expect(events.length).toBeGreaterThan(10);
    await Promise.all([
      ...events.map((e) => consumeChange(stack.integrations.deps, e)),
      ...events.map((e) => consumeChange(stack.integrations.deps, e)),
    ]);
    expect(active(await silencesFor('shop', 'server:db3'))).toHaveLength(1);
    expect(active(await silencesFor('shop', 'server:db2'))).toEqual([]);
    expect(await silencesFor('shop', 'server:db2')).toHaveLength(1);
    await ok('DELETE', '/v1/clusters/shop/servers/db3/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db3'))).toEqual([]);
  });

  it('a dc and the cluster get their own matchers', async () => {
    await ok('PUT', '/v1/clusters/shop/dcs/dc2/maintenance', { reason: 'dc2 network work', override: true });
    await ok('PUT', '/v1/clusters/shop/maintenance', { reason: 'failover drill' });
    await stack.integrations.drain();
    const [dc] = active(await silencesFor('shop', 'dc:dc2'));
    expect(dc!.matchers.map((m) => `${m.name}=${m.value}`)).toEqual(['cluster=shop', 'dc=dc2']);
    const [cluster] = active(await silencesFor('shop', 'cluster'));
    expect(cluster!.matchers.map((m) => `${m.name}=${m.value}`)).toEqual(['cluster=shop']);
    await ok('DELETE', '/v1/clusters/shop/dcs/dc2/maintenance');
    await ok('DELETE', '/v1/clusters/shop/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'dc:dc2'))).toEqual([]);
    expect(active(await silencesFor('shop', 'cluster'))).toEqual([]);
  });

  it('the reconciler renews a rolling end while the claim lasts', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db4/maintenance', { reason: 'long job' });
    await stack.integrations.drain();
    const [first] = active(await silencesFor('shop', 'server:db4'));
    clock.now = Date.now() + 40 * 60_000; // 20 minutes left: due for renewal
    try {
      expect(await stack.integrations.reconcile()).toMatchObject({ failed: 0, pending: 0 });
    } finally {
      clock.now = undefined;
    }
    const renewed = active(await silencesFor('shop', 'server:db4'));
    expect(renewed).toHaveLength(1);
    expect(Date.parse(renewed[0]!.endsAt)).toBeGreaterThan(Date.parse(first!.endsAt) + 30 * 60_000);
    await ok('DELETE', '/v1/clusters/shop/servers/db4/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db4'))).toEqual([]);
  });

  it('a server given a new address while in maintenance: its silence follows it', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db4/maintenance', { reason: 'moving' });
    await stack.integrations.drain();
    const [before] = active(await silencesFor('shop', 'server:db4'));
    expect(before!.matchers[1]!.value).toBe('10\\.0\\.0\\.4:.*');
    await ok('PATCH', '/v1/clusters/shop/servers/db4', { address: '10.0.9.4' });
    await stack.integrations.drain();
    const after = active(await silencesFor('shop', 'server:db4'));
    expect(after).toHaveLength(1);
    expect(after[0]!.matchers[1]!.value).toBe('10\\.0\\.9\\.4:.*');
    expect(after[0]!.comment).toMatch(/^moving/);
    await ok('DELETE', '/v1/clusters/shop/servers/db4/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db4'))).toEqual([]);
  });

  it('Alertmanager down: the maintenance succeeds, the silence is pending, and appears once Alertmanager is back', async () => {
    await am.stop();
    try {
      const started = Date.now();
      const res = await call('PUT', '/v1/clusters/shop/servers/db3/maintenance', { reason: 'while AM is down' });
      expect(res.status).toBe(200);
      expect(res.body.state).toContain('Maintenance');
      // The request path never calls Alertmanager (the consumer reads the stream): no wait on it, even under load.
      expect(Date.now() - started).toBeLessThan(5000);
      await stack.integrations.drain();
      const [pending] = (await ok('GET', '/v1/clusters/shop/alertmanager')).silences;
      expect(pending).toMatchObject({ target: 'server:db3', state: 'pending', attempts: 1 });
      expect(pending.lastError).toMatch(/Alertmanager did not answer/);
      expect(await stack.integrations.reconcile()).toMatchObject({ failed: 1, pending: 1 });
    } finally {
      await am.start();
    }
    expect(await stack.integrations.reconcile()).toMatchObject({ failed: 0, pending: 0 });
    const [silence, ...others] = active(await silencesFor('shop', 'server:db3'));
    expect(others).toEqual([]);
    expect(silence!.comment).toMatch(/^while AM is down/);
    expect((await ok('GET', '/v1/clusters/shop/alertmanager')).silences).toEqual([
      expect.objectContaining({ target: 'server:db3', state: 'active', silenceId: silence!.id }),
    ]);
  });

  it('a claim ended while Alertmanager was down is expired once it is back', async () => {
    await am.stop();
    try {
      expect((await call('DELETE', '/v1/clusters/shop/servers/db3/maintenance')).status).toBe(200);
      await stack.integrations.drain();
      expect((await ok('GET', '/v1/clusters/shop/alertmanager')).silences).toEqual([
        expect.objectContaining({ target: 'server:db3', state: 'expiring' }),
      ]);
    } finally {
      await am.start();
    }
    expect(await stack.integrations.reconcile()).toMatchObject({ failed: 0, pending: 0 });
    expect(active(await silencesFor('shop', 'server:db3'))).toEqual([]);
  });

  it('a removed cluster’s silences expire with it', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'before removal' });
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db2'))).toHaveLength(1);
    await ok('DELETE', '/v1/clusters/shop');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db2'))).toEqual([]);
  });
});

describe('a cluster registered again under a removed one’s name', () => {
  it('keeps its template and silences when the old removal (and every older event) is delivered again', async () => {
    await ok('PUT', '/v1/clusters/shop', { engine: 'mariadb' });
    await ok('PUT', '/v1/clusters/shop/servers/db1', { role: 'primary', address: '10.0.1.1', port: 3306 });
    await ok('PUT', '/v1/clusters/shop/servers/db2', { role: 'replica', address: '10.0.1.2', port: 3306 });
    await ok('PUT', '/v1/clusters/shop/servers/db3', { role: 'replica', address: '10.0.1.3', port: 3306 });
    for (const name of ['db1', 'db2', 'db3'])
      await ok('PUT', `/v1/clusters/shop/servers/${name}/status`, { health: 'running', openTransactions: 0 });
    await stack.integrations.drain(); // the removal's settings clean-up is behind us
    const template = { server: ['cluster="{cluster}"', 'instance=~"{address}:.*"'] };
    await ok('PUT', '/v1/clusters/shop/alertmanager', { matchers: template });
    await ok('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'second life' });
    await stack.integrations.drain();
    const events = await publishedEvents();
    expect(events.some((e) => JSON.stringify(e).includes('remove-cluster'))).toBe(true);
    for (const event of events) await consumeChange(stack.integrations.deps, event);
    const live = active(await silencesFor('shop', 'server:db2'));
    expect(live).toHaveLength(1);
    expect(live[0]!.comment).toMatch(/^second life/);
    expect((await ok('GET', '/v1/clusters/shop/alertmanager')).matchers).toEqual(template);
    await ok('DELETE', '/v1/clusters/shop/servers/db2/maintenance');
    await stack.integrations.drain();
    expect(active(await silencesFor('shop', 'server:db2'))).toEqual([]);
  });
});

describe('the template, as the API takes it', () => {
  beforeAll(async () => {
    await ok('PUT', '/v1/clusters/shop2', { engine: 'mariadb' });
  });

  it.each([
    [{ matchers: { server: ['instance~"x"'] } }, /invalid matcher/],
    [{ matchers: { server: ['instance="{host}"'] } }, /unknown placeholder \{host\}/],
    [{ matchers: { server: ['instance=~".*"'] } }, /non-empty value/],
    [{ matchers: { server: ['instance=~"({server}"'] } }, /does not compile/],
    [{ matchers: { rack: ['a="b"'] } }, /unknown field/],
    [{}, /matchers/],
  ])('refuses %j with a 400 and changes nothing', async (body, message) => {
    const res = await call('PUT', '/v1/clusters/shop2/alertmanager', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect((await ok('GET', '/v1/clusters/shop2/alertmanager')).matchers).toEqual({});
  });

  it('is admin’s to set (403), and for a registered cluster (404)', async () => {
    const { createToken } = await import('../support/env.js');
    const operator = await createToken(stack.deps, 'operator');
    const body = { matchers: { server: ['instance="{server}"'] } };
    expect((await call('PUT', '/v1/clusters/shop2/alertmanager', body, operator)).status).toBe(403);
    expect((await call('PUT', '/v1/clusters/nope/alertmanager', body)).status).toBe(404);
    expect((await call('PUT', '/v1/clusters/shop2/alertmanager', body)).status).toBe(200);
    expect((await call('GET', '/v1/clusters/shop2/alertmanager', undefined, operator)).body.matchers).toEqual(
      body.matchers,
    );
  });
});
