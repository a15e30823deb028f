/**
 * Read-only, lazy views over an ImageSource (go-containerregistry v1.Image / v1.ImageIndex / v1.Layer).
 * Opening a view reads only its manifest; configs are read on first use and layer content only when a
 * stream is asked for. Every byte handed out is checked against its descriptor as it flows.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor, Platform } from '../content/descriptor.js';
import { digestAlgorithm, digestOf, type Digest } from '../content/digest.js';
import { ContentError } from '../content/errors.js';
import { parseManifest, type ParsedManifest } from '../content/manifest.js';
import { DOCKER_SCHEMA1_SIGNED } from '../content/media-types.js';
import { ClientError } from './errors.js';
import { decompressed } from './internal/compression.js';
import { readVerified } from './internal/small.js';
import { verifier } from './internal/verify.js';
import { resolvePlatform, type PlatformSpec } from './platform.js';
import type { ImageSource, RawManifest, SourceOptions } from './transport.js';

/** The fields of an image config this library uses; the rest is in `configJSON()`. */
export interface ImageConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface Layer {
  readonly descriptor: Descriptor;
  /** The digest of the uncompressed tar, from the config's `rootfs.diff_ids`. */
  diffID(): Promise<Digest | undefined>;
  /** The bytes as stored (e.g. gzip), verified against the descriptor while they flow. */
  compressed(opts?: SourceOptions): Promise<Readable>;
  /** The tar: gzip is inflated, an uncompressed layer passes through; zstd throws `UNSUPPORTED_FORMAT`. */
  uncompressed(opts?: SourceOptions): Promise<Readable>;
}

export interface Image {
  readonly kind: 'image';
  readonly digest: Digest;
  readonly parsed: ParsedManifest;
  /** From the index entry this image was picked by, else from its config. */
  readonly platform: Platform | undefined;
  manifest(): Promise<RawManifest>;
  configJSON(opts?: SourceOptions): Promise<Buffer>;
  config(opts?: SourceOptions): Promise<ImageConfig>;
  layers(): Layer[];
}

export interface Index {
  readonly kind: 'index';
  readonly digest: Digest;
  readonly parsed: ParsedManifest;
  manifest(): Promise<RawManifest>;
  children(): Descriptor[];
  /** The image the child `digest` names. */
  image(digest: Digest, opts?: SourceOptions): Promise<Image>;
  /** A nested index. */
  index(digest: Digest, opts?: SourceOptions): Promise<Index>;
}

/** Parses manifest bytes, turning content errors into `MANIFEST_INVALID` and checking the digest. */
export function parseRaw(raw: RawManifest, where = `manifest ${raw.digest}`): ParsedManifest {
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(raw.bytes, raw.mediaType);
  } catch (err) {
    if (err instanceof ContentError) throw new ClientError('MANIFEST_INVALID', `${where}: ${err.message}`, undefined, { cause: err });
    throw err;
  }
  // A signed schema 1 manifest is named by its payload (the bytes without the signatures).
  const got = digestOf(raw.mediaType === DOCKER_SCHEMA1_SIGNED ? parsed.payload : raw.bytes, digestAlgorithm(raw.digest));
  if (got !== raw.digest) throw new ClientError('DIGEST_MISMATCH', `${where}: content has digest ${got}`, { expected: raw.digest, got });
  return parsed;
}

function makeLayer(source: ImageSource, descriptor: Descriptor, diffID: () => Promise<Digest | undefined>): Layer {
  const compressed = async (opts: SourceOptions = {}) => {
    const raw = await source.getBlob(descriptor, opts);
    const out = verifier(descriptor, `layer ${descriptor.digest}`);
    pipeline(raw, out).catch(() => undefined);
    return out;
  };
  return {
    descriptor,
    diffID,
    compressed,
    async uncompressed(opts) {
      const { stream } = await decompressed(await compressed(opts));
      const out = new PassThrough();
      pipeline(stream, out).catch((err: unknown) => out.destroy(err as Error));
      return out;
    },
  };
}

