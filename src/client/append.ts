/**
 * `oc image append` / `crane mutate --append`: a new image from a base (or from scratch) with more layers and
 * an edited config, written to a destination. Layer files are streamed: a gzip tarball is hashed as it is
 * (digest) and inflated on the fly (diffID); an uncompressed tar is gzipped into a temporary file while both
 * digests are computed. Nothing is held in memory but the manifest and config.
 *
 * Config edits follow oc, which unmarshals the JSON patch into the existing Go struct: keys match field names
 * case-insensitively, objects (Labels, ExposedPorts, Volumes) are merged key by key, arrays and scalars
 * replace, and `null` removes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Descriptor } from '../content/descriptor.js';
import { digestOf, type Digest } from '../content/digest.js';
import * as mt from '../content/media-types.js';
import { convertedBlobType, replaceChildren } from './convert.js';
import { ClientError } from './errors.js';
import { openManifest, type Image, type Index } from './image.js';
import { filterManifests, osFilter, pickImages, platformString, platformTable } from './info.js';
import { compressionOf } from './internal/compression.js';
import { hasher } from './internal/verify.js';
import { systemPlatform, type PlatformSpec } from './platform.js';
import type { ImageDestination, ImageSource, SourceOptions } from './transport.js';

export interface AppendOptions extends SourceOptions {
  /** Layer files: gzipped or plain tars. */
  layers?: string[];
  /** Merged into the config's `config` (Entrypoint, Cmd, Env, Labels, User, WorkingDir, ...). */
  image?: Record<string, unknown>;
  /** Merged into the top level of the config (author, created, os, architecture, ...). */
  meta?: Record<string, unknown>;
  /** Remove history, container_config, container and docker_version (oc --drop-history). */
  dropHistory?: boolean;
  /** The new image's `created` (default now). */
  createdAt?: Date;
  /** For a multi-arch base: oc's --filter-by-os (default the running platform). */
  filterByOS?: string;
  platform?: PlatformSpec;
  /** Who made the layers, for the history entries (default `berth image append`). */
  createdBy?: string;
  /** For a manifest-list base: append to every image the filter keeps (default all) and write a new list (oc --keep-manifest-list). */
  keepManifestList?: boolean;
}

export interface AppendResult {
  digest: Digest;
  mediaType: string;
  /** Bytes of the manifest written. */
  size: number;
  /** Of the (last) image appended to. */
  config: Record<string, unknown>;
  layers: Descriptor[];
  /** With keepManifestList and a list as the base: each entry of the new list, in order. */
  children?: Array<{ platform: string; from: Digest; digest: Digest; appended: boolean }>;
}

const CONFIG_FIELDS = ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell'];
const META_FIELDS = ['id', 'parent', 'comment', 'created', 'container', 'container_config', 'docker_version', 'author', 'config', 'architecture', 'variant', 'os', 'os.version', 'os.features', 'size', 'rootfs', 'history'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Merges `patch` into `target` the way encoding/json unmarshals into an existing struct. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const key = Object.keys(out).find((x) => x === k) ?? known.find((x) => x === k) ?? Object.keys(out).find((x) => x.toLowerCase() === k.toLowerCase()) ?? known.find((x) => x.toLowerCase() === k.toLowerCase()) ?? k;
    if (v === null) delete out[key];
    else if (isObject(v) && isObject(out[key])) {
      const merged: Record<string, unknown> = { ...(out[key] as Record<string, unknown>) };
      for (const [mk, mv] of Object.entries(v)) {
        if (mv === null) delete merged[mk];
        else merged[mk] = mv;
      }
      out[key] = merged;
    } else out[key] = v;
  }
  return out;
}

