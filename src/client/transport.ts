/**
 * The contracts every transport implements: containers/image's ImageSource / ImageDestination, one per
 * medium (`docker://`, `oci:`, `oci-archive:`, `dir:`, `docker-archive:`). `copy.ts` is source → destination;
 * `image.ts` builds lazy views over a source. Register a transport with `transports/index.ts`.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../content/descriptor.js';
import type { Digest } from '../content/digest.js';

export type TransportName = 'docker' | 'oci' | 'oci-archive' | 'dir' | 'docker-archive';

export interface ImageReference {
  readonly transport: TransportName;
  /** As the user would write it, e.g. `oci:/tmp/layout:v1`; `parseImageReference(String(ref))` gives it back. */
  toString(): string;
}

export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
  /** The digest the store names these bytes by; readers compare it with `digestOf(bytes)`. */
  digest: Digest;
}

export interface SourceOptions {
  signal?: AbortSignal;
}

/** A readable image store (containers/image ImageSource). */
export interface ImageSource {
  readonly reference: ImageReference;
  /**
   * The manifest the reference names (may be an index), or, with `digest`, one of its children.
   * Throws ClientError `MANIFEST_UNKNOWN` when it is not there.
   */
  getManifest(digest?: Digest, opts?: SourceOptions): Promise<RawManifest>;
  /**
   * The blob's bytes as stored (compressed layers stay compressed), from `offset` (default 0).
   * Throws ClientError `BLOB_UNKNOWN` if it is missing. The caller verifies digest and size.
   */
  getBlob(desc: Descriptor, opts?: SourceOptions & { offset?: number }): Promise<Readable>;
  /** Releases files and temporary copies. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * A writable image store (containers/image ImageDestination). Blobs first, then child manifests, then the
 * top manifest, then commit(). close() without commit() rolls back: the store is left as it was.
 */
export interface ImageDestination {
  readonly reference: ImageReference;
  /** True when the destination has the blob already (copy skips it). */
  hasBlob(desc: Descriptor, opts?: SourceOptions): Promise<boolean>;
  /**
   * Stores a blob, verifying digest and size while streaming; on mismatch nothing is left behind and it
   * throws a ClientError code `DIGEST_MISMATCH` / `SIZE_MISMATCH`. The stream is always consumed or destroyed.
   */
  putBlob(desc: Descriptor, stream: Readable, opts?: SourceOptions): Promise<void>;
  /**
   * Stores a manifest: a child of an index (`top: false`, stored by digest) or the one the reference names
   * (`top: true`). Resolves to undefined when the bytes are stored as given. A destination that stores a
   * different manifest (docker-archive keeps layers uncompressed, so the manifest it reads back names other
   * digests) resolves to the manifest as it will be read back, so copy can refuse a digest change before commit().
   */
  putManifest(m: RawManifest, opts: { top: boolean; signal?: AbortSignal }): Promise<RawManifest | void>;
  /**
   * Links a blob that `from` holds without moving its bytes (a cross-repository mount on one registry).
   * Optional; returns false when it cannot (another registry, another transport, the blob is not there).
   */
  tryMount?(desc: Descriptor, from: ImageReference, opts?: SourceOptions): Promise<boolean>;
  /** Makes everything visible (writes index.json, finishes an archive). Before commit() a failed copy leaves the destination as it was. */
  commit(): Promise<void>;
  /** Releases resources; without a prior commit() it also removes everything this destination wrote. Safe to call more than once. */
  close(): Promise<void>;
  /** Formats this destination can store, most preferred first (e.g. docker-archive: Docker v2 only); undefined means anything. */
  readonly supportedManifestTypes?: readonly string[];
}

/** What a destination may be told when it is opened. */
export interface DestinationOptions extends SourceOptions {
  /**
   * More names for the image, for a format that keeps names: docker-archive's RepoTags (skopeo's
   * `--additional-tag`). Other transports refuse them.
   */
  additionalTags?: string[];
}

export interface Transport {
  readonly name: TransportName;
  /** Parses what follows `<name>:` (e.g. `/tmp/layout:v1`). Throws ClientError `REFERENCE_INVALID`. */
  parseReference(rest: string): ImageReference;
  newSource(ref: ImageReference, opts?: SourceOptions): Promise<ImageSource>;
  newDestination(ref: ImageReference, opts?: DestinationOptions): Promise<ImageDestination>;
}
