import { invalid } from './errors.js';

export const CLUSTER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/**
 * Datacenter names follow the server-name rule (Cassandra dcs such as `us-east-1` or `DC1`).
 * @alias
 */
export const DC_NAME = SERVER_NAME;
/** Window and rollout ids, used in claim holders. */
export const OBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const MAX_SERVERS_PER_CLUSTER = 2000;

const PATTERNS = { cluster: CLUSTER_ID, server: SERVER_NAME, dc: DC_NAME } as const;

export function checkName(kind: 'cluster' | 'server' | 'dc', value: string | undefined): string {
  const pattern = PATTERNS[kind];
  if (value === undefined || !pattern.test(value)) {
    throw invalid(`invalid ${kind} name: must match ${pattern.source}`, { [kind]: value ?? null });
  }
  return value;
}
