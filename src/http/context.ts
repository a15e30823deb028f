import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RegistryDeps } from '../registry/deps.js';
import { parseRepositoryName } from '../content/reference.js';
import { RegistryError } from '../registry/errors.js';
import type { Metrics } from './metrics.js';
import type { AuthService } from '../auth/service.js';
import type { Principal } from '../auth/access.js';
import type { AccessEntry } from '../auth/tokens.js';

/** Everything a handler needs for one request. */
export interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  deps: RegistryDeps;
  metrics: Metrics;
  log: Logger;
  /** Path parameters from the route pattern, still unvalidated. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
  /** Readiness as the server sees it (false while shutting down). */
  ready: () => boolean;
  /** Accounts and access control; undefined when the server runs without authentication. */
  auth?: AuthService;
  /** Who is asking (anonymous until the middleware finds credentials). */
  principal: Principal;
  /** Whether the request carried valid credentials (a registry token issued anonymously counts). */
  authenticated: boolean;
  /** The grants of the registry token the request came with; when set, they bound what it may do. */
  tokenAccess?: AccessEntry[];
  /** The configured token endpoint URL, when it is not derived from the request. */
  realm?: string;
  /** The client's address (`clientAddress`: the socket's, or the forwarded one behind a trusted proxy). */
  ip: string | undefined;
}

export type Handler = (ctx: Context) => Promise<void>;

/** The repository name from the path, validated against the spec's grammar. */
export function repoName(ctx: Context): string {
  return parseRepositoryName(ctx.params.name ?? '');
}

/** Sends a complete response. JSON bodies get their Content-Type and Content-Length here. */
export function send(ctx: Context, status: number, headers: Record<string, string | number | string[]>, body?: Buffer | string | object): void {
  let payload: Buffer | string | undefined;
  if (body !== undefined && !(typeof body === 'string' || Buffer.isBuffer(body))) {
    payload = JSON.stringify(body);
    headers['Content-Type'] ??= 'application/json; charset=utf-8';
  } else {
    payload = body;
  }
  if (payload !== undefined) headers['Content-Length'] ??= Buffer.byteLength(payload);
  else if (status !== 204 && status !== 304) headers['Content-Length'] ??= 0;
  ctx.res.writeHead(status, headers);
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : payload);
}

/**
 * Reads `stream` whole while it stays within `max` bytes; undefined as soon as it goes past (the rest is left
 * unread: a request's caller closes the connection, a blob's destroys the stream).
 */
export async function readUpTo(stream: AsyncIterable<Buffer>, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads a small request body whole; past `max` bytes (declared or sent) the connection is marked to close and
 * `tooLarge` is thrown, with the declared size when there is one.
 */
export async function readSmallBody(ctx: Context, max: number, tooLarge: (declared?: number) => Error = (d) => manifestTooLarge(max, d)): Promise<Buffer> {
  const declared = contentLength(ctx);
  const body = declared !== undefined && declared > max ? undefined : await readUpTo(ctx.req as AsyncIterable<Buffer>, max);
  if (body) return body;
  ctx.res.setHeader('Connection', 'close');
  throw tooLarge(declared !== undefined && declared > max ? declared : undefined);
}

function manifestTooLarge(max: number, declared?: number): RegistryError {
  return new RegistryError('MANIFEST_TOO_LARGE', declared !== undefined ? `manifest of ${declared} bytes is larger than the limit of ${max}` : `manifest is larger than the limit of ${max} bytes`);
}

/** `Content-Length` as a number, or undefined when absent (chunked transfer). */
export function contentLength(ctx: Context): number | undefined {
  const h = ctx.req.headers['content-length'];
  if (h === undefined) return undefined;
  const n = Number(h);
  if (!Number.isSafeInteger(n) || n < 0) throw new RegistryError('SIZE_INVALID', `invalid Content-Length ${JSON.stringify(h)}`);
  return n;
}
