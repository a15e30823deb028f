import { isClientError } from '../client/errors.js';

/**
 * Exit codes as skopeo's: 0 success, 1 any failure, 2 "the input image cannot be found" (best effort).
 */
export function exitCodeOf(err: unknown): number {
  if (isClientError(err)) {
    const code = (err as { registryCode?: string }).registryCode ?? err.code;
    if (code === 'MANIFEST_UNKNOWN' || code === 'NAME_UNKNOWN' || code === 'LAYOUT_INVALID') return 2;
  }
  return 1;
}
