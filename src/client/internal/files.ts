/** Filesystem helpers the local transports share: small reads with a cap, verified writes by temp file + rename. */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientError } from '../errors.js';
import { Check, type Expected } from './verify.js';

/** Manifests, indexes, configs and index.json are read whole; nothing larger than this is. */
export const MAX_SMALL_JSON = 8 * 1024 * 1024;

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The whole file, or undefined when it does not exist; `MANIFEST_INVALID` when it is larger than `cap`. */
export async function readSmall(path: string, cap = MAX_SMALL_JSON): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size > cap) throw new ClientError('MANIFEST_INVALID', `${path}: ${size} bytes, more than the ${cap} allowed for JSON`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** A name for a temporary file next to `path`, so that rename() stays on one filesystem. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.tmp-${basename(path).slice(0, 16)}-${randomBytes(6).toString('hex')}`);
}

/** Bytes gathered before one writev(2): fewer syscalls and thread-pool round trips than one per network chunk. */
const WRITE_BATCH = 1024 * 1024;
/** Most buffers in one writev (below IOV_MAX, 1024 on Linux). */
const WRITE_BATCH_BUFFERS = 512;

/**
 * A file sink that checks as it writes (the `Check` of verify.ts: too many bytes fail at once, a short or
 * wrong stream fails in final(), before anyone renames the file). Chunks are gathered into batches of
 * WRITE_BATCH bytes, each written with one writev while the next batch fills; at most two batches are held.
 */
class VerifiedFileWriter extends Writable {
  private fh: FileHandle | undefined;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** The write in flight, if any; it never rejects (its error is kept in `failed`). */
  private inflight: Promise<void> | undefined;
  private failed: Error | undefined;
  private readonly check: Check;

  constructor(
    private readonly path: string,
    expected: Expected,
  ) {
    super({ highWaterMark: WRITE_BATCH });
    this.check = new Check(expected);
  }

  override _construct(cb: (err?: Error | null) => void): void {
    open(this.path, 'wx', 0o644).then(
      (fh) => {
        this.fh = fh;
        cb();
      },
      (err: Error) => cb(err),
    );
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const err = this.check.update(chunk);
    if (err) {
      cb(err);
      return;
    }
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes < WRITE_BATCH && this.batch.length < WRITE_BATCH_BUFFERS) cb();
    else this.flush(cb);
  }

  /** Waits for the write in flight, starts one for the batch, and calls back (or fails with an earlier write's error). */
  private flush(cb: (err?: Error | null) => void): void {
    const start = () => {
      // Destroyed while the last write was in flight (the copy failed elsewhere): the file is closed already.
      if (this.failed || !this.fh) {
        cb(this.failed ?? new Error('the file was closed while writing'));
        return;
      }
      const bufs = this.batch;
      this.batch = [];
      this.batchBytes = 0;
      if (bufs.length > 0) this.inflight = writeAll(this.fh!, bufs).catch((e: Error) => void (this.failed ??= e));
      cb();
    };
    if (this.inflight) void this.inflight.then(start);
    else start();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const err = this.check.end();
    if (err) {
      cb(err);
      return;
    }
    this.flush((e) => {
      if (e) {
        cb(e);
        return;
      }
      void Promise.resolve(this.inflight).then(() => {
        const fh = this.fh;
        if (this.failed || !fh) {
          cb(this.failed ?? new Error('the file was closed while writing'));
          return;
        }
        this.fh = undefined;
        fh.close().then(() => cb(), cb);
      });
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const fh = this.fh;
    this.fh = undefined;
    this.batch = [];
    void Promise.resolve(this.inflight)
      .then(() => fh?.close())
      .then(
        () => cb(err),
        () => cb(err),
      );
  }
}

/** writev until every byte is written (a short write continues from where it stopped). */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    let n = (await fh.writev(rest)).bytesWritten;
    if (n === 0 && rest.some((b) => b.length > 0)) throw new Error('writev wrote nothing');
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0]!.subarray(n);
  }
}

/**
 * Streams `stream` into `path` through a digest and size check: the bytes go to a temp file next to `path`,
 * which is renamed into place only after they verified. On any failure the temp file is removed and the
 * stream destroyed.
 */
export async function writeVerified(path: string, expected: Expected, stream: Readable, signal?: AbortSignal): Promise<void> {
  const tmp = tempNameFor(path);
  try {
    await pipeline(stream, new VerifiedFileWriter(tmp, expected), { signal });
    await rename(tmp, path);
  } catch (err) {
    stream.destroy();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes small bytes atomically (temp file + rename). */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempNameFor(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * What a destination created, so close() without commit() can take it away again: files are unlinked and
 * directories removed (only if empty) in reverse order of creation.
 */
export class Created {
  private readonly entries: Array<{ path: string; dir: boolean }> = [];

  /** mkdir -p that records each directory it had to create. */
  async mkdirs(path: string): Promise<void> {
    const missing: string[] = [];
    let p = path;
    while (!(await exists(p))) {
      missing.unshift(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
    }
    for (const m of missing) {
      try {
        await mkdir(m);
        this.entries.push({ path: m, dir: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  file(path: string): void {
    this.entries.push({ path, dir: false });
  }

  async undo(): Promise<void> {
    // Files first, then directories deepest first: concurrent writers can record a parent after its child
    // (two mkdirs racing), and creation order would then try the parent while it still holds the child.
    const entries = this.entries.splice(0).reverse();
    for (const e of entries.filter((x) => !x.dir)) await unlink(e.path).catch(() => undefined);
    for (const e of entries.filter((x) => x.dir).sort((a, b) => b.path.length - a.path.length)) await rmdir(e.path).catch(() => undefined);
  }

  forget(): void {
    this.entries.length = 0;
  }
}
