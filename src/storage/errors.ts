/**
 * Errors a storage driver throws. A driver knows paths and bytes, never what a blob or manifest is:
 * `registry/` turns these into OCI errors because only it knows what a missing path meant.
 */
export type DriverErrorCode = 'PATH_NOT_FOUND' | 'INVALID_PATH' | 'INVALID_OFFSET' | 'DRIVER_FAILURE';

export class DriverError extends Error {
  override name = 'DriverError';
  constructor(
    readonly code: DriverErrorCode,
    readonly driverName: string,
    readonly path: string,
    message?: string,
    options?: ErrorOptions,
  ) {
    super(message ?? `${driverName}: ${code.toLowerCase().replace(/_/g, ' ')}: ${path}`, options);
  }
}

export function isPathNotFound(err: unknown): boolean {
  return err instanceof DriverError && err.code === 'PATH_NOT_FOUND';
}
