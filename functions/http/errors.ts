/** The one map from domain error codes to HTTP statuses, and the native JSON error body. */
import type { DomainError, ErrorCode } from '../domain/errors.js';

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

export const errorBody = (e: DomainError) => ({
  error: { code: e.code, message: e.message, ...(e.details && { details: e.details }) },
});
