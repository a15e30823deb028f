/**
 * Errors of the scanner. Every failure a caller may branch on carries a stable `code`; messages are for people.
 */
export const SCAN_ERROR_CODES = [
  /** A version string that its ecosystem's grammar rejects (dpkg: empty, bad epoch, empty revision, ...). */
  'VERSION_INVALID',
  /** An RPM header blob that does not follow the header layout (bad counts, offsets outside the data, ...). */
  'RPM_HEADER_INVALID',
  /** An RPM database (sqlite, BerkeleyDB hash, NDB) whose pages or records do not follow the format. */
  'RPMDB_INVALID',
  /** A dpkg status or apk installed database that cannot be parsed. */
  'PACKAGE_DB_INVALID',
  /** A file in the image that is larger than the reader's cap for it (`maxFileBytes` / `maxTotalBytes`). */
  'FILE_TOO_LARGE',
  /** Advisory data (OSV, CSAF/VEX, Alpine secdb, Debian tracker JSON) that is not in any supported shape. */
  'ADVISORY_INVALID',
  /** A zip archive that is malformed or uses a feature the reader does not support. */
  'ZIP_INVALID',
  /** A format or feature the scanner does not handle (zip64, encrypted zip, unknown ecosystem, ...). */
  'UNSUPPORTED_FORMAT',
] as const;

export type ScanErrorCode = (typeof SCAN_ERROR_CODES)[number];

export class ScanError extends Error {
  override name = 'ScanError';
  constructor(
    readonly code: ScanErrorCode,
    message: string,
    readonly detail?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isScanError(err: unknown, code?: ScanErrorCode): err is ScanError {
  return err instanceof ScanError && (code === undefined || err.code === code);
}
