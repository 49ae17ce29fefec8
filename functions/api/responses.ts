/**
 * The native API's response shapes (zod/mini), for the OpenAPI document (`functions/api/openapi.ts`). Objects are
 * closed (`additionalProperties: false` in the document), so a field the code adds without declaring it here fails
 * the integration tier's response check. The renderers import these types only (`import type`): no handler bundle
 * carries the schemas.
 */
import * as z from '../zod.js';
import { ENGINES, SERVER_ROLES } from '../domain/model.js';
import { NODE_STEPS } from '../domain/rollout/model.js';
import { WINDOW_ACTIONS } from '../domain/windows.js';
import { REGISTRATION_FIELDS } from '../domain/registry.js';
import type { ErrorCode } from '../domain/errors.js';
import { STATUS } from '../http/errors.js';
import { ROLES } from '../http/routes.js';

/** `Date.prototype.toISOString()`: UTC, milliseconds. */
export const timestamp = z.iso.datetime();
const time = timestamp;
const names = z.array(z.string());
const count = z.int().check(z.minimum(0));

export const claim = z.object({
  holder: z.string(),
  /** Where a server's claim comes from: its own, or its dc's. */
  scope: z.optional(z.enum(['server', 'dc'])),
  mode: z.enum(['maintenance', 'drain']),
  force: z.boolean(),
  reason: z.optional(z.string()),
  actor: z.string(),
  since: time,
  until: z.optional(time),
  drainDeadline: z.optional(time),
  onDeadline: z.enum(['force', 'hold']),
});

export const server = z.object({
  name: z.string(),
  dc: z.string(),
  address: z.optional(z.string()),
  port: z.optional(z.int()),
  role: z.enum(SERVER_ROLES),
  component: z.optional(z.string()),
  state: z.string(),
  health: z.enum(['unknown', 'running', 'down']),
  maintenance: z.boolean(),
  pending: z.boolean(),
  draining: z.boolean(),
  drained: z.boolean(),
  closeConnections: z.boolean(),
  routable: z.boolean(),
  electable: z.boolean(),
  stale: z.boolean(),
  connections: z.optional(count),
  openTransactions: z.optional(count),
  version: z.optional(z.string()),
  replicationLagSeconds: z.optional(z.number()),
  proxy: z.optional(z.string()),
  reportedAt: z.optional(time),
  claims: z.array(claim),
});

export const verdict = z.object({
  allowed: z.boolean(),
  reason: z.optional(z.string()),
  newlyUnavailable: names,
  losesPrimary: names,
  usingBudget: names,
});

export const switchover = z.object({
  kind: z.enum(['switchover', 'failover']),
  from: z.optional(z.string()),
  to: z.string(),
  actor: z.string(),
  requestedAt: time,
});

const budget = z.object({ maxUnavailablePerDc: z.optional(count) });

export const clusterSummary = z.object({
  id: z.string(),
  engine: z.enum(ENGINES),
  budget,
  staleAfterSeconds: z.int(),
});

export const clusterList = z.object({ clusters: z.array(clusterSummary) });

export const cluster = z.object({
  id: z.string(),
  engine: z.enum(ENGINES),
  budget,
  staleAfterSeconds: z.int(),
  revision: count,
  createdAt: time,
  maintenance: z.object({ paused: z.boolean(), claims: z.array(claim) }),
  pendingSwitchover: z.nullable(switchover),
  servers: count,
  dcs: z.array(
    z.object({
      name: z.string(),
      servers: count,
      unavailable: names,
      maintenance: z.boolean(),
      claims: z.array(claim),
    }),
  ),
});

export const removed = z.object({ removed: z.string() });

export const serverList = z.object({
  cluster: z.string(),
  revision: count,
  servers: z.array(server),
  /** Present when there are more: pass it as `cursor` for the next page. */
  cursor: z.optional(z.string()),
});

const fieldValue = z.union([z.string(), z.number(), z.null()]);
/** Registration field → its value before and after (`null`: absent). */
const changes = z.partialRecord(z.enum(REGISTRATION_FIELDS), z.object({ from: fieldValue, to: fieldValue }));

export const serverRegistration = z.extend(server, { changed: changes });

