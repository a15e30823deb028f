/**
 * Layer recompression on copy (skopeo `--dest-compress`, `--dest-decompress`, `--dest-compress-format`,
 * `--dest-compress-level`). What a layer *is* is read from its first bytes, not from its media type:
 * docker-archive serves plain tars behind a `tar.gzip` type.
 *
 * A transformed layer has a digest nobody knows before the last byte, and every destination checks digests
 * while the bytes flow, so the new bytes go to a temporary file first (streamed, hashed as they are written),
 * then to the destination under their new descriptor. Nothing is held in memory.
 *
 * zstd needs `zlib.createZstdCompress` (Node 22.15 and later). On Node 20 asking for zstd is refused with
 * `UNSUPPORTED_FORMAT` before any bytes move.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import type { Descriptor } from '../content/descriptor.js';
import * as mt from '../content/media-types.js';
import { ClientError } from './errors.js';
import { compressionOf, peek, type Compression } from './internal/compression.js';
import { hasher, verifier } from './internal/verify.js';

export type CompressionFormat = 'gzip' | 'zstd';

/**
 * What to do with layers on the way to the destination. Unset (the default) keeps every layer byte for byte.
 * - `compress`: plain tar layers are compressed with `format` (default gzip). Layers compressed with another
 *   algorithm are recompressed only when `format` is given; layers already in `format` are kept as they are
 *   (as skopeo keeps them: `level` does not cause a recompression).
 * - `decompress`: compressed layers are stored as plain tars.
 */
export interface LayerCompression {
  mode: 'compress' | 'decompress';
  format?: CompressionFormat;
  /** gzip 1–9 (default: zlib's 6), zstd 1–22. */
  level?: number;
}

type ZstdZlib = { createZstdCompress?: (o?: object) => Transform; createZstdDecompress?: () => Transform; constants: Record<string, number> };
const z = zlib as unknown as ZstdZlib;

/** True when this Node's zlib has zstd (22.15+). */
export function hasZstd(): boolean {
  return typeof z.createZstdCompress === 'function' && typeof z.createZstdDecompress === 'function';
}

function noZstd(what: string): ClientError {
  return new ClientError('UNSUPPORTED_FORMAT', `${what} needs zstd, and this Node ${process.version} has none (zlib has zstd from Node 22.15); use gzip`);
}

/** Checks the options before any bytes move: `OPTION_INVALID` for a bad level, `UNSUPPORTED_FORMAT` for zstd without zstd. */
export function checkLayerCompression(c: LayerCompression): void {
  if (c.format !== undefined && c.format !== 'gzip' && c.format !== 'zstd') {
    throw new ClientError('OPTION_INVALID', `compression format ${JSON.stringify(c.format)}: use gzip or zstd`);
  }
  if (c.mode === 'decompress' && (c.format !== undefined || c.level !== undefined)) {
    throw new ClientError('OPTION_INVALID', 'cannot compress and decompress at the same time');
  }
  if (c.level !== undefined) {
    const max = c.format === 'zstd' ? 22 : 9;
    if (!Number.isInteger(c.level) || c.level < 1 || c.level > max) {
      throw new ClientError('OPTION_INVALID', `compression level ${String(c.level)}: ${c.format ?? 'gzip'} takes 1 to ${max}`);
    }
  }
  if (c.format === 'zstd' && !hasZstd()) throw noZstd('--dest-compress-format zstd');
}

/** The layer media types this module may rewrite; anything else (artifacts, non-distributable layers) is kept. */
const OCI_LAYERS: Record<Compression, string> = { none: mt.OCI_LAYER_TAR, gzip: mt.OCI_LAYER_GZIP, zstd: mt.OCI_LAYER_ZSTD };
const DOCKER_LAYERS: Partial<Record<Compression, string>> = { none: mt.DOCKER_LAYER_TAR, gzip: mt.DOCKER_LAYER_GZIP };

