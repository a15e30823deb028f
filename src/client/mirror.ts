/**
 * `oc image mirror`: copy many images, given as `SRC=DST` mappings (or `SRC DST [DST...]`), on top of
 * copyImage. Mapping rules (openshift/oc pkg/cli/image/mirror/mappings.go): SRC needs a tag or digest; a DST
 * without tag or digest takes SRC's tag; a destination may appear once. References without a transport
 * prefix are registry references (`quay.io/a/b:1` = `docker://quay.io/a/b:1`).
 *
 * Manifest lists: with `keepManifestList` and no filter, the whole list is copied. Otherwise the filter
 * (`--filter-by-os`, default the running platform) picks entries: one entry is copied as a plain image
 * (unless keepManifestList), several as a list holding only those entries, which has a new digest.
 */
import { readFile } from 'node:fs/promises';
import type { Digest } from '../content/digest.js';
import { digestOf } from '../content/digest.js';
import { copyImage, type CopyOptions, type CopyResult } from './copy.js';
import { ClientError, isClientError, isImageNotFound } from './errors.js';
import { parseRaw } from './image.js';
import { filterManifests, osFilter, referenceName } from './info.js';
import { openDestination, openSource, resolveImage, withTransport, type OpenOptions } from './open.js';
import type { PlatformSpec } from './platform.js';
import type { DockerReference } from './transports/registry/reference.js';
import type { ImageSource, RawManifest } from './transport.js';

export interface MirrorMapping {
  source: string;
  destination: string;
}

/** oc's parseArgs: `SRC=DST ...`, or `SRC DST [DST ...]`. Fills in DST tags and refuses duplicates. */
export function parseMirrorArgs(args: string[], seen: Map<string, string> = new Map()): MirrorMapping[] {
  const pairs: Array<[string, string]> = [];
  const rest: string[] = [];
  for (const a of args) {
    const i = a.indexOf('=');
    if (i === -1) {
      rest.push(a);
      continue;
    }
    const [src, dst] = [a.slice(0, i), a.slice(i + 1)];
    if (!src || !dst) throw new ClientError('REFERENCE_INVALID', 'all arguments must be valid SRC=DST mappings');
    pairs.push([src, dst]);
  }
  if (rest.length > 0 && pairs.length > 0) throw new ClientError('REFERENCE_INVALID', `all arguments must be valid SRC=DST mappings (not ${JSON.stringify(rest[0])})`);
  if (rest.length === 1) throw new ClientError('REFERENCE_INVALID', 'all arguments must be valid SRC=DST mappings, or you must specify one SRC argument and one or more DST arguments');
  for (const d of rest.slice(1)) if (d) pairs.push([rest[0]!, d]);
  const out: MirrorMapping[] = [];
  for (const [s, d] of pairs) {
    const source = withTransport(s);
    let destination = withTransport(d);
    const src = resolveImage(source).ref;
    if (src.transport === 'docker') {
      const r = src as DockerReference;
      if (r.tag === undefined && r.digest === undefined) throw new ClientError('REFERENCE_INVALID', `you must specify a tag or digest for SRC ${s}`);
      const dst = resolveImage(destination).ref;
      if (dst.transport === 'docker') {
        const dr = dst as DockerReference;
        if (dr.tag === undefined && dr.digest === undefined) destination = String(r.tag !== undefined ? dr.with({ tag: r.tag }) : dr.with({ digest: r.digest }));
      }
    }
    if (seen.has(destination)) throw new ClientError('REFERENCE_INVALID', `each destination tag may only be specified once: ${destination}`);
    seen.set(destination, source);
    out.push({ source, destination });
  }
  return out;
}