export const serverRegistrationDryRun = z.object({
  dryRun: z.literal(true),
  changed: changes,
  verdict: z.nullable(verdict),
  server,
});

export const serverMaintenanceDryRun = z.object({
  dryRun: z.literal(true),
  changed: z.boolean(),
  verdict: z.nullable(verdict),
  server,
});

const dcFields = { dc: z.string(), maintenance: z.boolean(), claims: z.array(claim), servers: z.array(server) };
export const dcMaintenance = z.object(dcFields);
export const dcMaintenanceDryRun = z.object({
  dryRun: z.literal(true),
  changed: z.boolean(),
  verdict: z.nullable(verdict),
  ...dcFields,
});

const clusterMaintenanceFields = { cluster: z.string(), paused: z.boolean(), claims: z.array(claim) };
export const clusterMaintenance = z.object(clusterMaintenanceFields);
export const clusterMaintenanceDryRun = z.object({
  dryRun: z.literal(true),
  changed: z.boolean(),
  ...clusterMaintenanceFields,
});

export const statusAccepted = z.object({
  accepted: z.literal(true),
  /** Whether the report changed what consumers route to (the cluster's revision and ETag moved). */
  routingRelevant: z.boolean(),
});

export const failoverView = z.object({
  paused: z.boolean(),
  pausedBy: names,
  primary: z.nullable(z.string()),
  pendingSwitchover: z.nullable(switchover),
  proceduresPaused: z.boolean(),
  candidates: z.array(
    z.object({
      name: z.string(),
      dc: z.string(),
      replicationLagSeconds: z.optional(z.number()),
      reportedAt: time,
    }),
  ),
});

export const failoverResult = z.object({
  dryRun: z.optional(z.literal(true)),
  elected: z.nullable(z.string()),
  pendingSwitchover: z.nullable(switchover),
});

export const switchoverResult = z.object({
  dryRun: z.optional(z.literal(true)),
  pendingSwitchover: z.nullable(switchover),
});

export const agentLease = z.object({ holder: z.string(), until: time });

/** An audit event: `before` and `after` are the target's projections (any JSON). */
export const event = z.object({
  cluster: z.string(),
  revision: count,
  seq: count,
  at: time,
  actor: z.string(),
  source: z.string(),
  requestId: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  reason: z.optional(z.string()),
  override: z.optional(z.boolean()),
});

export const eventPage = z.object({ events: z.array(event), cursor: z.optional(z.string()) });

/** The rollout input (README "Rolling upgrades"), with its defaults applied. */
export const rolloutInput = z.object({
  targetVersion: z.string(),
  servers: z.optional(names),
  batchSize: z.int(),
  order: z.optional(names),
  drainTimeoutSeconds: count,
  onDrainTimeout: z.enum(['force', 'fail']),
  upgrade: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('wait-for-report'), timeoutSeconds: count }),
    z.object({ kind: z.literal('webhook'), url: z.string(), timeoutSeconds: count }),
    z.object({ kind: z.literal('lambda'), functionArn: z.string(), timeoutSeconds: count }),
  ]),
  verify: z.object({
    stableForSeconds: count,
    maxReplicationLagSeconds: z.optional(z.number()),
    timeoutSeconds: count,
  }),
  pauseAfterFirstBatch: z.boolean(),
});

const rolloutFields = {
  id: z.string(),
  cluster: z.string(),
  status: z.enum(['running', 'pausing', 'paused', 'aborting', 'aborted', 'failed', 'succeeded']),
  actor: z.string(),
  batchCount: count,
  executions: names,
  canaryPaused: z.optional(z.boolean()),
  stoppedNodes: z.optional(names),
  targetVersion: z.string(),
  input: rolloutInput,
  /** 1-based; 0 before the first batch. */
  batch: z.object({ current: count, count }),
  createdAt: time,
  updatedAt: time,
  failure: z.optional(z.object({ server: z.optional(z.string()), step: z.string(), reason: z.string(), at: time })),
};
export const rollout = z.object(rolloutFields);

export const rolloutDetail = z.object({
  ...rolloutFields,
  servers: z.array(
    z.object({
      name: z.string(),
      batch: z.nullable(z.int()),
      step: z.enum(NODE_STEPS),
      outcome: z.enum(['pending', 'in-progress', 'upgraded', 'already-upgraded', 'failed', 'skipped', 'stopped']),
      attempt: count,
      reason: z.optional(z.string()),
      stepStartedAt: z.optional(time),
    }),
  ),
});

