/**
 * The OpenAPI document: valid OpenAPI 3.1 (a real validator), the committed docs/openapi.json is what the code
 * generates, it covers exactly the native routes, and the response check it feeds catches what it should.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { operations as health } from '../../../functions/api/health.js';
import { isCompat, ROUTES, routeKey } from '../../../functions/http/routes.js';
import { DOCUMENT_PATH, generatedDocument } from '../../../scripts/openapi.js';
import { responseProblems } from '../../support/openapi-check.js';

const committed = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8'));
type Operation = { operationId: string; security: { bearer?: string[] }[] };
const operationsOf = (doc: { paths: Record<string, Record<string, Operation>> }) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(committed));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('is what the code generates (run `npm run openapi` after a change of routes or schemas)', () => {
    expect(committed).toEqual(generatedDocument());
  });

  it('describes every native route, with its role as the security requirement, and no compat route', () => {
    const native = ROUTES.filter((r) => !isCompat(r.family));
    const described = operationsOf(committed);
    expect(described.map((d) => d.key).sort()).toEqual(native.map(routeKey).sort());
    for (const route of native) {
      const { op } = described.find((d) => d.key === routeKey(route))!;
      expect(op.security, routeKey(route)).toEqual(route.role === 'public' ? [] : [{ bearer: [route.role] }]);
    }
    const ids = described.map((d) => d.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is served by GET /v1/openapi.json', async () => {
    const res = await health['GET /v1/openapi.json']!({} as never, {} as never);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(committed);
  });
});

describe('the response check', () => {
  const answer = (method: string, url: string, status: number, body: unknown, headers: Record<string, string> = {}) =>
    responseProblems({
      method,
      url: `http://127.0.0.1:1${url}`,
      status,
      headers: new Headers({ 'content-type': 'application/json', ...headers }),
      body: body === undefined ? '' : JSON.stringify(body),
    });
  const server = {
    name: 'db1',
    dc: 'dc1',
    role: 'replica',
    state: 'running',
    health: 'running',
    maintenance: false,
    pending: false,
    draining: false,
    drained: false,
    closeConnections: false,
    routable: true,
    electable: true,
    stale: false,
    reportedAt: '2026-01-02T03:04:05.678Z',
    claims: [],
  };
  const tag = { etag: '"r1"' };

  it('passes an answer as documented', () => {
    expect(answer('GET', '/v1/clusters/shop/servers/db1', 200, server, tag)).toEqual([]);
    expect(answer('GET', '/v1/clusters/shop/servers/db1?x=1', 304, undefined, tag)).toEqual([]);
    expect(answer('GET', '/v1/clusters/shop', 404, { error: { code: 'NotFound', message: 'cluster shop' } })).toEqual(
      [],
    );
  });

  it('fails an undeclared field, a wrong type, a missing field, an undocumented status, a missing header', () => {
    expect(answer('GET', '/v1/clusters/shop/servers/db1', 200, { ...server, extra: 1 }, tag)).toHaveLength(1);
    expect(answer('GET', '/v1/clusters/shop/servers/db1', 200, { ...server, port: '3306' }, tag)).toHaveLength(1);
    const { stale: _, ...missing } = server;
    expect(answer('GET', '/v1/clusters/shop/servers/db1', 200, missing, tag)).toHaveLength(1);
    expect(
      answer('GET', '/v1/clusters/shop/servers/db1', 200, { ...server, reportedAt: 'yesterday' }, tag),
    ).toHaveLength(1);
    expect(answer('GET', '/v1/clusters', 202, { clusters: [] })).toHaveLength(1);
    expect(answer('GET', '/v1/clusters/shop/servers/db1', 200, server)).toEqual([
      'GET /v1/clusters/shop/servers/db1 → 200: the ETag header is missing',
    ]);
    expect(answer('GET', '/v1/clusters/shop', 404, { error: { code: 'Nope', message: 'x' } })).toHaveLength(1);
  });

  it('leaves the compat families and unrouted paths alone', () => {
    expect(answer('GET', '/v1/servers/db1', 200, { anything: true })).toBeUndefined();
    expect(answer('GET', '/nowhere', 404, 'text')).toBeUndefined();
  });
});
