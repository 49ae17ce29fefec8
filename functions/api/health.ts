import document from '../../docs/openapi.json' with { type: 'json' };
import type { Deps } from '../deps.js';
import { familyHandler, type Operations } from '../http/handler.js';

export const operations: Operations = {
  'GET /v1/health': async () => ({ status: 200, body: { status: 'ok' } }),
  // Generated at build time (`npm run openapi`): the function carries the JSON, not the generator.
  'GET /v1/openapi.json': async () => ({ status: 200, body: document, headers: { 'cache-control': 'max-age=300' } }),
};

/** Both routes are public and read nothing: no store client in this bundle, which carries the document instead. */
const noDeps = () => ({}) as Deps;

export const handler = familyHandler('health', operations, noDeps);
