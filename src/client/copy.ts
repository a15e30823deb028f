/**
 * copyImage: source → destination (skopeo copy, crane.Copy). Blobs stream from one to the other and are never
 * held in memory; the destination verifies digest and size while they flow (the ImageDestination contract),
 * and manifests are checked here. Blobs the destination has are skipped, layers go in parallel, and the
 * manifest is converted only when the destination cannot store the source's format, or when asked
 * (`manifestFormat`, skopeo `--format`). Layers keep their bytes unless `layerCompression` asks otherwise
 * (see recompress.ts); then the manifests that name them, and the indexes that name those, are rewritten.
 *
 * On failure copyImage throws without calling commit(); closing the destination then rolls it back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../content/descriptor.js';
import { digestOf, parseDigest, type Digest } from '../content/digest.js';
import type { ParsedManifest } from '../content/manifest.js';
import * as mt from '../content/media-types.js';
import { isNonDistributable } from '../content/media-types.js';
import { convertManifest, convertTo, convertToV2S1, EMPTY_LAYER_BLOB, FORMAT_MEDIA_TYPE, listTypeFor, ociConfigFromDocker, replaceChildren, replaceLayers, type ManifestFormat } from './convert.js';
import { ClientError } from './errors.js';
import { parseRaw } from './image.js';
import { readVerified } from './internal/small.js';
import { forEachLimit } from './internal/pool.js';
import { resolvePlatform, type PlatformSpec } from './platform.js';
import { checkLayerCompression, isRewritableLayer, layerMediaType, planLayer, sniffCompression, stageLayer, type LayerCompression } from './recompress.js';
import type { ImageDestination, ImageReference, ImageSource, RawManifest } from './transport.js';

export type { LayerCompression } from './recompress.js';
export type { ManifestFormat } from './convert.js';

export interface ProgressEvent {
  kind: 'blob-start' | 'blob-progress' | 'blob-done' | 'blob-skipped' | 'manifest';
  digest: Digest;
  /** Bytes transferred so far for this blob (the whole size for done/skipped/manifest). */
  bytes: number;
  total: number;
}

export interface CopyOptions {
  /**
   * For an index (skopeo --multi-arch): `system` (default) copies only the image for `platform` or the running
   * platform; `all` copies every child and the index; `index-only` copies the index alone, not its children.
   */
  multiArch?: 'system' | 'all' | 'index-only';
  /** Overrides for `system` (skopeo --override-os/--override-arch/--override-variant). */
  platform?: PlatformSpec;
  /** Blobs in flight at once (default 6, as skopeo). */
  concurrency?: number;
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Refuse (`DIGEST_CHANGE_REFUSED`) anything that would change a manifest digest (skopeo --preserve-digests). */
  preserveDigests?: boolean;
  /** Refuse unless the destination ends up with this top-level digest. */
  destinationDigest?: Digest;
  /**
   * The image manifest type the destination gets (skopeo --format): `oci`, `v2s2` (Docker schema 2) or `v2s1`
   * (signed Docker schema 1; registries only). With `multiArch: 'all'` the index becomes the matching list type.
   * Unset: the source's type, converted only when the destination cannot store it.
   */
  manifestFormat?: ManifestFormat;
  /** Recompress or decompress layers (skopeo --dest-compress*, --dest-decompress). Unset: layers keep their bytes. */
  layerCompression?: LayerCompression;
}

/** Blobs in flight when not told otherwise: containers/image's default (maxParallelDownloads, 6). */
const DEFAULT_CONCURRENCY = 6;

export interface CopyResult {
  /** The digest of the top-level manifest as the destination stores it. */
  digest: Digest;
  manifests: number;
  blobs: { copied: number; skipped: number };
}

/** The digest a reference is pinned to (`...@sha256:<hex>`), if any. */
export function pinnedDigest(ref: ImageReference): Digest | undefined {
  const m = /@((?:sha256|sha512):[a-f0-9]+)$/.exec(String(ref));
  if (!m) return undefined;
  try {
    return parseDigest(m[1]!);
  } catch {
    return undefined;
  }
}

interface Ctx {
  src: ImageSource;
  dst: ImageDestination;
  opts: CopyOptions;
  /** Why the digest must not change, if it must not. */
  keepDigests: string | undefined;
  result: CopyResult;
  /** Blobs already handled in this copy (indexes share layers), by source digest and target manifest type: the descriptor as stored. */
  seen: Map<string, Promise<Descriptor>>;
  /** Where transformed layers wait for their digest (created on first use). */
  staging: { dir?: Promise<string> };
}

