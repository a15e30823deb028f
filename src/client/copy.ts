/**
 * copyImage: source → destination (skopeo copy, crane.Copy). Blobs stream from one to the other and are never
 * held in memory; the destination verifies digest and size while they flow (the ImageDestination contract),
 * and manifests are checked here. Blobs the destination has are skipped, layers go in parallel, and the
 * manifest is converted only when the destination cannot store the source's format.
 *
 * On failure copyImage throws without calling commit(); closing the destination then rolls it back.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../content/descriptor.js';
import { parseDigest, type Digest } from '../content/digest.js';
import type { ParsedManifest } from '../content/manifest.js';
import { isNonDistributable } from '../content/media-types.js';
import { convertManifest, convertedBlobType } from './convert.js';
import { ClientError } from './errors.js';
import { parseRaw } from './image.js';
import { forEachLimit } from './internal/pool.js';
import { resolvePlatform, type PlatformSpec } from './platform.js';
import type { ImageDestination, ImageReference, ImageSource, RawManifest } from './transport.js';

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
  /** Blobs in flight at once (default 4). */
  concurrency?: number;
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Refuse (`DIGEST_CHANGE_REFUSED`) anything that would change a manifest digest (skopeo --preserve-digests). */
  preserveDigests?: boolean;
  /** Refuse unless the destination ends up with this top-level digest. */
  destinationDigest?: Digest;
}

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
  /** Blobs already handled in this copy (indexes share layers). */
  seen: Set<string>;
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
  const ctx: Ctx = { src, dst, opts, keepDigests, result: { digest: '' as Digest, manifests: 0, blobs: { copied: 0, skipped: 0 } }, seen: new Set() };
  opts.signal?.throwIfAborted();

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
  const { dst, opts } = ctx;
  let out = raw;
  if (!accepts(dst, parsed.mediaType)) {
    if (parsed.kind === 'index') {
      throw new ClientError('UNSUPPORTED_FORMAT', `${String(dst.reference)} cannot store an index; copy one image (multiArch: 'system')`);
    }
    // Refuse before moving any bytes: conversion always changes the digest.
    if (ctx.keepDigests) {
      throw new ClientError('DIGEST_CHANGE_REFUSED', `${String(dst.reference)} cannot store a ${parsed.mediaType} unchanged (it takes ${dst.supportedManifestTypes?.join(', ')}), and ${ctx.keepDigests}`);
    }
    out = convertManifest(parsed, dst.supportedManifestTypes ?? []);
  }
  if (parsed.kind === 'index') {
    if (children) {
      for (const child of parsed.manifests) {
        const c = await readChild(ctx, child);
        const storedChild = await copyManifest(ctx, c.raw, c.parsed, false, true);
        if (storedChild.digest !== child.digest) {
          throw new ClientError('UNSUPPORTED_FORMAT', `child ${child.digest} would be stored as ${storedChild.digest}; the index would no longer match`);
        }
      }
    }
  } else {
    const blobs = [parsed.config, ...parsed.layers].filter((d): d is Descriptor => d !== undefined && !(isNonDistributable(d.mediaType) && (d.urls?.length ?? 0) > 0));
    const unique = blobs.filter((d) => !ctx.seen.has(d.digest) && (ctx.seen.add(d.digest), true));
    await forEachLimit(unique, Math.max(1, opts.concurrency ?? 4), (d, signal) => copyBlob(ctx, out === raw ? d : { ...d, mediaType: convertedBlobType(d.mediaType, out.mediaType) }, signal), opts.signal);
  }
  const stored = (await dst.putManifest(out, { top, signal: opts.signal })) ?? out;
  if (stored.digest !== raw.digest && ctx.keepDigests) {
    throw new ClientError('DIGEST_CHANGE_REFUSED', `${String(dst.reference)} would store manifest ${raw.digest} as ${stored.digest}, and ${ctx.keepDigests}`);
  }
  ctx.result.manifests++;
  opts.onProgress?.({ kind: 'manifest', digest: stored.digest, bytes: stored.bytes.length, total: stored.bytes.length });
  return stored;
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
  let body = stream;
  if (progress) {
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        bytes += chunk.length;
        progress({ kind: 'blob-progress', digest: desc.digest, bytes, total: desc.size });
        cb(null, chunk);
      },
    });
    pipeline(stream, counter).catch(() => undefined);
    body = counter;
  }
  await dst.putBlob(desc, body, { signal });
  ctx.result.blobs.copied++;
  progress?.({ kind: 'blob-done', digest: desc.digest, bytes: desc.size, total: desc.size });
}
