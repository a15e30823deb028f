/**
 * Errors from parsing and validating content. The codes are spelled as the OCI distribution-spec spells
 * them, so `registry/` can pass them on unchanged; `TAG_INVALID` is the one legacy Docker code, which the
 * registry reports as `MANIFEST_INVALID`.
 */
export type ContentErrorCode = 'DIGEST_INVALID' | 'NAME_INVALID' | 'TAG_INVALID' | 'MANIFEST_INVALID' | 'UNSUPPORTED';

export class ContentError extends Error {
  override name = 'ContentError';
  constructor(
    readonly code: ContentErrorCode,
    message: string,
    readonly detail?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
