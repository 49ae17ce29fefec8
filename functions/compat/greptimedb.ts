/**
 * GreptimeDB metasrv's admin API (docs/compat.md §3): cluster maintenance mode, which is the `manual` claim on
 * cluster maintenance (automatic failover paused), and the procedure manager's pause/resume.
 */
import { activeClaims, clusterPaused } from '../domain/derive.js';
import { DomainError, notFound } from '../domain/errors.js';
import { setProceduresPaused } from '../domain/failover.js';
import { clearClusterClaim, setClusterClaim } from '../domain/maintenance.js';
import { MANUAL, type ClusterState } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import { roleAllows } from '../http/auth.js';
import {
  actorOf,
  familyHandler,
  type ApiRequest,
  type ApiResponse,
  type Operation,
  type Operations,
  type FamilyOptions,
} from '../http/handler.js';
import type { Deps } from '../deps.js';
import { runtimeDeps } from '../runtime.js';
import { mutate } from '../api/mutation.js';
import { clusterOf, compatOperations, compatSource, requireCluster } from './common.js';
import { greptimeErrors } from './errors.js';

const FAMILY = 'greptimedb';
const SOURCE = compatSource(FAMILY);

/** `enable` must be exactly `true` or `false` (metasrv's own messages, with a 400 instead of its 500). */
function enableParam(req: ApiRequest): boolean {
  const value = req.query.enable;
  if (value === undefined) throw new DomainError('InvalidInput', 'Missing required parameter, param: "enable"');
  if (value !== 'true' && value !== 'false')
    throw new DomainError('InvalidInput', "Failed to parse bool: 'enable' must be 'true' or 'false'");
  return value === 'true';
}

const enabled = (state: ClusterState, now: number) => ({ enabled: clusterPaused(state.cluster, now) });

/** Disabling while others keep the cluster in maintenance: 409 {"enabled":true}, who they are in X-Maintctl-Reason. */
const stillHeld = (state: ClusterState, now: number): ApiResponse => ({
  status: 409,
  body: { enabled: true },
  headers: {
    'x-maintctl-reason': `cluster maintenance is still held by ${activeClaims(state.cluster.claims, now)
      .map(([holder]) => holder)
      .join(', ')}`,
  },
});

async function readState(req: ApiRequest, deps: Deps): Promise<ClusterState> {
  const state = await deps.store.readCluster(requireCluster(FAMILY, req));
  if (!state) throw notFound('cluster');
  return state;
}

function change(
  req: ApiRequest,
  deps: Deps,
  rule: (state: ClusterState, now: number) => Outcome,
  render: (next: ClusterState, now: number) => ApiResponse,
) {
  return mutate(req, deps, {
    cluster: requireCluster(FAMILY, req),
    source: SOURCE,
    rule,
    render: (outcome, now) => render(outcome.next, now),
  });
}

async function setMaintenance(req: ApiRequest, deps: Deps, enable: boolean): Promise<ApiResponse> {
  const actor = actorOf(req, SOURCE);
  if (enable)
    return change(
      req,
      deps,
      (state, now) => setClusterClaim(state, { holder: MANUAL }, actor, now),
      (next, now) => ({ status: 200, body: enabled(next, now) }),
    );
  try {
    // Disabling removes only the manual claim; while a window or a rollout still holds the cluster (failover stays
    // paused), the answer is the 409 all the same: maintenance has not ended.
    return await change(
      req,
      deps,
      (state, now) => clearClusterClaim(state, { holder: MANUAL, override: false }, actor, now),
      (next, now) =>
        clusterPaused(next.cluster, now) ? stillHeld(next, now) : { status: 200, body: { enabled: false } },
    );
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== 'HeldByOthers') throw error;
    return stillHeld(await readState(req, deps), deps.now());
  }
}

const status: Operation = async (req, deps) => ({ status: 200, body: enabled(await readState(req, deps), deps.now()) });

const procedures =
  (paused: boolean): Operation =>
  (req, deps) =>
    change(
      req,
      deps,
      (state) => setProceduresPaused(state, paused),
      (next) => ({ status: 200, body: { status: next.cluster.proceduresPaused ? 'paused' : 'running' } }),
    );

const methodNotAllowed: Operation = async (req) => {
  throw new DomainError(
    'MethodNotAllowed',
    `${req.route.method === 'ANY' ? 'this method' : req.route.method} is not allowed on this path`,
  );
};

export const operations: Operations = compatOperations([
  [
    'GET',
    '/admin/maintenance',
    async (req, deps) => {
      if (req.query.enable === undefined) return status(req, deps);
      // The legacy form changes state with a GET: it takes the operator role all the same.
      if (!req.principal || !roleAllows(req.principal.role, 'operator'))
        throw new DomainError('Forbidden', 'changing maintenance mode needs the operator role');
      return setMaintenance(req, deps, enableParam(req));
    },
  ],
  ['POST', '/admin/maintenance', (req, deps) => setMaintenance(req, deps, enableParam(req))],
  ['PUT', '/admin/maintenance', (req, deps) => setMaintenance(req, deps, enableParam(req))],
  ['GET', '/admin/maintenance/status', status],
  ['POST', '/admin/maintenance/enable', (req, deps) => setMaintenance(req, deps, true)],
  ['POST', '/admin/maintenance/disable', (req, deps) => setMaintenance(req, deps, false)],
  [
    'GET',
    '/admin/procedure-manager/status',
    async (req, deps) => ({
      status: 200,
      body: { status: (await readState(req, deps)).cluster.proceduresPaused ? 'paused' : 'running' },
    }),
  ],
  ['POST', '/admin/procedure-manager/pause', procedures(true)],
  ['POST', '/admin/procedure-manager/resume', procedures(false)],
  ...[
    '/admin/maintenance/status',
    '/admin/maintenance/enable',
    '/admin/maintenance/disable',
    '/admin/procedure-manager/status',
    '/admin/procedure-manager/pause',
    '/admin/procedure-manager/resume',
  ].map((path): [string, string, Operation] => ['ANY', path, methodNotAllowed]),
]);

export const options: FamilyOptions = { errors: greptimeErrors, clusterOf: clusterOf(FAMILY) };

export const handler = familyHandler(FAMILY, operations, runtimeDeps, options);
