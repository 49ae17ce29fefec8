/**
 * Domain errors carry a stable code; `http/errors.ts` maps each code to one HTTP status.
 * The codes are part of the native API contract (`{"error": {"code": ...}}`).
 */
export type ErrorCode =
  | 'InvalidInput'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'AlreadyExists'
  | 'BudgetExceeded'
  | 'Paused'
  | 'HeldByOthers'
  | 'NotElectable'
  | 'NoCandidate'
  | 'RolloutConflict'
  | 'IdempotencyKeyReused'
  | 'PreconditionFailed'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'Throttled'
  | 'Unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = code;
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new DomainError('InvalidInput', message, details);

export const notFound = (what: string) => new DomainError('NotFound', `${what} not found`);
