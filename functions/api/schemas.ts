/** Request shapes. Objects are strict: an unknown field is a 400 naming it. */
import { z } from 'zod';
import { CLUSTER_ID, DC_NAME, SERVER_NAME } from '../domain/names.js';
import { ENGINES, SERVER_ROLES } from '../domain/model.js';
import { MAX_SERVERS_PER_CLUSTER } from '../domain/names.js';

const reason = z.string().max(512);
const isoTime = z.iso.datetime({ offset: true });
const ttl = z.union([z.number().int().positive(), z.string().max(32)]);

export const clusterBody = z.strictObject({
  engine: z.enum(ENGINES),
  budget: z.strictObject({ maxUnavailablePerDc: z.number().int().min(0).max(MAX_SERVERS_PER_CLUSTER).optional() }).optional(),
  staleAfterSeconds: z.number().int().min(5).max(86400).optional(),
});

export const serverBody = z.strictObject({
  dc: z.string().regex(DC_NAME).optional(),
  address: z.string().min(1).max(255).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  role: z.enum(SERVER_ROLES).optional(),
  component: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/).optional(),
});

export const maintenanceBody = z.strictObject({
  mode: z.enum(['maintenance', 'drain']).optional(),
  force: z.boolean().optional(),
  reason: reason.optional(),
  ttl: ttl.optional(),
  until: isoTime.optional(),
  drainTimeoutSeconds: z.number().int().min(0).max(86400).optional(),
  onDeadline: z.enum(['force', 'hold']).optional(),
  override: z.boolean().optional(),
  dryRun: z.boolean().optional(),
});

export const clusterMaintenanceBody = z.strictObject({
  reason: reason.optional(),
  ttl: ttl.optional(),
  until: isoTime.optional(),
  dryRun: z.boolean().optional(),
});

export const statusBody = z.strictObject({
  health: z.enum(['running', 'down']),
  role: z.enum(SERVER_ROLES).optional(),
  connections: z.number().int().min(0).max(10_000_000).optional(),
  openTransactions: z.number().int().min(0).max(10_000_000).optional(),
  version: z.string().min(1).max(64).optional(),
  // DynamoDB stores no number of magnitude below 1e-130: such a lag is a client's 400, not a backend 500.
  replicationLagSeconds: z.number().min(0).max(10_000_000).refine((v) => v === 0 || v >= 1e-130, 'must be 0 or at least 1e-130').optional(),
});

export const switchoverBody = z.strictObject({
  to: z.string().regex(SERVER_NAME).optional(),
  dryRun: z.boolean().optional(),
});

export const failoverBody = z.strictObject({ dryRun: z.boolean().optional() });

export const tokenBody = z
  .strictObject({
    user: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/),
    role: z.enum(['viewer', 'agent', 'operator', 'admin']),
    clusters: z.array(z.string().regex(CLUSTER_ID)).min(1).max(100).optional(),
  })
  .refine((t) => t.role !== 'agent' || t.clusters?.length === 1, { message: 'an agent token is limited to exactly one cluster', path: ['clusters'] });

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const limit = z.coerce.number().int().min(1).max(1000);

export const clearQuery = z.object({
  mode: z.enum(['maintenance', 'drain']).optional(),
  override: flag.optional(),
  dryRun: flag.optional(),
});

export const listQuery = z.object({ limit: limit.optional(), cursor: z.string().max(1024).optional() });

export const eventsQuery = z.object({
  limit: limit.optional(),
  cursor: z.string().max(1024).optional(),
  since: isoTime.optional(),
  server: z.string().regex(SERVER_NAME).optional(),
  action: z.string().regex(/^[a-z][a-z-]{0,39}$/).optional(),
});
