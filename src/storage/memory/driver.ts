import { Readable } from 'node:stream';
import type { BlobDriver, FileInfo, FileWriter, IoOptions, ReadOptions, WriterOptions } from '../driver.js';
import { destroyOnAbort } from '../destroy-on-abort.js';
import { DriverError } from '../errors.js';
import { TwoPhaseWriter } from '../two-phase-writer.js';
import { validatePath } from '../validate-path.js';

/**
 * A file held in memory as the list of chunks it was written in, so appends never copy the whole file.
 * Chunks are never mutated after they are stored: a reader takes a snapshot of the list and stays
 * consistent while writers append or truncate.
 */
interface MemoryFile {
  chunks: Buffer[];
  size: number;
  modTime: Date;
}

/** Largest chunk a reader emits, so one big `putContent` does not become one huge stream chunk. */
const READ_CHUNK = 1024 * 1024;

/**
 * A `BlobDriver` that keeps everything in a `Map`, for tests and for the in-process registry client tests
 * (distribution's `inmemory`). Same semantics as `FsDriver`, checked by the shared conformance suite.
 */
export class MemoryDriver implements BlobDriver {
  readonly name = 'memory';
  readonly #files = new Map<string, MemoryFile>();

  // stat implements BlobDriver.
  async stat(path: string, opts: IoOptions = {}): Promise<FileInfo> {
    const file = this.#get(path, opts);
    return { path, size: file.size, modTime: file.modTime };
  }

