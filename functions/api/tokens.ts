/** API tokens (admin): the secret is shown once, only its hash is stored. */
import { notFound } from '../domain/errors.js';
import { hashToken, newTokenId, newTokenSecret } from '../http/auth.js';
import { familyHandler, jsonBody, type Operations } from '../http/handler.js';
import { runtimeDeps } from '../runtime.js';
import type { TokenRecord } from '../store/store.js';
import { iso } from './render.js';
import { tokenBody } from './schemas.js';

const tokenJson = ({ hash: _hash, createdAt, ...rest }: TokenRecord) => ({ ...rest, createdAt: iso(createdAt) });

export const operations: Operations = {
  'POST /v1/tokens': async (req, deps) => {
    const body = jsonBody(req, tokenBody);
    const secret = newTokenSecret();
    const token: TokenRecord = { id: newTokenId(), user: body.user, role: body.role, createdAt: deps.now(), hash: hashToken(secret), ...(body.clusters && { clusters: body.clusters }) };
    await deps.store.putToken(token);
    return { status: 201, body: { ...tokenJson(token), token: secret } };
  },

  'GET /v1/tokens': async (_req, deps) => ({ status: 200, body: { tokens: (await deps.store.listTokens()).map(tokenJson) } }),

  'DELETE /v1/tokens/{id}': async (req, deps) => {
    if (!(await deps.store.deleteToken(req.params.id!))) throw notFound(`token ${req.params.id}`);
    deps.auth.forget(req.params.id);
    return { status: 200, body: { revoked: req.params.id } };
  },
};

export const handler = familyHandler('tokens', operations, runtimeDeps);
