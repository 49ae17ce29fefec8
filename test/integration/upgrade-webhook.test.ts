/**
 * rollout/upgrade.ts against a real HTTP server on 127.0.0.1: the signed POST (docs/workflow.md, Maintain), its
 * bounded retries, and the allowlists checked before anything is called.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { DomainError } from '../../functions/domain/errors.js';
import { StepFailed, type UpgradeSpec } from '../../functions/domain/rollout/model.js';
import type { UpgradeAllowlist } from '../../functions/rollout/allowlist.js';
import {
  WEBHOOK_ATTEMPTS,
  signWebhook,
  upgradeTrigger,
  type UpgradeRequest,
  type UpgradeTriggerOptions,
} from '../../functions/rollout/upgrade.js';
import { recordingServer, type RecordingServer } from '../support/recording-server.js';

const SECRET = 'test-signing-secret';
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:upgrade-db';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
}

/** What the server answers, one status per request in order (the last one repeats). */
let statuses: number[] = [];
let received: Received[] = [];
let server: RecordingServer;
let host: string;

/** The receiver's check, written independently of signWebhook: HMAC-SHA256 of `<timestamp>.<body>`. */
function verify(headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = headers['x-maintctl-timestamp'];
  const signature = headers['x-maintctl-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`);
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

beforeAll(async () => {
  server = await recordingServer((req) => {
    received.push({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body,
      signatureValid: verify(req.headers, req.body),
    });
    const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
    return {
      status,
      headers: {
        'content-type': 'application/json',
        ...(status >= 300 && status < 400 && { location: `http://${host}/elsewhere` }),
      },
      body: JSON.stringify({ status }),
    };
  });
  host = server.host;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  statuses = [200];
  received = [];
});

const request: UpgradeRequest = {
  cluster: 'prod-mariadb',
  rolloutId: '20300101-000000-abcd',
  server: 'db2',
  address: '10.0.0.12',
  port: 3306,
  targetVersion: '10.11.7',
  idempotencyKey: '20300101-000000-abcd/db2/1',
};

const webhook = (path = '/upgrade'): UpgradeSpec => ({
  kind: 'webhook',
  url: `http://${host}${path}`,
  timeoutSeconds: 1800,
});

function trigger(overrides: Partial<UpgradeTriggerOptions> = {}, allow?: Partial<UpgradeAllowlist>) {
  const invoked: [string, UpgradeRequest][] = [];
  const options: UpgradeTriggerOptions = {
    allow: { webhookHosts: [host], functionArns: [ARN], ...allow },
    secret: async () => SECRET,
    invoke: async (arn, payload) => {
      invoked.push([arn, payload]);
    },
    backoffMs: 1,
    ...overrides,
  };
  return { run: upgradeTrigger(options), invoked };
}

/** Awaits a rejection and returns the error. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('the webhook upgrade trigger', () => {
  it('POSTs the request as JSON, signed, with the idempotency key', async () => {
    const before = Math.floor(Date.now() / 1000);
    await trigger().run(webhook('/upgrade?db=mariadb'), request);
    const after = Math.floor(Date.now() / 1000);
    expect(received).toHaveLength(1);
    const [got] = received as [Received];
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/upgrade?db=mariadb');
    expect(got.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got.body)).toEqual(request);
    expect(got.headers['idempotency-key']).toBe(request.idempotencyKey);
    const timestamp = got.headers['x-maintctl-timestamp'] as string;
    expect(timestamp).toMatch(/^\d+$/);
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(timestamp)).toBeLessThanOrEqual(after);
    expect(got.headers['x-maintctl-signature']).toBe(signWebhook(SECRET, timestamp, got.body));
    expect(got.headers['x-maintctl-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(got.signatureValid).toBe(true);
  });

  it('signWebhook depends on the secret, the timestamp and the body', () => {
    const base = signWebhook(SECRET, '100', '{}');
    expect(signWebhook('other', '100', '{}')).not.toBe(base);
    expect(signWebhook(SECRET, '101', '{}')).not.toBe(base);
    expect(signWebhook(SECRET, '100', '{ }')).not.toBe(base);
    expect(signWebhook(SECRET, '100', '{}')).toBe(base);
  });

  it('retries a 500 and succeeds on the 200 that follows, each attempt freshly signed', async () => {
    statuses = [500, 200];
    await trigger().run(webhook(), request);
    expect(received).toHaveLength(2);
    expect(received.every((r) => r.signatureValid)).toBe(true);
    // the same request and key each time: the upgrader recognises the repeat
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual([request.idempotencyKey, request.idempotencyKey]);
  });

  it('retries a 429', async () => {
    statuses = [429, 503, 204];
    await trigger().run(webhook(), request);
    expect(received).toHaveLength(3);
  });

  it('a 400 fails at once (StepFailed at maintain) naming the status', async () => {
    statuses = [400, 200];
    const e = await rejection(trigger().run(webhook(), request));
    expect(e).toBeInstanceOf(StepFailed);
    expect(e.name).toBe('StepFailed');
    expect((e as StepFailed).step).toBe('maintain');
    expect(e.message).toContain('400');
    expect(received).toHaveLength(1);
  });

  it('a redirect is not followed: it fails at once naming the status', async () => {
    statuses = [302];
    const e = await rejection(trigger().run(webhook(), request));
    expect((e as StepFailed).step).toBe('maintain');
    expect(e.message).toContain('302');
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe('/upgrade');
  });

  it(`gives up after WEBHOOK_ATTEMPTS (${WEBHOOK_ATTEMPTS}) server errors, with StepFailed naming the last status`, async () => {
    expect(WEBHOOK_ATTEMPTS).toBe(3);
    statuses = [500, 502, 503, 200];
    const e = await rejection(trigger().run(webhook(), request));
    expect(e).toBeInstanceOf(StepFailed);
    expect((e as StepFailed).step).toBe('maintain');
    expect(e.message).toContain('503');
    expect(received).toHaveLength(WEBHOOK_ATTEMPTS);
  });

  it('a webhook that does not answer fails after the same bounded attempts', async () => {
    const port = await freePort(); // nobody listens on it
    const spec: UpgradeSpec = { kind: 'webhook', url: `http://127.0.0.1:${port}/x`, timeoutSeconds: 60 };
    const e = await rejection(trigger({}, { webhookHosts: [`127.0.0.1:${port}`] }).run(spec, request));
    expect((e as StepFailed).step).toBe('maintain');
    expect(e.message).toMatch(/did not answer/);
  });

  it('fails (StepFailed at maintain) without a signing secret, before any request', async () => {
    for (const secret of [async () => undefined, async () => '']) {
      const e = await rejection(trigger({ secret }).run(webhook(), request));
      expect(e).toBeInstanceOf(StepFailed);
      expect((e as StepFailed).step).toBe('maintain');
      expect(e.message).toMatch(/secret/);
    }
    expect(received).toHaveLength(0);
  });

  it('refuses a host not on the allowlist (InvalidInput) before any request', async () => {
    const e = await rejection(trigger({}, { webhookHosts: ['upgrader.example.com'] }).run(webhook(), request));
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('InvalidInput');
    expect(e.message).toContain(host);
    expect(received).toHaveLength(0);
  });

  it('an entry with a port allows that port only; a bare host name allows any port', async () => {
    const e = await rejection(trigger({}, { webhookHosts: ['127.0.0.1:1'] }).run(webhook(), request));
    expect((e as DomainError).code).toBe('InvalidInput');
    expect(received).toHaveLength(0);
    await trigger({}, { webhookHosts: ['127.0.0.1'] }).run(webhook(), request);
    expect(received).toHaveLength(1);
  });
});

describe('the lambda upgrade trigger', () => {
  it('invokes the given function with the request, and sends no webhook', async () => {
    const { run, invoked } = trigger();
    await run({ kind: 'lambda', functionArn: ARN, timeoutSeconds: 1800 }, request);
    expect(invoked).toEqual([[ARN, request]]);
    expect(received).toHaveLength(0);
  });

  it('refuses a function not on the allowlist (InvalidInput) without invoking anything', async () => {
    const { run, invoked } = trigger({}, { functionArns: [] });
    const e = await rejection(run({ kind: 'lambda', functionArn: ARN, timeoutSeconds: 1800 }, request));
    expect((e as DomainError).code).toBe('InvalidInput');
    expect(e.message).toContain(ARN);
    expect(invoked).toEqual([]);
  });

  it("passes the invocation's failure on", async () => {
    const { run } = trigger({ invoke: async () => Promise.reject(new Error('AccessDenied')) });
    expect((await rejection(run({ kind: 'lambda', functionArn: ARN, timeoutSeconds: 1800 }, request))).message).toBe(
      'AccessDenied',
    );
  });
});

describe('wait-for-report', () => {
  it('triggers nothing', async () => {
    const { run, invoked } = trigger({ secret: async () => Promise.reject(new Error('must not be read')) });
    await run({ kind: 'wait-for-report', timeoutSeconds: 1800 }, request);
    expect(invoked).toEqual([]);
    expect(received).toHaveLength(0);
  });
});
