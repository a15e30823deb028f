import { digestAlgorithm, digestOf, parseDigest, type Digest } from '../content/digest.js';
import { parseManifest, type ParsedManifest } from '../content/manifest.js';
import { parseTag } from '../content/reference.js';
import { convertToSchema1, EMPTY_GZIP_LAYER, EMPTY_GZIP_LAYER_BYTES } from '../content/schema1.js';
import {
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../content/media-types.js';
import { paths } from '../storage/paths.js';
import { isPathNotFound } from '../storage/errors.js';
import { MissingReferencesError } from '../metadata/errors.js';
import type { ManifestRecord } from '../metadata/store.js';
import { Readable } from 'node:stream';
import type { RegistryDeps } from './deps.js';
import { putBlob } from './blobs.js';
import { RegistryError } from './errors.js';

/** A manifest reference from a URL: a digest when it has a `:`, else a tag. */
export type ManifestReference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

export function parseManifestReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { kind: 'digest', digest: parseDigest(reference) };
  return { kind: 'tag', tag: parseTag(reference) };
}

export interface PushedManifest {
  digest: Digest;
  subject?: Digest;
  tags: string[];
}

/**
 * Stores a manifest (end-7, and end-7b's `?tag=`). Validates its schema against its media type, checks that
 * every blob and child it names is in the repository, and stores the bytes exactly as sent.
 */
export async function putManifest(
  deps: RegistryDeps,
  repo: string,
  reference: string,
  bytes: Buffer,
  contentType: string | undefined,
  extraTags: string[] = [],
): Promise<PushedManifest> {
  const ref = parseManifestReference(reference);
  const tags = [...new Set([...(ref.kind === 'tag' ? [ref.tag] : []), ...extraTags.map(parseTag)])];
  const manifest = parseManifest(bytes, contentType);
  const digest = digestOf(manifest.payload, ref.kind === 'digest' ? digestAlgorithm(ref.digest) : 'sha256');
  if (ref.kind === 'digest' && ref.digest !== digest) {
    throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest} does not match ${ref.digest}`, { expected: ref.digest, actual: digest });
  }
  try {
    await deps.store.putManifest({
      repo,
      digest,
      mediaType: manifest.mediaType,
      content: bytes,
      artifactType: manifest.referrerArtifactType,
      subject: manifest.subject?.digest,
      annotations: manifest.annotations,
      blobs: manifest.blobs,
      children: manifest.children,
      tags,
    });
  } catch (err) {
    if (err instanceof MissingReferencesError) {
      const missing = [...err.blobs, ...err.manifests];
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s): ${missing.slice(0, 5).join(', ')}`, {
        blobs: err.blobs,
        manifests: err.manifests,
      }, { cause: err });
    }
    throw err;
  }
  return { digest, subject: manifest.subject?.digest, tags };
}

export interface ServedManifest {
  digest: Digest;
  mediaType: string;
  content: Buffer;
}

/**
 * Looks up a manifest by tag or digest (end-3). A client whose `Accept` lists only Docker schema 1 and
 * that asks by tag gets a schema-1 rendering signed with the registry's key, as distribution 2.x and Quay
 * do for old Docker clients; a pull by digest is never rewritten.
 */
export async function getManifest(deps: RegistryDeps, repo: string, reference: string, accept?: string): Promise<ServedManifest> {
  const ref = parseManifestReference(reference);
  const record = ref.kind === 'digest' ? await deps.store.getManifest(repo, ref.digest) : await deps.store.getTaggedManifest(repo, ref.tag);
  if (!record) throw manifestUnknown(repo, reference);
  if (ref.kind === 'tag' && acceptsOnlySchema1(accept) && !isSchema1(record.mediaType)) {
    return renderSchema1(deps, record, ref.tag);
  }
  return { digest: record.digest, mediaType: record.mediaType, content: record.content };
}

/** Deletes a manifest by digest, or only the tag when given a tag (end-9). */
export async function deleteManifest(deps: RegistryDeps, repo: string, reference: string): Promise<void> {
  const ref = parseManifestReference(reference);
  const deleted = ref.kind === 'digest' ? await deps.store.deleteManifest(repo, ref.digest) : await deps.store.deleteTag(repo, ref.tag);
  if (!deleted) throw manifestUnknown(repo, reference);
}

function manifestUnknown(repo: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repo}`, { reference });
}

const SCHEMA1_TYPES = new Set([DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED]);
const MODERN_TYPES = new Set([DOCKER_MANIFEST_V2, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX]);

function isSchema1(mediaType: string): boolean {
  return SCHEMA1_TYPES.has(mediaType);
}

/** True when `Accept` names a schema-1 type and none of the schema-2 or OCI types. */
export function acceptsOnlySchema1(accept: string | undefined): boolean {
  if (!accept) return false;
  let schema1 = false;
  for (const part of accept.split(',')) {
    const type = part.split(';', 1)[0]!.trim().toLowerCase();
    if (MODERN_TYPES.has(type)) return false;
    if (SCHEMA1_TYPES.has(type)) schema1 = true;
  }
  return schema1;
}

async function renderSchema1(deps: RegistryDeps, record: ManifestRecord, tag: string): Promise<ServedManifest> {
  let manifest = parseManifest(record.content, record.mediaType);
  if (manifest.kind === 'index') {
    const child = manifest.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64');
    const childRecord = child && (await deps.store.getManifest(record.repo, child.digest));
    if (!childRecord) {
      throw new RegistryError('MANIFEST_UNKNOWN', 'the manifest list has no linux/amd64 image, which schema 1 clients need');
    }
    manifest = parseManifest(childRecord.content, childRecord.mediaType);
  }
  if (manifest.kind !== 'image' || manifest.mediaType !== DOCKER_MANIFEST_V2 || !manifest.config) {
    throw new RegistryError('MANIFEST_UNKNOWN', 'OCI manifest found, but accept header does not support OCI manifests');
  }
  const config = await readConfig(deps, manifest);
  const content = Buffer.from(convertToSchema1({ name: record.repo, tag, manifest, config }, deps.schema1Key));
  const rendered = parseManifest(content, DOCKER_SCHEMA1_SIGNED);
  if (rendered.blobs.includes(EMPTY_GZIP_LAYER) && !(await deps.store.getRepositoryBlob(record.repo, EMPTY_GZIP_LAYER))) {
    // Schema 1 has no empty layers: the rendering points them at the gzipped empty tar, which the
    // client will then pull from this repository.
    const bytes = Buffer.from(EMPTY_GZIP_LAYER_BYTES);
    await putBlob(deps, record.repo, EMPTY_GZIP_LAYER, Readable.from([bytes]), { length: bytes.length });
  }
  const payload = rendered.payload;
  return { digest: digestOf(payload), mediaType: DOCKER_SCHEMA1_SIGNED, content };
}

async function readConfig(deps: RegistryDeps, manifest: ParsedManifest): Promise<Buffer> {
  const config = manifest.config!;
  if (config.size > deps.limits.maxManifestBytes) {
    throw new RegistryError('MANIFEST_INVALID', `image config of ${config.size} bytes is too large to convert`);
  }
  try {
    return await deps.driver.getContent(paths.blobData(config.digest));
  } catch (err) {
    if (isPathNotFound(err)) throw new RegistryError('BLOB_UNKNOWN', `image config ${config.digest} is missing`, undefined, { cause: err });
    throw err;
  }
}
