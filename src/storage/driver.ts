import type { Readable, Writable } from 'node:stream';

/**
 * The blob storage driver contract, modelled on distribution's `storagedriver.StorageDriver`.
 *
 * Paths are `/`-separated, start with `/`, and hold only `[A-Za-z0-9._/-]` (see `paths.ts`, which owns the
 * layout). A path names a file; "directories" exist only as prefixes of files. Every method that does I/O
 * takes an optional `AbortSignal`; aborting rejects with the signal's reason and leaves no partial file
 * visible at the target path.
 *
 * Every implementation must pass `describeBlobDriver` in `conformance.ts`.
 */
export interface BlobDriver {
  /** Short medium name used in errors and metrics: `filesystem`, `memory`, `s3`. */
  readonly name: string;

  /** Size and modification time of a file. Throws `PATH_NOT_FOUND` when there is no file at `path`. */
  stat(path: string, opts?: IoOptions): Promise<FileInfo>;

  /**
   * Streams the file from `offset` (default 0) for `length` bytes (default: to the end).
   * Throws `PATH_NOT_FOUND` before returning if the file is missing, and `INVALID_OFFSET` if `offset` is
   * negative or past the end. `offset == size` yields an empty stream. The caller must consume or destroy
   * the stream.
   */
  reader(path: string, opts?: ReadOptions): Promise<Readable>;

  /**
   * Opens a writer. With `append: false` (the default) the file is replaced on `commit()` and nothing is
   * visible at `path` before that. With `append: true` bytes are added after the existing content (a
   * missing file counts as empty); readers may see appended bytes before commit, so append writers are
   * only used for private upload files.
   *
   * `cancel()` discards everything written through this writer: the content at `path` is exactly what it
   * was before the writer was opened. `cancel()` may be called any number of times, also after `commit()`
   * (then it does nothing), so it is safe in a `finally`.
   */
  writer(path: string, opts?: WriterOptions): Promise<FileWriter>;

  /** Reads a small file whole (manifests, keys). Throws `PATH_NOT_FOUND`. */
  getContent(path: string, opts?: IoOptions): Promise<Buffer>;

  /** Writes a small file whole, atomically: readers see the old content or the new, never a mix. */
  putContent(path: string, content: Uint8Array, opts?: IoOptions): Promise<void>;

  /**
   * Moves a file, replacing any file at `dest` atomically. Throws `PATH_NOT_FOUND` if `source` is missing.
   */
  move(source: string, dest: string, opts?: IoOptions): Promise<void>;

  /**
   * Deletes the file at `path`, or every file below it when `path` is a prefix. Throws `PATH_NOT_FOUND`
   * when nothing was there.
   */
  delete(path: string, opts?: IoOptions): Promise<void>;

  /**
   * The direct children of the prefix `path` (files and sub-prefixes), as full paths, sorted.
   * Throws `PATH_NOT_FOUND` when nothing exists below `path`.
   */
  list(path: string, opts?: IoOptions): Promise<string[]>;

  /** Every file below `path`, depth first, in sorted order. Yields nothing when `path` does not exist. */
  walk(path: string, opts?: IoOptions): AsyncIterable<FileInfo>;

  /**
   * A URL from which a client can fetch the file directly (a presigned object-storage URL), valid for
   * `expiresInSeconds`; undefined when the medium cannot serve clients itself. Optional: the filesystem and
   * memory drivers do not implement it, and the registry then streams the bytes itself.
   */
  urlFor?(path: string, opts?: { expiresInSeconds?: number }): Promise<string | undefined>;

  /** Releases resources (open handles, connection pools). */
  close(): Promise<void>;
}

export interface IoOptions {
  signal?: AbortSignal;
}

export interface ReadOptions extends IoOptions {
  offset?: number;
  length?: number;
}

export interface WriterOptions extends IoOptions {
  append?: boolean;
}

export interface FileInfo {
  path: string;
  size: number;
  modTime: Date;
}

/** A `Writable` with a two-phase end, like distribution's `FileWriter`. */
export interface FileWriter extends Writable {
  /** Bytes in the file as this writer sees it: existing bytes (append mode) plus those written so far. */
  readonly size: number;
  /** Ends the stream if needed, flushes, and makes the content visible at the path. */
  commit(): Promise<void>;
  /** Discards what this writer wrote. Idempotent; a no-op after `commit()`. */
  cancel(): Promise<void>;
}
