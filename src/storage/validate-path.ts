import { DriverError } from './errors.js';

const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;

/**
 * True when `name` may be one segment of a driver path: `[A-Za-z0-9._-]+`, but not `.` or `..`.
 * Drivers also use it to hide their own bookkeeping entries (temp directories) from `list` and `walk`.
 */
export function isValidPathSegment(name: string): boolean {
  return SEGMENT_RE.test(name) && name !== '.' && name !== '..';
}

/**
 * Checks a driver path and throws `DriverError` `INVALID_PATH` when it is malformed, so every driver refuses
 * the same paths (distribution's `storagedriver.PathRegexp`, plus a ban on `.` and `..` segments).
 *
 * A valid path starts with `/`, has no empty segment (`//`), no trailing `/`, and only the characters
 * `[A-Za-z0-9._/-]`. The root `/` itself is accepted only with `allowRoot` (for `list`, `walk`, `delete`):
 * it is a prefix, never a file.
 */
export function validatePath(driverName: string, path: string, opts: { allowRoot?: boolean } = {}): void {
  if (typeof path === 'string' && path === '/' && opts.allowRoot) return;
  if (typeof path !== 'string' || !path.startsWith('/') || !path.slice(1).split('/').every(isValidPathSegment)) {
    throw new DriverError('INVALID_PATH', driverName, String(path));
  }
}
