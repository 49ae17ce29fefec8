/** Every family's operations and options, for the local server (each Lambda entry imports its own family only). */
import { operations as cassandra, options as cassandraOptions } from '../compat/cassandra.js';
import { operations as greptimedb, options as greptimedbOptions } from '../compat/greptimedb.js';
import { operations as maxscale, options as maxscaleOptions } from '../compat/maxscale.js';
import type { FamilyOptions, Operations } from '../http/handler.js';
import type { Family } from '../http/routes.js';
import { operations as clusters } from './clusters.js';
import { operations as events } from './events.js';
import { operations as health } from './health.js';
import { operations as maintenance } from './maintenance.js';
import { operations as rollouts } from './rollouts.js';
import { operations as tokens } from './tokens.js';
import { operations as windows } from './windows.js';

export const FAMILY_OPERATIONS: Record<Family, Operations> = {
  health,
  clusters,
  maintenance,
  events,
  rollouts,
  windows,
  tokens,
  maxscale,
  cassandra,
  greptimedb,
};

/** The compat families' error formats and cluster resolution; the native families use the defaults. */
export const FAMILY_OPTIONS: Partial<Record<Family, FamilyOptions>> = {
  maxscale: maxscaleOptions,
  cassandra: cassandraOptions,
  greptimedb: greptimedbOptions,
};