function makeImage(source: ImageSource, raw: RawManifest, parsed: ParsedManifest, platform: Platform | undefined): Image {
  if (parsed.kind !== 'image' || !parsed.config) throw new ClientError('UNSUPPORTED_FORMAT', `${raw.mediaType} ${raw.digest} is not an image manifest`);
  const configDesc = parsed.config;
  let configBytes: Promise<Buffer> | undefined;
  const configJSON = (opts: SourceOptions = {}) => {
    configBytes ??= source.getBlob(configDesc, opts).then((s) => readVerified(s, configDesc, `config ${configDesc.digest}`));
    return configBytes;
  };
  const config = async (opts?: SourceOptions): Promise<ImageConfig> => {
    const bytes = await configJSON(opts);
    try {
      const v = JSON.parse(bytes.toString('utf8')) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as ImageConfig;
    } catch (cause) {
      throw new ClientError('MANIFEST_INVALID', `config ${configDesc.digest} is not a JSON object`, undefined, { cause });
    }
  };
  return {
    kind: 'image',
    digest: raw.digest,
    parsed,
    platform,
    manifest: async () => raw,
    configJSON,
    config,
    layers: () =>
      parsed.layers.map((l, i) =>
        makeLayer(source, l, async () => {
          const id = (await config()).rootfs?.diff_ids?.[i];
          return typeof id === 'string' ? (id as Digest) : undefined;
        }),
      ),
  };
}

function makeIndex(source: ImageSource, raw: RawManifest, parsed: ParsedManifest): Index {
  const child = async (digest: Digest, opts?: SourceOptions) => {
    const desc = parsed.manifests.find((d) => d.digest === digest);
    if (!desc) throw new ClientError('MANIFEST_UNKNOWN', `${digest} is not a child of index ${raw.digest}`);
    const r = await source.getManifest(digest, opts);
    if (r.bytes.length !== desc.size) throw new ClientError('SIZE_MISMATCH', `manifest ${digest}: ${r.bytes.length} bytes, the index says ${desc.size}`);
    return { desc, raw: r, parsed: parseRaw(r) };
  };
  return {
    kind: 'index',
    digest: raw.digest,
    parsed,
    manifest: async () => raw,
    children: () => [...parsed.manifests],
    async image(digest, opts) {
      const c = await child(digest, opts);
      return makeImage(source, c.raw, c.parsed, c.desc.platform);
    },
    async index(digest, opts) {
      const c = await child(digest, opts);
      if (c.parsed.kind !== 'index') throw new ClientError('UNSUPPORTED_FORMAT', `${digest} is not an index`);
      return makeIndex(source, c.raw, c.parsed);
    },
  };
}

/** The view of whatever the source's reference names: an image or an index. */
export async function openManifest(source: ImageSource, opts: SourceOptions = {}): Promise<Image | Index> {
  const raw = await source.getManifest(undefined, opts);
  const parsed = parseRaw(raw);
  if (parsed.kind === 'index') return makeIndex(source, raw, parsed);
  const image = makeImage(source, raw, parsed, undefined);
  const cfg = await image.config(opts).catch(() => undefined);
  if (!cfg || typeof cfg.os !== 'string' || typeof cfg.architecture !== 'string') return image;
  const platform: Platform = { os: cfg.os, architecture: cfg.architecture };
  if (typeof cfg.variant === 'string') platform.variant = cfg.variant;
  return { ...image, platform };
}

/**
 * The image the source names; an index is resolved to the child for `platform` (default: the running
 * platform), following nested indexes.
 *
 * @example
 * const img = await openImage(source, { platform: { os: 'linux', architecture: 'arm64' } })
 * for (const layer of img.layers()) await pipeline(await layer.uncompressed(), sink)
 */
export async function openImage(source: ImageSource, opts: SourceOptions & { platform?: PlatformSpec } = {}): Promise<Image> {
  let view = await openManifest(source, opts);
  for (let depth = 0; view.kind === 'index'; depth++) {
    if (depth > 4) throw new ClientError('UNSUPPORTED_FORMAT', 'indexes nested too deeply');
    const pick = resolvePlatform(view.children(), opts.platform);
    const raw = await source.getManifest(pick.digest, opts);
    if (raw.bytes.length !== pick.size) throw new ClientError('SIZE_MISMATCH', `manifest ${pick.digest}: ${raw.bytes.length} bytes, the index says ${pick.size}`);
    const parsed = parseRaw(raw);
    view = parsed.kind === 'index' ? makeIndex(source, raw, parsed) : makeImage(source, raw, parsed, pick.platform);
  }
  return view;
}

/** The index the source names; `UNSUPPORTED_FORMAT` when it names an image. */
export async function openIndex(source: ImageSource, opts: SourceOptions = {}): Promise<Index> {
  const view = await openManifest(source, opts);
  if (view.kind !== 'index') throw new ClientError('UNSUPPORTED_FORMAT', `${String(source.reference)} names an image, not an index`);
  return view;
}