export function isRewritableLayer(mediaType: string): boolean {
  return Object.values(OCI_LAYERS).includes(mediaType) || Object.values(DOCKER_LAYERS).includes(mediaType);
}

/**
 * The media type of a layer with `compression` in a manifest of `manifestType`; undefined when that manifest
 * type has none (Docker schema 2 has no zstd layers).
 */
export function layerMediaType(manifestType: string, compression: Compression): string | undefined {
  return manifestType === mt.OCI_MANIFEST ? OCI_LAYERS[compression] : DOCKER_LAYERS[compression];
}

/** What will happen to one layer, decided from its first bytes. */
export type LayerOp = { kind: 'keep' } | { kind: 'transform'; from: Compression; to: Compression };

export function planLayer(actual: Compression, c: LayerCompression): LayerOp {
  if (c.mode === 'decompress') return actual === 'none' ? { kind: 'keep' } : { kind: 'transform', from: actual, to: 'none' };
  const to = c.format ?? 'gzip';
  if (actual === 'none') return { kind: 'transform', from: 'none', to };
  if (c.format !== undefined && actual !== c.format) return { kind: 'transform', from: actual, to };
  return { kind: 'keep' };
}

/** Reads the first bytes of `stream` (which stays whole) and tells its compression. */
export async function sniffCompression(stream: Readable): Promise<Compression> {
  return compressionOf(await peek(stream, 4));
}

function decompressor(from: Compression): Transform | undefined {
  if (from === 'none') return undefined;
  if (from === 'gzip') return zlib.createGunzip();
  if (!hasZstd()) throw noZstd('reading a zstd layer');
  return z.createZstdDecompress!();
}

function compressor(to: Compression, level: number | undefined): Transform | undefined {
  if (to === 'none') return undefined;
  if (to === 'gzip') return zlib.createGzip(level === undefined ? {} : { level });
  if (!hasZstd()) throw noZstd('writing a zstd layer');
  const params = level === undefined ? {} : { params: { [z.constants['ZSTD_c_compressionLevel']!]: level } };
  return z.createZstdCompress!(params);
}

/** A transformed layer waiting in a temporary file. */
export interface StagedLayer {
  descriptor: Descriptor;
  /** A fresh stream of the staged bytes. */
  open(): Readable;
  /** Removes the temporary file; safe to call more than once. */
  discard(): Promise<void>;
}

/**
 * Streams `source` (checked against `desc` as it flows) through the transformation into a file in `dir`,
 * hashing the result. The caller owns the StagedLayer and must `discard()` it.
 */
export async function stageLayer(source: Readable, desc: Descriptor, op: Extract<LayerOp, { kind: 'transform' }>, mediaType: string, dir: string, level: number | undefined, signal?: AbortSignal): Promise<StagedLayer> {
  const path = join(dir, `layer-${randomBytes(8).toString('hex')}`);
  const steps: Array<Readable | Transform | NodeJS.WritableStream> = [source, verifier(desc, `layer ${desc.digest}`)];
  const d = decompressor(op.from);
  const c = compressor(op.to, level);
  if (d) steps.push(d);
  if (c) steps.push(c);
  const h = hasher();
  steps.push(h, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  try {
    await (pipeline as (...s: unknown[]) => Promise<void>)(...steps, { signal });
  } catch (err) {
    source.destroy();
    await unlink(path).catch(() => undefined);
    if (err instanceof Error && (err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      throw new ClientError('DIGEST_MISMATCH', `layer ${desc.digest}: its ${op.from} data is corrupt (${err.message})`, undefined, { cause: err });
    }
    throw err;
  }
  const size = (await stat(path)).size;
  const descriptor: Descriptor = { mediaType, digest: h.digest(), size };
  if (desc.annotations) descriptor.annotations = desc.annotations;
  return {
    descriptor,
    open: () => createReadStream(path),
    discard: () => rm(path, { force: true }),
  };
}