/** A mapping file: `SRC=DST` or `SRC DST [DST...]` per line, `#` starts a comment. */
export function parseMirrorFile(text: string, filename: string, seen: Map<string, string> = new Map()): MirrorMapping[] {
  const out: MirrorMapping[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (!line) return;
    try {
      out.push(...parseMirrorArgs(line.split(' '), seen));
    } catch (err) {
      throw new ClientError('REFERENCE_INVALID', `file ${filename}, line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}

export async function readMirrorFiles(files: string[], seen: Map<string, string> = new Map()): Promise<MirrorMapping[]> {
  const out: MirrorMapping[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ClientError('REFERENCE_INVALID', `--filename ${f}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    out.push(...parseMirrorFile(text, f, seen));
  }
  return out;
}

export interface MirrorOptions extends Pick<CopyOptions, 'concurrency' | 'onProgress' | 'signal'> {
  src?: OpenOptions;
  dest?: OpenOptions;
  keepManifestList?: boolean;
  filterByOS?: string;
  platform?: PlatformSpec;
  dryRun?: boolean;
  /** Called after each mapping is done (or planned, with dryRun). */
  onMapped?: (r: MirrorResult) => void;
  /**
   * Go on after a mapping fails (oc --continue-on-error): each failure goes to `onError`, and when all are
   * done mirrorImages throws one ClientError (the first failure's code) saying how many failed.
   */
  continueOnError?: boolean;
  /** Skip a mapping whose source image is not there (oc --skip-missing), telling `onSkipped`. */
  skipMissing?: boolean;
  onError?: (m: MirrorMapping, err: unknown) => void;
  onSkipped?: (m: MirrorMapping, err: unknown) => void;
}

/** The source is not there: no such manifest, tag, repository or layout entry. */
export interface MirrorResult extends MirrorMapping {
  /** What the destination stores (for a filtered list: the new list digest). */
  digest: Digest;
  /** The source manifest's digest. */
  sourceDigest: Digest;
  kind: 'image' | 'list' | 'filtered-list';
  /** `os/arch` entries copied from a list. */
  platforms?: string[];
  copy?: CopyResult;
  /** The destination as oc prints it: `registry/repo:tag`. */
  name: string;
}

function withTop(src: ImageSource, top: RawManifest): ImageSource {
  return {
    reference: src.reference,
    getManifest: (d, o) => (d === undefined || d === top.digest ? Promise.resolve(top) : src.getManifest(d, o)),
    getBlob: (d, o) => src.getBlob(d, o),
    close: async () => {},
  };
}

/** Decides what to copy for one mapping: the image, the whole list, one entry, or a filtered list. */
async function plan(src: ImageSource, opts: MirrorOptions): Promise<{ source: ImageSource; multiArch?: 'all'; kind: MirrorResult['kind']; platforms?: string[]; sourceDigest: Digest; digest: Digest }> {
  const top = await src.getManifest(undefined, { signal: opts.signal });
  const parsed = parseRaw(top, `manifest ${top.digest} of ${String(src.reference)}`);
  if (parsed.kind !== 'index') return { source: src, kind: 'image', sourceDigest: top.digest, digest: top.digest };
  const children = parsed.manifests;
  const pstr = (d: (typeof children)[number]) => [d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join('/');
  if (opts.keepManifestList && !opts.filterByOS) {
    return { source: src, multiArch: 'all', kind: 'list', platforms: children.map(pstr), sourceDigest: top.digest, digest: top.digest };
  }
  const kept = filterManifests(children, osFilter(opts.filterByOS, opts.platform));
  if (kept.length === 0) throw new ClientError('PLATFORM_UNKNOWN', `${String(src.reference)}: filtered all images from manifest list (it has: ${children.map(pstr).join(', ')})`);
  if (kept.length === 1 && !opts.keepManifestList) {
    const child = await src.getManifest(kept[0]!.digest, { signal: opts.signal });
    return { source: withTop(src, child), kind: 'image', platforms: [pstr(kept[0]!)], sourceDigest: top.digest, digest: child.digest };
  }
  if (kept.length === children.length) return { source: src, multiArch: 'all', kind: 'list', platforms: children.map(pstr), sourceDigest: top.digest, digest: top.digest };
  const json = JSON.parse(top.bytes.toString('utf8')) as { manifests: Array<{ digest: string }> };
  const keep = new Set(kept.map((d) => d.digest as string));
  json.manifests = json.manifests.filter((m) => keep.has(m.digest));
  const bytes = Buffer.from(JSON.stringify(json));
  const filtered: RawManifest = { bytes, mediaType: top.mediaType, digest: digestOf(bytes) };
  return { source: withTop(src, filtered), multiArch: 'all', kind: 'filtered-list', platforms: kept.map(pstr), sourceDigest: top.digest, digest: filtered.digest };
}

/**
 * Mirrors each mapping in turn. Stops at the first failure, unless `continueOnError`; a missing source is a
 * failure too, unless `skipMissing`.
 */
export async function mirrorImages(mappings: MirrorMapping[], opts: MirrorOptions = {}): Promise<MirrorResult[]> {
  const results: MirrorResult[] = [];
  const failures: Array<{ mapping: MirrorMapping; err: unknown }> = [];
  for (const m of mappings) {
    try {
      const r = await mirrorOne(m, opts);
      results.push(r);
      opts.onMapped?.(r);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (opts.skipMissing && isImageNotFound(err)) {
        opts.onSkipped?.(m, err);
        continue;
      }
      if (!opts.continueOnError) throw err;
      failures.push({ mapping: m, err });
      opts.onError?.(m, err);
    }
  }
  if (failures.length > 0) {
    const first = failures[0]!.err;
    const code = isClientError(first) ? first.code : 'REGISTRY_ERROR';
    const list = failures.map((f) => `${f.mapping.source} → ${f.mapping.destination}: ${f.err instanceof Error ? f.err.message : String(f.err)}`);
    throw new ClientError(code, `one or more errors occurred: ${failures.length} of ${mappings.length} images failed\n  ${list.join('\n  ')}`, { failed: failures.map((f) => f.mapping) }, { cause: first });
  }
  return results;
}

async function mirrorOne(m: MirrorMapping, opts: MirrorOptions): Promise<MirrorResult> {
  const src = await openSource(m.source, opts.src);
  try {
    const p = await plan(src, opts);
    const name = referenceName(resolveImage(m.destination, opts.dest).ref);
    const r: MirrorResult = { ...m, digest: p.digest, sourceDigest: p.sourceDigest, kind: p.kind, name };
    if (p.platforms) r.platforms = p.platforms;
    if (!opts.dryRun) {
      const dst = await openDestination(m.destination, opts.dest);
      try {
        r.copy = await copyImage(p.source, dst, { multiArch: p.multiArch ?? 'system', platform: opts.platform, concurrency: opts.concurrency, onProgress: opts.onProgress, signal: opts.signal });
        r.digest = r.copy.digest;
      } finally {
        await dst.close();
      }
    }
    return r;
  } finally {
    await src.close();
  }
}
