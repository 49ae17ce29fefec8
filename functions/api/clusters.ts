/** Clusters and servers: registration (admin) and reads (viewer). */
import { entityTag, staleness, viewAll, viewOf } from '../domain/derive.js';
import { invalid, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import {
  registerCluster,
  registerServer,
  removeCluster,
  removeServer,
  updateServer,
  DEFAULT_STALE_AFTER_SECONDS,
  type ServerChanges,
  type ServerOutcome,
} from '../domain/registry.js';
import { actorOf, familyHandler, jsonBody, type ApiRequest, type Operations } from '../http/handler.js';
import type { Deps } from '../deps.js';
import { validate } from '../validate.js';
import { runtimeDeps } from '../runtime.js';
import type { ClusterHeader } from '../store/store.js';
import { clusterTag, headerMatches, mutate } from './mutation.js';
import { forgetStaleAfter } from './stale-after.js';
import { clusterJson, serverJson, verdictJson } from './render.js';
import { listQuery } from './list-query.js';
import { clusterBody, serverBody, serverPatchBody } from './schemas.js';
import { operations as integrationOperations } from './integrations.js';

async function readState(req: ApiRequest, deps: Deps) {
  const state = await deps.store.readCluster(req.params.c!);
  if (!state) throw notFound(`cluster ${req.params.c}`);
  return state;
}

const encodeAfter = (name: string) => Buffer.from(name).toString('base64url');
function decodeAfter(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw invalid('invalid cursor');
  return name;
}

/**
 * A registration change (PUT, PATCH): the server with what changed (`changed`: field → {from, to}); a dry run
 * answers what would happen — the budget's verdict and the server as it would be — and changes nothing.
 */
function changeServerOperation(
  req: ApiRequest,
  deps: Deps,
  name: string,
  dryRun: boolean,
  rule: (state: ClusterState, now: number) => ServerOutcome,
) {
  let changed: ServerChanges = {};
  return mutate(req, deps, {
    cluster: req.params.c!,
    dryRun,
    rule: (state, now) => {
      const outcome = rule(state, now);
      changed = outcome.changed;
      return outcome;
    },
    render: (outcome, now) => {
      const server = serverJson(viewOf(outcome.next, name, now)!);
      if (dryRun)
        return { status: 200, body: { dryRun: true, changed, verdict: verdictJson(outcome.verdict) ?? null, server } };
      return { status: outcome.events[0]?.action === 'register-server' ? 201 : 200, body: { ...server, changed } };
    },
  });
}

export const operations: Operations = {
  'GET /v1/clusters': async (req, deps) => {
    const clusters = await deps.store.listClusters();
    const scope = req.principal?.clusters;
    return {
      status: 200,
      body: {
        clusters: clusters
          .filter((c) => !scope || scope.includes(c.id))
          .map(({ id, engine, budget, staleAfterSeconds }) => ({ id, engine, budget, staleAfterSeconds })),
      },
    };
  },

  'GET /v1/clusters/{c}': async (req, deps) => {
    const state = await readState(req, deps);
    const now = deps.now();
    return { status: 200, body: clusterJson(state, viewAll(state, now), now) };
  },

  'PUT /v1/clusters/{c}': async (req, deps) => {
    const body = jsonBody(req, clusterBody);
    const config = {
      engine: body.engine,
      budget: body.budget ?? {},
      staleAfterSeconds: body.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
    };
    const id = req.params.c!;
    return mutate(req, deps, {
      cluster: id,
      creates: (now) => registerCluster(undefined, id, config, now),
      rule: (state, now) => registerCluster(state, id, config, now),
      render: (outcome, now) => ({
        status: outcome.events[0]?.action === 'register-cluster' ? 201 : 200,
        body: clusterJson(outcome.next, viewAll(outcome.next, now), now),
      }),
      then: async () => forgetStaleAfter(deps, id),
    });
  },

  'DELETE /v1/clusters/{c}': async (req, deps) =>
    mutate(req, deps, {
      cluster: req.params.c!,
      rule: (state) => removeCluster(state),
      render: () => ({ status: 200, body: { removed: req.params.c } }),
    }),

  'GET /v1/clusters/{c}/servers': async (req, deps) => {
    const query = validate(listQuery, req.query, 'query');
    const now = deps.now();
    const ifNoneMatch = req.headers['if-none-match'];
    let header: ClusterHeader | undefined;
    if (ifNoneMatch !== undefined) {
      // Answered from the cluster item alone while it can still tell: the revision, the instants at which time
      // changes a claim, and the servers gone stale (until another one can have).
      header = await deps.store.readClusterHeader(req.params.c!);
      if (!header) throw notFound(`cluster ${req.params.c}`);
      const known = header.staleness;
      if (known && now < (known.nextStaleAt ?? Infinity)) {
        const tag = entityTag(header.revision, header.transitions, now, known.count);
        if (headerMatches(ifNoneMatch, tag)) return { status: 304, headers: { etag: tag } };
      }
    }
    const state = await readState(req, deps);
    const tag = clusterTag(state, now);
    if (header?.revision === state.cluster.revision) {
      // What the cluster item no longer knows (a server went stale, or every one reported since): noted for the next.
      const found = staleness(state, now);
      if (JSON.stringify(header.staleness) !== JSON.stringify(found))
        await deps.store.writeStaleness(state.cluster.id, state.cluster.revision, found);
    }
    if (ifNoneMatch !== undefined && headerMatches(ifNoneMatch, tag)) return { status: 304, headers: { etag: tag } };
    let views = viewAll(state, now);
    let cursor: string | undefined;
    if (query.cursor !== undefined) {
      const after = decodeAfter(query.cursor);
      views = views.filter((v) => v.server.name > after);
    }
    if (query.limit !== undefined && views.length > query.limit) {
      views = views.slice(0, query.limit);
      cursor = encodeAfter(views.at(-1)!.server.name);
    }
    return {
      status: 200,
      headers: { etag: tag },
      body: {
        cluster: state.cluster.id,
        revision: state.cluster.revision,
        servers: views.map(serverJson),
        ...(cursor && { cursor }),
      },
    };
  },

  'GET /v1/clusters/{c}/servers/{s}': async (req, deps) => {
    const state = await readState(req, deps);
    const now = deps.now();
    const view = viewOf(state, req.params.s!, now);
    if (!view) throw notFound(`server ${req.params.s}`);
    const tag = clusterTag(state, now);
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && headerMatches(ifNoneMatch, tag)) return { status: 304, headers: { etag: tag } };
    return { status: 200, headers: { etag: tag }, body: serverJson(view) };
  },

  'PUT /v1/clusters/{c}/servers/{s}': async (req, deps) => {
    const { dryRun = false, override = false, ...registration } = jsonBody(req, serverBody);
    const name = req.params.s!;
    return changeServerOperation(req, deps, name, dryRun, (state, now) =>
      registerServer(state, name, registration, now, { dryRun, override }, actorOf(req)),
    );
  },

  'PATCH /v1/clusters/{c}/servers/{s}': async (req, deps) => {
    const { dryRun = false, override = false, ...patch } = jsonBody(req, serverPatchBody);
    const name = req.params.s!;
    return changeServerOperation(req, deps, name, dryRun, (state, now) =>
      updateServer(state, name, patch, { dryRun, override }, actorOf(req), now),
    );
  },

  'DELETE /v1/clusters/{c}/servers/{s}': async (req, deps) =>
    mutate(req, deps, {
      cluster: req.params.c!,
      rule: (state) => removeServer(state, req.params.s!),
      render: () => ({ status: 200, body: { removed: req.params.s } }),
    }),

  ...integrationOperations,
};

export const handler = familyHandler('clusters', operations, runtimeDeps);
