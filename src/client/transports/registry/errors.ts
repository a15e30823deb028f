/**
 * Registry error bodies parsed back into ClientError (distribution-spec "Error Codes",
 * `{"errors":[{"code","message","detail"}]}`), as go-containerregistry `transport/error.go` does: `code` is
 * what a caller branches on (the ClientError codes), `registryCode` is the code exactly as the registry sent
 * it (`NAME_UNKNOWN`, `TOOMANYREQUESTS`, ...), so nobody needs to read messages.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
 */
import type { IncomingMessage } from 'node:http';
import { ClientError, type ClientErrorCode } from '../../errors.js';

export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export class RegistryError extends ClientError {
  override name = 'RegistryError';
  constructor(
    code: ClientErrorCode,
    message: string,
    /** The first error code in the registry's body, verbatim; undefined when the body had none. */
    readonly registryCode: string | undefined,
    /** The HTTP status the registry answered with. */
    readonly status: number,
    /** Every entry of the body's `errors` array. */
    readonly errors: RegistryErrorEntry[] = [],
    options?: ErrorOptions,
  ) {
    super(code, message, errors.length ? errors : undefined, options);
  }
}

/** Registry codes with a ClientError code of their own (the rest become `REGISTRY_ERROR`). */
const CLIENT_CODE: Readonly<Record<string, ClientErrorCode>> = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  MANIFEST_BLOB_UNKNOWN: 'MANIFEST_INVALID',
  DIGEST_INVALID: 'DIGEST_MISMATCH',
  SIZE_INVALID: 'SIZE_MISMATCH',
};

const MAX_ERROR_BODY = 64 * 1024;

/** Reads at most 64 KiB of an error body (the rest is discarded, and the socket with it). */
export async function readErrorBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      if (n < MAX_ERROR_BODY) chunks.push(c);
      n += c.length;
      if (n >= MAX_ERROR_BODY) {
        res.destroy();
        break;
      }
    }
  } catch {
    // A body that breaks off still tells us the status.
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}

export function parseErrorBody(text: string): RegistryErrorEntry[] {
  try {
    const json = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(json.errors)) return [];
    return json.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: e['code'] as string, ...(typeof e['message'] === 'string' ? { message: e['message'] } : {}), ...(e['detail'] !== undefined ? { detail: e['detail'] } : {}) }));
  } catch {
    return [];
  }
}

export interface ErrorContext {
  /** `GET manifest v1 of quay.io/x/y`: what was being done, for the message. */
  what: string;
  /** The ClientError code for a 404 / NAME_UNKNOWN here (MANIFEST_UNKNOWN for manifests, BLOB_UNKNOWN for blobs). */
  notFound?: ClientErrorCode;
}

/** The ClientError for a registry response that is not what was expected (consumes the body). */
export async function registryErrorFrom(res: IncomingMessage, ctx: ErrorContext): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  const text = await readErrorBody(res);
  return registryErrorOf(status, text, ctx);
}

export function registryErrorOf(status: number, text: string, ctx: ErrorContext): RegistryError {
  const errors = parseErrorBody(text);
  const first = errors[0];
  let code: ClientErrorCode;
  if (first && CLIENT_CODE[first.code]) code = CLIENT_CODE[first.code]!;
  else if ((first?.code === 'NAME_UNKNOWN' || (!first && status === 404)) && ctx.notFound) code = ctx.notFound;
  else if (!first && status === 401) code = 'UNAUTHORIZED';
  else if (!first && status === 403) code = 'DENIED';
  else code = 'REGISTRY_ERROR';
  const said = first ? `${first.code}${first.message ? `: ${first.message}` : ''}` : text.trim().slice(0, 200) || 'no error body';
  return new RegistryError(code, `${ctx.what}: ${status} ${said}`, first?.code, status, errors);
}
