/**
 * Notification webhooks (issue 17 #4) against a local receiver on 127.0.0.1: the local stack's change feed hands
 * each audit event to the consumer, which POSTs the chosen actions, signed as the upgrade webhook is. The
 * signature is recomputed here; a failing receiver is retried with backoff (bounded), a refusal is not; an action
 * not chosen is never sent; an event delivered again sends nothing twice; the deliveries are readable by an admin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { consumeChange } from '../../functions/integrations/consumer.js';
import { deliveryId, NOTIFY_ATTEMPTS } from '../../functions/integrations/notifications.js';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { type ReceivedRequest, type RecordingServer, recordingServer } from '../support/recording-server.js';
import { apiClient } from '../support/api-client.js';
import { createToken } from '../support/env.js';

const SECRET = `secret-${randomUUID()}`;
let stack: LocalStack;
let dataDir: string;
let receiver: RecordingServer;
let received: ReceivedRequest[] = [];
/** The receiver's answers, in order; 204 once they run out. */
let answers: number[] = [];

/** An answer as the tests read it (any body). */
const call = async (method: string, path: string, body?: unknown, token = stack.adminToken) =>
  (await apiClient({ url: stack.url, token }).call(method, path, body)) as { status: number; body: any };

const ok = (method: string, path: string, body?: unknown) =>
  apiClient({ url: stack.url, token: stack.adminToken }).ok<any>(method, path, body);

const deliveries = async () => (await ok('GET', '/v1/clusters/shop/notifications/deliveries')).deliveries;

beforeAll(async () => {
  receiver = await recordingServer((request) => {
    received.push(request);
    return { status: answers.shift() ?? 204 };
  });
  dataDir = mkdtempSync(join(tmpdir(), 'maintctl-notify-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    memory: true,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    table: `t-${randomUUID()}`,
    adminToken: `admin-${randomUUID()}`,
    sweepIntervalMs: 0,
    integrations: {
      webhookSecret: SECRET,
      webhookBackoffMs: 20,
      allowLocalHttpWebhooks: true,
      reconcileIntervalMs: 0,
    },
  });
  await ok('PUT', '/v1/clusters/shop', { engine: 'mariadb' });
  for (const name of ['db1', 'db2', 'db3'])
    await ok('PUT', `/v1/clusters/shop/servers/${name}`, { role: name === 'db1' ? 'primary' : 'replica' });
  await ok('PUT', '/v1/clusters/shop/notifications', {
    targets: [{ url: `${receiver.url}/hooks/maint`, actions: ['set-maintenance', 'clear-maintenance'] }],
  });
  await stack.integrations.drain();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
  answers = [];
});

