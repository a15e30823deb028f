/** Media-type helpers for manifests read from stores that do not record a type (dir:, tar members). */
import { DOCKER_MANIFEST_V2, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, OCI_INDEX, OCI_MANIFEST } from '../../content/media-types.js';
import { digestOf, type Digest } from '../../content/digest.js';
import { parseManifest } from '../../content/manifest.js';
import { ClientError } from '../errors.js';

/**
 * The manifest's media type: its `mediaType` field, else inferred as containers/image GuessMIMEType does
 * (schemaVersion 1 → schema 1, `manifests` → OCI index, `config` → OCI manifest).
 */
export function manifestMediaType(bytes: Uint8Array, where: string): string {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new ClientError('MANIFEST_INVALID', `${where}: not valid JSON`, undefined, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ClientError('MANIFEST_INVALID', `${where}: not a JSON object`);
  const o = json as Record<string, unknown>;
  if (typeof o['mediaType'] === 'string' && o['mediaType'] !== '') return o['mediaType'];
  if (o['schemaVersion'] === 1) return o['signatures'] ? DOCKER_SCHEMA1_SIGNED : DOCKER_SCHEMA1;
  if (Array.isArray(o['manifests'])) return OCI_INDEX;
  if (typeof o['config'] === 'object' && o['config'] !== null) {
    const cfg = o['config'] as Record<string, unknown>;
    return cfg['mediaType'] === 'application/vnd.docker.container.image.v1+json' ? DOCKER_MANIFEST_V2 : OCI_MANIFEST;
  }
  throw new ClientError('MANIFEST_INVALID', `${where}: cannot tell the manifest type`);
}

/** The digest of a manifest file (`skopeo manifest-digest`): of its bytes, or of its payload for signed schema 1. */
export function manifestDigest(bytes: Uint8Array): Digest {
  let payload: Uint8Array = bytes;
  try {
    payload = parseManifest(bytes).payload;
  } catch {
    // not a manifest we can parse: skopeo digests the bytes as they are
  }
  return digestOf(payload);
}
