/** The CLI's view of the native API: one request function, errors as one-line messages. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** A failure to report on stderr with exit code 1 (never a stack trace). */
export class CliError extends Error {}

export interface Settings {
  url: string;
  token?: string;
  cluster?: string;
}

const CONFIG_FILE = () => process.env.MAINTCTL_CONFIG ?? join(homedir(), '.config', 'maintctl', 'config.json');

/** The config file, refused when others can read it (it holds a token). */
function readConfig(file = CONFIG_FILE()): Partial<Settings> {
  if (!existsSync(file)) return {};
  if ((statSync(file).mode & 0o077) !== 0) throw new CliError(`${file} is readable by others: chmod 600 ${file}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<Settings>;
  } catch {
    throw new CliError(`${file} is not valid JSON`);
  }
}

/** Flags, then the environment, then the config file; locally, the token `npm start` saved. */
export function settings(flags: { url?: string; token?: string; cluster?: string }): Settings {
  const config = readConfig();
  const url = (flags.url ?? process.env.MAINTCTL_URL ?? config.url ?? 'http://127.0.0.1:8989').replace(/\/+$/, '');
  const saved = resolve('.maintctl', 'admin-token');
  const token =
    flags.token ??
    process.env.MAINTCTL_TOKEN ??
    config.token ??
    (existsSync(saved) ? readFileSync(saved, 'utf8').trim() : undefined);
  const cluster = flags.cluster ?? process.env.MAINTCTL_CLUSTER ?? config.cluster;
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new CliError(`invalid --url ${url}`);
  return { url, ...(token && { token }), ...(cluster && { cluster }) };
}

export type Api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<T>;

export function api(s: Settings): Api {
  return async <T>(method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${s.url}${path}`, {
        method,
        headers: {
          ...(s.token && { authorization: `Bearer ${s.token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const code =
        cause?.code ?? cause?.errors?.[0]?.code ?? (cause as Error | undefined)?.message ?? (error as Error).message;
      throw new CliError(`cannot reach ${s.url} (${code})`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = (json as { error?: { message?: string; code?: string } } | undefined)?.error;
      throw new CliError(
        message?.message ? `${message.message} (${res.status} ${message.code})` : `${res.status} ${res.statusText}`,
      );
    }
    return json as T;
  };
}
