/**
 * An image's root filesystem as its layers leave it, read by streaming each layer once, in order, through the
 * client's tar reader: nothing is unpacked to disk and no layer is held whole. Only the files a caller asks
 * for are kept (e.g. package databases, os-release), each up to a size cap, plus, on request, a listing of
 * every entry's metadata.
 *
 * Layer application follows the OCI image spec ("Applying Changesets", "Whiteouts") and docker's
 * `archive.ApplyLayer`, as `client/extract.ts` does on disk:
 * - `.wh.NAME` removes NAME, and everything below it, as lower layers left it;
 * - `.wh..wh..opq` hides everything lower layers put in its directory (entries of the same layer stay);
 * - a later entry replaces what is there; a non-directory replaces a directory with all its contents;
 * - parent directories are resolved through symlinks already in the filesystem (`lib -> usr/lib` then
 *   `lib/apk/db/installed` is `usr/lib/apk/db/installed`), never leaving the root.
 *
 * Paths are relative, without a leading `/` (`etc/os-release`).
 *
 * @example
 * const fs = await readRootfs(image, { want: ['etc/os-release', 'usr/lib/os-release'] })
 * const osRelease = fs.file('etc/os-release')?.content.toString('utf8')
 *
 * For checks that need the layers one by one (preflight's HasModifiedFiles), `walkLayers` yields every
 * entry with its layer index and whiteout meaning, without applying anything.
 */
import type { Readable } from 'node:stream';
import type { Image } from '../client/image.js';
import { cleanName, type EntryType } from '../client/tar/header.js';
import { readTar, type StreamEntry } from '../client/tar/reader.js';
import type { SourceOptions } from '../client/transport.js';
import { ScanError } from './errors.js';

/** What `readRootfs` needs of a layer: its uncompressed tar as a stream (the client's `Layer` has it). */
export interface LayerLike {
  uncompressed(opts?: SourceOptions): Promise<Readable>;
}

export interface RootfsEntry {
  path: string;
  type: EntryType;
  /** Bytes, for regular files; 0 otherwise. */
  size: number;
  /** Permission bits as the tar header has them (no file-type bits). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Symlink target as written, or the hard link's target path (cleaned). */
  linkname?: string;
  /** Index of the layer that last wrote this entry. */
  layer: number;
}

export interface RootfsFile extends RootfsEntry {
  content: Buffer;
}

export type WalkEvent =
  /** A regular entry; `entry.body` must be read or left alone before the next event (it is drained). */
  | { kind: 'entry'; layer: number; path: string; entry: StreamEntry }
  /** `.wh.NAME`: `path` (NAME) is removed from lower layers. */
  | { kind: 'whiteout'; layer: number; path: string }
  /** `.wh..wh..opq`: the directory `path` is emptied of lower layers' content ('' is the root). */
  | { kind: 'opaque'; layer: number; path: string };

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

function layersOf(input: Image | readonly LayerLike[]): readonly LayerLike[] {
  return 'layers' in input && typeof input.layers === 'function' ? input.layers() : (input as readonly LayerLike[]);
}

/**
 * Every entry of every layer, bottom layer first, with whiteouts decoded. Nothing is applied: a caller that
 * wants the final state uses `readRootfs`.
 */
export async function* walkLayers(input: Image | readonly LayerLike[], opts: SourceOptions = {}): AsyncGenerator<WalkEvent> {
  const layers = layersOf(input);
  for (let i = 0; i < layers.length; i++) {
    const stream = await layers[i]!.uncompressed(opts);
    try {
      for await (const entry of readTar(stream, `layer ${i}`)) {
        const path = cleanName(entry.name);
        const slash = path.lastIndexOf('/');
        const base = path.slice(slash + 1);
        const dir = slash === -1 ? '' : path.slice(0, slash);
        if (base === OPAQUE) yield { kind: 'opaque', layer: i, path: dir };
        else if (base.startsWith(WH) && base.length > WH.length) {
          // Other `.wh..wh.` names are aufs metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): nothing to apply.
          if (!base.startsWith(`${WH}${WH}`)) yield { kind: 'whiteout', layer: i, path: dir ? `${dir}/${base.slice(WH.length)}` : base.slice(WH.length) };
        } else if (path !== '') yield { kind: 'entry', layer: i, path, entry };
      }
    } finally {
      stream.destroy();
    }
  }
}

