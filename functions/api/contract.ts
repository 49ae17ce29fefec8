/**
 * What each native route of the route table takes and answers: the one source of the OpenAPI document
 * (`functions/api/openapi.ts`). Request bodies and queries are the very schemas the handlers validate with; the
 * answers are `responses.ts`. Build and test time only: no handler imports this module.
 */
import type { ZodMiniObject, ZodMiniType } from 'zod/mini';
import { rolloutBody } from '../rollout/input.js';
import { windowBody } from '../windows/input.js';
import { deliveriesQuery, notificationsBody, silenceSettingsBody } from './integrations.js';
import { listQuery } from './list-query.js';
import * as R from './responses.js';
import { upgradeFailureBody } from './rollouts.js';
import {
  agentLeaseBody,
  clearQuery,
  clusterBody,
  clusterMaintenanceBody,
  eventsQuery,
  failoverBody,
  maintenanceBody,
  serverBody,
  serverPatchBody,
  statusBody,
  switchoverBody,
  tokenBody,
} from './schemas.js';

/** The request bodies, by the name the document gives them. */
export const REQUEST_BODIES = {
  ClusterBody: clusterBody,
  ServerBody: serverBody,
  ServerPatchBody: serverPatchBody,
  MaintenanceBody: maintenanceBody,
  ClusterMaintenanceBody: clusterMaintenanceBody,
  StatusBody: statusBody,
  FailoverBody: failoverBody,
  SwitchoverBody: switchoverBody,
  AgentLeaseBody: agentLeaseBody,
  RolloutBody: rolloutBody,
  UpgradeFailureBody: upgradeFailureBody,
  WindowBody: windowBody,
  TokenBody: tokenBody,
  SilenceSettingsBody: silenceSettingsBody,
  NotificationsBody: notificationsBody,
} as const;
type BodyName = keyof typeof REQUEST_BODIES;

/** A success answer's body: a schema of `responses.ts`, one of several, or none. */
export type Answer = ZodMiniType | ZodMiniType[] | null;

export interface OperationContract {
  summary: string;
  body?: BodyName;
  /** The body may be left out (as `{}`). */
  bodyOptional?: boolean;
  query?: ZodMiniObject;
  /** Success statuses and their bodies. */
  ok: Record<number, Answer>;
  /** Through the mutation path (`mutation.ts`): If-Match (412), Idempotency-Key, conflicts (409). */
  mutation?: boolean;
  /** A conditional read: ETag on 200, If-None-Match answered 304. */
  conditional?: boolean;
  /** Other error statuses than those every route of its kind may answer. */
  errors?: number[];
  /** Response headers of the success answers other than ETag. */
  location?: boolean;
}

const C = '/v1/clusters/{c}';
const serverAnswer = [R.server, R.serverMaintenanceDryRun];
const dcAnswer = [R.dcMaintenance, R.dcMaintenanceDryRun];
const clusterMaintenanceAnswer = [R.clusterMaintenance, R.clusterMaintenanceDryRun];