export const rolloutPage = z.object({ rollouts: z.array(rollout), cursor: z.optional(z.string()) });

/** An instant in the window's zone (`local`, with its offset) and in UTC. */
const zoned = z.object({ local: z.string(), utc: time });
const occurrence = z.object({ start: zoned, end: zoned });

const windowFields = {
  id: z.string(),
  cluster: z.string(),
  name: z.string(),
  schedule: z.string(),
  timezone: z.string(),
  startDate: z.optional(z.string()),
  duration: z.string(),
  action: z.enum(WINDOW_ACTIONS),
  targets: z.object({ servers: names, dcs: names }),
  reason: z.optional(z.string()),
  enabled: z.boolean(),
  rollout: z.optional(rolloutInput),
  rolloutId: z.optional(z.string()),
  actor: z.string(),
  createdAt: time,
  updatedAt: time,
  /** The occurrence the next run skips. */
  skipping: z.optional(zoned),
  /** The occurrence in progress. */
  open: z.optional(occurrence),
  next: z.array(occurrence),
};
export const window = z.object(windowFields);
export const windowDetail = z.object({ ...windowFields, runs: z.array(event) });
export const windowList = z.object({ windows: z.array(window) });

const tokenFields = {
  id: z.string(),
  user: z.string(),
  role: z.enum(ROLES),
  clusters: z.optional(names),
  createdAt: time,
  createdBy: z.optional(z.object({ tokenId: z.string(), user: z.string() })),
};
export const token = z.object(tokenFields);
/** The secret is in this answer only. */
export const createdToken = z.object({ ...tokenFields, token: z.string() });
export const tokenList = z.object({ tokens: z.array(token) });
export const revoked = z.object({ revoked: z.string() });

// Integrations (integrations.ts): the Alertmanager silence template and silences, notification targets, deliveries.
const silenceMatchers = z.partialRecord(z.enum(['server', 'dc', 'cluster']), names);
export const alertmanagerTemplate = z.object({ matchers: silenceMatchers });
export const alertmanagerSilences = z.object({
  matchers: silenceMatchers,
  silences: z.array(
    z.object({
      target: z.string(),
      holder: z.string(),
      since: z.optional(time),
      state: z.enum(['pending', 'active', 'expiring', 'expired']),
      silenceId: z.optional(z.string()),
      endsAt: z.optional(time),
      matchers: z.optional(
        z.array(z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean() })),
      ),
      lastError: z.optional(z.string()),
      attempts: z.optional(count),
    }),
  ),
});
export const notificationTargets = z.object({ targets: z.array(z.object({ url: z.string(), actions: names })) });
export const deliveryList = z.object({
  deliveries: z.array(
    z.object({
      id: z.string(),
      url: z.string(),
      action: z.string(),
      target: z.string(),
      revision: count,
      seq: count,
      status: z.enum(['pending', 'delivered', 'failed']),
      attempts: count,
      createdAt: time,
      lastStatus: z.optional(z.int()),
      lastError: z.optional(z.string()),
      finishedAt: z.optional(time),
    }),
  ),
});

export const health = z.object({ status: z.literal('ok') });

/** `GET /v1/openapi.json`: this document. */
export const openapiDocument = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/** Every native error: `code` names the domain error (`Internal` for a 500), `details` what it is about. */
export const error = z.object({
  error: z.object({
    code: z.enum([...(Object.keys(STATUS) as ErrorCode[]), 'Internal']),
    message: z.string(),
    details: z.optional(z.record(z.string(), z.unknown())),
  }),
});

export type ServerJson = z.output<typeof server>;
export type ClaimJson = z.output<typeof claim>;
export type ClusterJson = z.output<typeof cluster>;
export type VerdictJson = z.output<typeof verdict>;
export type EventJson = z.output<typeof event>;
export type RolloutJson = z.output<typeof rollout>;
export type RolloutDetailJson = z.output<typeof rolloutDetail>;
export type WindowJson = z.output<typeof window>;
export type TokenJson = z.output<typeof token>;
