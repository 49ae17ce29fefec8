/**
 * A cluster's integrations (issue 17 #3, #4), in the clusters family: the Alertmanager silence template (admin to
 * set, viewers read it with the silences maintctl keeps), the notification targets and their recent deliveries
 * (admin only: a chat webhook's URL is itself a secret).
 */
import { checkTemplate, type SilenceTemplate, TARGET_KINDS } from '../domain/silences.js';
import { invalid, notFound } from '../domain/errors.js';
import { DomainError } from '../domain/errors.js';
import type { Deps } from '../deps.js';
import { jsonBody, type ApiRequest, type Operations } from '../http/handler.js';
import * as z from '../zod.js';
import { checkNotificationUrl, localHttpAllowed } from '../integrations/notification-url.js';
import { dynamoClient } from '../runtime.js';
import { IntegrationStore, type SilenceRecord } from '../store/integrations.js';
import { validate } from '../validate.js';
import { limit } from './list-query.js';

const matcherList = z.array(z.string().check(z.minLength(3), z.maxLength(256))).check(z.maxLength(10));

export const silenceSettingsBody = z.strictObject({
  matchers: z.strictObject({
    server: z.optional(matcherList),
    dc: z.optional(matcherList),
    cluster: z.optional(matcherList),
  }),
});

const ACTION = /^[a-z][a-z-]{0,63}$/;
export const notificationsBody = z.strictObject({
  targets: z
    .array(
      z.strictObject({
        url: z.string().check(z.maxLength(2048)),
        actions: z.array(z.string().check(z.regex(ACTION))).check(z.minLength(1), z.maxLength(50)),
      }),
    )
    .check(z.maxLength(10)),
});

export const deliveriesQuery = z.object({ limit: z.optional(limit) });
export const DEFAULT_DELIVERIES = 50;

let lambdaStore: IntegrationStore | undefined;

/** Locally the stack's store; on AWS one made from the function's table. */
function store(deps: Deps): IntegrationStore {
  if (deps.integrations) return deps.integrations;
  const table = process.env.TABLE_NAME;
  if (!table) throw new DomainError('Unavailable', 'integrations are not configured here');
  lambdaStore ??= new IntegrationStore(dynamoClient(), table);
  return lambdaStore;
}

async function existingCluster(req: ApiRequest, deps: Deps): Promise<string> {
  const cluster = req.params.c!;
  if (!(await deps.store.readClusterHeader(cluster))) throw notFound(`cluster ${cluster}`);
  return cluster;
}

const silenceJson = (r: SilenceRecord) => ({
  target: r.target,
  holder: r.holder,
  since: r.since === undefined ? undefined : new Date(r.since).toISOString(),
  state: r.ended ? (r.expired ? 'expired' : 'expiring') : r.silenceId ? 'active' : 'pending',
  ...(r.silenceId && { silenceId: r.silenceId }),
  ...(r.endsAt !== undefined && !r.ended && { endsAt: new Date(r.endsAt).toISOString() }),
  ...(r.matchers && { matchers: r.matchers }),
  ...(r.lastError && { lastError: r.lastError, attempts: r.attempts }),
});

export const operations: Operations = {
  'GET /v1/clusters/{c}/alertmanager': async (req, deps) => {
    const cluster = await existingCluster(req, deps);
    const [template, records] = await Promise.all([
      store(deps).silenceTemplate(cluster),
      store(deps).listSilences(cluster),
    ]);
    return {
      status: 200,
      body: {
        matchers: template ?? {},
        silences: records.filter((r) => r.holder !== undefined && !r.expired).map(silenceJson),
      },
    };
  },

  'PUT /v1/clusters/{c}/alertmanager': async (req, deps) => {
    const body = jsonBody(req, silenceSettingsBody);
    const template: SilenceTemplate = Object.fromEntries(
      TARGET_KINDS.flatMap((k) => (body.matchers[k]?.length ? [[k, body.matchers[k]]] : [])),
    );
    checkTemplate(template);
    const cluster = await existingCluster(req, deps);
    const empty = Object.keys(template).length === 0;
    await store(deps).putSilenceTemplate(cluster, empty ? undefined : template, req.principal!.user, deps.now());
    return { status: 200, body: { matchers: template } };
  },

  'GET /v1/clusters/{c}/notifications': async (req, deps) => {
    const cluster = await existingCluster(req, deps);
    return { status: 200, body: { targets: await store(deps).notificationTargets(cluster) } };
  },

  'PUT /v1/clusters/{c}/notifications': async (req, deps) => {
    const { targets } = jsonBody(req, notificationsBody);
    for (const target of targets) {
      const refused = checkNotificationUrl(target.url, localHttpAllowed());
      if (refused) throw invalid(refused, { url: target.url });
    }
    if (new Set(targets.map((t) => t.url)).size !== targets.length) throw invalid('each target URL once');
    const cluster = await existingCluster(req, deps);
    await store(deps).putNotificationTargets(cluster, targets, req.principal!.user, deps.now());
    return { status: 200, body: { targets } };
  },

  'GET /v1/clusters/{c}/notifications/deliveries': async (req, deps) => {
    const query = validate(deliveriesQuery, req.query, 'query');
    const cluster = await existingCluster(req, deps);
    const deliveries = await store(deps).listDeliveries(cluster, query.limit ?? DEFAULT_DELIVERIES);
    return {
      status: 200,
      body: {
        deliveries: deliveries.map(({ cluster: _c, createdAt, finishedAt, leaseUntil: _l, ...d }) => ({
          ...d,
          createdAt: new Date(createdAt).toISOString(),
          ...(finishedAt !== undefined && { finishedAt: new Date(finishedAt).toISOString() }),
        })),
      },
    };
  },
};
