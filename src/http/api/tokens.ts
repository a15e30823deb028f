import type { TokenKind, TokenRecord } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { requireUser } from './guard.js';
import { audit, created, Fields, iso, noContent, ok, queryOneOf, readJson, type ApiRequest, type ApiResponse } from './request.js';

/**
 * The caller's own tokens: app tokens (personal access tokens for scripts, `berth_app_…`, used as a password
 * or as a Bearer token on this API) and the refresh tokens that `docker login`-style OAuth logins left behind.
 * A new app token is shown once; the store keeps only its hash.
 */

function tokenJson(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    createdAt: iso(t.createdAt),
    ...(t.expiresAt ? { expiresAt: iso(t.expiresAt) } : {}),
    ...(t.lastUsedAt ? { lastUsedAt: iso(t.lastUsedAt) } : {}),
  };
}

// GET /user/tokens
export async function listTokens(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const kind = queryOneOf<TokenKind>(r, 'kind', ['app', 'refresh']);
  return ok({ tokens: (await r.auth.accounts.listTokens(p.name, kind)).map(tokenJson) });
}

// POST /user/tokens
export async function createToken(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const f = new Fields(await readJson(r), ['name', 'expiresAt']);
  const name = f.string('name', { required: true, min: 1, max: 255 });
  const expiresAt = f.futureDate('expiresAt');
  const { record, token } = await r.auth.createAppToken(p.name, name, expiresAt);
  audit(r, { action: 'app_token_create', namespace: p.name, detail: { id: record.id, name, ...(expiresAt ? { expiresAt: iso(expiresAt) } : {}) } });
  return created({ ...tokenJson(record), token });
}

// DELETE /user/tokens/{id}
export async function revokeToken(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const id = r.params.id!;
  const rec = await r.auth.accounts.getToken(id);
  // Someone else's token answers as a missing one.
  if (!rec || rec.owner !== p.name) throw new ApiError('NOT_FOUND', `token ${id.slice(0, 64)} not found`);
  await r.auth.accounts.deleteToken(id);
  r.auth.forgetCredentials();
  audit(r, { action: rec.kind === 'app' ? 'app_token_revoke' : 'refresh_token_revoke', namespace: p.name, detail: { id, name: rec.name } });
  return noContent();
}