export async function copyImage(src: ImageSource, dst: ImageDestination, opts: CopyOptions = {}): Promise<CopyResult> {
  const srcPin = pinnedDigest(src.reference);
  const dstPin = opts.destinationDigest ?? pinnedDigest(dst.reference);
  const keepDigests = opts.preserveDigests
    ? 'preserveDigests is set'
    : dstPin
      ? `the destination is pinned to ${dstPin}`
      : srcPin
        ? `the source is pinned to ${srcPin}`
        : undefined;
  if (opts.layerCompression) checkLayerCompression(opts.layerCompression);
  if (opts.manifestFormat !== undefined && !(opts.manifestFormat in FORMAT_MEDIA_TYPE)) {
    throw new ClientError('OPTION_INVALID', `manifest format ${JSON.stringify(opts.manifestFormat)}: use oci, v2s2 or v2s1`);
  }
  const ctx: Ctx = { src, dst, opts, keepDigests, result: { digest: '' as Digest, manifests: 0, blobs: { copied: 0, skipped: 0 } }, seen: new Map(), staging: {} };
  opts.signal?.throwIfAborted();

  try {
    const top = await src.getManifest(undefined, { signal: opts.signal });
    const parsed = parseRaw(top, `manifest ${top.digest} of ${String(src.reference)}`);
    let stored: RawManifest;
    if (parsed.kind === 'index') {
      const mode = opts.multiArch ?? 'system';
      if (mode === 'system') {
        const pick = resolvePlatform(parsed.manifests, opts.platform);
        const child = await readChild(ctx, pick);
        stored = await copyManifest(ctx, child.raw, child.parsed, true);
      } else {
        if (mode === 'index-only' && (opts.manifestFormat || opts.layerCompression)) {
          throw new ClientError('OPTION_INVALID', 'a manifest format or layer compression cannot apply to multiArch index-only: the children are not copied');
        }
        stored = await copyManifest(ctx, top, parsed, true, mode === 'all');
      }
    } else {
      stored = await copyManifest(ctx, top, parsed, true);
    }
    if (dstPin && stored.digest !== dstPin) {
      throw new ClientError('DIGEST_CHANGE_REFUSED', `the copy would store ${stored.digest}, but ${dstPin} was asked for`);
    }
    await dst.commit();
    ctx.result.digest = stored.digest;
    return ctx.result;
  } finally {
    if (ctx.staging.dir) await rm(await ctx.staging.dir.catch(() => ''), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function readChild(ctx: Ctx, desc: Descriptor): Promise<{ raw: RawManifest; parsed: ParsedManifest }> {
  const raw = await ctx.src.getManifest(desc.digest, { signal: ctx.opts.signal });
  if (raw.digest !== desc.digest) throw new ClientError('DIGEST_MISMATCH', `asked for manifest ${desc.digest}, got ${raw.digest}`);
  if (raw.bytes.length !== desc.size) throw new ClientError('SIZE_MISMATCH', `manifest ${desc.digest}: ${raw.bytes.length} bytes, the index says ${desc.size}`);
  return { raw, parsed: parseRaw(raw) };
}

function accepts(dst: ImageDestination, mediaType: string): boolean {
  return dst.supportedManifestTypes === undefined || dst.supportedManifestTypes.includes(mediaType);
}

/** Copies one manifest (and, for an image, its blobs; for an index with `children`, every child first). */
async function copyManifest(ctx: Ctx, raw: RawManifest, parsed: ParsedManifest, top: boolean, children = false): Promise<RawManifest> {
  const out = parsed.kind === 'index' ? await copyIndex(ctx, raw, parsed, children) : await copyImageManifest(ctx, raw, parsed);
  const { dst, opts } = ctx;
  const stored = (await dst.putManifest(out, { top, signal: opts.signal })) ?? out;
  if (stored.digest !== raw.digest && ctx.keepDigests) {
    throw new ClientError('DIGEST_CHANGE_REFUSED', `${String(dst.reference)} would store manifest ${raw.digest} as ${stored.digest}, and ${ctx.keepDigests}`);
  }
  ctx.result.manifests++;
  opts.onProgress?.({ kind: 'manifest', digest: stored.digest, bytes: stored.bytes.length, total: stored.bytes.length });
  return stored;
}

async function copyIndex(ctx: Ctx, raw: RawManifest, parsed: ParsedManifest, children: boolean): Promise<RawManifest> {
  const { dst, opts } = ctx;
  if (opts.manifestFormat === 'v2s1') throw new ClientError('UNSUPPORTED_FORMAT', 'schema 1 (v2s1) has no manifest lists: copy one image (multiArch system)');
  if (!accepts(dst, parsed.mediaType)) {
    throw new ClientError('UNSUPPORTED_FORMAT', `${String(dst.reference)} cannot store an index; copy one image (multiArch: 'system')`);
  }
  if (!children) return raw;
  const stored: Descriptor[] = [];
  for (const child of parsed.manifests) {
    const c = await readChild(ctx, child);
    const s = await copyManifest(ctx, c.raw, c.parsed, false, true);
    stored.push({ ...child, mediaType: s.mediaType, digest: s.digest, size: s.bytes.length });
  }
  const changed = stored.some((s, i) => s.digest !== parsed.manifests[i]!.digest || s.mediaType !== parsed.manifests[i]!.mediaType);
  let listType = parsed.mediaType;
  if (opts.manifestFormat) listType = listTypeFor(opts.manifestFormat);
  else if (listType === mt.DOCKER_MANIFEST_LIST && stored.some((s) => s.mediaType === mt.OCI_MANIFEST)) listType = mt.OCI_INDEX;
  if (!changed && listType === parsed.mediaType) return raw;
  if (ctx.keepDigests) throw new ClientError('DIGEST_CHANGE_REFUSED', `index ${raw.digest} would change (its children or its type), and ${ctx.keepDigests}`);
  if (!accepts(dst, listType)) throw new ClientError('UNSUPPORTED_FORMAT', `${String(dst.reference)} cannot store a ${listType}`);
  return replaceChildren(raw, stored, listType);
}

/** The manifest type the image goes to the destination as. */
function targetType(ctx: Ctx, parsed: ParsedManifest): string {
  const { dst, opts } = ctx;
  const fmt = opts.manifestFormat;
  const zstd = opts.layerCompression?.mode === 'compress' && opts.layerCompression.format === 'zstd';
  const where = String(dst.reference);
  if (fmt) {
    const t = FORMAT_MEDIA_TYPE[fmt];
    if (fmt === 'v2s1') {
      if (dst.reference.transport !== 'docker') throw new ClientError('UNSUPPORTED_FORMAT', `${where}: schema 1 (v2s1) can only be pushed to a registry (docker://)`);
      if (zstd) throw new ClientError('OPTION_INVALID', 'schema 1 (v2s1) cannot hold zstd layers: use gzip, or --format oci');
      return parsed.kind === 'schema1' ? parsed.mediaType : t;
    }
    if (!accepts(dst, t)) throw new ClientError('UNSUPPORTED_FORMAT', `${where} cannot store ${fmt} (it takes ${dst.supportedManifestTypes?.join(', ')})`);
    if (zstd && t === mt.DOCKER_MANIFEST_V2) throw new ClientError('OPTION_INVALID', 'Docker schema 2 (v2s2) cannot hold zstd layers: use gzip, or --format oci');
    return t;
  }
  let t = parsed.mediaType;
  if (!accepts(dst, t)) {
    if (parsed.kind !== 'image') throw new ClientError('UNSUPPORTED_FORMAT', `the destination takes ${dst.supportedManifestTypes?.join(', ')}; cannot convert a ${parsed.mediaType} to any of them`);
    t = convertManifest(parsed, dst.supportedManifestTypes ?? []).mediaType;
  }
  if (zstd && t === mt.DOCKER_MANIFEST_V2) {
    // As skopeo should: Docker schema 2 has no zstd layer type, so the image goes as OCI.
    if (!accepts(dst, mt.OCI_MANIFEST)) throw new ClientError('UNSUPPORTED_FORMAT', `${where} takes Docker schema 2 only, which cannot hold zstd layers`);
    t = mt.OCI_MANIFEST;
  }
  return t;
}

async function copyImageManifest(ctx: Ctx, raw: RawManifest, parsed: ParsedManifest): Promise<RawManifest> {
  const { dst, opts } = ctx;
  const target = targetType(ctx, parsed);
  const comp = opts.layerCompression;
  if (parsed.kind === 'schema1' && (target !== parsed.mediaType || comp)) {
    throw new ClientError('UNSUPPORTED_FORMAT', `${String(ctx.src.reference)} is a schema 1 manifest; converting it or its layers is not supported (copy it unchanged)`);
  }
  const toV2S1 = target === mt.DOCKER_SCHEMA1_SIGNED && parsed.kind !== 'schema1';
  // Refuse before moving any bytes: conversion always changes the digest.
  if (target !== parsed.mediaType && ctx.keepDigests) {
    throw new ClientError('DIGEST_CHANGE_REFUSED', `${String(dst.reference)} would get ${raw.digest} as ${target}${accepts(dst, parsed.mediaType) ? '' : ` (it takes ${dst.supportedManifestTypes?.join(', ')})`}, and ${ctx.keepDigests}`);
  }
  // skopeo rewrites a Docker config as an OCI one when it converts v2s2 to OCI; so do we, byte for byte.
  let newConfig: { desc: Descriptor; bytes: Buffer } | undefined;
  if (target === mt.OCI_MANIFEST && parsed.mediaType === mt.DOCKER_MANIFEST_V2 && parsed.config?.mediaType === mt.DOCKER_CONFIG) {
    const c = parsed.config;
    const bytes = ociConfigFromDocker(await readVerified(await ctx.src.getBlob(c, { signal: opts.signal }), c, `config ${c.digest}`), `config ${c.digest}`);
    newConfig = { desc: { mediaType: mt.DOCKER_CONFIG, digest: digestOf(bytes), size: bytes.length }, bytes };
  }
  const base = target === parsed.mediaType || toV2S1 ? raw : convertTo(newConfig ? { ...parsed, config: newConfig.desc } : parsed, target);
  const baseParsed = base === raw ? parsed : parseRaw(base);
  if (comp && ctx.keepDigests) await refuseLayerChanges(ctx, baseParsed);

  const copyable = (d: Descriptor) => !(isNonDistributable(d.mediaType) && (d.urls?.length ?? 0) > 0);
  const config = baseParsed.config;
  const layers = [...baseParsed.layers];
  const jobs: Array<{ desc: Descriptor; done: (d: Descriptor) => void }> = [];
  if (newConfig && config) await putBytes(ctx, config, newConfig.bytes);
  else if (config) jobs.push({ desc: config, done: () => undefined });
  layers.forEach((l, i) => {
    // Schema 1 records no sizes (the parser says 0): the blobs are checked by digest alone.
    if (copyable(l)) jobs.push({ desc: parsed.kind === 'schema1' ? { ...l, size: -1 } : l, done: (d) => (layers[i] = d) });
  });
  const layerType = base.mediaType === mt.DOCKER_SCHEMA1_SIGNED || base.mediaType === mt.DOCKER_SCHEMA1 ? mt.DOCKER_MANIFEST_V2 : base.mediaType;
  await forEachLimit(
    jobs,
    Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY),
    async (job, signal) => {
      const isLayer = job.desc !== config && parsed.kind !== 'schema1';
      const key = `${job.desc.digest} ${layerType}`;
      let p = ctx.seen.get(key);
      if (!p) {
        p = isLayer && comp ? copyLayer(ctx, job.desc, layerType, comp, signal) : copyBlob(ctx, job.desc, signal).then(() => job.desc);
        ctx.seen.set(key, p);
      }
      job.done(await p);
    },
    opts.signal,
  );
  const changed = parsed.kind !== 'schema1' && layers.some((l, i) => l.digest !== baseParsed.layers[i]!.digest || l.mediaType !== baseParsed.layers[i]!.mediaType || l.size !== baseParsed.layers[i]!.size);
  const out = changed ? replaceLayers(base, layers) : base;
  if (!toV2S1) return out;

  // Schema 1 embeds the config and names the empty layer for history entries that made none.
  const configBytes = await readVerified(await ctx.src.getBlob(config!, { signal: opts.signal }), config!, `config ${config!.digest}`);
  const ref = dst.reference as ImageReference & { repository?: string; tag?: string };
  const v1 = convertToV2S1(out === raw ? parsed : parseRaw(out), configBytes, ref.repository ?? '', ref.tag ?? '');
  if (v1.needsEmptyLayer) await putBytes(ctx, EMPTY_LAYER_BLOB.descriptor, EMPTY_LAYER_BLOB.bytes);
  return v1.manifest;
}

/** With digests pinned, refuses (before anything moves) a layer compression that would change a layer. */
async function refuseLayerChanges(ctx: Ctx, parsed: ParsedManifest): Promise<void> {
  for (const l of parsed.layers) {
    if (!isRewritableLayer(l.mediaType)) continue;
    const stream = await ctx.src.getBlob(l, { signal: ctx.opts.signal });
    const actual = await sniffCompression(stream).finally(() => stream.destroy());
    if (planLayer(actual, ctx.opts.layerCompression!).kind !== 'keep' || layerMediaType(parsed.mediaType, actual) !== l.mediaType) {
      throw new ClientError('DIGEST_CHANGE_REFUSED', `layer ${l.digest} would be ${ctx.opts.layerCompression!.mode === 'decompress' ? 'decompressed' : 'compressed'} (its manifest would change), and ${ctx.keepDigests}`);
    }
  }
}

function counted(ctx: Ctx, stream: Readable, digest: Digest, total: number): Readable {
  const progress = ctx.opts.onProgress;
  if (!progress) return stream;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      progress({ kind: 'blob-progress', digest, bytes, total });
      cb(null, chunk);
    },
  });
  pipeline(stream, counter).catch(() => undefined);
  return counter;
}

