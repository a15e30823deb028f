import type { Digest } from '../content/digest.js';

/** Errors a metadata store throws. `registry/` maps them to OCI errors. */
export type MetadataErrorCode = 'NOT_FOUND' | 'MISSING_REFERENCES' | 'CONFLICT';

export class MetadataError extends Error {
  override name = 'MetadataError';
  constructor(
    readonly code: MetadataErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A manifest named blobs or child manifests that the repository does not hold. Nothing was written. */
export class MissingReferencesError extends MetadataError {
  override name = 'MissingReferencesError';
  constructor(
    readonly blobs: Digest[],
    readonly manifests: Digest[],
  ) {
    super('MISSING_REFERENCES', `missing blobs [${blobs.join(', ')}] and manifests [${manifests.join(', ')}]`);
  }
}