/** Keyed like the operations (`routeKey`): `test/unit/api/openapi.test.ts` checks it covers every native route. */
export const CONTRACT: Record<string, OperationContract> = {
  'GET /v1/health': { summary: 'Liveness', ok: { 200: R.health } },
  'GET /v1/openapi.json': { summary: 'This document (OpenAPI 3.1)', ok: { 200: R.openapiDocument } },

  'GET /v1/clusters': { summary: 'List the clusters (within the token’s scope)', ok: { 200: R.clusterList } },
  [`GET ${C}`]: { summary: 'Read a cluster', ok: { 200: R.cluster } },
  [`PUT ${C}`]: {
    summary: 'Register a cluster, or change its configuration',
    body: 'ClusterBody',
    mutation: true,
    ok: { 200: R.cluster, 201: R.cluster },
  },
  [`DELETE ${C}`]: { summary: 'Remove a cluster', mutation: true, ok: { 200: R.removed } },
  [`GET ${C}/servers`]: {
    summary: 'List the servers with their state (paged)',
    query: listQuery,
    conditional: true,
    ok: { 200: R.serverList },
  },
  [`GET ${C}/servers/{s}`]: { summary: 'Read a server', conditional: true, ok: { 200: R.server } },
  [`PUT ${C}/servers/{s}`]: {
    summary: 'Register a server, or replace its registration (`dryRun`: what would change)',
    body: 'ServerBody',
    mutation: true,
    ok: { 200: [R.serverRegistration, R.serverRegistrationDryRun], 201: R.serverRegistration },
  },
  [`PATCH ${C}/servers/{s}`]: {
    summary: 'Change fields of a server’s registration',
    body: 'ServerPatchBody',
    mutation: true,
    ok: { 200: [R.serverRegistration, R.serverRegistrationDryRun] },
  },
  [`DELETE ${C}/servers/{s}`]: { summary: 'Remove a server', mutation: true, ok: { 200: R.removed } },

  [`GET ${C}/alertmanager`]: {
    summary: 'The Alertmanager silence template and the silences maintctl keeps',
    ok: { 200: R.alertmanagerSilences },
  },
  [`PUT ${C}/alertmanager`]: {
    summary: 'Set the Alertmanager silence template',
    body: 'SilenceSettingsBody',
    ok: { 200: R.alertmanagerTemplate },
  },
  [`GET ${C}/notifications`]: { summary: 'The notification webhooks', ok: { 200: R.notificationTargets } },
  [`PUT ${C}/notifications`]: {
    summary: 'Set the notification webhooks',
    body: 'NotificationsBody',
    ok: { 200: R.notificationTargets },
  },
  [`GET ${C}/notifications/deliveries`]: {
    summary: 'The recent notification deliveries',
    query: deliveriesQuery,
    ok: { 200: R.deliveryList },
  },

  [`PUT ${C}/servers/{s}/maintenance`]: {
    summary: 'Put a server in maintenance or drain',
    body: 'MaintenanceBody',
    bodyOptional: true,
    mutation: true,
    ok: { 200: serverAnswer },
  },
  [`DELETE ${C}/servers/{s}/maintenance`]: {
    summary: 'Clear a server’s manual claim',
    query: clearQuery,
    mutation: true,
    ok: { 200: serverAnswer },
  },
  [`PUT ${C}/dcs/{dc}/maintenance`]: {
    summary: 'Put a dc in maintenance or drain',
    body: 'MaintenanceBody',
    bodyOptional: true,
    mutation: true,
    ok: { 200: dcAnswer },
  },
  [`DELETE ${C}/dcs/{dc}/maintenance`]: {
    summary: 'Clear a dc’s manual claim',
    query: clearQuery,
    mutation: true,
    ok: { 200: dcAnswer },
  },
  [`GET ${C}/maintenance`]: {
    summary: 'Whether automation (failover) is paused, and by whom',
    ok: { 200: R.clusterMaintenance },
  },
  [`PUT ${C}/maintenance`]: {
    summary: 'Pause automation (cluster maintenance)',
    body: 'ClusterMaintenanceBody',
    bodyOptional: true,
    mutation: true,
    ok: { 200: clusterMaintenanceAnswer },
  },
  [`DELETE ${C}/maintenance`]: {
    summary: 'Resume automation (clear the manual pause)',
    query: clearQuery,
    mutation: true,
    ok: { 200: clusterMaintenanceAnswer },
  },
  [`PUT ${C}/servers/{s}/status`]: {
    summary: 'An agent reports a server’s status',
    body: 'StatusBody',
    mutation: true,
    ok: { 200: R.statusAccepted },
  },
  [`GET ${C}/failover`]: { summary: 'Failover state and ranked candidates', ok: { 200: R.failoverView } },
  [`POST ${C}/failover`]: {
    summary: 'Elect a new primary (refused while automation is paused)',
    body: 'FailoverBody',
    bodyOptional: true,
    mutation: true,
    ok: { 200: R.failoverResult },
  },
  [`POST ${C}/switchover`]: {
    summary: 'Switch the primary over (to a named or the best candidate)',
    body: 'SwitchoverBody',
    bodyOptional: true,
    mutation: true,
    ok: { 200: R.switchoverResult },
  },
  [`PUT ${C}/agent-lease`]: {
    summary: 'An agent takes, renews or lets go of its cluster’s lease (409 names the holder)',
    body: 'AgentLeaseBody',
    errors: [409],
    ok: { 200: R.agentLease },
  },

  [`GET ${C}/events`]: { summary: 'The audit log, newest first (paged)', query: eventsQuery, ok: { 200: R.eventPage } },

  [`POST ${C}/rollouts`]: {
    summary: 'Start a rolling upgrade',
    body: 'RolloutBody',
    mutation: true,
    location: true,
    ok: { 201: R.rolloutDetail },
  },
  [`GET ${C}/rollouts`]: { summary: 'List the rollouts (paged)', query: listQuery, ok: { 200: R.rolloutPage } },
  [`GET ${C}/rollouts/{id}`]: { summary: 'Read a rollout with its servers', ok: { 200: R.rolloutDetail } },
  [`POST ${C}/rollouts/{id}/pause`]: {
    summary: 'Pause a rollout after its batch',
    mutation: true,
    ok: { 200: R.rolloutDetail },
  },
  [`POST ${C}/rollouts/{id}/resume`]: {
    summary: 'Resume a paused or failed rollout',
    mutation: true,
    ok: { 202: R.rolloutDetail },
  },
  [`POST ${C}/rollouts/{id}/abort`]: { summary: 'Abort a rollout', mutation: true, ok: { 200: R.rolloutDetail } },
  [`POST ${C}/rollouts/{id}/servers/{s}/retry`]: {
    summary: 'Retry a failed server',
    mutation: true,
    ok: { 200: R.rolloutDetail },
  },
  [`POST ${C}/rollouts/{id}/servers/{s}/skip`]: {
    summary: 'Skip a server',
    mutation: true,
    ok: { 200: R.rolloutDetail },
  },
  [`POST ${C}/rollouts/{id}/servers/{s}/upgrade-failure`]: {
    summary: 'An agent reports that a server’s upgrade failed',
    body: 'UpgradeFailureBody',
    mutation: true,
    ok: { 200: R.rolloutDetail },
  },

  [`POST ${C}/windows`]: {
    summary: 'Create a maintenance window',
    body: 'WindowBody',
    mutation: true,
    ok: { 201: R.window },
  },
  [`GET ${C}/windows`]: { summary: 'List the windows with their next occurrences', ok: { 200: R.windowList } },
  [`GET ${C}/windows/{id}`]: { summary: 'Read a window with its past runs', ok: { 200: R.windowDetail } },
  [`PUT ${C}/windows/{id}`]: { summary: 'Replace a window', body: 'WindowBody', mutation: true, ok: { 200: R.window } },
  [`DELETE ${C}/windows/{id}`]: {
    summary: 'Delete a window (ends its open occurrence)',
    mutation: true,
    ok: { 204: null },
  },
  [`POST ${C}/windows/{id}/skip`]: {
    summary: 'Skip the window’s next occurrence',
    mutation: true,
    ok: { 200: R.window },
  },

  'POST /v1/tokens': {
    summary: 'Create a token (its secret is shown once)',
    body: 'TokenBody',
    ok: { 201: R.createdToken },
  },
  'GET /v1/tokens': { summary: 'List the tokens (within the token’s scope)', ok: { 200: R.tokenList } },
  'DELETE /v1/tokens/{id}': {
    summary: 'Revoke a token',
    errors: [409],
    ok: { 200: R.revoked },
  },
};
