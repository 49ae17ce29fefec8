/**
 * Which failures of DynamoDB and the other AWS calls are the backend's (unreachable, throttled, erroring): the
 * handlers answer them 503 and the tasks retry them. Domain errors pass through; anything else is a bug.
 */
import { DomainError } from '../domain/errors.js';

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
