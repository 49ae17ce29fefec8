/**
 * What every command group needs from the program: its global options resolved (output format, API client,
 * cluster) and the small argument parsers the commands share.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { api, CliError, settings, type Api } from './api.js';
import type { Format } from './output.js';

interface Globals {
  url?: string;
  token?: string;
  cluster?: string;
  json?: boolean;
  tsv?: boolean;
}

export interface CliContext {
  format(): Format;
  client(): Api;
  /** The cluster the command acts on; a clear error when none is given. */
  cluster(): string;
  /** `/v1/clusters/<cluster>`. */
  clusterPath(): string;
  /** A success message, printed only for tables (`--json` and `--tsv` print data, never prose). */
  done(message: string): void;
}

/** Read lazily: the global options are known only once commander has parsed the command line. */
export function cliContext(program: Command): CliContext {
  const globals = (): Globals => program.opts<Globals>();
  const format = (): Format => (globals().json ? 'json' : globals().tsv ? 'tsv' : 'table');
  const cluster = (): string => {
    const name = settings(globals()).cluster;
    if (!name)
      throw new CliError('which cluster? give --cluster C (or MAINTCTL_CLUSTER, or "cluster" in the config file)');
    return name;
  };
  return {
    format,
    client: () => api(settings(globals())),
    cluster,
    clusterPath: () => `/v1/clusters/${encodeURIComponent(cluster())}`,
    done(message) {
      if (format() === 'table') process.stdout.write(`${message}\n`);
    },
  };
}

export const enc = encodeURIComponent;

export const positiveInt = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a positive whole number');
  return Number(v);
};
export const seconds = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number of seconds');
  return Number(v);
};
export const interval = (v: string) => {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < 0.1)
    throw new InvalidArgumentError('must be a number of seconds, at least 0.1');
  return Number(v);
};
export const oneOf = (values: string[]) => (v: string) => {
  if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
  return v;
};
export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
export const example = (text: string) => `\nExample:\n  ${text}`;