  // reader implements BlobDriver.
  async reader(path: string, opts: ReadOptions = {}): Promise<Readable> {
    const file = this.#get(path, opts);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > file.size) {
      throw new DriverError('INVALID_OFFSET', this.name, path, `${this.name}: invalid offset ${offset}: ${path}`);
    }
    if (opts.length !== undefined && (!Number.isSafeInteger(opts.length) || opts.length < 0)) {
      throw new DriverError('INVALID_OFFSET', this.name, path, `${this.name}: invalid length ${opts.length}: ${path}`);
    }
    const end = Math.min(file.size, opts.length === undefined ? file.size : offset + opts.length);
    const stream = Readable.from(slices([...file.chunks], offset, end), { objectMode: false });
    destroyOnAbort(stream, opts.signal);
    return stream;
  }

  // writer implements BlobDriver.
  async writer(path: string, opts: WriterOptions = {}): Promise<FileWriter> {
    validatePath(this.name, path);
    opts.signal?.throwIfAborted();
    const common = { driverName: this.name, path, signal: opts.signal };
    if (opts.append) {
      const existing = this.#files.get(path);
      const file = existing ?? { chunks: [], size: 0, modTime: new Date() };
      // As on a filesystem opened with O_APPEND, the (possibly empty) file exists from now on.
      this.#files.set(path, file);
      return new MemoryAppendWriter({ ...common, files: this.#files, file, existed: existing !== undefined });
    }
    return new MemoryWriter({ ...common, files: this.#files });
  }

  // getContent implements BlobDriver.
  async getContent(path: string, opts: IoOptions = {}): Promise<Buffer> {
    return Buffer.concat(this.#get(path, opts).chunks);
  }

  // putContent implements BlobDriver.
  async putContent(path: string, content: Uint8Array, opts: IoOptions = {}): Promise<void> {
    validatePath(this.name, path);
    opts.signal?.throwIfAborted();
    const copy = Buffer.from(content);
    this.#files.set(path, { chunks: copy.length > 0 ? [copy] : [], size: copy.length, modTime: new Date() });
  }

  // move implements BlobDriver.
  async move(source: string, dest: string, opts: IoOptions = {}): Promise<void> {
    const file = this.#get(source, opts);
    validatePath(this.name, dest);
    if (source === dest) return;
    this.#files.set(dest, file);
    this.#files.delete(source);
  }

  // delete implements BlobDriver.
  async delete(path: string, opts: IoOptions = {}): Promise<void> {
    validatePath(this.name, path, { allowRoot: true });
    opts.signal?.throwIfAborted();
    const below = path === '/' ? '/' : `${path}/`;
    let found = this.#files.delete(path);
    for (const key of [...this.#files.keys()]) {
      if (key.startsWith(below)) found = this.#files.delete(key) || found;
    }
    if (!found) throw new DriverError('PATH_NOT_FOUND', this.name, path);
  }

  // list implements BlobDriver.
  async list(path: string, opts: IoOptions = {}): Promise<string[]> {
    validatePath(this.name, path, { allowRoot: true });
    opts.signal?.throwIfAborted();
    const below = path === '/' ? '/' : `${path}/`;
    const children = new Set<string>();
    for (const key of this.#files.keys()) {
      if (!key.startsWith(below)) continue;
      const slash = key.indexOf('/', below.length);
      children.add(slash === -1 ? key : key.slice(0, slash));
    }
    if (children.size === 0 && path !== '/') throw new DriverError('PATH_NOT_FOUND', this.name, path);
    return [...children].sort();
  }

  // walk implements BlobDriver.
  async *walk(path: string, opts: IoOptions = {}): AsyncIterable<FileInfo> {
    validatePath(this.name, path, { allowRoot: true });
    opts.signal?.throwIfAborted();
    const below = path === '/' ? '/' : `${path}/`;
    const found: FileInfo[] = [];
    for (const [key, file] of this.#files) {
      if (key.startsWith(below)) found.push({ path: key, size: file.size, modTime: file.modTime });
    }
    found.sort((a, b) => compareDepthFirst(a.path, b.path));
    for (const info of found) {
      opts.signal?.throwIfAborted();
      yield info;
    }
  }

  // close implements BlobDriver.
  async close(): Promise<void> {
    this.#files.clear();
  }

  #get(path: string, opts: IoOptions): MemoryFile {
    validatePath(this.name, path);
    opts.signal?.throwIfAborted();
    const file = this.#files.get(path);
    if (!file) throw new DriverError('PATH_NOT_FOUND', this.name, path);
    return file;
  }
}

/**
 * Orders paths as a depth-first walk with sorted siblings visits them: segment by segment, so `/a/b/c`
 * comes before `/a/b-x` even though `-` sorts before `/` in a plain string comparison.
 */
function compareDepthFirst(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}

/** Yields bytes `[start, end)` of the concatenated chunks, in pieces of at most `READ_CHUNK`. */
function* slices(chunks: Buffer[], start: number, end: number): Generator<Buffer> {
  let pos = 0;
  for (const chunk of chunks) {
    const from = Math.max(start, pos);
    const to = Math.min(end, pos + chunk.length);
    for (let i = from; i < to; i += READ_CHUNK) yield chunk.subarray(i - pos, Math.min(to, i + READ_CHUNK) - pos);
    pos += chunk.length;
    if (pos >= end) return;
  }
}

/** Returns the first `size` bytes of `chunks` as a new list (the chunks themselves are shared, not copied). */
function truncateChunks(chunks: Buffer[], size: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const chunk of chunks) {
    if (pos >= size) break;
    out.push(pos + chunk.length <= size ? chunk : chunk.subarray(0, size - pos));
    pos += chunk.length;
  }
  return out;
}

interface MemoryWriterCommon {
  driverName: string;
  path: string;
  signal: AbortSignal | undefined;
  files: Map<string, MemoryFile>;
}

/** Non-append writer: collects chunks privately; commit swaps the whole file in at once. */
class MemoryWriter extends TwoPhaseWriter {
  readonly #files: Map<string, MemoryFile>;
  readonly #path: string;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(opts: MemoryWriterCommon) {
    super({ ...opts, initialSize: 0, discardOnDestroy: true });
    this.#files = opts.files;
    this.#path = opts.path;
  }

  protected override async writeChunks(chunks: Buffer[]): Promise<void> {
    // Copy: the caller may reuse its buffer once the write callback ran.
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.#chunks.push(Buffer.from(c));
      this.#bytes += c.length;
    }
  }

  protected override async flush(): Promise<void> {}

  protected override async publish(): Promise<void> {
    this.#files.set(this.#path, { chunks: this.#chunks, size: this.#bytes, modTime: new Date() });
  }

  protected override async release(): Promise<void> {}

  protected override async discard(): Promise<void> {
    this.#chunks = [];
    this.#bytes = 0;
  }
}

/** Append writer: chunks land in the visible file at once; cancel truncates back to the size at open. */
class MemoryAppendWriter extends TwoPhaseWriter {
  readonly #files: Map<string, MemoryFile>;
  readonly #path: string;
  readonly #file: MemoryFile;
  readonly #initialSize: number;
  readonly #existed: boolean;

  constructor(opts: MemoryWriterCommon & { file: MemoryFile; existed: boolean }) {
    super({ ...opts, initialSize: opts.file.size, discardOnDestroy: false });
    this.#files = opts.files;
    this.#path = opts.path;
    this.#file = opts.file;
    this.#initialSize = opts.file.size;
    this.#existed = opts.existed;
  }

  protected override async writeChunks(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) {
      if (c.length === 0) continue;
      // Pushing is safe: a reader copies the list when it opens, and truncation builds a new list.
      this.#file.chunks.push(Buffer.from(c));
      this.#file.size += c.length;
    }
    this.#file.modTime = new Date();
  }

  protected override async flush(): Promise<void> {}

  protected override async publish(): Promise<void> {}

  protected override async release(): Promise<void> {}

  protected override async discard(): Promise<void> {
    if (this.#existed) {
      this.#file.chunks = truncateChunks(this.#file.chunks, this.#initialSize);
      this.#file.size = Math.min(this.#file.size, this.#initialSize);
    } else if (this.#files.get(this.#path) === this.#file) {
      this.#files.delete(this.#path);
    }
  }
}
