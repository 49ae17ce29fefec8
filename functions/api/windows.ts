/** Maintenance windows (docs/windows.md): create, list with their next occurrences, read with past runs, edit, delete, skip. */
import * as z from '../zod.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { ClusterState } from '../domain/model.js';
import type { Outcome } from '../domain/outcome.js';
import {
  deleteWindow,
  endWindow,
  requireWindow,
  saveWindow,
  skipOccurrence,
  type MaintenanceWindow,
  type WindowOutcome,
} from '../domain/windows.js';
import {
  actorOf,
  familyHandler,
  jsonBody,
  type ApiRequest,
  type ApiResponse,
  type Operations,
} from '../http/handler.js';
import type { Deps } from '../deps.js';
import { allowlistFromEnv } from '../rollout/allowlist.js';
import { newTimeId } from '../rollout/input.js';
import { runtimeDeps } from '../runtime.js';
import { schedulerFromEnv } from '../windows/scheduler-runtime.js';
import { parseWindow } from '../windows/input.js';
import { mutate } from './mutation.js';
import { eventJson } from './render.js';
import { nextStarts, windowJson } from './render-windows.js';

function allowOf(deps: Deps) {
  return deps.rollouts?.allow ?? allowlistFromEnv();
}

async function scheduled(deps: Deps, act: (scheduler: NonNullable<Deps['windows']>) => Promise<void>): Promise<void> {
  if (!deps.windows) return;
  try {
    await act(deps.windows);
  } catch (error) {
    throw new DomainError(
      'Unavailable',
      `the window is saved, but its schedule could not be written (${(error as Error).message}); save it again`,
    );
  }
}

/** The window as a change leaves it (null: deleted). */
const windowOf = (outcome: Outcome) => (outcome as WindowOutcome).window;

/** One change of a window, through the one mutation path: the cluster and the window read and written together. */
function change(
  req: ApiRequest,
  deps: Deps,
  id: string,
  decide: (state: ClusterState, window: MaintenanceWindow | undefined, now: number) => WindowOutcome,
  options: { status?: number; then?: (window: MaintenanceWindow | null) => Promise<void> } = {},
): Promise<ApiResponse> {
  const { then } = options;
  return mutate(req, deps, {
    cluster: req.params.c!,
    window: id,
    rule: (state, now, { window }) => decide(state, window, now),
    render: (outcome, now) => {
      const w = windowOf(outcome);
      return w ? { status: options.status ?? 200, body: windowJson(w, now) } : { status: 204 };
    },
    ...(then && { then: (outcome: Outcome) => then(windowOf(outcome)) }),
  });
}

const save =
  (status: number) =>
  async (req: ApiRequest, deps: Deps): Promise<ApiResponse> => {
    const id = req.params.id ?? newTimeId(deps.now());
    const body = jsonBody(req, z.unknown());
    const window = parseWindow(
      body,
      { id, cluster: req.params.c!, actor: actorOf(req).user, now: deps.now() },
      allowOf(deps),
    );
    return change(
      req,
      deps,
      id,
      (state, existing) => {
        if (req.params.id !== undefined) requireWindow(existing, id);
        return saveWindow(state, existing, window);
      },
      { status, then: async (saved) => scheduled(deps, (s) => s.upsert(saved!)) },
    );
  };

export const operations: Operations = {
  'POST /v1/clusters/{c}/windows': save(201),
  'PUT /v1/clusters/{c}/windows/{id}': save(200),

  'GET /v1/clusters/{c}/windows': async (req, deps) => {
    if (!(await deps.store.readClusterHeader(req.params.c!))) throw notFound(`cluster ${req.params.c}`);
    const windows = await deps.store.listWindows(req.params.c!);
    return { status: 200, body: { windows: windows.map((w) => windowJson(w, deps.now())) } };
  },

  'GET /v1/clusters/{c}/windows/{id}': async (req, deps) => {
    const window = requireWindow(await deps.store.readWindow(req.params.c!, req.params.id!), req.params.id!);
    const runs = await deps.store.listEvents(req.params.c!, { limit: 100, target: `window:${window.id}` });
    return { status: 200, body: { ...windowJson(window, deps.now()), runs: runs.events.map(eventJson) } };
  },

  /** Deleting a window ends its open occurrence (its claims go) and removes its schedules. */
  'DELETE /v1/clusters/{c}/windows/{id}': async (req, deps) => {
    const id = req.params.id!;
    const actor = actorOf(req);
    let deleted: MaintenanceWindow | undefined;
    return change(
      req,
      deps,
      id,
      (state, existing, now) => {
        const window = requireWindow(existing, id);
        deleted = window;
        const ended = endWindow(state, window, window.open?.occurrence ?? now, actor, now);
        const gone = deleteWindow(ended.next, window);
        return {
          next: ended.next,
          window: null,
          events: [...ended.events.filter((e) => e.action !== 'window-end'), ...gone.events],
        };
      },
      { then: async () => scheduled(deps, (s) => s.remove(deleted!)) },
    );
  },

  'POST /v1/clusters/{c}/windows/{id}/skip': async (req, deps) => {
    const id = req.params.id!;
    return change(req, deps, id, (state, existing, now) => {
      const window = requireWindow(existing, id);
      const [next] = nextStarts({ ...window, skip: undefined } as MaintenanceWindow, Math.max(now, window.skip ?? now));
      if (next === undefined) throw new DomainError('RolloutConflict', `window ${id} has no next occurrence to skip`);
      return skipOccurrence(state, window, next, now);
    });
  },
};

let deps: Deps | undefined;

/** The windows API writes schedules; it starts no execution (a rollout window's start is the window function's). */
function windowsApiDeps(): Deps {
  const scheduler = schedulerFromEnv();
  deps ??= { ...runtimeDeps(), ...(scheduler && { windows: scheduler }) };
  return deps;
}

export const handler = familyHandler('windows', operations, windowsApiDeps);
