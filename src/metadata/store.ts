import type { Digest } from '../content/digest.js';
import type { AccountStore } from './accounts.js';
import type { ScanStore } from './scans.js';
import type { CertStore } from './certs.js';

/**
 * The metadata store: repositories, which blobs each repository may serve, manifests, tags, referrers and
 * upload sessions. Blob bytes live in a `BlobDriver`; the store only knows digests and sizes.
 *
 * Repository names, tags and digests reach the store already validated. A repository exists once anything
 * (a blob link, a manifest or an upload) was put into it and is implicitly created by those calls.
 *
 * Every method is atomic on its own: a caller never sees half of a `putManifest` or of a GC step. Every
 * implementation must pass `describeMetadataStore` in `conformance.ts`.
 */
export interface MetadataStore {
  readonly name: string;

  /** Users, organisations, teams, robots, repository permissions, tokens, signing keys and the audit log. */
  readonly accounts: AccountStore;

  /** Advisories, package inventories, scan results and the scan job queue (see `scans.ts`). */
  readonly scans: ScanStore;

  /** Certification settings, results, the certification job queue and publications (see `certs.ts`). */
  readonly certs: CertStore;

  // --- repositories -----------------------------------------------------------------------------

  repositoryExists(repo: string): Promise<boolean>;

  /** Repository names in byte order, after `last` (exclusive), at most `n` (all when undefined). */
  listRepositories(page?: Page): Promise<string[]>;

  // --- blobs ------------------------------------------------------------------------------------

  /** The blob, if it is stored at all (in any repository). */
  getBlob(digest: Digest): Promise<BlobRecord | undefined>;

  /** The blob, if the repository may serve it (pushed or mounted into it). */
  getRepositoryBlob(repo: string, digest: Digest): Promise<BlobRecord | undefined>;

  /**
   * Records that the blob is stored and that `repo` may serve it. Creates the repository and the blob
   * record when missing. Refreshes `linkedAt` of an existing link (so GC's grace period restarts) and keeps
   * the blob's original size and `createdAt`.
   */
  linkBlob(repo: string, digest: Digest, size: number, now?: Date): Promise<void>;

  /** The blobs the repository links, by digest, after `last` (exclusive), at most `n` (for `berth migrate`). */
  listRepositoryBlobs(repo: string, page?: Page): Promise<BlobRecord[]>;

  /**
   * Removes the repository's link to the blob. Returns false when there was none. The blob record
   * stays until GC removes it.
   */
  unlinkBlob(repo: string, digest: Digest): Promise<boolean>;

  // --- manifests and tags ---------------------------------------------------------------------

  /**
   * Stores a manifest (idempotent for the same digest) and, when given, points `tags` at it.
   *
   * Atomically checks that every digest in `blobs` is linked in the repository and that every digest in
   * `children` is a manifest of the repository; if any is missing, throws `MissingReferencesError` and
   * writes nothing. Re-putting an existing digest updates nothing but the tags.
   */
  putManifest(m: NewManifest): Promise<void>;

  getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined>;

  /** Every manifest of the repository with its content, by digest, after `last`, at most `n` (for `berth migrate`). */
  listManifests(repo: string, page?: Page): Promise<ManifestRecord[]>;

  /** The manifest a tag points at, in one lookup. */
  getTaggedManifest(repo: string, tag: string): Promise<ManifestRecord | undefined>;

  /**
   * Deletes the manifest and every tag pointing at it. Returns false when it was not there. The blobs
   * it referenced stay linked until GC unlinks them.
   */
  deleteManifest(repo: string, digest: Digest): Promise<boolean>;

  /** Removes the tag only; the manifest stays. Returns false when the tag did not exist. */
  deleteTag(repo: string, tag: string): Promise<boolean>;

  /** Tag names in byte order, after `last` (exclusive), at most `n` (all when undefined). */
  listTags(repo: string, page?: Page): Promise<string[]>;

  /** Like `listTags`, with the manifest each tag points at and when the tag was last moved (pushed). */
  listTagRecords(repo: string, page?: Page): Promise<TagRecord[]>;

  /**
   * Manifests of the repository whose `subject` is `subject`, ordered by digest, optionally only those
   * whose `artifactType` equals the filter.
   */
  listReferrers(repo: string, subject: Digest, filter?: { artifactType?: string }): Promise<ReferrerRecord[]>;

  // --- upload sessions ------------------------------------------------------------------------

  createUpload(upload: { id: string; repo: string; now?: Date }): Promise<UploadRecord>;

  /** The session, only if it belongs to `repo`. */
  getUpload(repo: string, id: string): Promise<UploadRecord | undefined>;

  /**
   * Compare-and-set of the committed size after a chunk was appended. Returns false (and changes
   * nothing) when the stored size is not `expectedSize`, i.e. another request got there first.
   */
  advanceUpload(id: string, expectedSize: number, newSize: number, now?: Date): Promise<boolean>;

  /** Ends the session. Returns false when it did not exist. */
  deleteUpload(id: string): Promise<boolean>;

  /** Sessions not touched since `before`, oldest first. */
  listStaleUploads(before: Date, limit: number): Promise<UploadRecord[]>;

  // --- garbage collection ---------------------------------------------------------------------

  /**
   * Deletes manifests created before `before` that nothing keeps alive: no tag, not a child of another
   * manifest in the repository, and no `subject` that is a manifest of the repository. Repeats until
   * nothing more goes (an index's children go in the round after the index). Returns what was deleted.
   */
  deleteUntaggedManifests(before: Date, limit: number): Promise<ManifestKey[]>;

  /**
   * Removes repository blob links that no manifest of that repository references, and that were
   * linked before `before`. Returns the number removed.
   */
  deleteUnreferencedLinks(before: Date, limit: number): Promise<number>;

  /**
   * Deletes and returns the records of blobs that no repository links and that were created before
   * `before`. The caller then deletes their bytes.
   */
  deleteOrphanBlobs(before: Date, limit: number): Promise<BlobRecord[]>;

  /** Sum of the sizes of all stored blobs (for metrics). */
  storedBytes(): Promise<number>;

  close(): Promise<void>;
}

export interface Page {
  n?: number;
  last?: string;
}

export interface BlobRecord {
  digest: Digest;
  size: number;
  createdAt: Date;
}

export interface NewManifest {
  repo: string;
  digest: Digest;
  mediaType: string;
  content: Uint8Array;
  /** `artifactType`, or for an image manifest without one, its config media type (as referrers report). */
  artifactType?: string;
  subject?: Digest;
  annotations?: Record<string, string>;
  /** Config and layer digests that must be linked in the repository. */
  blobs: Digest[];
  /** Child manifest digests (of an index) that must exist in the repository. */
  children: Digest[];
  tags?: string[];
  now?: Date;
}

export interface ManifestKey {
  repo: string;
  digest: Digest;
}

export interface ManifestRecord {
  repo: string;
  digest: Digest;
  mediaType: string;
  size: number;
  content: Buffer;
  artifactType?: string;
  subject?: Digest;
  createdAt: Date;
}

export interface TagRecord {
  name: string;
  digest: Digest;
  mediaType: string;
  size: number;
  updatedAt: Date;
}

export interface ReferrerRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface UploadRecord {
  id: string;
  repo: string;
  /** Bytes committed so far. */
  size: number;
  startedAt: Date;
  updatedAt: Date;
}
