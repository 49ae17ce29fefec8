/** Request shapes. Objects are strict: an unknown field is a 400 naming it. */
import * as z from '../zod.js';
import { MAX_AGENT_LEASE_SECONDS } from '../domain/agent-lease.js';
import { CLUSTER_ID, DC_NAME, SERVER_NAME } from '../domain/names.js';
import { ENGINES, SERVER_ROLES } from '../domain/model.js';
import { MAX_SERVERS_PER_CLUSTER } from '../domain/names.js';
import { limit } from './list-query.js';

const reason = z.string().check(z.maxLength(512));
const isoTime = z.iso.datetime({ offset: true });
const ttl = z.union([z.storableNumber(z.int(), z.positive()), z.string().check(z.maxLength(32))]);
const count = (min: number, max: number) => z.storableNumber(z.int(), z.minimum(min), z.maximum(max));

export const clusterBody = z.strictObject({
  engine: z.enum(ENGINES),
  budget: z.optional(z.strictObject({ maxUnavailablePerDc: z.optional(count(0, MAX_SERVERS_PER_CLUSTER)) })),
  staleAfterSeconds: z.optional(count(5, 86400)),
});

const serverAddress = z.string().check(z.minLength(1), z.maxLength(255));
const serverPort = count(1, 65535);
const serverComponent = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/));

/** PUT: the whole registration (left out: the defaults); `dryRun` and admin `override` for a change of dc or role. */
export const serverBody = z.strictObject({
  dc: z.optional(z.string().check(z.regex(DC_NAME))),
  address: z.optional(serverAddress),
  port: z.optional(serverPort),
  role: z.optional(z.enum(SERVER_ROLES)),
  component: z.optional(serverComponent),
  override: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
});

/** PATCH: only the fields given change; `null` removes address, port or component. */
export const serverPatchBody = z.strictObject({
  dc: z.optional(z.string().check(z.regex(DC_NAME))),
  address: z.optional(z.nullable(serverAddress)),
  port: z.optional(z.nullable(serverPort)),
  role: z.optional(z.enum(SERVER_ROLES)),
  component: z.optional(z.nullable(serverComponent)),
  override: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
});

export const maintenanceBody = z.strictObject({
  mode: z.optional(z.enum(['maintenance', 'drain'])),
  force: z.optional(z.boolean()),
  reason: z.optional(reason),
  ttl: z.optional(ttl),
  until: z.optional(isoTime),
  drainTimeoutSeconds: z.optional(count(0, 86400)),
  onDeadline: z.optional(z.enum(['force', 'hold'])),
  override: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
});

export const clusterMaintenanceBody = z.strictObject({
  reason: z.optional(reason),
  ttl: z.optional(ttl),
  until: z.optional(isoTime),
  dryRun: z.optional(z.boolean()),
});

export const statusBody = z.strictObject({
  health: z.enum(['running', 'down']),
  role: z.optional(z.enum(SERVER_ROLES)),
  connections: z.optional(count(0, 10_000_000)),
  openTransactions: z.optional(count(0, 10_000_000)),
  version: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  // Fractions kept (a lag below a second); storable: DynamoDB stores no magnitude below 1e-130 (a 400, not a 500).
  replicationLagSeconds: z.optional(z.storableNumber(z.minimum(0), z.maximum(10_000_000))),
  /** The last drift the agent corrected on the proxy. */
  proxy: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});

export const switchoverBody = z.strictObject({
  to: z.optional(z.string().check(z.regex(SERVER_NAME))),
  dryRun: z.optional(z.boolean()),
});

/** An agent takes or renews its cluster's lease (`ttlSeconds: 0` lets it go). */
export const agentLeaseBody = z.strictObject({
  holder: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/)),
  ttlSeconds: count(0, MAX_AGENT_LEASE_SECONDS),
});

export const failoverBody = z.strictObject({ dryRun: z.optional(z.boolean()) });

export const tokenBody = z
  .strictObject({
    user: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/)),
    role: z.enum(['viewer', 'agent', 'operator', 'admin']),
    clusters: z.optional(z.array(z.string().check(z.regex(CLUSTER_ID))).check(z.minLength(1), z.maxLength(100))),
  })
  .check(
    z.refine((t) => t.role !== 'agent' || t.clusters?.length === 1, {
      message: 'an agent token is limited to exactly one cluster',
      path: ['clusters'],
    }),
  );

const flag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((v) => v === 'true'),
);

export const clearQuery = z.object({
  mode: z.optional(z.enum(['maintenance', 'drain'])),
  override: z.optional(flag),
  dryRun: z.optional(flag),
});

export const eventsQuery = z.object({
  limit: z.optional(limit),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
  since: z.optional(isoTime),
  server: z.optional(z.string().check(z.regex(SERVER_NAME))),
  action: z.optional(z.string().check(z.regex(/^[a-z][a-z-]{0,39}$/))),
});
