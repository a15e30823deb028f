/**
 * Parsing and validation of every manifest type the registry stores: OCI image manifest and index
 * (image-spec v1.1.1 manifest.md, image-index.md), Docker v2 schema 2 and manifest list, and Docker schema 1.
 */
import { parseDescriptor, type Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import {
  has,
  invalid,
  optionalAnnotations,
  optionalMediaType,
  parseJsonObject,
  type JsonObject,
} from './json.js';
import {
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
  isManifestMediaType,
  isNonDistributable,
} from './media-types.js';
import { verifySchema1 } from './schema1.js';

export type ManifestKind = 'image' | 'index' | 'schema1';

export interface ParsedManifest {
  kind: ManifestKind;
  /** The resolved media type: one of `MANIFEST_MEDIA_TYPES`. */
  mediaType: string;
  /** The bytes whose digest identifies this manifest: the raw bytes, except for signed schema 1 where it is the canonical payload. */
  payload: Uint8Array;
  schemaVersion: number;
  /** Image manifests only. */
  config?: Descriptor;
  /**
   * Image: the layers, base first. Schema 1: one pseudo-descriptor per distinct `fsLayers` blobSum, in
   * document order (top layer first), with media type `DOCKER_LAYER_GZIP` and size 0 because schema 1
   * does not record sizes. Index: empty.
   */
  layers: Descriptor[];
  /** Index entries; empty for other kinds. */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Digests of blobs the repository must hold: config + layers, without non-distributable layers that carry urls; for schema 1 the distinct blobSums. De-duplicated, in order of first appearance. */
  blobs: Digest[];
  /** Digests of child manifests (index entries), de-duplicated, in order of first appearance. */
  children: Digest[];
  /** The value the referrers API reports: artifactType, else config.mediaType for an image manifest; undefined for an index without artifactType. */
  referrerArtifactType?: string;
}

/**
 * Parses and validates manifest bytes as pushed. Never whitelists config, layer or artifact media types.
 *
 * The media type is resolved in this order:
 * 1. `contentType` (parameters such as `; charset=utf-8` are ignored) when it is one of the six manifest
 *    types; a `mediaType` field in the JSON must then agree with it.
 * 2. Otherwise (no Content-Type, or one such as `application/json` or `application/octet-stream`) the
 *    JSON `mediaType` field.
 * 3. Otherwise inference: `schemaVersion` 1 is schema 1 (signed when it has `signatures`), a `manifests`
 *    array is an OCI index, a `config` is an OCI image manifest.
 *
 * A signed schema 1 manifest pushed as `DOCKER_SCHEMA1` keeps that type, but its signatures are still verified
 * and `payload` is still the canonical form.
 *
 * Throws `MANIFEST_INVALID` for bytes that are not a JSON object, an unresolvable or unknown type, or a
 * document that does not fit its type's schema; `DIGEST_INVALID` for a malformed digest string in a
 * descriptor; `NAME_INVALID` / `TAG_INVALID` for a bad name or tag inside a schema 1 manifest.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  const json = parseJsonObject(bytes, 'manifest');
  const mediaType = resolveMediaType(json, contentType);
  switch (mediaType) {
    case OCI_MANIFEST:
    case DOCKER_MANIFEST_V2:
      return parseImage(json, bytes, mediaType);
    case OCI_INDEX:
    case DOCKER_MANIFEST_LIST:
      return parseIndex(json, bytes, mediaType);
    case DOCKER_SCHEMA1:
    case DOCKER_SCHEMA1_SIGNED:
      return parseSchema1(json, bytes, mediaType);
    default:
      throw invalid('manifest', `unsupported manifest media type ${JSON.stringify(mediaType.slice(0, 200))}`);
  }
}

function resolveMediaType(json: JsonObject, contentType: string | undefined): string {
  const declared = has(json, 'mediaType') ? json['mediaType'] : undefined;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('manifest.mediaType', 'must be a string');
  const header = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (header !== undefined && isManifestMediaType(header)) {
    if (declared !== undefined && declared !== header) {
      throw invalid('manifest.mediaType', `${JSON.stringify(declared)} does not match Content-Type ${header}`);
    }
    return header;
  }
  if (declared !== undefined) return declared;
  if (json['schemaVersion'] === 1) return has(json, 'signatures') ? DOCKER_SCHEMA1_SIGNED : DOCKER_SCHEMA1;
  if (Array.isArray(json['manifests'])) return OCI_INDEX;
  if (has(json, 'config')) return OCI_MANIFEST;
  throw invalid('manifest', 'cannot determine the manifest media type');
}

function requireSchemaVersion(json: JsonObject, expected: number): number {
  if (json['schemaVersion'] !== expected) throw invalid('manifest.schemaVersion', `must be ${expected}`);
  return expected;
}

// Docker's schema 2 formats require the mediaType field (distribution's schema2 and manifestlist
// unmarshallers reject its absence); OCI makes it optional.
function requireDeclaredType(json: JsonObject, mediaType: string): void {
  if ((mediaType === DOCKER_MANIFEST_V2 || mediaType === DOCKER_MANIFEST_LIST) && json['mediaType'] !== mediaType) {
    throw invalid('manifest.mediaType', `must be ${mediaType}`);
  }
}

function descriptorArray(json: JsonObject, key: string, required: boolean): Descriptor[] {
  if (!has(json, key)) {
    if (required) throw invalid(`manifest.${key}`, 'is required');
    return [];
  }
  const v = json[key];
  if (!Array.isArray(v)) throw invalid(`manifest.${key}`, 'must be an array');
  return v.map((d: unknown, i) => parseDescriptor(d, `${key}[${i}]`));
}

/** The fields image manifests and indexes share. */
function commonFields(json: JsonObject): Pick<ParsedManifest, 'subject' | 'artifactType' | 'annotations'> {
  const out: Pick<ParsedManifest, 'subject' | 'artifactType' | 'annotations'> = {};
  if (has(json, 'subject')) out.subject = parseDescriptor(json['subject'], 'subject');
  const artifactType = optionalMediaType(json, 'artifactType', 'manifest');
  if (artifactType !== undefined) out.artifactType = artifactType;
  const annotations = optionalAnnotations(json, 'annotations', 'manifest');
  if (annotations) out.annotations = annotations;
  return out;
}

function unique(digests: Iterable<Digest>): Digest[] {
  return [...new Set(digests)];
}

function parseImage(json: JsonObject, bytes: Uint8Array, mediaType: string): ParsedManifest {
  const schemaVersion = requireSchemaVersion(json, 2);
  requireDeclaredType(json, mediaType);
  if (!has(json, 'config')) throw invalid('manifest.config', 'is required');
  const config = parseDescriptor(json['config'], 'config');
  // A Go encoder writes `"layers": null` for an artifact built with a nil slice; treat it as no layers.
  const layers = descriptorArray(json, 'layers', false);
  const common = commonFields(json);
  // Image-spec says artifactType MUST be set when config is the empty descriptor, but registries accept such
  // manifests anyway, and so do we.
  const shipped = layers.filter((l) => !(isNonDistributable(l.mediaType) && l.urls !== undefined && l.urls.length > 0));
  return {
    kind: 'image',
    mediaType,
    payload: bytes,
    schemaVersion,
    config,
    layers,
    manifests: [],
    ...common,
    blobs: unique([config.digest, ...shipped.map((l) => l.digest)]),
    children: [],
    referrerArtifactType: common.artifactType ?? config.mediaType,
  };
}

function parseIndex(json: JsonObject, bytes: Uint8Array, mediaType: string): ParsedManifest {
  const schemaVersion = requireSchemaVersion(json, 2);
  requireDeclaredType(json, mediaType);
  const manifests = descriptorArray(json, 'manifests', true);
  const common = commonFields(json);
  const parsed: ParsedManifest = {
    kind: 'index',
    mediaType,
    payload: bytes,
    schemaVersion,
    layers: [],
    manifests,
    ...common,
    blobs: [],
    children: unique(manifests.map((m) => m.digest)),
  };
  if (common.artifactType !== undefined) parsed.referrerArtifactType = common.artifactType;
  return parsed;
}

function parseSchema1(json: JsonObject, bytes: Uint8Array, mediaType: string): ParsedManifest {
  if (mediaType === DOCKER_SCHEMA1_SIGNED && !has(json, 'signatures')) {
    throw invalid('manifest.signatures', `is required for ${DOCKER_SCHEMA1_SIGNED}`);
  }
  const { payload, manifest } = verifySchema1(bytes);
  const blobs = unique(manifest.fsLayers.map((l) => l.blobSum));
  return {
    kind: 'schema1',
    mediaType,
    payload,
    schemaVersion: 1,
    layers: blobs.map((digest) => ({ mediaType: DOCKER_LAYER_GZIP, digest, size: 0 })),
    manifests: [],
    blobs,
    children: [],
  };
}
