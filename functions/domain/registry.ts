/** Registering, changing and removing clusters and servers (admin). */
import { defaultMaxUnavailable, type Verdict } from './budget.js';
import { activeClaims, viewAll, type ServerView } from './derive.js';
import { DomainError, invalid, notFound } from './errors.js';
import type { Actor, Budget, ClusterState, Engine, Server, ServerRole, Target } from './model.js';
import { MAX_SERVERS_PER_CLUSTER } from './names.js';
import { event, noop, withCluster, withoutServer, withServer, type Outcome } from './outcome.js';

export const DEFAULT_STALE_AFTER_SECONDS = 60;

export interface ClusterConfig {
  engine: Engine;
  budget: Budget;
  staleAfterSeconds: number;
}

/** The fields a registration sets: what PUT replaces and PATCH changes. */
export const REGISTRATION_FIELDS = ['dc', 'address', 'port', 'role', 'component'] as const;
type RegistrationField = (typeof REGISTRATION_FIELDS)[number];
const DEFAULT_DC = 'dc1';
const DEFAULT_ROLE: ServerRole = 'member';

/**
 * A whole registration (PUT): what is left out takes its default (`dc1`, `member`, no address, port or component).
 * For an existing server a left-out `dc` or `role` must not change it: PUT replaces, PATCH updates.
 */
export interface ServerRegistration {
  dc?: string;
  address?: string;
  port?: number;
  role?: ServerRole;
  component?: string;
}

/** A partial update (PATCH): only the fields given change; `null` removes an optional one. */
export interface ServerPatch {
  dc?: string;
  role?: ServerRole;
  address?: string | null;
  port?: number | null;
  component?: string | null;
}

/** How a change of an existing server's dc or role meets the budget (as maintenance requests do). */
export interface ServerChangeRequest {
  /** Admin only: past the budget and past a dc's maintenance claims; the event records it. */
  override: boolean;
  /** Answer what would happen, the budget's verdict included; change nothing. */
  dryRun: boolean;
}

const PLAIN: ServerChangeRequest = { override: false, dryRun: false };

type FieldValue = string | number | null;
interface FieldChange {
  from: FieldValue;
  to: FieldValue;
}
/** What a change did to a server's registration, field by field (`null`: absent). */
export type ServerChanges = Partial<Record<RegistrationField, FieldChange>>;

export interface ServerOutcome extends Outcome {
  changed: ServerChanges;
  verdict: Verdict;
}

const emptyState = (id: string, config: ClusterConfig, now: number): ClusterState => ({
  cluster: { id, ...config, revision: 0, createdAt: now, claims: {} },
  dcs: new Map(),
  servers: new Map(),
});

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Creates the cluster, or updates its configuration; `state` is undefined when it does not exist yet. */
export function registerCluster(
  state: ClusterState | undefined,
  id: string,
  config: ClusterConfig,
  now: number,
): Outcome {
  if (!state) {
    const next = emptyState(id, config, now);
    return { next, events: [event('register-cluster', { kind: 'cluster' }, undefined, next)] };
  }
  const { engine, budget, staleAfterSeconds } = state.cluster;
  if (sameJson({ engine, budget, staleAfterSeconds }, config)) return noop(state);
  const next = withCluster(state, { ...state.cluster, ...config });
  return { next, events: [event('update-cluster', { kind: 'cluster' }, state, next)] };
}

export function removeCluster(state: ClusterState): Outcome {
  return { next: state, removed: true, events: [event('remove-cluster', { kind: 'cluster' }, state, undefined)] };
}

const fieldValue = (server: Server | undefined, field: RegistrationField): FieldValue => server?.[field] ?? null;

/** The registration fields that differ between two versions of a server (an absent server has none). */
function serverChanges(before: Server | undefined, after: Server | undefined): ServerChanges {
  const changed: ServerChanges = {};
  for (const field of REGISTRATION_FIELDS) {
    const from = fieldValue(before, field);
    const to = fieldValue(after, field);
    if (from !== to) changed[field] = { from, to };
  }
  return changed;
}

/** The audit event's reason: `dc: dc1 → dc2, role: primary → replica` (`none` where a field is absent). */
function describeChanges(changed: ServerChanges): string {
  return Object.entries(changed)
    .map(([field, c]) => `${field}: ${c.from ?? 'none'} → ${c.to ?? 'none'}`)
    .join(', ');
}

/** What the budget says of a change that makes nobody unavailable and touches no dc's size. */
const nothingNewlyUnavailable = (): Verdict => ({
  allowed: true,
  newlyUnavailable: [],
  losesPrimary: [],
  usingBudget: [],
});

interface DcLoad {
  size: number;
  down: string[];
  limit: number;
  /** Unavailable servers beyond the limit. */
  excess: number;
}

