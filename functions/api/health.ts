import { familyHandler, type Operations } from '../http/handler.js';
import { runtimeDeps } from '../runtime.js';

export const operations: Operations = {
  'GET /v1/health': async () => ({ status: 200, body: { status: 'ok' } }),
};

export const handler = familyHandler('health', operations, runtimeDeps);
