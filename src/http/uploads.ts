import { parseDigest } from '../content/digest.js';
import { parseRepositoryName } from '../content/reference.js';
import { putBlob, mountBlob } from '../registry/blobs.js';
import { RegistryError } from '../registry/errors.js';
import { appendChunk, cancelUpload, completeUpload, getUpload, startUpload } from '../registry/uploads.js';
import type { UploadRecord } from '../metadata/store.js';
import { contentLength, repoName, send, type Context } from './context.js';
import { allows } from './authn.js';

// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
// end-4a (POST), end-4b (POST ?digest=), end-11 (POST ?mount=&from=)
export async function postUpload(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const mount = ctx.query.get('mount');
  if (mount !== null) {
    const digest = parseDigest(mount);
    const from = ctx.query.get('from');
    // A missing or invalid `from`, or one the caller may not pull from, is not an error: the spec says fall
    // back to an upload session (and that must not tell an outsider whether `from` holds the blob).
    const source = from !== null && isRepositoryName(from) && (await allows(ctx, from, 'pull')) ? from : undefined;
    const blob = source ? await mountBlob(ctx.deps, repo, digest, source) : undefined;
    if (blob) {
      ctx.req.resume();
      return send(ctx, 201, blobCreated(repo, digest));
    }
  }
  const digestParam = ctx.query.get('digest');
  if (digestParam !== null) {
    const digest = parseDigest(digestParam);
    await putBlob(ctx.deps, repo, digest, ctx.req, { length: contentLength(ctx), signal: ctx.signal });
    return send(ctx, 201, blobCreated(repo, digest));
  }
  ctx.req.resume();
  const upload = await startUpload(ctx.deps, repo);
  send(ctx, 202, uploadHeaders(repo, upload));
}

// end-5
export async function patchUpload(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const started = Date.now();
  try {
    const upload = await appendChunk(ctx.deps, repo, ctx.params.id!, ctx.req, {
      range: parseContentRange(ctx.req.headers['content-range']),
      length: contentLength(ctx),
      signal: ctx.signal,
    });
    send(ctx, 202, uploadHeaders(repo, upload));
  } catch (err) {
    throw withUploadHeaders(err, repo, ctx.params.id!);
  } finally {
    ctx.metrics.uploadDuration.observe((Date.now() - started) / 1000);
  }
}

// end-6
export async function putUpload(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const digestParam = ctx.query.get('digest');
  if (digestParam === null) {
    ctx.req.resume();
    throw new RegistryError('DIGEST_INVALID', 'the closing PUT of an upload needs ?digest=');
  }
  const digest = parseDigest(digestParam);
  try {
    await completeUpload(ctx.deps, repo, ctx.params.id!, digest, ctx.req, {
      range: parseContentRange(ctx.req.headers['content-range']),
      length: contentLength(ctx),
      signal: ctx.signal,
    });
  } catch (err) {
    throw withUploadHeaders(err, repo, ctx.params.id!);
  }
  send(ctx, 201, blobCreated(repo, digest));
}

// end-13
export async function getUploadStatus(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const upload = await getUpload(ctx.deps, repo, ctx.params.id!);
  send(ctx, 204, uploadHeaders(repo, upload));
}

// end-14 (distribution-spec main)
export async function deleteUpload(ctx: Context): Promise<void> {
  await cancelUpload(ctx.deps, repoName(ctx), ctx.params.id!);
  send(ctx, 204, {});
}

function uploadHeaders(repo: string, upload: Pick<UploadRecord, 'id' | 'size'>): Record<string, string> {
  return {
    Location: `/v2/${repo}/blobs/uploads/${upload.id}`,
    Range: `0-${Math.max(upload.size - 1, 0)}`,
    'Docker-Upload-UUID': upload.id,
  };
}

function blobCreated(repo: string, digest: string): Record<string, string> {
  return { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest };
}

/** A 416 for an out-of-order chunk tells the client where the upload stands (spec: Location and Range). */
function withUploadHeaders(err: unknown, repo: string, id: string): unknown {
  if (err instanceof RegistryError && err.code === 'RANGE_INVALID') {
    const size = (err.detail as { size?: number } | undefined)?.size ?? 0;
    return new RegistryError(err.code, err.message, err.detail, { cause: err.cause, headers: uploadHeaders(repo, { id, size }) });
  }
  return err;
}

/** `Content-Range: <start>-<end>` as the spec writes it, or `bytes <start>-<end>/<total|*>` (RFC 9110). */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${JSON.stringify(header.slice(0, 100))}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range ${header}`);
  }
  return { start, end };
}

function isRepositoryName(s: string): boolean {
  try {
    parseRepositoryName(s);
    return true;
  } catch {
    return false;
  }
}
