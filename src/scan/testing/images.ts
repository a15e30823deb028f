/**
 * Generated images for the scanner's tests: layers are real gzipped tars with any entry type (whiteouts,
 * opaque markers, symlinks, hard links), written into an OCI layout and read back through the client's
 * `oci:` transport, exactly as `berth scan oci:...` reads them.
 */
import { gzipSync } from 'node:zlib';
import { digestOf, type Digest } from '../../content/digest.js';
import * as mt from '../../content/media-types.js';
import { realIndex, writeLayout, type FixtureBlob, type FixtureImage } from '../../client/fixtures.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type EntryType } from '../../client/tar/header.js';

export interface LayerEntry {
  name: string;
  type?: EntryType;
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
}

export const file = (name: string, body: Buffer | string, mode = 0o644): LayerEntry => ({ name, body, mode });
export const dir = (name: string): LayerEntry => ({ name, type: 'directory' });
export const symlink = (name: string, linkname: string): LayerEntry => ({ name, type: 'symlink', linkname });
export const hardlink = (name: string, linkname: string): LayerEntry => ({ name, type: 'hardlink', linkname });
export const whiteout = (path: string): LayerEntry => {
  const i = path.lastIndexOf('/');
  return { name: i === -1 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}` };
};
export const opaque = (dirPath: string): LayerEntry => ({ name: dirPath ? `${dirPath}/.wh..wh..opq` : '.wh..wh..opq' });

export function layerTar(entries: LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    const size = type === 'file' ? body.length : 0;
    parts.push(encodeHeader({ name: e.name, size, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: 0, uid: 0, gid: 0, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) }));
    if (size > 0) parts.push(body, padding(size));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** An OCI image of `layers` (each a list of tar entries), for `platform`. */
export function imageOf(layers: LayerEntry[][], platform = { os: 'linux', architecture: 'amd64' }): FixtureImage {
  const tars = layers.map(layerTar);
  const blobs: FixtureBlob[] = tars.map((t) => {
    const bytes = gzipSync(t);
    return { bytes, digest: digestOf(bytes), mediaType: mt.OCI_LAYER_GZIP };
  });
  const configBytes = Buffer.from(
    JSON.stringify({ ...platform, created: '2026-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) }, history: tars.map(() => ({ created_by: 'test' })) }),
  );
  const config: FixtureBlob = { bytes: configBytes, digest: digestOf(configBytes), mediaType: mt.OCI_CONFIG };
  const d = (b: FixtureBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.bytes.length });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: d(config), layers: blobs.map(d) }));
  return { config, layers: blobs, diffIDs: tars.map((t) => digestOf(t) as Digest), manifest, mediaType: mt.OCI_MANIFEST, digest: digestOf(manifest) };
}

/** Writes images (or a multi-platform index of them) into an OCI layout at `root` under `tag`. */
export async function writeImageLayout(root: string, tag: string, images: FixtureImage | FixtureImage[]): Promise<void> {
  await writeLayout(root, { [tag]: Array.isArray(images) ? realIndex(images) : images });
}
