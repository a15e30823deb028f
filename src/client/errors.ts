/**
 * Errors of the client library. Every failure a caller may want to branch on carries a stable `code`;
 * messages are for people and may change. Codes that the OCI distribution-spec also defines
 * (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `MANIFEST_INVALID`) are spelled as the spec spells them.
 */
export const CLIENT_ERROR_CODES = [
  /** A reference string that its transport cannot parse (`oci:` with no path, a bad tag, ...). */
  'REFERENCE_INVALID',
  /** A reference whose `<transport>:` prefix names no registered transport. */
  'TRANSPORT_UNKNOWN',
  /** The manifest the reference (or a digest) names is not in the store. */
  'MANIFEST_UNKNOWN',
  /** Manifest or config bytes that do not parse, or that are larger than the cap for small JSON. */
  'MANIFEST_INVALID',
  /** A blob a manifest names is not in the store. */
  'BLOB_UNKNOWN',
  /** Content whose digest is not the one its descriptor names. */
  'DIGEST_MISMATCH',
  /** Content whose length is not the size its descriptor names. */
  'SIZE_MISMATCH',
  /** An OCI layout or `dir:` directory that is missing or malformed. */
  'LAYOUT_INVALID',
  /** A tar archive (`oci-archive:`, `docker-archive:`) that is missing or malformed. */
  'ARCHIVE_INVALID',
  /** A format the operation cannot handle (zstd layers, an index where only images fit, ...). */
  'UNSUPPORTED_FORMAT',
  /** A copy that would change a manifest digest when the caller asked to keep it. */
  'DIGEST_CHANGE_REFUSED',
  /** No image in an index matches the wanted platform. */
  'PLATFORM_UNKNOWN',
  /** A registry refused the credentials, or asked for some and none were configured (OCI `UNAUTHORIZED`). Not retried. */
  'UNAUTHORIZED',
  /** A registry (OCI `DENIED`) or a registries.conf `blocked` entry refused access to the repository. */
  'DENIED',
  /** A registry reported an error no other code names; the registry's own code is kept in `registryCode`. */
  'REGISTRY_ERROR',
  /** A registry could not be reached (refused, reset, TLS, DNS), after retries where retrying made sense. */
  'NETWORK_ERROR',
  /** registries.conf, auth.json or policy.json that cannot be parsed, or a credential helper that failed. */
  'CONFIG_INVALID',
  /** policy.json refuses the image (`reject`), or names a requirement this build cannot check. */
  'POLICY_REJECTED',
  /** Options that contradict each other or are out of range (compress and decompress at once, a level of 42). */
  'OPTION_INVALID',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly detail?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}

/**
 * The image is not there: no such manifest, repository or layout. skopeo exits 2 for these, and `image mirror
 * --skip-missing` skips them.
 */
export function isImageNotFound(err: unknown): boolean {
  if (!isClientError(err)) return false;
  const registryCode = (err as { registryCode?: string }).registryCode;
  return [err.code, registryCode].some((c) => c === 'MANIFEST_UNKNOWN' || c === 'NAME_UNKNOWN' || c === 'LAYOUT_INVALID');
}
