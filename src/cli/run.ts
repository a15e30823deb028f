import { isImageNotFound } from '../client/errors.js';

/**
 * Exit codes as skopeo's: 0 success, 1 any failure, 2 "the input image cannot be found" (best effort).
 */
export function exitCodeOf(err: unknown): number {
  return isImageNotFound(err) ? 2 : 1;
}
