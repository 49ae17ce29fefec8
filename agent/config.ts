/**
 * `maintctl agent --config FILE`: the agent's JSON configuration. A bad file is one line naming the key (exit 2);
 * secrets come from environment variables or files only the agent's user can read, and are never logged.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { CLUSTER_ID, SERVER_NAME } from '../functions/domain/names.js';

/** The configuration cannot be used: printed as one line, exit status 2. */
export class ConfigError extends Error {}

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port');
/** A secret's source: `passwordEnv` (a variable's name) or `passwordFile` (mode 0600). */
const credentials = z.strictObject({
  user: z.string().min(1),
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  passwordFile: z.string().min(1).optional(),
});
const proxyServer = z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be backend/server');

const schema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  cluster: z.string().regex(CLUSTER_ID),
  tokenFile: z.string().min(1).optional(),
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  intervalSeconds: z.number().min(0.2).max(300).default(5),
  mariadb: credentials.extend({
    servers: z
      .record(z.string().regex(SERVER_NAME), hostPort)
      .refine((s) => Object.keys(s).length > 0, 'must name at least one server'),
    /** The user replicas connect as after a switchover. */
    replication: credentials.optional(),
    connectTimeoutSeconds: z.number().min(0.1).max(60).default(2),
    /** How long a switchover waits for the target to apply the old primary's last transaction. */
    switchoverTimeoutSeconds: z.number().min(1).max(600).default(30),
  }),
  haproxy: z
    .array(
      z.strictObject({
        /** `host:port` or the path of a unix socket (HAProxy's `stats socket ... level admin`). */
        runtimeApi: z.string().min(1),
        /** Backends that send writes: only the primary is ready there. */
        writeBackends: z.array(z.string().min(1)).default([]),
        servers: z.record(z.string().regex(SERVER_NAME), z.union([proxyServer, z.array(proxyServer).min(1)])),
      }),
    )
    .default([]),
  upgrade: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1),
      timeoutSeconds: z.number().int().min(1).max(604_800).default(900),
    })
    .optional(),
});

export type AgentConfig = Omit<z.infer<typeof schema>, 'mariadb' | 'haproxy' | 'tokenFile' | 'tokenEnv'> & {
  token: string;
  mariadb: Omit<z.infer<typeof schema>['mariadb'], 'servers' | 'replication' | 'passwordEnv' | 'passwordFile'> & {
    password: string;
    replication?: { user: string; password: string };
    servers: Record<string, { host: string; port: number }>;
  };
  haproxy: {
    runtimeApi: string;
    writeBackends: string[];
    servers: Record<string, { backend: string; server: string }[]>;
  }[];
};

const keyOf = (path: PropertyKey[]) => path.map(String).join('.') || '(file)';

/** A secret file must be readable by its owner only, like ssh keys. */
function readSecretFile(file: string, key: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new ConfigError(`${key}: cannot read ${file}`);
  }
  if ((mode & 0o077) !== 0) throw new ConfigError(`${key}: ${file} is readable by others (chmod 600 ${file})`);
  return readFileSync(file, 'utf8').trim();
}

function secret(
  source: { passwordEnv?: string | undefined; passwordFile?: string | undefined },
  key: string,
  base: string,
  env: NodeJS.ProcessEnv,
): string {
  if (source.passwordEnv !== undefined) {
    const value = env[source.passwordEnv];
    if (!value) throw new ConfigError(`${key}.passwordEnv: the environment variable ${source.passwordEnv} is not set`);
    return value;
  }
  if (source.passwordFile !== undefined)
    return readSecretFile(resolve(base, source.passwordFile), `${key}.passwordFile`);
  throw new ConfigError(`${key}: give passwordEnv or passwordFile`);
}

function hostAndPort(value: string) {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
}

/** Reads and checks the file; relative paths in it are relative to the file. */
export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not valid JSON'}`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${keyOf(issue.path)}: ${issue.message}`);
  }
  const { tokenFile, tokenEnv, mariadb, haproxy, ...rest } = parsed.data;
  const base = dirname(resolve(file));
  let token: string;
  if (tokenEnv !== undefined) {
    token = env[tokenEnv] ?? '';
    if (!token) throw new ConfigError(`tokenEnv: the environment variable ${tokenEnv} is not set`);
  } else if (tokenFile !== undefined) token = readSecretFile(resolve(base, tokenFile), 'tokenFile');
  else throw new ConfigError('tokenFile: give tokenFile or tokenEnv (an agent token of the cluster)');

  const known = new Set(Object.keys(mariadb.servers));
  const proxies = haproxy.map((h, i) => {
    for (const name of Object.keys(h.servers))
      if (!known.has(name)) throw new ConfigError(`haproxy.${i}.servers.${name}: not a server of mariadb.servers`);
    return {
      runtimeApi: h.runtimeApi,
      writeBackends: h.writeBackends,
      servers: Object.fromEntries(
        Object.entries(h.servers).map(([name, entries]) => [
          name,
          [entries].flat().map((e) => ({ backend: e.split('/')[0]!, server: e.split('/')[1]! })),
        ]),
      ),
    };
  });
  const { servers, replication, passwordEnv, passwordFile, ...db } = mariadb;
  return {
    ...rest,
    token,
    mariadb: {
      ...db,
      password: secret({ passwordEnv, passwordFile }, 'mariadb', base, env),
      ...(replication && {
        replication: { user: replication.user, password: secret(replication, 'mariadb.replication', base, env) },
      }),
      servers: Object.fromEntries(Object.entries(servers).map(([name, at]) => [name, hostAndPort(at)])),
    },
    haproxy: proxies,
  };
}
