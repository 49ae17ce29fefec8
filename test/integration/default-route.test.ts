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

  // API Gateway brings every request no route takes to $default, a wrong method on any family's path included.
  it('answers a wrong method with 405 and Allow, in the format of the family whose routes match the path', async () => {
    const cases: [method: string, path: string, allow: string, type: string, body: (text: string) => void][] = [
      [
        'POST',
        '/v1/servers/db1',
        'GET',
        'application/json',
        (t) => expect(JSON.parse(t)).toEqual({ errors: [{ detail: 'POST is not allowed here' }] }),
      ],
      [
        'DELETE',
        '/c/x/v1/servers',
        'GET',
        'application/json',
        (t) => expect(JSON.parse(t)).toEqual({ errors: [{ detail: 'DELETE is not allowed here' }] }),
      ],
      [
        'POST',
        '/pods/p1',
        'GET, PUT, DELETE',
        'text/plain; charset=utf-8',
        (t) => expect(t).toBe('POST is not allowed here\n'),
      ],
      [
        'PATCH',
        '/c/x/config',
        'GET, PUT',
        'text/plain; charset=utf-8',
        (t) => expect(t).toBe('PATCH is not allowed here\n'),
      ],
      [
        'DELETE',
        '/admin/maintenance',
        'GET, POST, PUT',
        'text/plain; charset=utf-8',
        (t) => expect(t).toBe('DELETE is not allowed here\n'),
      ],
      [
        'POST',
        '/v1/clusters/x/servers',
        'GET',
        'application/json',
        (t) => expect(JSON.parse(t).error).toMatchObject({ code: 'MethodNotAllowed' }),
      ],
      [
        'PATCH',
        '/v1/tokens',
        'POST, GET',
        'application/json',
        (t) => expect(JSON.parse(t).error).toMatchObject({ code: 'MethodNotAllowed' }),
      ],
      // parameters that do not decode still belong to their family's path
      [
        'POST',
        '/pods/%ZZ',
        'GET, PUT, DELETE',
        'text/plain; charset=utf-8',
        (t) => expect(t).toBe('POST is not allowed here\n'),
      ],
    ];
    for (const [method, path, allow, type, body] of cases) {
      // before authentication, as the local stand-in for API Gateway answers it
      for (const authorization of [`Bearer ${token}`, '']) {
        const res = await handler(event(method, path, authorization));
        expect(
          { status: res.statusCode, allow: res.headers?.allow, type: res.headers?.['content-type'] },
          `${method} ${path}`,
        ).toEqual({ status: 405, allow, type });
        body(String(res.body));
      }
    }
  });
});
