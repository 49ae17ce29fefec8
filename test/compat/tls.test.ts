/** `--tls-cert/--tls-key`: HTTPS for `maxctrl --secure --tls-ca-cert ...` (and every other client). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../local/http-server.js';
import { httpEnv, reportAll, seedCluster, type HttpEnv } from '../support/env.js';
import { rawHttp } from '../support/raw-http.js';

let env: HttpEnv;
let close: () => void;
let port: number;
let ca: Buffer;
let dir: string;

beforeAll(async () => {
  env = await httpEnv();
  await seedCluster(env, 'secure', [{ name: 'db1', role: 'primary' }, { name: 'db2' }, { name: 'db3' }]);
  await reportAll(env, 'secure', ['db1', 'db2', 'db3']);
  dir = mkdtempSync(join(tmpdir(), 'maintctl-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'cert.pem'));
  const server = await startHttpServer(env.deps, {
    port: 0,
    tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
  });
  port = (server.address() as AddressInfo).port;
  close = () => {
    server.closeAllConnections();
    server.close();
  };
});
afterAll(async () => {
  close();
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What maxctrl --secure --tls-ca-cert sends: the same request over HTTPS, verifying the server's certificate. */
async function maxctrlRequest(method: string, path: string): Promise<{ status: number; body: string }> {
  const res = await rawHttp(`https://127.0.0.1:${port}`, method, path, {
    ca,
    headers: {
      authorization: `Basic ${Buffer.from(`admin:${env.admin}`).toString('base64')}`,
      ...(method === 'PUT' && { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' }),
    },
  });
  return { status: res.status, body: res.text };
}

describe('HTTPS', () => {
  it('serves the MaxScale family to a client that verifies the certificate', async () => {
    const set = await maxctrlRequest('PUT', '/c/secure/v1/servers/db2/set?state=maintenance');
    expect(set).toEqual({ status: 204, body: '' });
    const list = await maxctrlRequest('GET', '/c/secure/v1/servers');
    expect(list.status).toBe(200);
    const db2 = (JSON.parse(list.body) as { data: { id: string; attributes: { state: string } }[] }).data.find(
      (s) => s.id === 'db2',
    );
    expect(db2?.attributes.state).toBe('Maintenance, Running');
  });
});
