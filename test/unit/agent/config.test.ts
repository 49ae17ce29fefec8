/** The agent's configuration: a usable file, and one line naming the key for every bad one. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from '../../../agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'maintctl-agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = {
  url: 'http://127.0.0.1:8989',
  tokenFile: 'agent.token',
  cluster: 'shop',
  mariadb: {
    user: 'maintctl',
    passwordEnv: 'DB_PASSWORD',
    replication: { user: 'repl', passwordFile: 'repl.secret' },
    servers: { db1: '127.0.0.1:3306', db2: '127.0.0.1:3307' },
  },
  haproxy: [
    {
      runtimeApi: '127.0.0.1:9999',
      writeBackends: ['writes'],
      servers: { db1: ['writes/db1', 'reads/db1'], db2: 'reads/db2' },
    },
  ],
  upgrade: { command: ['/usr/local/bin/upgrade-mariadb'] },
};
const env = { DB_PASSWORD: 'db-secret' };

function file(config: unknown, name = 'agent.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}
function secret(name: string, value: string, mode = 0o600) {
  writeFileSync(join(dir, name), `${value}\n`);
  chmodSync(join(dir, name), mode);
}
secret('agent.token', 'the-token');
secret('repl.secret', 'repl-secret');

const error = (config: unknown, e: NodeJS.ProcessEnv = env) => {
  try {
    loadAgentConfig(file(config), e);
  } catch (caught) {
    expect(caught).toBeInstanceOf(ConfigError);
    return (caught as Error).message;
  }
  throw new Error('accepted');
};

describe('loadAgentConfig', () => {
  it('reads a good file: secrets from the environment and 0600 files beside it, defaults filled in', () => {
    const config = loadAgentConfig(file(GOOD), env);
    expect(config.token).toBe('the-token');
    expect(config.mariadb.password).toBe('db-secret');
    expect(config.mariadb.replication).toEqual({ user: 'repl', password: 'repl-secret' });
    expect(config.mariadb.servers.db2).toEqual({ host: '127.0.0.1', port: 3307 });
    expect(config.haproxy[0]!.servers.db1).toEqual([
      { backend: 'writes', server: 'db1' },
      { backend: 'reads', server: 'db1' },
    ]);
    expect(config.intervalSeconds).toBe(5);
    expect(config.upgrade!.timeoutSeconds).toBe(900);
  });

  it.each([
    ['a missing cluster', { ...GOOD, cluster: undefined }, /^cluster: /],
    ['a bad url', { ...GOOD, url: 'ftp://x' }, /^url: /],
    ['an unknown key', { ...GOOD, colour: 'red' }, /colour/],
    [
      'a server without a port',
      { ...GOOD, mariadb: { ...GOOD.mariadb, servers: { db1: '127.0.0.1' } } },
      /^mariadb\.servers\.db1: must be host:port/,
    ],
    ['no servers', { ...GOOD, mariadb: { ...GOOD.mariadb, servers: {} } }, /^mariadb\.servers: /],
    [
      'a proxy entry of an unknown server',
      { ...GOOD, haproxy: [{ runtimeApi: 'x:1', servers: { db9: 'reads/db9' } }] },
      /^haproxy\.0\.servers\.db9: not a server/,
    ],
    [
      'a proxy entry without its backend',
      { ...GOOD, haproxy: [{ runtimeApi: 'x:1', servers: { db1: 'db1' } }] },
      /^haproxy\.0\.servers\.db1: .*backend\/server/,
    ],
    ['an interval of 0', { ...GOOD, intervalSeconds: 0 }, /^intervalSeconds: /],
    ['an empty upgrade command', { ...GOOD, upgrade: { command: [] } }, /^upgrade\.command: /],
    ['no token', { ...GOOD, tokenFile: undefined }, /^tokenFile: give tokenFile or tokenEnv/],
    [
      'no database password',
      { ...GOOD, mariadb: { ...GOOD.mariadb, passwordEnv: undefined } },
      /^mariadb: give passwordEnv or passwordFile/,
    ],
  ])('refuses %s, naming the key', (_what, config, message) => {
    expect(error(config)).toMatch(message);
  });

  it('refuses an unset variable, a missing file, a secret others can read, and a file that is not JSON', () => {
    expect(error(GOOD, {})).toBe('mariadb.passwordEnv: the environment variable DB_PASSWORD is not set');
    expect(error({ ...GOOD, tokenFile: 'nope.token' })).toMatch(/^tokenFile: cannot read .*nope\.token/);
    secret('open.token', 'x', 0o644);
    expect(error({ ...GOOD, tokenFile: 'open.token' })).toMatch(
      /^tokenFile: .*open\.token is readable by others \(chmod 600/,
    );
    expect(error('{ not json')).toMatch(/not valid JSON/);
    expect(() => loadAgentConfig(join(dir, 'absent.json'), env)).toThrow(/absent\.json: no such file/);
  });

  it('never puts a secret in a message', () => {
    for (const config of [
      { ...GOOD, cluster: 'BAD CLUSTER' },
      { ...GOOD, mariadb: { ...GOOD.mariadb, user: '' } },
    ]) {
      const message = error(config);
      for (const s of ['db-secret', 'the-token', 'repl-secret']) expect(message).not.toContain(s);
    }
  });
});
