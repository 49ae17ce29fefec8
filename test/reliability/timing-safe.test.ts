/**
 * S2: a presented secret is compared with the stored one in constant time. Tokens are found by the SHA-256 of
 * the secret (the table's key), so a wrong secret finds nothing to compare with; a found token's hash, and a
 * Basic user against the token's user, are compared with `crypto.timingSafeEqual` — watched here through a
 * spy on that one function (the rest of node:crypto is the real one), over DynamoDB Local.
 */
import { authenticatorFor } from '../../functions/http/auth.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const compared = vi.hoisted(() => ({ calls: [] as number[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.calls.push(a.byteLength);
      return crypto.timingSafeEqual(a, b);
    },
  };
});

const { createToken, testEnv } = await import('../support/env.js');
type Env = Awaited<ReturnType<typeof testEnv>>;
let env: Env;
let secret: string;

beforeAll(async () => {
  env = await testEnv();
  secret = await createToken(env.deps, 'operator', undefined, 'alice');
});
afterAll(() => env?.client.destroy());

const basic = (user: string, s: string) => `Basic ${Buffer.from(`${user}:${s}`).toString('base64')}`;

describe('secrets are compared in constant time', () => {
  it('a bearer token: its hash against the stored hash, 32 bytes, through timingSafeEqual', async () => {
    compared.calls.length = 0;
    await expect(authenticatorFor(env.deps).authenticate(`Bearer ${secret}`)).resolves.toMatchObject({
      user: 'alice',
      role: 'operator',
    });
    expect(compared.calls).toEqual([32]);
  });

  it('Basic credentials: the hash, and the user (hashed to equal lengths) through timingSafeEqual', async () => {
    compared.calls.length = 0;
    await expect(authenticatorFor(env.deps).authenticate(basic('alice', secret))).resolves.toMatchObject({
      user: 'alice',
    });
    await expect(authenticatorFor(env.deps).authenticate(basic('mallory', secret))).rejects.toMatchObject({
      code: 'Unauthorized',
    });
    expect(compared.calls).toEqual([32, 32, 32, 32]);
  });

  it('a wrong secret finds no token to compare with, and is refused', async () => {
    compared.calls.length = 0;
    await expect(
      authenticatorFor(env.deps).authenticate('Bearer mct_not-a-token-at-all-0123456789abcdefghij'),
    ).rejects.toMatchObject({ code: 'Unauthorized' });
    expect(compared.calls).toEqual([]);
  });
});
