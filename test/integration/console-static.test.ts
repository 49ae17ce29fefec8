/**
 * The local server's /console/ route over a real HTTP server: a build's files with their types and caching, the
 * app's paths answered with index.html, nothing outside the build, GET and HEAD only, and a missing build named.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEnv, type HttpEnv } from '../support/env.js';
import { rawHttp } from '../support/raw-http.js';

const INDEX = '<!doctype html><title>console stand-in</title>';
let dir: string;
let built: HttpEnv;
let unbuilt: HttpEnv;

/** A request exactly as written (Node sends the path untouched: no `..` resolved). */
const raw = (env: HttpEnv, method: string, path: string) => rawHttp(env.url, method, path);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'maintctl-console-'));
  mkdirSync(join(dir, 'dist/assets'), { recursive: true });
  writeFileSync(join(dir, 'dist/index.html'), INDEX);
  writeFileSync(join(dir, 'dist/assets/index-AbC123.js'), 'console.log("app")');
  writeFileSync(join(dir, 'dist/assets/index-AbC123.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'outside the build');
  // The handler reads MAINTCTL_CONSOLE_DIR when the server's listener is made.
  process.env.MAINTCTL_CONSOLE_DIR = join(dir, 'dist');
  built = await httpEnv();
  process.env.MAINTCTL_CONSOLE_DIR = join(dir, 'not-built');
  unbuilt = await httpEnv();
  delete process.env.MAINTCTL_CONSOLE_DIR;
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the console at /console/ (local server)', () => {
  it('serves index.html for /console/ and for any app path, never cached; /console redirects there; / too', async () => {
    for (const path of ['/console/', '/console/clusters/demo-mariadb/servers/db2', '/console/rollouts?x=1']) {
      const res = await raw(built, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe('text/html;charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.text).toBe(INDEX);
    }
    expect((await raw(built, 'GET', '/console')).headers.location).toBe('/console/');
    expect((await raw(built, 'GET', '/')).headers.location).toBe('/console/');
  });

  it('serves the hashed assets with their types, cached for a year', async () => {
    const js = await raw(built, 'GET', '/console/assets/index-AbC123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.text).toBe('console.log("app")');
    expect((await raw(built, 'GET', '/console/assets/index-AbC123.css')).headers['content-type']).toBe('text/css');
  });

  it('answers a missing file with a native JSON 404, and serves nothing outside the build', async () => {
    const missing = await raw(built, 'GET', '/console/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.code).toBe('NotFound');
    for (const path of [
      '/console/../secret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/..%2fsecret.txt',
      '/console/assets/..%2f..%2fsecret.txt',
      '/console/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const res = await raw(built, 'GET', path);
      expect(res.text, path).not.toContain('outside the build');
      expect(res.text, path).not.toContain('"name": "maintctl"');
    }
  });

  it('allows GET and HEAD only (a native JSON 405 otherwise)', async () => {
    const head = await raw(built, 'HEAD', '/console/');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await raw(built, method, '/console/');
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(res.text).error.code).toBe('MethodNotAllowed');
    }
  });

  it('says how to build the console when it is not built', async () => {
    const res = await raw(unbuilt, 'GET', '/console/');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.text).error.message).toMatch(/the web console is not built .*npm run build:console/);
  });
});
