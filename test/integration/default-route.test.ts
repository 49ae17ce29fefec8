/** API Gateway's $default route: the handler matches the path against the same route table. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, options } from '../../functions/compat/maxscale.js';
import { familyHandler } from '../../functions/http/handler.js';
import { createToken, testEnv, type TestEnv } from '../support/env.js';

let env: TestEnv;
let token: string;
beforeAll(async () => {
  env = await testEnv();
  token = await createToken(env.deps, 'viewer');
});
afterAll(() => env.client.destroy());

const event = (method: string, rawPath: string, authorization: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { authorization },
    requestContext: { http: { method, path: rawPath }, requestId: 'r1' },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

describe('the $default route', () => {
  const handler = familyHandler('maxscale', operations, () => env.deps, options);

  it("serves maxctrl's GET /v1/ (and under /c/{cluster}) through the route table", async () => {
    expect((await handler(event('GET', '/v1/', `Bearer ${token}`))).statusCode).toBe(200);
    expect((await handler(event('GET', '/c/prod/v1/', `Bearer ${token}`))).statusCode).toBe(200);
  });

  it('answers 404 for a path that belongs to no route of the family, and 401 without credentials', async () => {
    expect((await handler(event('GET', '/v1/nothing/here/', `Bearer ${token}`))).statusCode).toBe(404);
    expect((await handler(event('GET', '/v1/clusters', `Bearer ${token}`))).statusCode).toBe(404);
    expect((await handler(event('GET', '/v1/', ''))).statusCode).toBe(401);
  });
});
