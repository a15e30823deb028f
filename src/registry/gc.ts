import type { Digest } from '../content/digest.js';
import { paths } from '../storage/paths.js';
import { isPathNotFound } from '../storage/errors.js';
import type { RegistryDeps } from './deps.js';
import { blobLockKey } from './blobs.js';
import { endUpload } from './uploads.js';

export interface GcOptions {
  /** Also delete manifests that no tag, index or live subject keeps. */
  deleteUntagged: boolean;
  /** Blobs, links and manifests younger than this survive, so pushes in flight are never collected. */
  graceMs: number;
  /** Upload sessions untouched for this long are abandoned. */
  uploadTtlMs: number;
  /**
   * Also walk storage for bytes the metadata store has no record of, and delete them: a blob whose bytes were
   * stored but never recorded, or whose record was removed but not its bytes (a crash in between), and
   * upload files that outlived their session. Only past the grace period (uploads: past the upload TTL and
   * the grace period). It lists every key under blobs/ and uploads/, so it is off by default.
   */
  sweepStorage?: boolean;
  /** Rows handled per batch; each batch is one short transaction, so pushes are never held up for long. */
  batchSize?: number;
  now?: Date;
  signal?: AbortSignal;
}

export interface GcResult {
  /** False when another node was collecting: this run did nothing. */
  ran: boolean;
  uploads: number;
  manifests: number;
  links: number;
  blobs: number;
  bytes: number;
  /** With `sweepStorage`: files deleted that no record accounted for, and their bytes. */
  strays: number;
  strayBytes: number;
  durationMs: number;
}

/**
 * Online garbage collection. It never needs the registry read-only (unlike distribution's mark and
 * sweep): every step is a short metadata transaction, and deleting bytes takes the same per-digest lock as
 * committing them, so a blob re-pushed while it is being collected is never lost.
 *
 * Order matters: abandoned uploads, then manifests nothing keeps, then repository links no manifest
 * references, then blobs no repository links, each only past the grace period.
 */
export async function collectGarbage(deps: RegistryDeps, opts: GcOptions): Promise<GcResult> {
  // Only one collector at a time across all nodes sharing the metadata store.
  const run = await deps.locker.tryWithLock('gc', () => collectLocked(deps, opts));
  return run.acquired ? run.value : { ran: false, uploads: 0, manifests: 0, links: 0, blobs: 0, bytes: 0, strays: 0, strayBytes: 0, durationMs: 0 };
}

async function collectLocked(deps: RegistryDeps, opts: GcOptions): Promise<GcResult> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const batch = opts.batchSize ?? 500;
  const before = new Date(now.getTime() - opts.graceMs);
  const result: GcResult = { ran: true, uploads: 0, manifests: 0, links: 0, blobs: 0, bytes: 0, strays: 0, strayBytes: 0, durationMs: 0 };

  for (;;) {
    opts.signal?.throwIfAborted();
    const stale = await deps.store.listStaleUploads(new Date(now.getTime() - opts.uploadTtlMs), batch);
    for (const upload of stale) await endUpload(deps, upload.id);
    result.uploads += stale.length;
    if (stale.length < batch) break;
  }
  if (opts.deleteUntagged) {
    for (;;) {
      opts.signal?.throwIfAborted();
      const deleted = await deps.store.deleteUntaggedManifests(before, batch);
      result.manifests += deleted.length;
      if (deleted.length < batch) break;
    }
  }
  for (;;) {
    opts.signal?.throwIfAborted();
    const n = await deps.store.deleteUnreferencedLinks(before, batch);
    result.links += n;
    if (n < batch) break;
  }
  for (;;) {
    opts.signal?.throwIfAborted();
    const orphans = await deps.store.deleteOrphanBlobs(before, batch);
    for (const blob of orphans) {
      const deleted = await deps.locker.withLock(blobLockKey(blob.digest), async () => {
        // A push may have stored and linked the blob again since its record was removed.
        if (await deps.store.getBlob(blob.digest)) return false;
        try {
          await deps.driver.delete(paths.blobData(blob.digest));
        } catch (err) {
          if (!isPathNotFound(err)) throw err;
        }
        return true;
      });
      if (deleted) {
        result.blobs += 1;
        result.bytes += blob.size;
      }
    }
    if (orphans.length < batch) break;
  }
  if (opts.sweepStorage) await sweepStorage(deps, opts, before, new Date(before.getTime() - opts.uploadTtlMs), result);
  result.durationMs = Date.now() - started;
  return result;
}

const BLOB_DATA = /^\/blobs\/([a-z0-9]+)\/[0-9a-f]{2}\/([0-9a-f]+)\/data$/;
const UPLOAD_DATA = /^\/uploads\/[^/]+\/data$/;

/**
 * The storage half of GC (GcOptions.sweepStorage). A stray blob is deleted under the blob's lock, after a
 * second look at the store, so a push committing the same digest meanwhile keeps its bytes. An upload file
 * needs no lookup: the stale-upload step has already ended every session idle for the upload TTL, and a live
 * session's file changes with every chunk, so a file untouched for the TTL and the grace period has no session.
 */
async function sweepStorage(deps: RegistryDeps, opts: GcOptions, blobsBefore: Date, uploadsBefore: Date, result: GcResult): Promise<void> {
  const strays: Array<{ path: string; size: number; digest?: Digest }> = [];
  for await (const f of deps.driver.walk(paths.blobsRoot, opts.signal ? { signal: opts.signal } : {})) {
    const m = BLOB_DATA.exec(f.path);
    if (!m || f.modTime >= blobsBefore) continue;
    const digest = `${m[1]}:${m[2]}` as Digest;
    if (paths.blobData(digest) !== f.path || (await deps.store.getBlob(digest))) continue;
    strays.push({ path: f.path, size: f.size, digest });
  }
  for await (const f of deps.driver.walk(paths.uploadsRoot, opts.signal ? { signal: opts.signal } : {})) {
    if (UPLOAD_DATA.test(f.path) && f.modTime < uploadsBefore) strays.push({ path: f.path, size: f.size });
  }
  for (const stray of strays) {
    opts.signal?.throwIfAborted();
    const remove = async (): Promise<boolean> => {
      if (stray.digest && (await deps.store.getBlob(stray.digest))) return false;
      try {
        await deps.driver.delete(stray.path);
        return true;
      } catch (err) {
        if (isPathNotFound(err)) return false;
        throw err;
      }
    };
    const deleted = stray.digest ? await deps.locker.withLock(blobLockKey(stray.digest), remove) : await remove();
    if (deleted) {
      result.strays += 1;
      result.strayBytes += stray.size;
    }
  }
}