export interface ReadRootfsOptions extends SourceOptions {
  /**
   * The files whose final content to keep: paths (`etc/os-release`) or a predicate over the path (resolved
   * through symlinked parent directories) and the entry.
   */
  want: readonly string[] | ((path: string, entry: RootfsEntry) => boolean);
  /** Keep the metadata of every entry (true) or of the entries a predicate picks, for `Rootfs.entries`. */
  list?: boolean | ((path: string) => boolean);
  /** Largest file kept (default 256 MiB); a wanted file above it fails the read with `FILE_TOO_LARGE`. */
  maxFileBytes?: number;
  /** Largest total of kept content at any moment (default 1 GiB), superseded files included until removed. */
  maxTotalBytes?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 1024 * 1024 * 1024;

/** The final state of an image's root filesystem, restricted to what was asked for. */
export class Rootfs {
  constructor(
    /** Wanted regular files (and hard links to them) by path, with their content. */
    readonly files: ReadonlyMap<string, RootfsFile>,
    /** Every symlink in the final filesystem, by path. */
    readonly symlinks: ReadonlyMap<string, RootfsEntry>,
    /** The listing, when `list` was asked for (sorted by path on iteration through `list()`). */
    readonly entries: ReadonlyMap<string, RootfsEntry> | undefined,
    readonly layers: number,
  ) {}

  /** Resolves `path` through the filesystem's symlinks, as a process inside the image would (chrooted). */
  resolve(path: string): string {
    return resolvePath(this.symlinks, path, true);
  }

  /** The wanted file at `path`, following symlinks (`etc/os-release -> ../usr/lib/os-release`). */
  file(path: string): RootfsFile | undefined {
    return this.files.get(cleanName(path)) ?? this.files.get(this.resolve(path));
  }

