/**
 * The one authentication and authorization middleware: bearer tokens and Basic credentials (user name = the
 * token's user, password = the token). Tokens are stored as SHA-256 hashes, compared in constant time and
 * cached per process for TOKEN_CACHE_MS, so a revoked token is refused within that time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { Store, TokenRecord } from '../store/store.js';
import type { Role, RouteRole } from './routes.js';

export const TOKEN_CACHE_MS = 30_000;
const CACHE_LIMIT = 10_000;

export interface Principal {
  user: string;
  role: Role;
  clusters?: string[];
  tokenId: string;
}

const RANK: Record<Role, number> = { viewer: 1, agent: 2, operator: 3, admin: 4 };

export const hashToken = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const newTokenSecret = () => `mct_${randomBytes(32).toString('base64url')}`;
export const newTokenId = () => randomBytes(8).toString('hex');

const equalHex = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
const equalText = (a: string, b: string) => {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
};

interface Credentials {
  scheme: 'bearer' | 'basic';
  secret: string;
  user?: string;
}

/** Reads the Authorization header; undefined when there is none. Malformed headers are bad credentials. */
function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const [scheme, value = ''] = header.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme!) && value) return { scheme: 'bearer', secret: value };
  if (/^basic$/i.test(scheme!) && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { scheme: 'basic', user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  throw new DomainError('Unauthorized', 'malformed Authorization header');
}

class Authenticator {
  private readonly cache = new Map<string, { token: TokenRecord; expires: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal behind the credentials; Unauthorized when they are missing or wrong. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const credentials = parseAuthorization(header);
    if (!credentials) throw new DomainError('Unauthorized', 'credentials required');
    const hash = hashToken(credentials.secret);
    const token = await this.lookup(hash);
    if (
      !token ||
      !equalHex(token.hash, hash) ||
      (credentials.user !== undefined && !equalText(credentials.user, token.user))
    ) {
      throw new DomainError('Unauthorized', 'invalid credentials');
    }
    return {
      user: token.user,
      role: token.role,
      tokenId: token.id,
      ...(token.clusters && { clusters: token.clusters }),
    };
  }

  /** Forget cached tokens (a revocation in this process takes effect at once). */
  forget(tokenId?: string): void {
    if (tokenId === undefined) {
      this.cache.clear();
      return;
    }
    for (const [hash, entry] of this.cache) if (entry.token.id === tokenId) this.cache.delete(hash);
  }

  private async lookup(hash: string): Promise<TokenRecord | undefined> {
    const cached = this.cache.get(hash);
    if (cached && cached.expires > this.now()) return cached.token;
    const token = await this.store.findTokenByHash(hash);
    if (token) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(hash, { token, expires: this.now() + TOKEN_CACHE_MS });
    } else {
      this.cache.delete(hash);
    }
    return token;
  }
}

/**
 * One authenticator (one token cache) per store: in the local server the families share it, so a token revoked
 * through one is refused at once by all; a Lambda function has one store, so one cache.
 */
const authenticators = new WeakMap<Store, Authenticator>();

export function authenticatorFor({ store, now }: { store: Store; now: () => number }): Authenticator {
  let auth = authenticators.get(store);
  if (!auth) {
    auth = new Authenticator(store, now);
    authenticators.set(store, auth);
  }
  return auth;
}

export function roleAllows(role: Role, required: RouteRole): boolean {
  return required === 'public' || RANK[role] >= RANK[required];
}

/** The route's role and the token's cluster scope. */
export function authorize(principal: Principal, required: RouteRole, cluster: string | undefined): void {
  if (!roleAllows(principal.role, required)) {
    throw new DomainError('Forbidden', `this needs the ${required} role; ${principal.user} has ${principal.role}`);
  }
  if (cluster !== undefined && principal.clusters && !principal.clusters.includes(cluster)) {
    throw new DomainError('Forbidden', `${principal.user} may not act on cluster ${cluster}`);
  }
}

/** Whether clusters lie within the principal's scope (an unscoped principal's scope is every cluster). */
export function withinScope(principal: Principal, clusters: readonly string[] | undefined): boolean {
  if (!principal.clusters) return true;
  return clusters?.every((c) => principal.clusters!.includes(c)) ?? false;
}

/** A token may only hand on what it holds: a role no higher than its own, clusters within its own. */
export function checkDelegation(principal: Principal, role: Role, clusters: readonly string[] | undefined): void {
  if (!roleAllows(principal.role, role)) {
    throw new DomainError(
      'Forbidden',
      `${principal.user} (${principal.role}) may not create a token with the ${role} role`,
    );
  }
  if (!withinScope(principal, clusters)) {
    throw new DomainError(
      'Forbidden',
      `${principal.user} is limited to clusters ${principal.clusters!.join(', ')}: a token it creates must be too`,
    );
  }
}
