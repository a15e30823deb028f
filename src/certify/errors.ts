/**
 * Errors of the certification checks. A check that cannot decide throws one of these; the engine files it
 * under `errors` (preflight's "encountered an error"), never under `failed`. Codes are stable; messages are for people.
 */
export const CERTIFY_ERROR_CODES = [
  /** A policy name that is not container, root, scratch-nonroot or scratch-root. */
  'POLICY_UNKNOWN',
  /** A UBI layer data file that is not valid JSON in the documented shape. */
  'UBI_DATA_INVALID',
  /** HasUniqueTag: the image is named by digest (or by nothing) and no tag could be found for it. */
  'TAG_UNKNOWN',
  /** The tag list of the repository could not be read. */
  'TAGS_UNAVAILABLE',
  /** HasNoProhibitedPackages: the image has no RPM database at any of the paths preflight reads. */
  'RPMDB_MISSING',
  /** HasModifiedFiles: the image has no /etc/os-release to read the platform dist tag from. */
  'OS_RELEASE_MISSING',
  /** The data a check needs cannot be read (a layer that does not parse, a missing reader, ...). */
  'CHECK_DATA_UNAVAILABLE',
] as const;

export type CertifyErrorCode = (typeof CERTIFY_ERROR_CODES)[number];

export class CertifyError extends Error {
  override name = 'CertifyError';
  constructor(
    readonly code: CertifyErrorCode,
    message: string,
    readonly detail?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isCertifyError(err: unknown, code?: CertifyErrorCode): err is CertifyError {
  return err instanceof CertifyError && (code === undefined || err.code === code);
}
