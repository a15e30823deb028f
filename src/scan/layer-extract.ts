/**
 * Per-layer inventory extracts: what one layer contributes to an image's package inventory, re-encoded as a
 * small tar that `readRootfs` applies exactly like the layer itself. A registry reads each layer once, keeps
 * its extract by layer digest, and builds the inventory of every image that shares the layer from the
 * extracts, so a base layer used by a thousand images is read once.
 *
 * An extract keeps, in the layer's order:
 * - whiteouts and opaque markers (they remove lower layers' files);
 * - the content of files whose name is one an inventory reads (`os-release`, `status`, `installed`,
 *   `rpmdb.sqlite`, `Packages`, files in `status.d/` and `content_manifests/`), and hard links with such names;
 * - every other entry (symlink, directory, file, device) whose name is a component of the inventory's paths
 *   (`etc`, `lib`, `usr`, `var`, `rpm`, `dpkg`, ...), without content: these re-point or replace the
 *   directories the databases live in (`lib -> usr/lib`, `var/lib/rpm -> ../../usr/lib/sysimage/rpm`).
 *
 * What it leaves out cannot change which database files the final filesystem holds, with one exception: a
 * database reached through a symlinked directory whose own name is none of those components (a path like
 * `var/lib/dpkg -> /srv/x` followed by a symlinked `/srv`), which no distribution builds.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { compressionOf, peek } from '../client/internal/compression.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader } from '../client/tar/header.js';
import type { SourceOptions } from '../client/transport.js';
import { ScanError } from './errors.js';
import { INVENTORY_PATHS } from './inventory/index.js';
import { DEFAULT_MAX_FILE_BYTES, walkLayers, type LayerLike } from './rootfs.js';

/** Names of the files an inventory reads. */
const FILE_NAMES = new Set(INVENTORY_PATHS.filter((p) => !p.endsWith('/')).map((p) => p.slice(p.lastIndexOf('/') + 1)));
/** Directories whose every file an inventory may read. */
const DIR_NAMES = new Set(INVENTORY_PATHS.filter((p) => p.endsWith('/')).map((p) => p.slice(0, -1).split('/').pop()!));
/** Every component of the inventory's paths. */
const COMPONENTS = new Set(INVENTORY_PATHS.flatMap((p) => p.split('/').filter(Boolean)));

function split(path: string): { base: string; parent: string } {
  const parts = path.split('/');
  return { base: parts[parts.length - 1] ?? '', parent: parts[parts.length - 2] ?? '' };
}

/** Whether an entry's content may be part of an inventory (by its name and its directory's name). */
export function isInventoryContent(path: string): boolean {
  const { base, parent } = split(path);
  return FILE_NAMES.has(base) || DIR_NAMES.has(parent);
}

export interface LayerExtract {
  /** The extract as an uncompressed tar; empty (0 bytes) when the layer holds nothing an inventory reads. */
  tar: Buffer;
  /** `sha256:` digest of `tar`, or `''` when it is empty. */
  digest: string;
  entries: number;
}

/**
 * Reads one layer (its uncompressed tar) once and returns its extract. Kept files are capped like
 * `readRootfs` caps them (`maxFileBytes`, `FILE_TOO_LARGE`).
 */
export async function extractInventoryLayer(layer: LayerLike, opts: SourceOptions & { maxFileBytes?: number; maxTotalBytes?: number } = {}): Promise<LayerExtract> {
  const maxFile = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxTotal = opts.maxTotalBytes ?? 4 * DEFAULT_MAX_FILE_BYTES;
  const parts: Buffer[] = [];
  let total = 0;
  let entries = 0;
  const push = (b: Buffer) => {
    total += b.length;
    if (total > maxTotal) throw new ScanError('FILE_TOO_LARGE', `the inventory files of this layer are more than ${maxTotal} bytes`, { limit: maxTotal });
    parts.push(b);
  };
  const header = (h: Pick<TarHeader, 'name' | 'type'> & Partial<TarHeader>) => encodeHeader({ size: 0, mode: 0o644, mtime: 0, uid: 0, gid: 0, ...h });
  for await (const ev of walkLayers([layer], opts)) {
    if (ev.kind === 'whiteout') {
      const { base } = split(ev.path);
      const dir = ev.path.slice(0, ev.path.length - base.length);
      push(header({ name: `${dir}.wh.${base}`, type: 'file' }));
    } else if (ev.kind === 'opaque') {
      push(header({ name: ev.path ? `${ev.path}/.wh..wh..opq` : '.wh..wh..opq', type: 'file' }));
    } else {
      const h = ev.entry;
      const { base } = split(ev.path);
      const content = isInventoryContent(ev.path);
      if (h.type === 'file' && content) {
        if (h.size > maxFile) throw new ScanError('FILE_TOO_LARGE', `/${ev.path} is ${h.size} bytes, more than the ${maxFile}-byte limit for files the scanner reads`, { path: ev.path, size: h.size, limit: maxFile });
        push(header({ name: ev.path, type: 'file', size: h.size, mode: h.mode }));
        for await (const chunk of h.body as AsyncIterable<Buffer>) push(chunk);
        push(padding(h.size));
      } else if (h.type === 'symlink' || h.type === 'hardlink') {
        if (!content && !COMPONENTS.has(base)) continue;
        push(header({ name: ev.path, type: h.type, linkname: h.linkname ?? '' }));
      } else if (COMPONENTS.has(base) || content) {
        // Replaces what lower layers had at this path (a directory where a symlink was, a file over a directory).
        push(header({ name: ev.path, type: h.type === 'directory' ? 'directory' : 'file', mode: h.type === 'directory' ? 0o755 : 0o644 }));
      } else continue;
    }
    entries++;
  }
  if (entries === 0) return { tar: Buffer.alloc(0), digest: '', entries: 0 };
  push(END_OF_ARCHIVE);
  const tar = Buffer.concat(parts, total);
  return { tar, digest: `sha256:${createHash('sha256').update(tar).digest('hex')}`, entries };
}

/**
 * Inflated bytes per gunzip callback. zlib's 16 KiB default makes a round trip between the thread pool and
 * the event loop (and a tar-reader step) for every 16 KiB of a layer; with 256 KiB the scan reads a layer at
 * about the speed of a plain gunzip.
 */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;

/** A layer whose bytes `open` streams as stored (gzip or plain tar; zstd is `UNSUPPORTED_FORMAT`). */
export function blobLayer(open: (opts: SourceOptions) => Promise<Readable>): LayerLike {
  return {
    async uncompressed(opts: SourceOptions = {}) {
      const stream = await open(opts);
      const compression = compressionOf(await peek(stream, 4));
      if (compression === 'none') return stream;
      if (compression === 'zstd') {
        stream.destroy();
        throw new ScanError('UNSUPPORTED_FORMAT', 'zstd-compressed layers are not supported (Node 20 has no zstd)');
      }
      const out = new PassThrough({ highWaterMark: GUNZIP_CHUNK_BYTES });
      pipeline(stream, createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), out).catch((err: unknown) => out.destroy(err as Error));
      return out;
    },
  };
}

/** A layer made of an extract (or any uncompressed tar held in memory). */
export function extractLayer(tar: Buffer): LayerLike {
  return { uncompressed: async () => Readable.from([tar]) };
}

/**
 * The key of an inventory built from these extracts (bottom layer first): images whose layers leave the
 * same inventory files share it. Empty extracts do not count.
 */
export function inventoryKey(extractDigests: readonly string[]): string {
  return `sha256:${createHash('sha256').update(extractDigests.filter(Boolean).join('\n')).digest('hex')}`;
}