async function copyBlob(ctx: Ctx, desc: Descriptor, signal: AbortSignal): Promise<void> {
  const { src, dst, opts } = ctx;
  const progress = opts.onProgress;
  // Already there, or mounted from the source repository on the same registry: no bytes move.
  if ((await dst.hasBlob(desc, { signal })) || (await dst.tryMount?.(desc, src.reference, { signal }))) {
    ctx.result.blobs.skipped++;
    progress?.({ kind: 'blob-skipped', digest: desc.digest, bytes: desc.size, total: desc.size });
    return;
  }
  progress?.({ kind: 'blob-start', digest: desc.digest, bytes: 0, total: desc.size });
  const stream = await src.getBlob(desc, { signal });
  await dst.putBlob(desc, counted(ctx, stream, desc.digest, desc.size), { signal });
  ctx.result.blobs.copied++;
  progress?.({ kind: 'blob-done', digest: desc.digest, bytes: desc.size, total: desc.size });
}

async function putBytes(ctx: Ctx, desc: Descriptor, bytes: Uint8Array): Promise<void> {
  if (await ctx.dst.hasBlob(desc, { signal: ctx.opts.signal })) return;
  await ctx.dst.putBlob(desc, Readable.from([Buffer.from(bytes)]), { signal: ctx.opts.signal });
  ctx.result.blobs.copied++;
}

