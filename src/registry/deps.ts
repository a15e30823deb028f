import type { KeyObject } from 'node:crypto';
import type { BlobDriver } from '../storage/driver.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Locker } from '../metadata/locks.js';
import type { UploadHashes } from './upload-hashes.js';

/** What the registry's operations work on. Built once at start-up (`createRegistry`). */
export interface RegistryDeps {
  driver: BlobDriver;
  store: MetadataStore;
  locker: Locker;
  hashes: UploadHashes;
  limits: RegistryLimits;
  /** The key that signs schema-1 renderings for old clients (libtrust-compatible EC P-256). */
  schema1Key: KeyObject;
  /** When set, blob GETs are answered with a redirect to a presigned storage URL (drivers with `urlFor`). */
  redirect?: { expiresInSeconds: number };
}

export interface RegistryLimits {
  /** Largest manifest accepted, in bytes (413 above it). */
  maxManifestBytes: number;
  /** Largest `n` accepted on tag lists and the catalog. */
  maxPageSize: number;
}

export const DEFAULT_LIMITS: RegistryLimits = { maxManifestBytes: 4 * 1024 * 1024, maxPageSize: 100_000 };
