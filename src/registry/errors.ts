import { ContentError } from '../content/errors.js';
import { DriverError } from '../storage/errors.js';
import { MetadataError } from '../metadata/errors.js';

/**
 * Error codes of the OCI distribution-spec (code-1 … code-14), spelled as the spec spells them, plus the
 * few extra codes that distribution also sends (`RANGE_INVALID`, `PAGINATION_NUMBER_INVALID`,
 * `MANIFEST_TOO_LARGE`, `ROUTE_UNKNOWN`, `UNKNOWN`). `http/errors.ts` maps each to a status once.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
 */
export const ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'RANGE_INVALID',
  'PAGINATION_NUMBER_INVALID',
  'MANIFEST_TOO_LARGE',
  'ROUTE_UNKNOWN',
  'UNKNOWN',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error the registry reports to its client. Anything else that escapes becomes `UNKNOWN` (500). */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: ErrorCode,
    message: string = code,
    readonly detail?: unknown,
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }
  /** Extra response headers that belong to this error (e.g. `Range` on a 416 for an upload). */
  readonly headers: Record<string, string> | undefined;
}

/**
 * Converts an error from a lower layer into a `RegistryError`, for the cases where the lower layer's code
 * has one obvious meaning. Driver `PATH_NOT_FOUND` has no single meaning, so callers handle it themselves.
 */
export function toRegistryError(err: unknown): RegistryError | undefined {
  if (err instanceof RegistryError) return err;
  if (err instanceof ContentError) {
    const code = err.code === 'TAG_INVALID' ? 'MANIFEST_INVALID' : err.code;
    return new RegistryError(code, err.message, err.detail, { cause: err });
  }
  if (err instanceof DriverError && err.code === 'INVALID_OFFSET') {
    return new RegistryError('RANGE_INVALID', 'requested range is not satisfiable', undefined, { cause: err });
  }
  if (err instanceof MetadataError && err.code === 'CONFLICT') {
    return new RegistryError('BLOB_UPLOAD_INVALID', err.message, undefined, { cause: err });
  }
  return undefined;
}
