/**
 * The MaxScale REST API subset that the real `maxctrl` uses (docs/compat.md §1): set/clear maintenance and
 * drain, list and show servers. Same rules, claims, budget and audit log as the native API; MaxScale's wire format.
 */
import { viewAll, viewOf, type ServerView } from '../domain/derive.js';
import { DomainError, notFound } from '../domain/errors.js';
import { clearServerClaim, setServerClaim } from '../domain/maintenance.js';
import { MANUAL, type ClaimMode, type ClusterState } from '../domain/model.js';
import {
  actorOf,
  familyHandler,
  type ApiRequest,
  type ApiResponse,
  type Operations,
  type FamilyOptions,
} from '../http/handler.js';
import type { Deps } from '../deps.js';
import { runtimeDeps } from '../runtime.js';
import { mutate } from '../api/mutation.js';
import { clusterOf, compatOperations, compatSource, requireCluster } from './common.js';
import { COMPAT_ERRORS, maxscaleErrors } from './errors.js';

const FAMILY = 'maxscale';
const INVALID_STATE = 'Invalid or missing value for the `state` parameter';

/** `state` as maxctrl sends it: maintenance (or maint) and drain, in any case. */
function stateParam(req: ApiRequest): ClaimMode {
  const state = req.query.state?.toLowerCase();
  if (state === 'maintenance' || state === 'maint') return 'maintenance';
  if (state === 'drain') return 'drain';
  throw new DomainError('InvalidInput', INVALID_STATE);
}

const forceParam = (req: ApiRequest) => ['yes', 'true', 'on', '1'].includes(req.query.force?.toLowerCase() ?? '');

const rfc1123 = (t: number | undefined) => (t === undefined ? null : new Date(t).toUTCString());

function lastEvent(v: ServerView): string {
  if (v.maintenance) return 'maintenance_on';
  if (v.draining || v.drained) return 'server_draining';
  if (v.server.health === 'down') return 'server_down';
  return v.server.role === 'primary' ? 'master_up' : v.server.role === 'replica' ? 'slave_up' : 'server_up';
}

function serverResource(v: ServerView, base: string) {
  const s = v.server;
  const since = v.claims.reduce<number | undefined>((latest, c) => Math.max(latest ?? 0, c.since), undefined);
  return {
    id: s.name,
    type: 'servers',
    attributes: {
      state: v.state,
      state_details: null,
      parameters: {
        address: s.address ?? null,
        port: s.port ?? null,
        socket: null,
        rank: s.role === 'primary' ? 'primary' : 'secondary',
        priority: 0,
      },
      statistics: {
        connections: s.connections ?? 0,
        total_connections: 0,
        max_connections: 0,
        active_operations: s.openTransactions ?? 0,
      },
      gtid_current_pos: null,
      version_string: s.version ? `${s.version}-MariaDB` : null,
      uptime: null,
      last_event: lastEvent(v),
      triggered_at: rfc1123(since ?? s.reportedAt ?? s.registeredAt),
      master_id: -1,
      node_id: -1,
      slaves: [],
      source: { file: null },
    },
    relationships: { monitors: { data: [{ id: 'maintctl', type: 'monitors' }] }, services: { data: [] } },
    links: { self: `${base}/v1/servers/${encodeURIComponent(s.name)}/` },
  };
}

/** The links maxctrl's client would have followed: the host it called, with its /c/{cluster} prefix. */
function baseUrl(req: ApiRequest): string {
  const proto = req.headers['x-forwarded-proto'] ?? 'http';
  return `${proto}://${req.headers.host ?? 'localhost'}${req.params.c ? `/c/${req.params.c}` : ''}`;
}

async function readState(req: ApiRequest, deps: Deps): Promise<ClusterState> {
  const state = await deps.store.readCluster(requireCluster(FAMILY, req));
  if (!state) throw notFound('cluster');
  return state;
}

function change(set: boolean) {
  return async (req: ApiRequest, deps: Deps): Promise<ApiResponse> => {
    const mode = stateParam(req);
    const name = req.params.s!;
    const actor = actorOf(req, compatSource(FAMILY));
    await mutate(req, deps, {
      cluster: requireCluster(FAMILY, req),
      source: compatSource(FAMILY),
      rule: (state, now) =>
        set
          ? setServerClaim(
              state,
              name,
              { holder: MANUAL, mode, force: forceParam(req), onDeadline: 'force', override: false, dryRun: false },
              actor,
              now,
            )
          : clearServerClaim(state, name, { holder: MANUAL, mode, override: false }, actor, now),
      // maxctrl prints `[object Object]` for a PUT answered with a body: 204, empty.
      render: () => ({ status: 204 }),
    });
    return { status: 204 };
  };
}

export const operations: Operations = compatOperations([
  // maxctrl with several --hosts asks each for `/v1/` first.
  ['GET', '/v1/', async () => ({ status: 200 })],
  [
    'GET',
    '/v1/servers',
    async (req, deps) => {
      const state = await readState(req, deps);
      const base = baseUrl(req);
      return {
        status: 200,
        body: {
          links: { self: `${base}/v1/servers/` },
          data: viewAll(state, deps.now()).map((v) => serverResource(v, base)),
        },
      };
    },
  ],
  [
    'GET',
    '/v1/servers/{s}',
    async (req, deps) => {
      const view = viewOf(await readState(req, deps), req.params.s!, deps.now());
      if (!view) throw notFound(`server ${req.params.s}`);
      const base = baseUrl(req);
      return {
        status: 200,
        body: {
          links: { self: `${base}/v1/servers/${encodeURIComponent(view.server.name)}/` },
          data: serverResource(view, base),
        },
      };
    },
  ],
  ['PUT', '/v1/servers/{s}/set', change(true)],
  ['PUT', '/v1/servers/{s}/clear', change(false)],
]);

/** Also the `$default` route's function (lib/constructs/control-plane-api.ts): wrong methods on the other families' paths. */
export const options: FamilyOptions = {
  errors: maxscaleErrors,
  clusterOf: clusterOf(FAMILY),
  otherErrors: COMPAT_ERRORS,
};

export const handler = familyHandler(FAMILY, operations, runtimeDeps, options);
