/**
 * API tokens (admin): the secret is shown once, only its hash is stored. A token never creates one with more role
 * or scope than its own; a token limited to clusters sees and revokes only tokens within them; the last unscoped
 * admin token stays.
 */
import { DomainError, notFound } from '../domain/errors.js';
import {
  authenticatorFor,
  checkDelegation,
  hashToken,
  newTokenId,
  newTokenSecret,
  type Principal,
  withinScope,
} from '../http/auth.js';
import { familyHandler, jsonBody, type Operations } from '../http/handler.js';
import { runtimeDeps } from '../runtime.js';
import type { TokenRecord } from '../store/store.js';
import { iso } from './render.js';
import type { TokenJson } from './responses.js';
import { tokenBody } from './schemas.js';

const tokenJson = ({ hash: _hash, createdAt, ...rest }: TokenRecord): TokenJson => ({
  ...rest,
  createdAt: iso(createdAt),
});

const unscopedAdmin = (t: TokenRecord) => t.role === 'admin' && t.clusters === undefined;

export const operations: Operations = {
  'POST /v1/tokens': async (req, deps) => {
    const body = jsonBody(req, tokenBody);
    const creator = req.principal!;
    checkDelegation(creator, body.role, body.clusters);
    const secret = newTokenSecret();
    const token: TokenRecord = {
      id: newTokenId(),
      user: body.user,
      role: body.role,
      createdAt: deps.now(),
      hash: hashToken(secret),
      createdBy: { tokenId: creator.tokenId, user: creator.user },
      ...(body.clusters && { clusters: body.clusters }),
    };
    await deps.store.putToken(token);
    return { status: 201, body: { ...tokenJson(token), token: secret } };
  },

  'GET /v1/tokens': async (req, deps) => {
    const visible = (await deps.store.listTokens()).filter((t) => withinScope(req.principal!, t.clusters));
    return { status: 200, body: { tokens: visible.map(tokenJson) } };
  },

  'DELETE /v1/tokens/{id}': async (req, deps) => {
    const id = req.params.id!;
    const principal: Principal = req.principal!;
    const revoked = await deps.store.revokeToken(id, (token, all) => {
      // Out of the caller's scope reads as absent, as it is absent from the caller's list.
      if (!withinScope(principal, token.clusters)) throw notFound(`token ${id}`);
      if (unscopedAdmin(token) && all.filter(unscopedAdmin).length === 1) {
        throw new DomainError(
          'Conflict',
          `token ${id} is the last admin token without a cluster limit: create another before revoking it`,
        );
      }
    });
    if (!revoked) throw notFound(`token ${id}`);
    authenticatorFor(deps).forget(id);
    return { status: 200, body: { revoked: id } };
  },
};

export const handler = familyHandler('tokens', operations, runtimeDeps);
