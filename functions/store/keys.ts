/**
 * The single-table layout. A cluster's item, its dc items and its server items share one partition (one
 * Query reads them all); audit events have a partition per cluster; tokens and idempotency records their own.
 */
export const PK = 'pk';
export const SK = 'sk';
/**
 * The table's TTL attribute (epoch seconds): idempotency records, agent leases and the integrations' settled silences
 * and deliveries carry it; audit events never (docs/data-model.md).
 */
export const TTL_ATTRIBUTE = 'expiresAt';

export const clusterPk = (cluster: string) => `CLUSTER#${cluster}`;
export const CLUSTER_SK = '#CLUSTER';
export const dcSk = (dc: string) => `DC#${dc}`;
export const serverSk = (server: string) => `SERVER#${server}`;

export const CLUSTERS_PK = 'CLUSTERS';

/** Audit events' key prefixes: the change-events pipe on AWS selects the inserts of these items only. */
export const EVENTS_PK_PREFIX = 'EVENTS#';
export const EVENT_SK_PREFIX = 'EV#';
export const eventsPk = (cluster: string) => `${EVENTS_PK_PREFIX}${cluster}`;
export const eventSk = (revision: number, seq: number) =>
  `${EVENT_SK_PREFIX}${String(revision).padStart(12, '0')}#${String(seq).padStart(3, '0')}`;
export const EVENT_SK = /^EV#\d{12}#\d{3}$/;

/** Rollout records, one partition per cluster (ids sort by creation time); each rollout's plan and nodes in their own. */
export const rolloutsPk = (cluster: string) => `ROLLOUTS#${cluster}`;
export const rolloutPk = (cluster: string, id: string) => `ROLLOUT#${cluster}#${id}`;
export const PLAN_SK = '#PLAN';
export const nodeSk = (server: string) => `NODE#${server}`;

/** Maintenance windows, one partition per cluster. */
export const windowsPk = (cluster: string) => `WINDOWS#${cluster}`;

/** A cluster's agent lease: its own item, outside the cluster's partition (renewals are not routing changes). */
export const agentLeasePk = (cluster: string) => `AGENT_LEASE#${cluster}`;

export const tokenPk = (hash: string) => `TOKEN#${hash}`;
export const TOKENS_PK = 'TOKENS';
/** A counter every revocation bumps: revocations are conditional on the one they read. */
export const TOKENS_VERSION_PK = 'TOKENS#VERSION';
export const ITEM_SK = '#';

export const idempotencyPk = (scope: string) => `IDEMPOTENCY#${scope}`;
export const IDEMPOTENCY_HOURS = 24;