/**
 * Copies one layer under `comp`: its first bytes tell what it is; a layer to keep is copied as it is (its
 * media type corrected when it named the wrong compression), else it is transformed into a staged file and
 * that is copied. Resolves to the descriptor the destination's manifest names.
 */
async function copyLayer(ctx: Ctx, desc: Descriptor, manifestType: string, comp: LayerCompression, signal: AbortSignal): Promise<Descriptor> {
  if (!isRewritableLayer(desc.mediaType)) {
    await copyBlob(ctx, desc, signal);
    return desc;
  }
  const { src, dst, opts } = ctx;
  const stream = await src.getBlob(desc, { signal });
  let actual;
  try {
    actual = await sniffCompression(stream);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const op = planLayer(actual, comp);
  if (op.kind === 'keep') {
    stream.destroy();
    const kept = { ...desc, mediaType: layerMediaType(manifestType, actual) ?? desc.mediaType };
    await copyBlob(ctx, kept, signal);
    return kept;
  }
  const mediaType = layerMediaType(manifestType, op.to);
  if (!mediaType) {
    stream.destroy();
    throw new ClientError('UNSUPPORTED_FORMAT', `a ${manifestType} cannot name a ${op.to} layer`);
  }
  ctx.staging.dir ??= mkdtemp(join(tmpdir(), 'berth-recompress-'));
  opts.onProgress?.({ kind: 'blob-start', digest: desc.digest, bytes: 0, total: desc.size });
  const staged = await stageLayer(counted(ctx, stream, desc.digest, desc.size), desc, op, mediaType, await ctx.staging.dir, comp.level, signal);
  try {
    const out = staged.descriptor;
    if (await dst.hasBlob(out, { signal })) {
      ctx.result.blobs.skipped++;
      opts.onProgress?.({ kind: 'blob-skipped', digest: out.digest, bytes: out.size, total: out.size });
    } else {
      await dst.putBlob(out, staged.open(), { signal });
      ctx.result.blobs.copied++;
      opts.onProgress?.({ kind: 'blob-done', digest: desc.digest, bytes: desc.size, total: desc.size });
    }
    return out;
  } finally {
    await staged.discard();
  }
}
