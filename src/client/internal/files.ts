/** Filesystem helpers the local transports share: small reads with a cap, verified writes by temp file + rename. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientError } from '../errors.js';
import { verifier, type Expected } from './verify.js';

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

/**
 * Streams `stream` into `path` through a digest and size check: the bytes go to a temp file next to `path`,
 * which is renamed into place only after they verified. On any failure the temp file is removed and the
 * stream destroyed.
 */
export async function writeVerified(path: string, expected: Expected, stream: Readable, signal?: AbortSignal): Promise<void> {
  const tmp = tempNameFor(path);
  try {
    await pipeline(stream, verifier(expected), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), { signal });
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
