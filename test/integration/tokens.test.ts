/**
 * Tokens never escalate: a token creates only tokens with a role no higher and clusters within its own; a token
 * limited to clusters sees and revokes only tokens within them; the last unscoped admin token cannot be revoked,
 * not even by two revocations racing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, httpEnv, seedCluster, type HttpEnv } from '../support/env.js';

let env: HttpEnv;
let scopedAdmin: string;

beforeAll(async () => {
  env = await httpEnv();
  await seedCluster(env, 'shop', [{ name: 'db1' }]);
  await seedCluster(env, 'other', [{ name: 'db1' }]);
  scopedAdmin = await createToken(env.deps, 'admin', ['shop'], 'shop-admin');
});
afterAll(() => env.close());

const create = (body: Record<string, unknown>, token = env.admin) => env.call('POST', '/v1/tokens', body, { token });
const list = async (token = env.admin) =>
  (await env.call('GET', '/v1/tokens', undefined, { token })).body.tokens as {
    id: string;
    user: string;
    clusters?: string[];
    createdBy?: { user: string };
  }[];

describe('a token limited to a cluster', () => {
  it('may not create an unscoped token, nor one for another cluster (403, nothing created)', async () => {
    const before = (await list()).length;
    for (const body of [
      { user: 'escalated', role: 'admin' },
      { user: 'escalated', role: 'viewer' },
      { user: 'escalated', role: 'operator', clusters: ['other'] },
      { user: 'escalated', role: 'operator', clusters: ['shop', 'other'] },
    ]) {
      const res = await create(body, scopedAdmin);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.error.code).toBe('Forbidden');
    }
    expect((await list()).length).toBe(before);
  });

  it('creates tokens within its scope, recorded with their creator', async () => {
    const res = await create({ user: 'shop-ops', role: 'operator', clusters: ['shop'] }, scopedAdmin);
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toEqual({ tokenId: expect.any(String), user: 'shop-admin' });
    expect((await env.call('GET', '/v1/clusters/shop/servers', undefined, { token: res.body.token })).status).toBe(200);
    expect((await env.call('GET', '/v1/clusters/other/servers', undefined, { token: res.body.token })).status).toBe(
      403,
    );
  });

  it('sees and revokes only tokens within its scope; the bootstrap admin reads as absent', async () => {
    const elsewhere = (await create({ user: 'other-viewer', role: 'viewer', clusters: ['other'] })).body;
    const inside = (await create({ user: 'shop-viewer', role: 'viewer', clusters: ['shop'] })).body;
    const seen = await list(scopedAdmin);
    expect(seen.every((t) => t.clusters?.every((c) => c === 'shop'))).toBe(true);
    expect(seen.map((t) => t.id)).toContain(inside.id);
    expect(seen.map((t) => t.id)).not.toContain(elsewhere.id);

    const admins = (await list()).filter((t) => t.user === 'admin');
    for (const id of [elsewhere.id, admins[0]!.id]) {
      expect((await env.call('DELETE', `/v1/tokens/${id}`, undefined, { token: scopedAdmin })).status).toBe(404);
    }
    expect((await list()).map((t) => t.id)).toEqual(expect.arrayContaining([elsewhere.id, admins[0]!.id]));
    expect((await env.call('DELETE', `/v1/tokens/${inside.id}`, undefined, { token: scopedAdmin })).status).toBe(200);
    expect((await env.call('GET', '/v1/clusters/shop/servers', undefined, { token: inside.token })).status).toBe(401);
  });
});

describe('the last unscoped admin token', () => {
  it('cannot be revoked, whoever asks; once another exists it can', async () => {
    const fresh = await httpEnv();
    try {
      const tokens = (await fresh.call('GET', '/v1/tokens')).body.tokens as { id: string; role: string }[];
      const admin = tokens.find((t) => t.role === 'admin')!;
      const refused = await fresh.call('DELETE', `/v1/tokens/${admin.id}`);
      expect(refused.status).toBe(409);
      expect((await fresh.call('GET', '/v1/tokens')).status).toBe(200);

      const second = (await fresh.call('POST', '/v1/tokens', { user: 'second-admin', role: 'admin' })).body;
      expect((await fresh.call('DELETE', `/v1/tokens/${admin.id}`)).status).toBe(200);
      expect((await fresh.call('GET', '/v1/tokens', undefined, { token: second.token })).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });

  it('survives two revocations racing for the last two', async () => {
    const fresh = await httpEnv();
    try {
      const second = (await fresh.call('POST', '/v1/tokens', { user: 'second-admin', role: 'admin' })).body;
      const first = ((await fresh.call('GET', '/v1/tokens')).body.tokens as { id: string; user: string }[]).find(
        (t) => t.user === 'admin',
      )!;
      const answers = await Promise.all([
        fresh.call('DELETE', `/v1/tokens/${first.id}`, undefined, { token: second.token }),
        fresh.call('DELETE', `/v1/tokens/${second.id}`),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const left = (await fresh.deps.store.listTokens()).filter((t) => t.role === 'admin' && !t.clusters);
      expect(left).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });
});
