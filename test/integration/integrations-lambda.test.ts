/**
 * The integrations function as Lambda runs it (`functions/integrations/runtime.ts`, its environment as the stack
 * sets it): EventBridge's `maintenance.changed` events in (the pipe's records, read here from DynamoDB Local's
 * stream), a silence in the real Alertmanager out, and the EMF lines it writes — the metrics the alarms
 * watch — for a failure while Alertmanager is down and for the reconciler's pending count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { ChangeEvent } from '../../functions/integrations/consumer.js';
import { configureLogs } from '../../functions/telemetry.js';
import { LocalChangeFeed } from '../../local/change-feed.js';
import { startAlertmanager, type TestAlertmanager } from '../support/alertmanager.js';
import { type HttpEnv, httpEnv, reportAll, seedCluster } from '../support/env.js';

let am: TestAlertmanager;
let env: HttpEnv;
let feed: LocalChangeFeed;
let handler: (input: any) => Promise<any>;
let published: ChangeEvent[] = [];

/** The change events written since the last call, as the bus would deliver them. */
async function newEvents(): Promise<ChangeEvent[]> {
  published = [];
  await feed.poll();
  return published;
}

/** Runs the handler, with the EMF documents it wrote (the lines as Lambda writes them: JSON, metrics on). */
async function invoke(input: unknown): Promise<{ result: any; emf: Record<string, any>[] }> {
  const lines: string[] = [];
  const previous = configureLogs({ format: 'json', level: 'info', metrics: true, write: (line) => lines.push(line) });
  try {
    const result = await handler(input);
    return { result, emf: lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l)) };
  } finally {
    configureLogs(previous);
  }
}

beforeAll(async () => {
  am = await startAlertmanager();
  env = await httpEnv();
  // What the stack gives the function (lib/constructs/change-integrations.ts), DynamoDB Local standing in.
  process.env.TABLE_NAME = env.table;
  process.env.DYNAMODB_ENDPOINT = inject('dynamodbEndpoint');
  process.env.MAINTCTL_ALERTMANAGER_URL = am.url;
  ({ handler } = await import('../../functions/integrations/runtime.js'));
  feed = new LocalChangeFeed({
    client: env.client,
    endpoint: inject('dynamodbEndpoint'),
    table: env.table,
    consume: async (event) => void published.push(event),
  });
  await seedCluster(env, 'shop', [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
  await reportAll(env, 'shop', ['db1', 'db2', 'db3'], { openTransactions: 0 });
  const res = await env.call('PUT', '/v1/clusters/shop/alertmanager', {
    matchers: { server: ['cluster="{cluster}"', 'server="{server}"'] },
  });
  expect(res.status).toBe(200);
  await newEvents();
}, 120_000);

afterAll(async () => {
  await feed?.stop();
  await env?.close();
  await am?.close();
});

describe('the integrations Lambda handler', () => {
  it('an EventBridge maintenance.changed event makes the silence', async () => {
    expect((await env.call('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'via the bus' })).status).toBe(
      200,
    );
    const events = await newEvents();
    expect(events.map((e) => e['detail-type'])).toEqual(['maintenance.changed']);
    const { result, emf } = await invoke(events[0]);
    expect(result).toMatchObject({
      event: expect.stringMatching(/set-maintenance$/),
      silences: { synced: 1, failed: 0 },
    });
    const [silence] = (await am.silences()).filter((s) => s.status.state === 'active');
    expect(silence!.comment).toMatch(/^via the bus/);
    expect(emf).toEqual([expect.objectContaining({ AlertmanagerFailures: 0, function: 'integrations' })]);
  });

  it('Alertmanager down: the event succeeds, AlertmanagerFailures counts it, the tick reports SilencesPending', async () => {
    await am.stop();
    try {
      expect((await env.call('DELETE', '/v1/clusters/shop/servers/db2/maintenance')).status).toBe(200);
      const [event] = await newEvents();
      const { result, emf } = await invoke(event);
      expect(result.silences).toEqual({ synced: 0, failed: 1 });
      expect(emf[0]).toMatchObject({ AlertmanagerFailures: 1 });
      const tick = await invoke({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
      expect(tick.result).toMatchObject({ failed: 1, pending: 1 });
      const [doc] = tick.emf;
      expect(doc).toMatchObject({ SilencesPending: 1, function: 'integrations' });
      expect(doc!._aws.CloudWatchMetrics[0]).toMatchObject({
        Namespace: 'maintctl',
        Dimensions: [['function']],
        Metrics: expect.arrayContaining([{ Name: 'SilencesPending', Unit: 'Count' }]),
      });
    } finally {
      await am.start();
    }
    const tick = await invoke({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    expect(tick.result).toMatchObject({ failed: 0, pending: 0 });
    expect((await am.silences()).filter((s) => s.status.state === 'active')).toEqual([]);
  });

  it('a record that is no audit event is ignored', async () => {
    const { result, emf } = await invoke({
      'detail-type': 'maintenance.changed',
      source: 'maintctl',
      detail: { eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'CLUSTER#shop' }, sk: { S: '#CLUSTER' } } } },
    });
    expect(result).toEqual({});
    expect(emf).toEqual([]);
  });
});
