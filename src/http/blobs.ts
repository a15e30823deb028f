import { parseDigest } from '../content/digest.js';
import { blobRedirect, deleteBlob, openBlob, statBlob, type ByteRange } from '../registry/blobs.js';
import { RegistryError } from '../registry/errors.js';
import { copyOut } from '../storage/copy-out.js';
import { repoName, send, type Context } from './context.js';

// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs (end-2)
export async function headBlob(ctx: Context): Promise<void> {
  const digest = parseDigest(ctx.params.digest!);
  const blob = await statBlob(ctx.deps, repoName(ctx), digest);
  send(ctx, 200, blobHeaders(digest, blob.size));
}

export async function getBlob(ctx: Context): Promise<void> {
  const digest = parseDigest(ctx.params.digest!);
  const redirect = await blobRedirect(ctx.deps, repoName(ctx), digest);
  if (redirect) return send(ctx, 307, { Location: redirect.url, 'Docker-Content-Digest': digest });
  const range = parseRange(ctx.req.headers.range);
  const opened = await openBlob(ctx.deps, repoName(ctx), digest, range, ctx.signal);
  const headers = blobHeaders(digest, opened.blob.size);
  if (opened.range) {
    headers['Content-Length'] = opened.range.end - opened.range.start + 1;
    headers['Content-Range'] = `bytes ${opened.range.start}-${opened.range.end}/${opened.blob.size}`;
  }
  ctx.res.writeHead(opened.range ? 206 : 200, headers);
  // Headers are out: from here an error can only cut the connection, which copyOut does.
  await copyOut(opened.stream, ctx.res);
}

// end-10
export async function removeBlob(ctx: Context): Promise<void> {
  const digest = parseDigest(ctx.params.digest!);
  await deleteBlob(ctx.deps, repoName(ctx), digest);
  send(ctx, 202, { 'Docker-Content-Digest': digest });
}

function blobHeaders(digest: string, size: number): Record<string, string | number> {
  return {
    'Content-Type': 'application/octet-stream',
    'Content-Length': size,
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
}

/**
 * One RFC 9110 byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`). Several ranges, or another unit, are
 * ignored and the whole blob is sent, as the RFC allows. A suffix range needs the size, so it is returned
 * as a negative start the caller cannot use; suffix ranges are rare for blobs and are answered whole.
 */
export function parseRange(header: string | undefined): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
  if (end < start) throw new RegistryError('RANGE_INVALID', `invalid range ${header}`);
  return { start, end };
}
