import { AuthError } from '../../auth/errors.js';
import { ContentError } from '../../content/errors.js';
import { MetadataError } from '../../metadata/errors.js';
import { RegistryError } from '../../registry/errors.js';

/**
 * Error codes of the management API (`/api/v1/`). Each has one HTTP status, in `API_STATUS`; the body is
 * always `{"error": {"code", "message"}}`. docs/api.md lists them; a test checks the list.
 */
export const API_ERROR_CODES = [
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'TOO_MANY_REQUESTS',
  'INTERNAL',
  'AUTH_DISABLED',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The one table from API error code to HTTP status. */
export const API_STATUS: Record<ApiErrorCode, number> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  AUTH_DISABLED: 501,
};

/** An error the API reports to its caller. Handlers throw it; `handleApi` writes it once. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }
  readonly headers: Record<string, string> | undefined;
}

/**
 * Classifies anything a handler threw. Store errors keep their meaning (a taken name is a conflict, a
 * missing user a 404), validation errors from `content/` and `registry/` are bad requests, failed
 * authentication is 401 (or 429 while throttled), and anything else is `INTERNAL`.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof MetadataError) {
    if (err.code === 'CONFLICT') return new ApiError('CONFLICT', err.message, { cause: err });
    if (err.code === 'NOT_FOUND') return new ApiError('NOT_FOUND', err.message, { cause: err });
  }
  if (err instanceof ContentError) return new ApiError('INVALID_REQUEST', err.message, { cause: err });
  if (err instanceof RegistryError && err.code === 'NAME_INVALID') return new ApiError('INVALID_REQUEST', err.message, { cause: err });
  if (err instanceof AuthError) {
    if (err.code === 'THROTTLED') {
      return new ApiError('TOO_MANY_REQUESTS', err.message, { cause: err, headers: { 'Retry-After': String(err.retryAfterSeconds ?? 1) } });
    }
    return new ApiError('UNAUTHORIZED', err.message, { cause: err });
  }
  return new ApiError('INTERNAL', 'internal server error', { cause: err });
}
