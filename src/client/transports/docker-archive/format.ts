/**
 * The `docker save` format as skopeo writes and reads it (containers/image docker/internal/tarfile):
 *
 *   manifest.json         [{"Config":"<hex>.json","RepoTags":["docker.io/foo/bar:v1"],"Layers":["<hex>.tar"]}]
 *   <config hex>.json     the image config, unchanged
 *   <diffid hex>.tar      each layer as an UNCOMPRESSED tar, named by its diff_id
 *
 * Reading synthesises a Docker v2 manifest exactly as skopeo does, byte for byte: layer digests are the
 * diff_ids and the layer media type is the gzip one even though the bytes are plain tar.
 */
import type { Digest } from '../../../content/digest.js';
import { digestOf } from '../../../content/digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST_V2 } from '../../../content/media-types.js';
import { ClientError } from '../../errors.js';
import type { RawManifest } from '../../transport.js';

export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** The manifest skopeo reports for an archived image (Go's schema2 struct order: mediaType, size, digest). */
export function archiveManifest(config: { size: number; digest: Digest }, layers: Array<{ size: number; digest: Digest }>): RawManifest {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_V2,
      config: { mediaType: DOCKER_CONFIG, size: config.size, digest: config.digest },
      layers: layers.map((l) => ({ mediaType: DOCKER_LAYER_GZIP, size: l.size, digest: l.digest })),
    }),
  );
  return { bytes, mediaType: DOCKER_MANIFEST_V2, digest: digestOf(bytes) };
}

/** `rootfs.diff_ids` of a config; `MANIFEST_INVALID` when missing. */
export function diffIDsOf(config: Buffer, where: string): Digest[] {
  let json: unknown;
  try {
    json = JSON.parse(config.toString('utf8'));
  } catch (cause) {
    throw new ClientError('MANIFEST_INVALID', `${where}: config is not valid JSON`, undefined, { cause });
  }
  const ids = (json as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((d): d is string => typeof d === 'string')) {
    throw new ClientError('MANIFEST_INVALID', `${where}: config has no rootfs.diff_ids`);
  }
  return ids as Digest[];
}