  /** The listing sorted by path; throws when `readRootfs` was called without `list`. */
  list(): RootfsEntry[] {
    if (!this.entries) throw new Error('readRootfs was called without `list`');
    return [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

/** Follows symlinks component by component inside the root; `..` and absolute targets never leave it. */
function resolvePath(symlinks: ReadonlyMap<string, RootfsEntry>, path: string, followLast: boolean): string {
  if (symlinks.size === 0) return cleanName(path);
  const queue = cleanName(path).split('/').filter(Boolean);
  let cur: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '..') {
      cur.pop();
      continue;
    }
    if (c === '.') continue;
    const next = [...cur, c];
    const link = symlinks.get(next.join('/'));
    if (link && link.linkname !== undefined && (queue.length > 0 || followLast)) {
      if (++hops > 40) return next.concat(queue).join('/');
      const target = link.linkname.split('/').filter(Boolean);
      if (link.linkname.startsWith('/')) cur = [];
      queue.unshift(...target);
      continue;
    }
    cur = next;
  }
  return cur.join('/');
}

/**
 * Reads the layers in order and returns the wanted files' final content (see the module comment for the
 * rules). Each layer is one pass over its stream; superseded content is dropped at the end of the layer that
 * removed it.
 */
export async function readRootfs(input: Image | readonly LayerLike[], opts: ReadRootfsOptions): Promise<Rootfs> {
  const maxFile = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxTotal = opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const wantSet = Array.isArray(opts.want) ? new Set((opts.want as string[]).map(cleanName)) : undefined;
  const wanted = (path: string, e: RootfsEntry) => (wantSet ? wantSet.has(path) : (opts.want as (p: string, e: RootfsEntry) => boolean)(path, e));
  const listed = opts.list === undefined || opts.list === false ? undefined : opts.list === true ? () => true : opts.list;

  const files = new Map<string, RootfsFile>();
  const symlinks = new Map<string, RootfsEntry>();
  const entries = listed ? new Map<string, RootfsEntry>() : undefined;
  let held = 0;
  const stores: Array<Map<string, RootfsEntry>> = [files, symlinks, ...(entries ? [entries] : [])];
  const drop = (map: Map<string, RootfsEntry>, key: string) => {
    if (map === files) held -= files.get(key)?.content.length ?? 0;
    map.delete(key);
  };

  // Removals of the current layer, applied when it ends (they only ever affect lower layers' entries).
  let layer = -1;
  let removeTree = new Set<string>(); // whiteouts and non-directories: the path and everything below
  let emptyDir = new Set<string>(); // opaque directories: everything below
  const finishLayer = () => {
    if (removeTree.size === 0 && emptyDir.size === 0) return;
    for (const map of stores) {
      for (const [key, e] of map) {
        if (e.layer >= layer) continue;
        if (removeTree.has(key)) {
          drop(map, key);
          continue;
        }
        let dir = key;
        for (let s = dir.lastIndexOf('/'); ; s = dir.lastIndexOf('/')) {
          dir = s === -1 ? '' : dir.slice(0, s);
          if (removeTree.has(dir) || emptyDir.has(dir)) {
            drop(map, key);
            break;
          }
          if (s === -1) break;
        }
      }
    }
    removeTree = new Set();
    emptyDir = new Set();
  };

  for await (const ev of walkLayers(input, opts)) {
    if (ev.layer !== layer) {
      finishLayer();
      layer = ev.layer;
    }
    // Parents resolve through symlinks; the entry itself is never followed (it is what gets replaced).
    const path = resolvePath(symlinks, ev.path, false);
    if (ev.kind === 'whiteout') {
      removeTree.add(path);
      continue;
    }
    if (ev.kind === 'opaque') {
      emptyDir.add(path);
      continue;
    }
    const h = ev.entry;
    const e: RootfsEntry = { path, type: h.type, size: h.type === 'file' ? h.size : 0, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: h.mtime, layer };
    if (h.type === 'hardlink' && h.linkname !== undefined) e.linkname = resolvePath(symlinks, h.linkname, false);
    else if (h.linkname !== undefined && h.type === 'symlink') e.linkname = h.linkname;
    if (h.type !== 'directory') removeTree.add(path);
    // The same path written earlier (in this or a lower layer) is replaced now.
    for (const map of stores) if (map.has(path)) drop(map, path);
    if (entries && listed!(path)) entries.set(path, e);
    if (h.type === 'symlink') symlinks.set(path, e);
    if (!wanted(path, e)) continue;
    if (h.type === 'file') {
      if (h.size > maxFile) throw new ScanError('FILE_TOO_LARGE', `/${path} in layer ${layer} is ${h.size} bytes, more than the ${maxFile}-byte limit for files the scanner reads`, { path, size: h.size, limit: maxFile });
      if (held + h.size > maxTotal) throw new ScanError('FILE_TOO_LARGE', `keeping /${path} (${h.size} bytes) would hold more than ${maxTotal} bytes of file content`, { path, size: h.size, limit: maxTotal });
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const chunk of h.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        n += chunk.length;
      }
      held += n;
      files.set(path, { ...e, content: Buffer.concat(chunks, n) });
    } else if (h.type === 'hardlink' && e.linkname !== undefined) {
      const target = files.get(e.linkname);
      if (target) {
        held += target.content.length;
        files.set(path, { ...e, size: target.content.length, content: target.content });
      }
    }
  }
  finishLayer();
  return new Rootfs(files, symlinks, entries, layer + 1);
}
