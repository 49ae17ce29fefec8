/**
 * The Cassandra operator's maintenance API (docs/compat.md §2): pods, dcs (the dc-level claim) and the
 * ConfigMap view. Plain-text errors, as the original's; the budget refuses what would take the cluster down.
 */
import { viewAll, viewOf, type ServerView } from '../domain/derive.js';
import { notFound } from '../domain/errors.js';
import {
  clearDcClaim,
  clearServerClaim,
  setDcClaim,
  setServerClaim,
  type ClaimRequest,
} from '../domain/maintenance.js';
import { MANUAL, type Actor, type ClusterState } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import {
  actorOf,
  familyHandler,
  type ApiRequest,
  type Operation,
  type Operations,
  type FamilyOptions,
} from '../http/handler.js';
import type { Deps } from '../deps.js';
import { runtimeDeps } from '../runtime.js';
import { mutate } from '../api/mutation.js';
import { clusterOf, compatOperations, compatSource, requireCluster } from './common.js';
import { cassandraErrors } from './errors.js';

const FAMILY = 'cassandra';
const SOURCE = compatSource(FAMILY);

/** A pod is in maintenance while a maintenance claim holds it (still draining counts). */
const inMaintenance = (v: ServerView) => v.maintenance || v.pending;

const podsOfDc = (state: ClusterState, dc: string, now: number) =>
  viewAll(state, now)
    .filter((v) => v.server.dc === dc)
    .map((v) => ({ [v.server.name]: inMaintenance(v) }));

async function readState(req: ApiRequest, deps: Deps): Promise<ClusterState> {
  const cluster = requireCluster(FAMILY, req);
  const state = await deps.store.readCluster(cluster);
  if (!state) throw notFound(`cluster ${cluster}`);
  return state;
}

const MAINTENANCE: Omit<ClaimRequest, 'holder'> = {
  mode: 'maintenance',
  force: false,
  onDeadline: 'force',
  override: false,
  dryRun: false,
};

type Rule = (state: ClusterState, name: string, actor: Actor, now: number) => Outcome;

/** A change to a pod or a dc; the answer is what the original shows of it afterwards. */
function change(
  param: 'pod' | 'dc',
  rule: Rule,
  answer: (next: ClusterState, name: string, now: number) => unknown,
): Operation {
  return (req, deps) => {
    const name = req.params[param]!;
    return mutate(req, deps, {
      cluster: requireCluster(FAMILY, req),
      source: SOURCE,
      rule: (state, now) => rule(state, name, actorOf(req, SOURCE), now),
      render: (outcome, now) => ({ status: 200, body: answer(outcome.next, name, now) }),
    });
  };
}

const podAnswer = (next: ClusterState, pod: string, now: number) => ({ [pod]: inMaintenance(viewOf(next, pod, now)!) });
const podChange = (rule: Rule) => change('pod', rule, podAnswer);
const dcChange = (rule: Rule) => change('dc', rule, podsOfDc);

const configMap: Operation = async (req, deps) => {
  const state = await readState(req, deps);
  const data = Object.fromEntries(
    viewAll(state, deps.now())
      .filter(inMaintenance)
      .map((v) => [v.server.name, 'true']),
  );
  return {
    status: 200,
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${state.cluster.id}-maintenance-configmap` },
      data,
    },
  };
};

export const operations: Operations = compatOperations([
  [
    'GET',
    '/pods/{pod}',
    async (req, deps) => {
      const view = viewOf(await readState(req, deps), req.params.pod!, deps.now());
      if (!view) throw notFound(`pod ${req.params.pod}`);
      return { status: 200, body: { inMaintenance: inMaintenance(view) } };
    },
  ],
  [
    'PUT',
    '/pods/{pod}',
    podChange((state, pod, actor, now) => setServerClaim(state, pod, { holder: MANUAL, ...MAINTENANCE }, actor, now)),
  ],
  [
    'DELETE',
    '/pods/{pod}',
    podChange((state, pod, actor, now) =>
      clearServerClaim(state, pod, { holder: MANUAL, override: false }, actor, now),
    ),
  ],
  [
    'GET',
    '/dcs/{dc}',
    async (req, deps) => {
      const dc = req.params.dc!;
      const pods = podsOfDc(await readState(req, deps), dc, deps.now());
      if (pods.length === 0) throw notFound(`dc ${dc}`);
      return { status: 200, body: { [dc]: pods.every((p) => Object.values(p)[0]) } };
    },
  ],
  [
    'PUT',
    '/dcs/{dc}',
    dcChange((state, dc, actor, now) => setDcClaim(state, dc, { holder: MANUAL, ...MAINTENANCE }, actor, now)),
  ],
  [
    'DELETE',
    '/dcs/{dc}',
    dcChange((state, dc, actor, now) => clearDcClaim(state, dc, { holder: MANUAL, override: false }, actor, now)),
  ],
  ['GET', '/config', configMap],
  ['PUT', '/config', configMap],
]);

export const options: FamilyOptions = { errors: cassandraErrors, clusterOf: clusterOf(FAMILY) };

export const handler = familyHandler(FAMILY, operations, runtimeDeps, options);
