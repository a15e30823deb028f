/**
 * Generated images for the client's tests (go-containerregistry `random`, but with real content): layers are
 * real gzipped tars, so anything that decompresses them (validate, docker-archive) has something real to
 * work on. `writeLayout` puts images into an OCI layout directory by hand, independent of the transports.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { digestHex, digestOf, type Digest } from '../content/digest.js';
import * as mt from '../content/media-types.js';
import { tarBuffer } from './tar/writer.js';

export interface FixtureBlob {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
}

export interface FixtureImage {
  config: FixtureBlob;
  layers: FixtureBlob[];
  diffIDs: Digest[];
  manifest: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface FixtureIndex {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
  images: FixtureImage[];
}

/** A gzipped tar of `files` (path → content). */
export function gzipLayer(files: Record<string, Buffer>, mediaType = mt.OCI_LAYER_GZIP): FixtureBlob & { diffID: Digest } {
  const tar = tarBuffer(Object.entries(files).map(([name, body]) => ({ name, body })));
  const bytes = gzipSync(tar);
  return { bytes, digest: digestOf(bytes), mediaType, diffID: digestOf(tar) };
}

/** An image of `layers` real gzip layers, each holding one random file of `size` bytes. */
export function realImage(opts: { layers?: number; size?: number; format?: 'oci' | 'docker'; platform?: { os: string; architecture: string; variant?: string } } = {}): FixtureImage {
  const docker = opts.format === 'docker';
  const layers = Array.from({ length: opts.layers ?? 2 }, (_, i) =>
    gzipLayer({ [`layer-${i}/data.bin`]: randomBytes(opts.size ?? 1024), [`layer-${i}/a-rather-long-directory-name-to-push-the-path-past-one-hundred-bytes/and-a-long-file-name-too.txt`]: Buffer.from(`layer ${i}\n`) }, docker ? mt.DOCKER_LAYER_GZIP : mt.OCI_LAYER_GZIP),
  );
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const configBytes = Buffer.from(
    JSON.stringify({
      ...platform,
      created: '2026-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
      history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `step ${i}` })),
    }),
  );
  const config: FixtureBlob = { bytes: configBytes, digest: digestOf(configBytes), mediaType: docker ? mt.DOCKER_CONFIG : mt.OCI_CONFIG };
  const mediaType = docker ? mt.DOCKER_MANIFEST_V2 : mt.OCI_MANIFEST;
  const d = (b: FixtureBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.bytes.length });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: d(config), layers: layers.map(d) }));
  return { config, layers: layers.map(({ diffID: _, ...b }) => b), diffIDs: layers.map((l) => l.diffID), manifest, mediaType, digest: digestOf(manifest) };
}

/** An OCI index (or Docker list) over `images`, with their platforms taken from their configs. */
export function realIndex(images: FixtureImage[], format: 'oci' | 'docker' = 'oci'): FixtureIndex {
  const mediaType = format === 'docker' ? mt.DOCKER_MANIFEST_LIST : mt.OCI_INDEX;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((img) => {
        const c = JSON.parse(img.config.bytes.toString('utf8')) as { os: string; architecture: string; variant?: string };
        const platform: Record<string, string> = { architecture: c.architecture, os: c.os };
        if (c.variant) platform['variant'] = c.variant;
        return { mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, platform };
      }),
    }),
  );
  return { bytes, digest: digestOf(bytes), mediaType, images };
}

/** The shape src/testing/fixtures.ts randomImage returns, accepted by `writeLayout` too. */
export interface ImageLike {
  config: FixtureBlob;
  layers: FixtureBlob[];
  manifest: Buffer;
  mediaType: string;
  digest: Digest;
}

async function putBlob(root: string, bytes: Buffer, digest: Digest): Promise<void> {
  await writeFile(join(root, 'blobs', 'sha256', digestHex(digest)), bytes);
}

/**
 * Writes an OCI layout by hand: every blob and manifest, and an index.json naming each top entry with
 * `org.opencontainers.image.ref.name` = its key.
 */
export async function writeLayout(root: string, tops: Record<string, ImageLike | { bytes: Buffer; digest: Digest; mediaType: string; images: ImageLike[] }>): Promise<void> {
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const manifests = [];
  for (const [ref, top] of Object.entries(tops)) {
    const images = 'images' in top ? top.images : [top];
    for (const img of images) {
      for (const b of [img.config, ...img.layers]) await putBlob(root, b.bytes, b.digest);
      await putBlob(root, img.manifest, img.digest);
    }
    const bytes = 'bytes' in top ? top.bytes : top.manifest;
    if ('bytes' in top) await putBlob(root, top.bytes, top.digest);
    manifests.push({ mediaType: top.mediaType, digest: top.digest, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': ref } });
  }
  await writeFile(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}
