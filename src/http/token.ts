import { AuthError } from '../auth/errors.js';
import { formatScope, parseScopes } from '../auth/scope.js';
import type { Principal } from '../auth/access.js';
import { RegistryError } from '../registry/errors.js';
import { readSmallBody, send, type Context } from './context.js';

/**
 * The token endpoint (the realm of the Bearer challenge), as Docker clients use it
 * (distribution docs/spec/auth/token.md and oauth.md; shared/reference/registries.md §2.2–2.4):
 *
 * - GET, with Basic credentials or none (an anonymous token), `scope` repeated, `offline_token=true` for a
 *   refresh token;
 * - POST `application/x-www-form-urlencoded` with `grant_type=password` or `refresh_token`, `scope` holding
 *   space-separated scopes, `access_type=offline` for a refresh token.
 *
 * The grant is the intersection of what was asked and what is allowed; a partial grant is not an error.
 */
export async function getToken(ctx: Context): Promise<void> {
  const auth = requireAuth(ctx);
  const scopes = parseScopes(ctx.query.getAll('scope'));
  const issued = await auth.issueToken(ctx.principal, scopes);
  const wantsRefresh = ctx.query.get('offline_token') === 'true' && ctx.principal.kind === 'user';
  send(ctx, 200, { 'Cache-Control': 'no-store' }, {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt.toISOString(),
    ...(wantsRefresh ? { refresh_token: await auth.createRefreshToken(ctx.principal.kind === 'user' ? ctx.principal.name : '') } : {}),
  });
}

export async function postToken(ctx: Context): Promise<void> {
  const auth = requireAuth(ctx);
  const form = new URLSearchParams((await readForm(ctx)).toString('utf8'));
  const grant = form.get('grant_type');
  let principal: Principal;
  let refreshToken: string | undefined;
  try {
    if (grant === 'password') {
      principal = await auth.login(form.get('username') ?? '', form.get('password') ?? '', ctx.ip);
      if (form.get('access_type') === 'offline' && principal.kind === 'user') refreshToken = await auth.createRefreshToken(principal.name);
    } else if (grant === 'refresh_token') {
      principal = await auth.redeemRefreshToken(form.get('refresh_token') ?? '');
      refreshToken = form.get('refresh_token') ?? undefined;
    } else {
      return oauthError(ctx, 400, 'unsupported_grant_type', `grant_type ${JSON.stringify(grant ?? '')} is not supported (password, refresh_token)`);
    }
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    if (err.code === 'THROTTLED') {
      throw new RegistryError('TOOMANYREQUESTS', err.message, undefined, { headers: { 'Retry-After': String(err.retryAfterSeconds ?? 1) } });
    }
    return oauthError(ctx, 401, 'invalid_grant', err.message);
  }
  const scopes = parseScopes(form.getAll('scope'));
  const issued = await auth.issueToken(principal, scopes);
  send(ctx, 200, { 'Cache-Control': 'no-store' }, {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt.toISOString(),
    scope: issued.access.filter((a) => a.actions.length).map(formatScope).join(' '),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  });
}

function requireAuth(ctx: Context): NonNullable<Context['auth']> {
  if (!ctx.auth) throw new RegistryError('UNSUPPORTED', 'this registry runs without authentication; no token is needed');
  return ctx.auth;
}

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  send(ctx, status, { 'Cache-Control': 'no-store' }, { error, error_description: description });
}

const MAX_FORM = 64 * 1024;

function readForm(ctx: Context): Promise<Buffer> {
  return readSmallBody(ctx, MAX_FORM, () => new RegistryError('SIZE_INVALID', `token request body is larger than ${MAX_FORM} bytes`));
}
