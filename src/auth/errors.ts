/** Why authentication failed. `http/` turns these into UNAUTHORIZED (401) or TOOMANYREQUESTS (429). */
export type AuthErrorCode = 'INVALID_CREDENTIALS' | 'INVALID_TOKEN' | 'THROTTLED';

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
