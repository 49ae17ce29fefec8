/**
 * The native API, same origin (relative URLs), with the signed-in user's credentials as Basic (user = the
 * token's user, password = the token), so a token given with someone else's name is refused. A 401 from any
 * call signs out.
 */
import { clearSession, loadSession, type Session } from './session.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

let unauthorized: (message: string) => void = () => undefined;

/** What the app does when the API answers 401 (back to the login form). */
export function onUnauthorized(handler: (message: string) => void): void {
  unauthorized = handler;
}

const authorization = (s: Session) => `Basic ${btoa(`${s.user}:${s.token}`)}`;

export interface Answer<T> {
  status: number;
  body: T;
  etag?: string;
}

export interface CallOptions {
  /** Sent as If-None-Match: a 304 answers with no body. */
  etag?: string;
  session?: Session;
}

export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const session = options.session ?? loadSession();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session) headers.authorization = authorization(session);
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (options.etag) headers['if-none-match'] = options.etag;
  // credentials 'omit': no cookies, and no browser prompt on the API's Basic challenge.
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'omit',
    cache: 'no-store',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const etag = res.headers.get('etag') ?? undefined;
  if (res.status === 304) return { status: 304, body: undefined as T, ...(etag && { etag }) };
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return { status: res.status, body: parsed as T, ...(etag && { etag }) };
  const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const failure = new ApiError(
    res.status,
    error?.code ?? `HTTP${res.status}`,
    error?.message ?? `the API answered ${res.status}`,
    error?.details,
  );
  if (res.status === 401 && !options.session) {
    clearSession();
    unauthorized(failure.message);
  }
  throw failure;
}

export const get = <T>(path: string) => call<T>('GET', path).then((a) => a.body);

/** The API's own words for a failure (its message and code), or what went wrong on the way. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status} ${error.code})`;
  return error instanceof Error ? `The API could not be reached: ${error.message}` : String(error);
}

export const enc = encodeURIComponent;
export const clusterPath = (cluster: string) => `/v1/clusters/${enc(cluster)}`;
