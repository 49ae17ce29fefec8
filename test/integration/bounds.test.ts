/** S5: bodies, names and limits are checked before any DynamoDB call (counted by an SDK middleware). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEnv, seedCluster, type HttpEnv } from '../support/env.js';

let env: HttpEnv;

beforeAll(async () => {
  env = await httpEnv();
  await seedCluster(env, 'bounds', [{ name: 'db1' }]);
  await env.call('GET', '/v1/clusters/bounds'); // warm the token cache: auth costs nothing below
});
afterAll(() => env.close());

const cases: [string, string, string, unknown, number][] = [
  ['a bad cluster name', 'GET', '/v1/clusters/Bad_Name/servers', undefined, 400],
  ['a bad server name', 'PUT', '/v1/clusters/bounds/servers/-x/maintenance', {}, 400],
  ['a bad dc name', 'PUT', '/v1/clusters/bounds/dcs/%20/maintenance', {}, 400],
  ['a limit over 1000', 'GET', '/v1/clusters/bounds/servers?limit=1001', undefined, 400],
  ['a bad cursor', 'GET', '/v1/clusters/bounds/events?cursor=%%%', undefined, 400],
  [
    'an unknown field',
    'PUT',
    '/v1/clusters/bounds/servers/db1/maintenance',
    { mode: 'maintenance', colour: 'red' },
    400,
  ],
  ['a wrong type', 'PUT', '/v1/clusters/bounds/servers/db1/maintenance', { force: 'yes' }, 400],
  ['malformed JSON', 'PUT', '/v1/clusters/bounds/servers/db1/maintenance', '{"force":', 400],
  ['a body over 64 KiB', 'PUT', '/v1/clusters/bounds/servers/db1/maintenance', { reason: 'x'.repeat(70_000) }, 413],
  ['a ttl in the past', 'PUT', '/v1/clusters/bounds/servers/db1/maintenance', { until: '2001-01-01T00:00:00Z' }, 400],
];

describe('input bounds', () => {
  it.each(cases)('%s: %s %s → %i with a JSON error and no DynamoDB call', async (_what, method, path, body, status) => {
    env.roundTrips.reset();
    const res = await env.call(method, path, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body.error.code).toMatch(/^(InvalidInput|PayloadTooLarge)$/);
    expect(env.roundTrips.commands).toEqual([]);
  });

  it('names the unknown fields', async () => {
    const res = await env.call('PUT', '/v1/clusters/bounds/servers/db1/maintenance', { colour: 'red', size: 1 });
    expect(res.body.error.message).toContain('colour');
    expect(res.body.error.message).toContain('size');
  });

  it('answers a non-JSON body with 415', async () => {
    const res = await env.call('PUT', '/v1/clusters/bounds/servers/db1/maintenance', 'force=yes', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UnsupportedMediaType');
  });
});