function dcLoad(views: readonly ServerView[], dc: string, budget: Budget): DcLoad {
  const inDc = views.filter((v) => v.server.dc === dc);
  const down = inDc.filter((v) => v.unavailable).map((v) => v.server.name);
  const limit = budget.maxUnavailablePerDc ?? defaultMaxUnavailable(inDc.length);
  return { size: inDc.length, down, limit, excess: Math.max(0, down.length - limit) };
}

/**
 * The disruption budget for a change of a server's dc or role. A move changes both dcs' sizes (so their limits)
 * and unavailable counts: every dc it touches must stay within its limit, or, if it was over it already, get no
 * worse (no more unavailable servers beyond the limit than before). A primary/replica cluster keeps at least one
 * electable server. `losesPrimary` names a primary that the change demotes or makes unavailable.
 */
function judgeServerChange(current: ClusterState, next: ClusterState, dcs: readonly string[], now: number): Verdict {
  const before = viewAll(current, now);
  const after = viewAll(next, now);
  const wasUnavailable = new Set(before.filter((v) => v.unavailable).map((v) => v.server.name));
  const newly = after.filter((v) => v.unavailable && !wasUnavailable.has(v.server.name)).map((v) => v.server.name);
  const afterByName = new Map(after.map((v) => [v.server.name, v]));
  const losesPrimary = before
    .filter((v) => v.server.role === 'primary')
    .map((v) => v.server.name)
    .filter((name) => afterByName.get(name)?.server.role !== 'primary' || newly.includes(name));
  const verdict: Verdict = { allowed: true, newlyUnavailable: newly, losesPrimary, usingBudget: [] };
  const refuse = (reason: string, usingBudget: string[]): Verdict => ({
    ...verdict,
    allowed: false,
    reason,
    usingBudget,
  });

  for (const dc of new Set(dcs)) {
    const was = dcLoad(before, dc, current.cluster.budget);
    const will = dcLoad(after, dc, next.cluster.budget);
    if (will.excess <= was.excess) continue;
    const would = `this would make ${will.down.length}`;
    return refuse(
      was.excess === 0
        ? `dc ${dc} allows ${will.limit} unavailable of ${will.size}; ${would}`
        : `dc ${dc} is over its budget already (${was.down.length} unavailable of ${was.size}, ${was.limit} allowed); ${would} of ${will.size}, ${will.limit} allowed`,
      will.down,
    );
  }

  const hasPrimaryReplica = after.some((v) => v.server.role !== 'member');
  if (hasPrimaryReplica && before.some((v) => v.electable) && !after.some((v) => v.electable)) {
    return refuse(
      'the cluster must keep at least one electable server',
      after.filter((v) => v.unavailable).map((v) => v.server.name),
    );
  }
  return verdict;
}

function requireOverrideRight(override: boolean, actor: Actor | undefined): void {
  if (override && !actor?.isAdmin) throw new DomainError('Forbidden', 'override needs the admin role');
}

/**
 * The rules for a change of an existing server's registration. Address, port and component are the
 * registry's own; a change of dc or role goes through:
 * - one primary: promoting a server while another is primary is a 409 Conflict (demote that one first, or ask
 *   for a switchover); agents' reports are facts and are not refused, but a registration is a declaration;
 * - a dc's maintenance: moving a server out of a dc whose maintenance claims hold it would return it to service
 *   without its holders clearing anything: 409 HeldByOthers, unless override;
 * - the disruption budget (`judgeServerChange`): 409 BudgetExceeded, unless override or dryRun.
 * Promoting the target of a pending switchover completes it, as its agent's report would.
 */
function changeServer(
  state: ClusterState,
  existing: Server,
  server: Server,
  req: ServerChangeRequest,
  actor: Actor | undefined,
  now: number,
): ServerOutcome {
  requireOverrideRight(req.override, actor);
  const name = existing.name;
  const changed = serverChanges(existing, server);
  if (Object.keys(changed).length === 0)
    return { ...noop(state, nothingNewlyUnavailable()), changed, verdict: nothingNewlyUnavailable() };
  let next = withServer(state, server);
  let verdict = nothingNewlyUnavailable();
  let overridden = false;
  if (changed.dc || changed.role) {
    if (changed.role && server.role === 'primary') {
      const primary = [...state.servers.values()].find((s) => s.role === 'primary' && s.name !== name);
      if (primary) {
        throw new DomainError(
          'Conflict',
          `server ${primary.name} is the primary: demote it first (PATCH its role), or ask for a switchover to ${name}`,
          { primary: primary.name },
        );
      }
    }
    if (changed.dc) {
      const held = activeClaims(state.dcs.get(existing.dc)?.claims ?? {}, now);
      if (held.length > 0) {
        if (!req.override) {
          throw new DomainError(
            'HeldByOthers',
            `dc ${existing.dc} is in maintenance (held by ${held.map(([h]) => h).join(', ')}): moving server ${name} out of it would return it to service; clear that maintenance first, or use override`,
            { heldBy: held.map(([holder]) => ({ holder, scope: 'dc' })) },
          );
        }
        overridden = true;
      }
    }
    verdict = judgeServerChange(state, next, [existing.dc, server.dc], now);
    if (!verdict.allowed) {
      if (!req.override && !req.dryRun) {
        throw new DomainError('BudgetExceeded', verdict.reason ?? 'the disruption budget does not allow this', {
          usingBudget: verdict.usingBudget,
          newlyUnavailable: verdict.newlyUnavailable,
        });
      }
      overridden ||= req.override;
    }
  }
  const target: Target = { kind: 'server', name };
  const events = [
    event('update-server', target, state, next, { reason: describeChanges(changed), override: overridden }),
  ];
  const pending = state.cluster.pendingSwitchover;
  if (changed.role && server.role === 'primary' && pending?.to === name) {
    const { pendingSwitchover: _done, ...cluster } = next.cluster;
    const completed = withCluster(next, cluster);
    events.push(event('complete-switchover', { kind: 'cluster' }, next, completed));
    next = completed;
  }
  return { next, events, verdict, changed };
}

