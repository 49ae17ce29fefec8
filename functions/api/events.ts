/** The audit log, newest first, paginated and filterable. */
import { familyHandler, type Operations } from '../http/handler.js';
import { validate } from '../validate.js';
import { runtimeDeps } from '../runtime.js';
import { eventJson } from './render.js';
import { eventsQuery } from './schemas.js';

export const operations: Operations = {
  'GET /v1/clusters/{c}/events': async (req, deps) => {
    const q = validate(eventsQuery, req.query, 'query');
    const page = await deps.store.listEvents(req.params.c!, {
      limit: q.limit ?? 100,
      ...(q.cursor !== undefined && { cursor: q.cursor }),
      ...(q.since !== undefined && { since: Date.parse(q.since) }),
      ...(q.server !== undefined && { target: `server:${q.server}` }),
      ...(q.action !== undefined && { action: q.action }),
    });
    return { status: 200, body: { events: page.events.map(eventJson), ...(page.cursor && { cursor: page.cursor }) } };
  },
};

export const handler = familyHandler('events', operations, runtimeDeps);
