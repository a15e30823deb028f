import type { ServerResponse } from 'node:http';
import { RegistryError, toRegistryError, type ErrorCode } from '../registry/errors.js';

/**
 * The one table from error code to HTTP status. The compiler checks it is complete.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
 */
export const STATUS: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  MANIFEST_TOO_LARGE: 413,
  ROUTE_UNKNOWN: 404,
  UNKNOWN: 500,
};

/**
 * The code a client sees. Internal codes without an OCI spelling are sent as their nearest OCI code, so
 * clients only ever meet codes the spec lists (plus distribution's `RANGE_INVALID` and
 * `PAGINATION_NUMBER_INVALID`, which Docker clients know).
 */
const WIRE_CODE: Partial<Record<ErrorCode, string>> = { MANIFEST_TOO_LARGE: 'SIZE_INVALID', ROUTE_UNKNOWN: 'UNSUPPORTED' };

/** Classifies any thrown value: a registry error as itself, anything else as `UNKNOWN` (500). */
export function classify(err: unknown): RegistryError {
  return toRegistryError(err) ?? new RegistryError('UNKNOWN', 'internal server error', undefined, { cause: err });
}

/** Writes the spec's JSON error body. A 500 never carries the internal message or a stack. */
export function writeError(res: ServerResponse, err: RegistryError, method: string): void {
  const status = STATUS[err.code];
  const message = err.code === 'UNKNOWN' ? 'internal server error' : err.message;
  const body = JSON.stringify({
    errors: [{ code: WIRE_CODE[err.code] ?? err.code, message, ...(err.detail !== undefined ? { detail: err.detail } : {}) }],
  });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...err.headers,
  };
  if (status === 416 && err.detail && typeof err.detail === 'object' && 'size' in err.detail && !err.headers?.Range) {
    headers['Content-Range'] = `bytes */${String((err.detail as { size: number }).size)}`;
  }
  res.writeHead(status, headers);
  res.end(method === 'HEAD' ? undefined : body);
}