describe('notification webhooks', () => {
  it('sends a chosen action once, signed HMAC-SHA256 over "<timestamp>.<body>" with the upgrade webhook’s scheme', async () => {
    const before = Math.floor(Date.now() / 1000);
    await ok('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'kernel update' });
    await stack.integrations.drain();
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hooks/maint');
    const timestamp = String(request!.headers['x-maintctl-timestamp']);
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${request!.body}`).digest('hex')}`;
    expect(request!.headers['x-maintctl-signature']).toBe(expected);
    // A body changed in transit no longer matches.
    const forged = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${request!.body} `).digest('hex')}`;
    expect(forged).not.toBe(request!.headers['x-maintctl-signature']);
    expect(request!.headers['x-maintctl-event']).toBe('set-maintenance');
    expect(request!.headers['idempotency-key']).toMatch(/^shop\/D#\d{12}#000#[0-9a-f]{16}$/);
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({
      cluster: 'shop',
      action: 'set-maintenance',
      target: 'server:db2',
      actor: 'admin',
      reason: 'kernel update',
    });
    expect(body.after.claims.manual).toMatchObject({ mode: 'maintenance', reason: 'kernel update' });
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({
      action: 'set-maintenance',
      target: 'server:db2',
      status: 'delivered',
      attempts: 1,
      lastStatus: 204,
    });
  });

  it('sends nothing for an action not chosen', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db4', { role: 'replica' });
    await ok('PUT', '/v1/clusters/shop/servers/db3/maintenance', { mode: 'drain' }).catch(() => undefined);
    await stack.integrations.drain();
    expect(received.map((r) => r.headers['x-maintctl-event'])).not.toContain('register-server');
    expect((await deliveries()).map((d: { action: string }) => d.action)).not.toContain('register-server');
  });

  it('retries a failing receiver with backoff, and records the attempts', async () => {
    answers = [503, 500];
    await ok('DELETE', '/v1/clusters/shop/servers/db2/maintenance');
    await stack.integrations.drain();
    expect(received.map((r) => r.headers['x-maintctl-event'])).toEqual([
      'clear-maintenance',
      'clear-maintenance',
      'clear-maintenance',
    ]);
    // The same delivery each time: one idempotency key.
    expect(new Set(received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    const [latest] = await deliveries();
    expect(latest).toMatchObject({ action: 'clear-maintenance', status: 'delivered', attempts: 3, lastStatus: 204 });
  });

  it('gives up after its attempts (bounded), and a refusal (4xx) is not retried', async () => {
    answers = Array(NOTIFY_ATTEMPTS + 2).fill(500);
    await ok('PUT', '/v1/clusters/shop/servers/db2/maintenance', { reason: 'flaky receiver' });
    await stack.integrations.drain();
    expect(received).toHaveLength(NOTIFY_ATTEMPTS);
    expect((await deliveries())[0]).toMatchObject({
      status: 'failed',
      attempts: NOTIFY_ATTEMPTS,
      lastStatus: 500,
      lastError: 'the receiver answered 500',
    });
    received = [];
    answers = [410];
    await ok('DELETE', '/v1/clusters/shop/servers/db2/maintenance');
    await stack.integrations.drain();
    expect(received).toHaveLength(1);
    expect((await deliveries())[0]).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 410 });
  });

  it('an event delivered again sends nothing twice', async () => {
    await ok('PUT', '/v1/clusters/shop/servers/db3/maintenance', { reason: 'again' });
    await stack.integrations.drain();
    expect(received).toHaveLength(1);
    const events = await ok('GET', '/v1/clusters/shop/events?limit=1');
    const [event] = events.events;
    expect(event.action).toBe('set-maintenance');
    // The stream record the feed handed over, once more (as EventBridge may redeliver it), twice at once.
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const image = marshall(
      {
        ...event,
        at: Date.parse(event.at),
        pk: 'EVENTS#shop',
        sk: `EV#${String(event.revision).padStart(12, '0')}#000`,
      },
      { removeUndefinedValues: true },
    );
    const change = {
      'detail-type': 'maintenance.changed',
      source: 'maintctl',
      detail: { eventName: 'INSERT', dynamodb: { Keys: { pk: image.pk!, sk: image.sk! }, NewImage: image } },
    };
    await Promise.all([consumeChange(stack.integrations.deps, change), consumeChange(stack.integrations.deps, change)]);
    expect(received).toHaveLength(1);

    // A consumer that took the delivery and crashed (still pending): within its lease nobody sends it, past it the
    // event's redelivery does.
    const id = deliveryId(event, `${receiver.url}/hooks/maint`);
    const crashed = {
      cluster: 'shop',
      id,
      url: `${receiver.url}/hooks/maint`,
      action: 'set-maintenance',
      target: 'server:db3',
      revision: event.revision,
      seq: 0,
      status: 'pending' as const,
      attempts: 0,
      createdAt: Date.now(),
    };
    await stack.integrations.deps.integrations.updateDelivery({ ...crashed, leaseUntil: Date.now() + 60_000 });
    await consumeChange(stack.integrations.deps, change);
    expect(received).toHaveLength(1);
    await stack.integrations.deps.integrations.updateDelivery({ ...crashed, leaseUntil: Date.now() - 1 });
    await consumeChange(stack.integrations.deps, change);
    expect(received).toHaveLength(2);
    expect((await deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    await ok('DELETE', '/v1/clusters/shop/servers/db3/maintenance');
    await stack.integrations.drain();
  });
});

describe('notification targets, as the API takes them', () => {
  it.each([
    [{ targets: [{ url: 'http://example.com/hook', actions: ['set-maintenance'] }] }, /https URLs only/],
    [{ targets: [{ url: 'http://localhost:9/hook', actions: ['set-maintenance'] }] }, /https URLs only/],
    [{ targets: [{ url: 'https://user:pw@example.com/hook', actions: ['set-maintenance'] }] }, /no credentials/],
    [{ targets: [{ url: 'not a url', actions: ['set-maintenance'] }] }, /not a URL/],
    [{ targets: [{ url: 'https://example.com/hook', actions: [] }] }, /actions/],
    [{ targets: [{ url: 'https://example.com/hook', actions: ['Set Maintenance'] }] }, /actions/],
    [{ targets: [{ url: 'https://example.com/hook', actions: ['set-maintenance'], secret: 'x' }] }, /unknown field/],
  ])('refuses %j with a 400 and changes nothing', async (body, message) => {
    const res = await call('PUT', '/v1/clusters/shop/notifications', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
    expect((await ok('GET', '/v1/clusters/shop/notifications')).targets).toEqual([
      { url: `${receiver.url}/hooks/maint`, actions: ['set-maintenance', 'clear-maintenance'] },
    ]);
  });

  it('is admin’s to set and to read (a chat webhook’s URL is a secret)', async () => {
    const operator = await createToken(stack.deps, 'operator');
    expect((await call('GET', '/v1/clusters/shop/notifications', undefined, operator)).status).toBe(403);
    expect((await call('GET', '/v1/clusters/shop/notifications/deliveries', undefined, operator)).status).toBe(403);
    expect((await call('PUT', '/v1/clusters/shop/notifications', { targets: [] }, operator)).status).toBe(403);
    expect((await call('PUT', '/v1/clusters/nope/notifications', { targets: [] })).status).toBe(404);
    expect((await call('GET', '/v1/clusters/shop/notifications/deliveries?limit=0')).status).toBe(400);
    expect(await deliveries()).not.toHaveLength(0);
    expect((await ok('GET', '/v1/clusters/shop/notifications/deliveries?limit=2')).deliveries).toHaveLength(2);
  });
});
