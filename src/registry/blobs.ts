import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestAlgorithm, type Digest } from '../content/digest.js';
import { paths } from '../storage/paths.js';
import { isPathNotFound } from '../storage/errors.js';
import type { BlobRecord } from '../metadata/store.js';
import type { RegistryDeps } from './deps.js';
import { RegistryError } from './errors.js';
import { DigestStream } from './digest-stream.js';

/** The blob, if the repository may serve it; else `BLOB_UNKNOWN`. */
export async function statBlob(deps: RegistryDeps, repo: string, digest: Digest): Promise<BlobRecord> {
  const blob = await deps.store.getRepositoryBlob(repo, digest);
  if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repo}`, { digest });
  return blob;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface OpenedBlob {
  blob: BlobRecord;
  range: ByteRange | undefined;
  stream: Readable;
}

/**
 * Opens a blob for reading, optionally a byte range of it. The stream is open before this returns, so a
 * missing file becomes an error while the status can still change.
 */
export async function openBlob(
  deps: RegistryDeps,
  repo: string,
  digest: Digest,
  range: ByteRange | undefined,
  signal?: AbortSignal,
): Promise<OpenedBlob> {
  const blob = await statBlob(deps, repo, digest);
  if (range && (range.start > range.end || range.start >= blob.size)) {
    throw new RegistryError('RANGE_INVALID', `range ${range.start}-${range.end} is outside the blob (${blob.size} bytes)`, {
      size: blob.size,
    });
  }
  const end = range ? Math.min(range.end, blob.size - 1) : blob.size - 1;
  const start = range?.start ?? 0;
  try {
    const stream = await deps.driver.reader(paths.blobData(digest), { offset: start, length: end - start + 1, signal });
    return { blob, range: range && { start, end }, stream };
  } catch (err) {
    if (isPathNotFound(err)) {
      throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is recorded but its bytes are missing`, { digest }, { cause: err });
    }
    throw err;
  }
}

/**
 * Where a client can fetch the blob directly, when redirects are configured and the driver can presign;
 * undefined means the registry streams the bytes itself.
 */
export async function blobRedirect(deps: RegistryDeps, repo: string, digest: Digest): Promise<{ url: string; blob: BlobRecord } | undefined> {
  if (!deps.redirect || !deps.driver.urlFor) return undefined;
  const blob = await statBlob(deps, repo, digest);
  const url = await deps.driver.urlFor(paths.blobData(digest), deps.redirect);
  return url ? { url, blob } : undefined;
}

/** Removes the repository's link to a blob (end-10). The bytes go when GC finds no other link. */
export async function deleteBlob(deps: RegistryDeps, repo: string, digest: Digest): Promise<void> {
  if (!(await deps.store.unlinkBlob(repo, digest))) {
    throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repo}`, { digest });
  }
}

/**
 * Stores a whole blob from one request body (POST `?digest=`, or a PUT on an empty upload session),
 * verifying digest and size while the bytes stream. The bytes become visible only after they verified;
 * on any failure nothing is left behind.
 */
export async function putBlob(
  deps: RegistryDeps,
  repo: string,
  digest: Digest,
  body: Readable,
  opts: { length?: number; signal?: AbortSignal } = {},
): Promise<BlobRecord> {
  const existing = await deps.store.getBlob(digest);
  if (existing && opts.length === existing.size) {
    // Stored already: verify what the client sent anyway (it claims this digest), but write nothing.
    const verify = new DigestStream(createDigester(digestAlgorithm(digest)), existing.size);
    await pipeline(body, verify, discard(), { signal: opts.signal });
    checkDigest(verify, digest, opts.length);
    return linkExisting(deps, repo, digest, existing.size);
  }
  const writer = await deps.driver.writer(paths.blobData(digest), { signal: opts.signal });
  try {
    const verify = new DigestStream(createDigester(digestAlgorithm(digest)), opts.length);
    await pipeline(body, verify, writer, { signal: opts.signal });
    checkDigest(verify, digest, opts.length);
    return await commitBlob(deps, repo, digest, verify.bytes, () => writer.commit());
  } finally {
    await writer.cancel();
  }
}

/**
 * Makes blob bytes visible and linked in one step that GC cannot interleave with (same digest lock as the
 * collector's delete).
 */
export async function commitBlob(
  deps: RegistryDeps,
  repo: string,
  digest: Digest,
  size: number,
  makeVisible: () => Promise<void>,
): Promise<BlobRecord> {
  return deps.locker.withLock(blobLockKey(digest), async () => {
    await makeVisible();
    await deps.store.linkBlob(repo, digest, size);
    return { digest, size, createdAt: new Date() };
  });
}

async function linkExisting(deps: RegistryDeps, repo: string, digest: Digest, size: number): Promise<BlobRecord> {
  return deps.locker.withLock(blobLockKey(digest), async () => {
    // GC may have removed the record (and so the bytes) between our first look and the lock.
    if (!(await deps.store.getBlob(digest))) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `blob ${digest} was collected during the upload; push it again`);
    }
    await deps.store.linkBlob(repo, digest, size);
    return { digest, size, createdAt: new Date() };
  });
}

/**
 * Cross-repository mount (end-11): links a blob that `from` may serve into `repo`. Returns undefined when
 * `from` does not hold it (or is not readable), and the caller falls back to an upload session.
 */
export async function mountBlob(deps: RegistryDeps, repo: string, digest: Digest, from: string): Promise<BlobRecord | undefined> {
  const source = await deps.store.getRepositoryBlob(from, digest);
  if (!source) return undefined;
  return deps.locker.withLock(blobLockKey(digest), async () => {
    if (!(await deps.store.getRepositoryBlob(from, digest))) return undefined;
    await deps.store.linkBlob(repo, digest, source.size);
    return source;
  });
}

export function blobLockKey(digest: Digest): string {
  return `blob:${digest}`;
}

export function checkDigest(verify: DigestStream, digest: Digest, length: number | undefined): void {
  if (length !== undefined && verify.bytes !== length) {
    throw new RegistryError('SIZE_INVALID', `received ${verify.bytes} bytes, Content-Length said ${length}`);
  }
  const actual = verify.digester.digest();
  if (actual !== digest) {
    throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${digest}`, { expected: digest, actual });
  }
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, callback) => callback() });
}
