import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestAlgorithm, type Digest, type Digester } from '../content/digest.js';
import { paths } from '../storage/paths.js';
import { isPathNotFound } from '../storage/errors.js';
import type { UploadRecord, BlobRecord } from '../metadata/store.js';
import type { RegistryDeps } from './deps.js';
import { RegistryError } from './errors.js';
import { DigestStream } from './digest-stream.js';
import { commitBlob, putBlob } from './blobs.js';

/**
 * Upload sessions (end-4a, end-5, end-6, end-13, end-14). The bytes of a session live at
 * `paths.uploadData(id)` and are never served; its committed size lives in the metadata store, so a
 * chunk that fails half-way (disconnect, digest error) is cut off again and the session stays usable.
 */

export async function startUpload(deps: RegistryDeps, repo: string): Promise<UploadRecord> {
  return deps.store.createUpload({ id: randomUUID(), repo });
}

export async function getUpload(deps: RegistryDeps, repo: string, id: string): Promise<UploadRecord> {
  const upload = isUploadId(id) ? await deps.store.getUpload(repo, id) : undefined;
  if (!upload) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 100)} is not in progress`);
  return upload;
}

export interface ChunkOptions {
  /** Inclusive byte range from `Content-Range`, when the client sent one. */
  range?: { start: number; end: number };
  /** `Content-Length`, when the client sent one. */
  length?: number;
  signal?: AbortSignal;
}

/**
 * Appends one chunk (PATCH). An out-of-order range is `RANGE_INVALID` (416) with the current size in the
 * error detail. On any failure the session's bytes are cut back to what they were.
 */
export async function appendChunk(
  deps: RegistryDeps,
  repo: string,
  id: string,
  body: Readable,
  opts: ChunkOptions = {},
): Promise<UploadRecord> {
  return deps.locker.withLock(uploadLockKey(id), async () => {
    const upload = await getUpload(deps, repo, id);
    return appendLocked(deps, upload, body, opts);
  });
}

async function appendLocked(deps: RegistryDeps, upload: UploadRecord, body: Readable, opts: ChunkOptions): Promise<UploadRecord> {
  const { range, length } = opts;
  if (range) {
    if (range.start !== upload.size) {
      body.resume();
      throw new RegistryError('RANGE_INVALID', `chunk starts at ${range.start}, the upload has ${upload.size} bytes`, {
        size: upload.size,
      });
    }
    if (length !== undefined && range.end - range.start + 1 !== length) {
      body.resume();
      throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${range.start}-${range.end} does not match Content-Length ${length}`);
    }
  }
  const expected = range ? range.end - range.start + 1 : length;
  const digester = deps.hashes.take(upload.id, upload.size);
  deps.hashes.forget(upload.id);
  const writer = await deps.driver.writer(paths.uploadData(upload.id), { append: true, signal: opts.signal });
  try {
    if (writer.size !== upload.size) {
      // A previous chunk left more bytes than the store recorded (crash between write and record).
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${upload.id} is inconsistent (${writer.size} bytes stored, ${upload.size} recorded)`);
    }
    const verify = new DigestStream(digester ?? createDigester('sha256'), expected);
    await pipeline(body, verify, writer, { signal: opts.signal });
    if (expected !== undefined && verify.bytes !== expected) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk ended after ${verify.bytes} of ${expected} bytes`);
    }
    const size = upload.size + verify.bytes;
    // Bytes first, record second: a failed commit (S3 CompleteMultipartUpload) must leave the recorded size
    // where the stored bytes are. The upload lock makes the compare-and-set below fail only if another node
    // ignored the lock.
    await writer.commit();
    if (!(await deps.store.advanceUpload(upload.id, upload.size, size))) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${upload.id} was changed by another request`);
    }
    if (digester) deps.hashes.put(upload.id, size, verify.digester);
    return { ...upload, size, updatedAt: new Date() };
  } finally {
    await writer.cancel();
  }
}

/**
 * Closes a session (PUT `?digest=`), with an optional last chunk in the body. Verifies the digest of the
 * whole upload, then moves the bytes into the blob store and links the blob into the repository.
 * A digest mismatch ends the session and stores nothing.
 */
export async function completeUpload(
  deps: RegistryDeps,
  repo: string,
  id: string,
  digest: Digest,
  body: Readable,
  opts: ChunkOptions = {},
): Promise<BlobRecord> {
  return deps.locker.withLock(uploadLockKey(id), async () => {
    let upload = await getUpload(deps, repo, id);
    if (upload.size === 0 && !opts.range) {
      // The whole blob is in this request (POST then PUT): stream it straight to its final place.
      try {
        return await putBlob(deps, repo, digest, body, opts);
      } finally {
        await endUpload(deps, upload.id);
      }
    }
    if (opts.length !== 0) upload = await appendLocked(deps, upload, body, opts);
    else body.resume();
    try {
      const actual = await uploadDigest(deps, upload, digest);
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${digest}`, { expected: digest, actual });
      }
      return await commitBlob(deps, repo, digest, upload.size, async () => {
        if (await deps.store.getBlob(digest)) return; // stored already: the upload's bytes are not needed
        await deps.driver.move(paths.uploadData(upload.id), paths.blobData(digest));
      });
    } finally {
      await endUpload(deps, upload.id);
    }
  });
}

/** Cancels a session (end-14); its bytes are deleted. */
export async function cancelUpload(deps: RegistryDeps, repo: string, id: string): Promise<void> {
  await deps.locker.withLock(uploadLockKey(id), async () => {
    const upload = await getUpload(deps, repo, id);
    await endUpload(deps, upload.id);
  });
}

/** Deletes a session's record, bytes and hash state. Safe to call for a session that is half gone. */
export async function endUpload(deps: RegistryDeps, id: string): Promise<void> {
  deps.hashes.forget(id);
  await deps.store.deleteUpload(id);
  try {
    await deps.driver.delete(paths.upload(id));
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
}

async function uploadDigest(deps: RegistryDeps, upload: UploadRecord, expected: Digest): Promise<Digest> {
  const algorithm = digestAlgorithm(expected);
  const running = algorithm === 'sha256' ? deps.hashes.take(upload.id, upload.size) : undefined;
  if (running) return running.digest();
  return hashStored(deps, upload, createDigester(algorithm));
}

async function hashStored(deps: RegistryDeps, upload: UploadRecord, digester: Digester): Promise<Digest> {
  if (upload.size === 0) return digester.digest();
  const verify = new DigestStream(digester);
  const reader = await deps.driver.reader(paths.uploadData(upload.id), { length: upload.size });
  await pipeline(reader, verify, async (source: AsyncIterable<Buffer>) => {
    for await (const _chunk of source);
  });
  return digester.digest();
}

function uploadLockKey(id: string): string {
  return `upload:${id}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function isUploadId(id: string): boolean {
  return UUID_RE.test(id);
}

