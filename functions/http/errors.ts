/** The one map from domain error codes to HTTP statuses, and the native JSON error body. */
import { DomainError, type ErrorCode } from '../domain/errors.js';

export const STATUS: Record<ErrorCode, number> = {
  InvalidInput: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  AlreadyExists: 409,
  BudgetExceeded: 409,
  Paused: 409,
  HeldByOthers: 409,
  NotElectable: 409,
  NoCandidate: 409,
  RolloutConflict: 409,
  IdempotencyKeyReused: 409,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Throttled: 429,
  Unavailable: 503,
};

const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'TimeoutError',
  'RequestTimeout',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionInProgressException',
  'TransactionConflictException',
  'LimitExceededException',
]);

/** Backend trouble (DynamoDB unreachable, throttled, erroring) is a 503: the client may retry. */
function isBackendUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  return (
    TRANSIENT.has(e.name) ||
    (e.code !== undefined && TRANSIENT.has(e.code)) ||
    e.$fault === 'server' ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
    e.name === 'AbortError'
  );
}

export function toDomainError(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (isBackendUnavailable(error)) return new DomainError('Unavailable', 'the backend is unavailable; retry later');
  return undefined;
}

export const errorBody = (e: DomainError) => ({
  error: { code: e.code, message: e.message, ...(e.details && { details: e.details }) },
});
