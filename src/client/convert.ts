/**
 * Manifest format conversion, for destinations that cannot store the source's format (docker-archive takes
 * Docker v2 only). Conversion rewrites the manifest, so the digest changes: copy refuses it when asked to keep
 * digests. Config bytes are kept unchanged, as skopeo keeps them.
 */
import { digestOf } from '../content/digest.js';
import type { Descriptor } from '../content/descriptor.js';
import type { ParsedManifest } from '../content/manifest.js';
import * as mt from '../content/media-types.js';
import { ClientError } from './errors.js';
import type { RawManifest } from './transport.js';

const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

const OCI_TO_DOCKER: Record<string, string> = {
  [mt.OCI_CONFIG]: mt.DOCKER_CONFIG,
  [mt.OCI_LAYER_GZIP]: mt.DOCKER_LAYER_GZIP,
  [mt.OCI_LAYER_TAR]: DOCKER_LAYER_TAR,
  [mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP]: mt.DOCKER_FOREIGN_LAYER,
};
const DOCKER_TO_OCI: Record<string, string> = {
  [mt.DOCKER_CONFIG]: mt.OCI_CONFIG,
  [mt.DOCKER_LAYER_GZIP]: mt.OCI_LAYER_GZIP,
  [DOCKER_LAYER_TAR]: mt.OCI_LAYER_TAR,
  [mt.DOCKER_FOREIGN_LAYER]: mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
};

function mapDescriptor(d: Descriptor, table: Record<string, string>, what: string): Record<string, unknown> {
  const mediaType = table[d.mediaType];
  if (!mediaType) throw new ClientError('UNSUPPORTED_FORMAT', `cannot convert ${what} of type ${d.mediaType}`);
  // Go's schema2 / imgspecv1 field orders, so the bytes match what skopeo would write.
  return table === OCI_TO_DOCKER
    ? { mediaType, size: d.size, digest: d.digest, ...(d.urls ? { urls: d.urls } : {}) }
    : { mediaType, digest: d.digest, size: d.size, ...(d.urls ? { urls: d.urls } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** Converts an image manifest to one of `accepted` (most preferred first); throws `UNSUPPORTED_FORMAT` if it cannot. */
export function convertManifest(parsed: ParsedManifest, accepted: readonly string[]): RawManifest {
  if (parsed.kind !== 'image' || !parsed.config) {
    throw new ClientError('UNSUPPORTED_FORMAT', `the destination takes ${accepted.join(', ')}; cannot convert a ${parsed.mediaType} to any of them`);
  }
  const target = accepted.find((t) => (parsed.mediaType === mt.OCI_MANIFEST && t === mt.DOCKER_MANIFEST_V2) || (parsed.mediaType === mt.DOCKER_MANIFEST_V2 && t === mt.OCI_MANIFEST));
  if (!target) throw new ClientError('UNSUPPORTED_FORMAT', `the destination takes ${accepted.join(', ')}; cannot convert a ${parsed.mediaType}`);
  const table = target === mt.DOCKER_MANIFEST_V2 ? OCI_TO_DOCKER : DOCKER_TO_OCI;
  const json =
    target === mt.DOCKER_MANIFEST_V2
      ? { schemaVersion: 2, mediaType: target, config: mapDescriptor(parsed.config, table, 'config'), layers: parsed.layers.map((l, i) => mapDescriptor(l, table, `layer ${i}`)) }
      : {
          schemaVersion: 2,
          mediaType: target,
          config: mapDescriptor(parsed.config, table, 'config'),
          layers: parsed.layers.map((l, i) => mapDescriptor(l, table, `layer ${i}`)),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        };
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, mediaType: target, digest: digestOf(bytes) };
}

/** The media type a blob gets in the converted manifest (the config and layers keep their bytes). */
export function convertedBlobType(mediaType: string, target: string): string {
  const table = target === mt.DOCKER_MANIFEST_V2 ? OCI_TO_DOCKER : DOCKER_TO_OCI;
  return table[mediaType] ?? mediaType;
}