/** Parses a `--image` / `--meta` argument: a JSON object. */
export function parsePatch(flag: string, text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ClientError('REFERENCE_INVALID', `${flag}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(v)) throw new ClientError('REFERENCE_INVALID', `${flag}: expected a JSON object such as '{"Cmd":["/bin/sh"]}'`);
  return v;
}

interface PreparedLayer {
  desc: Descriptor;
  diffID: Digest;
  path: string;
}

/** Hashes (and if needed gzips) a layer file, streaming. */
async function prepareLayer(path: string, mediaType: string, tmp: string, index: number): Promise<PreparedLayer> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new ClientError('REFERENCE_INVALID', `layer ${path}: no such file`);
  const fh = await open(path, 'r');
  const head = Buffer.alloc(4);
  await fh.read(head, 0, 4, 0);
  await fh.close();
  const compression = compressionOf(head);
  if (compression === 'zstd') throw new ClientError('UNSUPPORTED_FORMAT', `layer ${path}: zstd layers are not supported`);
  const diff = hasher();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  if (compression === 'gzip') {
    const blob = hasher();
    const tee = new PassThrough();
    const inflate = pipeline(tee, createGunzip(), diff, sink);
    await Promise.all([pipeline(createReadStream(path), blob, tee), inflate]).catch((err: unknown) => {
      throw new ClientError('ARCHIVE_INVALID', `layer ${path}: ${(err as Error).message}`);
    });
    return { desc: { mediaType, digest: blob.digest(), size: blob.size }, diffID: diff.digest(), path };
  }
  const out = join(tmp, `layer-${index}.tar.gz`);
  const blob = hasher();
  await pipeline(createReadStream(path), diff, createGzip(), blob, createWriteStream(out));
  return { desc: { mediaType, digest: blob.digest(), size: blob.size }, diffID: diff.digest(), path: out };
}

/**
 * Builds the new image from `source` (undefined: an empty scratch image) and writes it to `destination`,
 * committing it. Blobs the destination already has are not sent again; on a registry, base layers are
 * mounted from the source repository when they can be.
 *
 * A manifest list as the base: without `keepManifestList` one image is picked (`filterByOS`, default the
 * running platform) and the result is a plain image. With it (oc --keep-manifest-list), every image the filter
 * keeps (all of them when there is no filter) gets the layers and config edits, the others are copied as they
 * are, and a new list naming them all is written: `digest` is the list's, `children` says what became of each.
 */
export async function appendImage(source: ImageSource | undefined, destination: ImageDestination, opts: AppendOptions = {}): Promise<AppendResult> {
  const tmp = await mkdtemp(join(tmpdir(), 'berth-append-'));
  try {
    const added: PreparedLayer[] = [];
    for (const [i, path] of (opts.layers ?? []).entries()) added.push(await prepareLayer(path, mt.OCI_LAYER_GZIP, tmp, i));
    if (source && opts.keepManifestList) {
      const top = await openManifest(source, opts);
      if (top.kind === 'index') {
        const result = await appendToList(source, top, destination, added, opts);
        await destination.commit();
        return result;
      }
    }
    const image = source ? (await pickImages(source, { signal: opts.signal, filterByOS: opts.filterByOS, platform: opts.platform }))[0]!.image : undefined;
    const result = await appendOne(source, image, destination, added, opts, true);
    await destination.commit();
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function appendToList(source: ImageSource, index: Index, destination: ImageDestination, added: PreparedLayer[], opts: AppendOptions): Promise<AppendResult> {
  const filter = osFilter(opts.filterByOS || '.*', opts.platform);
  const children = index.children();
  const keep = new Set(filterManifests(children, filter).map((d) => d.digest));
  if (keep.size === 0) throw new ClientError('PLATFORM_UNKNOWN', `no image matches ${filter.source} - use --filter-by-os to select from:\n\n${platformTable(children)}`);
  const stored: Descriptor[] = [];
  const report: NonNullable<AppendResult['children']> = [];
  let last: AppendResult | undefined;
  for (const child of children) {
    if (!keep.has(child.digest)) {
      // Left as it is, but the destination's list names it, so it (and its blobs) must be there too.
      await copyChild(source, index, child, destination, opts);
      stored.push(child);
      report.push({ platform: platformString(child.platform), from: child.digest, digest: child.digest, appended: false });
      continue;
    }
    const image = await index.image(child.digest, opts);
    last = await appendOne(source, image, destination, added, opts, false);
    stored.push({ ...child, mediaType: last.mediaType, digest: last.digest, size: last.size });
    report.push({ platform: platformString(child.platform), from: child.digest, digest: last.digest, appended: true });
  }
  // The list goes in the family of its images: an OCI index once any child is OCI.
  const raw = await index.manifest();
  const listType = stored.some((d) => d.mediaType === mt.OCI_MANIFEST) ? mt.OCI_INDEX : raw.mediaType;
  if (destination.supportedManifestTypes && !destination.supportedManifestTypes.includes(listType)) {
    throw new ClientError('UNSUPPORTED_FORMAT', `${String(destination.reference)} cannot store a manifest list; append to one image (leave out --keep-manifest-list)`);
  }
  const list = replaceChildren(raw, stored, listType);
  const out = (await destination.putManifest(list, { top: true, signal: opts.signal })) ?? list;
  return { digest: out.digest, mediaType: listType, size: out.bytes.length, config: last!.config, layers: last!.layers, children: report };
}

/** Copies one child of the base list unchanged: its blobs (skipped or mounted when there) and its manifest. */
async function copyChild(source: ImageSource, index: Index, child: Descriptor, destination: ImageDestination, opts: AppendOptions): Promise<void> {
  const image = await index.image(child.digest, opts);
  for (const d of [image.parsed.config!, ...image.parsed.layers]) {
    if (mt.isNonDistributable(d.mediaType) && (d.urls?.length ?? 0) > 0) continue;
    if ((await destination.hasBlob(d, opts)) || (await destination.tryMount?.(d, source.reference, opts))) continue;
    await destination.putBlob(d, await source.getBlob(d, opts), opts);
  }
  await destination.putManifest(await image.manifest(), { top: false, signal: opts.signal });
}

/** The new image from `image` (undefined: scratch) plus `added`; written as the top manifest or a child. */
async function appendOne(source: ImageSource | undefined, image: Image | undefined, destination: ImageDestination, prepared: PreparedLayer[], opts: AppendOptions, top: boolean): Promise<AppendResult> {
  let manifest: Record<string, unknown>;
  let config: Record<string, unknown>;
  let baseLayers: Descriptor[] = [];
  let mediaType: string;
  if (image) {
    const raw = await image.manifest();
    mediaType = image.parsed.mediaType;
    if (mediaType !== mt.OCI_MANIFEST && mediaType !== mt.DOCKER_MANIFEST_V2) throw new ClientError('UNSUPPORTED_FORMAT', `cannot append to a ${mediaType}`);
    manifest = JSON.parse(raw.bytes.toString('utf8')) as Record<string, unknown>;
    config = JSON.parse((await image.configJSON(opts)).toString('utf8')) as Record<string, unknown>;
    baseLayers = image.parsed.layers;
  } else {
    mediaType = mt.DOCKER_MANIFEST_V2;
    const p = systemPlatform();
    manifest = { schemaVersion: 2, mediaType, config: {}, layers: [] };
    config = { architecture: opts.platform?.architecture ?? p.architecture, os: opts.platform?.os ?? p.os, config: {}, rootfs: { type: 'layers', diff_ids: [] } };
  }
  // OCI layouts get OCI manifests (skopeo's oci: reads nothing else); registries keep the source's format.
  const toLayout = destination.reference.transport === 'oci' || destination.reference.transport === 'oci-archive';
  const accepted = destination.supportedManifestTypes;
  if (mediaType === mt.DOCKER_MANIFEST_V2 && (toLayout || (accepted && !accepted.includes(mt.DOCKER_MANIFEST_V2)))) {
    mediaType = mt.OCI_MANIFEST;
    baseLayers = baseLayers.map((d) => ({ ...d, mediaType: convertedBlobType(d.mediaType, mediaType) }));
    manifest = { ...manifest, layers: baseLayers };
  } else if (mediaType === mt.OCI_MANIFEST && accepted && !accepted.includes(mt.OCI_MANIFEST)) {
    mediaType = mt.DOCKER_MANIFEST_V2;
    baseLayers = baseLayers.map((d) => ({ ...d, mediaType: convertedBlobType(d.mediaType, mediaType) }));
    manifest = { ...manifest, layers: baseLayers };
  }
  const oci = mediaType === mt.OCI_MANIFEST;
  const layerType = oci ? mt.OCI_LAYER_GZIP : mt.DOCKER_LAYER_GZIP;
  const configType = oci ? mt.OCI_CONFIG : mt.DOCKER_CONFIG;
  const added = prepared.map((l) => ({ ...l, desc: { ...l.desc, mediaType: layerType } }));

  // Base layers first (skipped or mounted when the destination has them), then the new ones.
  for (const d of baseLayers) {
    if (mt.isNonDistributable(d.mediaType) && (d.urls?.length ?? 0) > 0) continue;
    if ((await destination.hasBlob(d, opts)) || (source && (await destination.tryMount?.(d, source.reference, opts)))) continue;
    if (!source) continue;
    await destination.putBlob(d, await source.getBlob(d, opts), opts);
  }
  for (const l of added) {
    if (await destination.hasBlob(l.desc, opts)) continue;
    await destination.putBlob(l.desc, createReadStream(l.path), opts);
  }

  // The config.
  const created = (opts.createdAt ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let next: Record<string, unknown> = { ...config };
  if (opts.meta) next = mergePatch(next, opts.meta, META_FIELDS);
  if (opts.image) next.config = mergePatch(isObject(next.config) ? next.config : {}, opts.image, CONFIG_FIELDS);
  const rootfs: Record<string, unknown> = isObject(next.rootfs) ? { ...next.rootfs } : { type: 'layers' };
  rootfs.type ??= 'layers';
  rootfs.diff_ids = [...(Array.isArray(rootfs.diff_ids) ? (rootfs.diff_ids as string[]) : []), ...added.map((l) => l.diffID)];
  next.rootfs = rootfs;
  if (!opts.meta || !('created' in opts.meta)) next.created = created;
  if (opts.dropHistory) {
    for (const k of ['history', 'container_config', 'container', 'docker_version']) delete next[k];
    if (isObject(next.config)) {
      const c = { ...next.config };
      delete c.Image;
      next.config = c;
    }
  } else if (added.length > 0 || Array.isArray(next.history)) {
    const history = Array.isArray(next.history) ? [...(next.history as unknown[])] : [];
    for (const _ of added) history.push({ created, created_by: opts.createdBy ?? 'berth image append' });
    next.history = history;
  }
  const configBytes = Buffer.from(JSON.stringify(next));
  const configDesc: Descriptor = { mediaType: configType, digest: digestOf(configBytes), size: configBytes.length };
  if (!(await destination.hasBlob(configDesc, opts))) await destination.putBlob(configDesc, Readable.from([configBytes]), opts);

  // The manifest: the source's, with the new config and the layers appended.
  const layers = [...((manifest.layers as Descriptor[] | undefined) ?? []), ...added.map((l) => l.desc)];
  const outManifest: Record<string, unknown> = { ...manifest, config: configDesc, layers };
  outManifest.mediaType = mediaType;
  const bytes = Buffer.from(JSON.stringify(outManifest));
  const raw = { bytes, mediaType, digest: digestOf(bytes) };
  const stored = (await destination.putManifest(raw, { top, signal: opts.signal })) ?? raw;
  return { digest: stored.digest, mediaType, size: stored.bytes.length, config: next, layers };
}
