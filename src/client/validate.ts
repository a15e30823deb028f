/**
 * The one validation every transport's tests run over what they read (go-containerregistry pkg/v1/validate):
 *
 * - the manifest parses and its bytes have the digest the source names them by;
 * - the config blob matches its descriptor, and its `rootfs.diff_ids` has one entry per layer;
 * - every layer blob matches its descriptor (streamed, never held whole), and its uncompressed digest is its
 *   diff_id (gzip is inflated to check; zstd layers are checked compressed only);
 * - for an index, every child validates too, and matches the size and media type its entry gives.
 *
 * Throws a ClientError (`DIGEST_MISMATCH`, `SIZE_MISMATCH`, `MANIFEST_INVALID`, `BLOB_UNKNOWN`, ...) naming
 * what failed; resolves to what it checked.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../content/descriptor.js';
import { isDigest, type Digest } from '../content/digest.js';
import { isNonDistributable, DOCKER_CONFIG, OCI_CONFIG } from '../content/media-types.js';
import { ClientError } from './errors.js';
import { parseRaw } from './image.js';
import { compressionOf, decompressed, peek } from './internal/compression.js';
import { readVerified } from './internal/small.js';
import { hasher, verifier } from './internal/verify.js';
import type { ImageSource, SourceOptions } from './transport.js';

export interface ValidationReport {
  manifests: number;
  blobs: number;
  bytes: number;
}

export interface ValidateOptions extends SourceOptions {
  /** Validate this child manifest instead of the one the reference names. */
  digest?: Digest;
}

function sink(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

function skipped(l: Descriptor): boolean {
  return isNonDistributable(l.mediaType) && (l.urls?.length ?? 0) > 0;
}

export async function validateImage(source: ImageSource, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const report: ValidationReport = { manifests: 0, blobs: 0, bytes: 0 };
  await validateManifest(source, opts.digest, undefined, report, opts.signal, 0);
  return report;
}

async function validateManifest(source: ImageSource, digest: Digest | undefined, entry: Descriptor | undefined, report: ValidationReport, signal: AbortSignal | undefined, depth: number): Promise<void> {
  if (depth > 4) throw new ClientError('UNSUPPORTED_FORMAT', 'indexes nested too deeply');
  const raw = await source.getManifest(digest, { signal });
  const where = `manifest ${raw.digest}`;
  const parsed = parseRaw(raw, where);
  if (entry) {
    if (raw.bytes.length !== entry.size) throw new ClientError('SIZE_MISMATCH', `${where}: ${raw.bytes.length} bytes, its index entry says ${entry.size}`);
    if (parsed.mediaType !== entry.mediaType) throw new ClientError('MANIFEST_INVALID', `${where}: a ${parsed.mediaType}, its index entry says ${entry.mediaType}`);
  }
  report.manifests++;
  if (parsed.kind === 'index') {
    for (const child of parsed.manifests) await validateManifest(source, child.digest, child, report, signal, depth + 1);
    return;
  }
  if (parsed.kind !== 'image' || !parsed.config) throw new ClientError('UNSUPPORTED_FORMAT', `${where}: cannot validate a ${parsed.mediaType}`);

  const configDesc = parsed.config;
  const configBytes = await readVerified(await source.getBlob(configDesc, { signal }), configDesc, `config ${configDesc.digest}`);
  report.blobs++;
  report.bytes += configBytes.length;
  let diffIDs: string[] | undefined;
  if (configDesc.mediaType === OCI_CONFIG || configDesc.mediaType === DOCKER_CONFIG) {
    let config: { rootfs?: { diff_ids?: unknown } };
    try {
      config = JSON.parse(configBytes.toString('utf8')) as typeof config;
    } catch (cause) {
      throw new ClientError('MANIFEST_INVALID', `config ${configDesc.digest} is not valid JSON`, undefined, { cause });
    }
    const ids = config?.rootfs?.diff_ids;
    if (!Array.isArray(ids) || !ids.every((d): d is string => typeof d === 'string' && isDigest(d))) {
      throw new ClientError('MANIFEST_INVALID', `config ${configDesc.digest}: rootfs.diff_ids is missing or not a list of digests`);
    }
    if (ids.length !== parsed.layers.length) {
      throw new ClientError('MANIFEST_INVALID', `config ${configDesc.digest}: ${ids.length} diff_ids for ${parsed.layers.length} layers`);
    }
    diffIDs = ids;
  }

  for (const [i, layer] of parsed.layers.entries()) {
    if (skipped(layer)) continue;
    const what = `layer ${i} (${layer.digest})`;
    const check = verifier(layer, what);
    const verified = pipeline(await source.getBlob(layer, { signal }), check, { signal });
    const head = await peek(check, 4);
    if (diffIDs && compressionOf(head) !== 'zstd') {
      const h = hasher();
      const { stream } = await decompressed(check);
      await Promise.all([verified, pipeline(stream, h, sink(), { signal })]);
      if (h.digest() !== diffIDs[i]) {
        throw new ClientError('DIGEST_MISMATCH', `${what}: uncompressed content has digest ${h.digest()}, the config's diff_id is ${diffIDs[i]}`);
      }
    } else {
      await Promise.all([verified, pipeline(check, sink(), { signal })]);
    }
    report.blobs++;
    report.bytes += layer.size;
  }
}
