/**
 * GET /v1/openapi.json through the local server, and the integration tier's response check (vitest.config.ts) on:
 * every native answer this file receives is checked against the document.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEnv, type HttpEnv } from '../support/env.js';
import { responseCheck } from '../support/response-check-setup.js';

let env: HttpEnv;
beforeAll(async () => {
  env = await httpEnv();
});
afterAll(async () => env?.close());

describe('GET /v1/openapi.json', () => {
  it('serves the committed document to anyone, without a token', async () => {
    const res = await env.call('GET', '/v1/openapi.json', undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')));
  });

  it('is what the answers this tier receives are checked against', async () => {
    const before = responseCheck.checked;
    expect((await env.call('PUT', '/v1/clusters/oa', { engine: 'mariadb' })).status).toBe(201);
    expect((await env.call('GET', '/v1/clusters/oa/servers/nope')).status).toBe(404);
    expect((await env.call('GET', '/v1/clusters', undefined, { token: null })).status).toBe(401);
    expect(responseCheck.checked - before).toBe(3);
  });
});