type Optional = 'address' | 'port' | 'component';
const OPTIONAL_FIELDS: readonly Optional[] = ['address', 'port', 'component'];

function setOptional(server: Server, field: Optional, value: string | number | null | undefined): void {
  if (value === undefined || value === null) delete server[field];
  else (server as unknown as Record<Optional, unknown>)[field] = value;
}

/**
 * PUT: creates the server, or replaces its registration (what is left out takes its default). For an existing
 * server, leaving out a `dc` or `role` whose default would change it is refused (400): that silent change was a
 * primary demoted to a member by a partial PUT. A change of dc or role follows `changeServer`'s rules.
 */
export function registerServer(
  state: ClusterState,
  name: string,
  reg: ServerRegistration,
  now: number,
  req: ServerChangeRequest = PLAIN,
  actor?: Actor,
): ServerOutcome {
  const existing = state.servers.get(name);
  if (!existing) {
    requireOverrideRight(req.override, actor);
    if (state.servers.size >= MAX_SERVERS_PER_CLUSTER) {
      throw new DomainError('Conflict', `a cluster holds at most ${MAX_SERVERS_PER_CLUSTER} servers`);
    }
    const server: Server = {
      name,
      dc: reg.dc ?? DEFAULT_DC,
      role: reg.role ?? DEFAULT_ROLE,
      health: 'unknown',
      registeredAt: now,
      claims: {},
    };
    for (const field of OPTIONAL_FIELDS) setOptional(server, field, reg[field]);
    const next = withServer(state, server);
    return {
      next,
      events: [event('register-server', { kind: 'server', name }, state, next)],
      changed: serverChanges(undefined, server),
      verdict: nothingNewlyUnavailable(),
    };
  }
  for (const [field, fallback, verb] of [
    ['role', DEFAULT_ROLE, 'make it'],
    ['dc', DEFAULT_DC, 'move it to'],
  ] as const) {
    if (reg[field] === undefined && existing[field] !== fallback) {
      throw invalid(
        `PUT replaces the whole registration, and server ${name} is ${field} ${existing[field]}: without ${field} it would ${verb} the default ${fallback}; give ${field}, or PATCH only the fields to change`,
        { [field]: existing[field] },
      );
    }
  }
  const server: Server = { ...existing, dc: reg.dc ?? DEFAULT_DC, role: reg.role ?? DEFAULT_ROLE };
  for (const field of OPTIONAL_FIELDS) setOptional(server, field, reg[field]);
  return changeServer(state, existing, server, req, actor, now);
}

/** PATCH: only the fields given change (`null` removes an optional field); never creates a server. */
export function updateServer(
  state: ClusterState,
  name: string,
  patch: ServerPatch,
  req: ServerChangeRequest,
  actor: Actor | undefined,
  now: number,
): ServerOutcome {
  const existing = state.servers.get(name);
  if (!existing) throw notFound(`server ${name}`);
  const server: Server = { ...existing };
  if (patch.dc !== undefined) server.dc = patch.dc;
  if (patch.role !== undefined) server.role = patch.role;
  for (const field of OPTIONAL_FIELDS) if (patch[field] !== undefined) setOptional(server, field, patch[field]);
  return changeServer(state, existing, server, req, actor, now);
}

export function removeServer(state: ClusterState, name: string): Outcome {
  if (!state.servers.has(name)) throw notFound(`server ${name}`);
  let next = withoutServer(state, name);
  const events = [event('remove-server', { kind: 'server', name }, state, next)];
  const pending = state.cluster.pendingSwitchover;
  if (pending && (pending.to === name || pending.from === name)) {
    const { pendingSwitchover: _dropped, ...cluster } = next.cluster;
    const cleared = withCluster(next, cluster);
    events.push(event('cancel-switchover', { kind: 'cluster' }, next, cleared));
    next = cleared;
  }
  return { next, events };
}
