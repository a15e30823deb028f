import { hashPassword } from '../../auth/secrets.js';
import { AuthError } from '../../auth/errors.js';
import type { UserRecord } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { parseName, requireSuperuser, requireUser } from './guard.js';
import { audit, created, Fields, iso, noContent, ok, queryInt, readJson, type ApiRequest, type ApiResponse } from './request.js';

/** Users: the caller's own account, and (superusers) everybody's. */

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

export function userJson(u: UserRecord) {
  return { name: u.name, email: u.email, superuser: u.superuser, createdAt: iso(u.createdAt) };
}

// GET /user
export async function getCurrentUser(r: ApiRequest): Promise<ApiResponse> {
  const p = r.principal;
  if (p.kind === 'robot') return ok({ kind: 'robot', name: p.name, namespace: p.namespace });
  const u = requireUser(r);
  const rec = await r.auth.accounts.getUser(u.name);
  if (!rec) throw new ApiError('UNAUTHORIZED', 'the account no longer exists');
  const teams = await r.auth.accounts.teamsOf(u.name);
  const orgs = new Map<string, { name: string; role: string }[]>();
  for (const t of teams) orgs.set(t.org, [...(orgs.get(t.org) ?? []), { name: t.name, role: t.role }]);
  return ok({
    kind: 'user',
    ...userJson(rec),
    organizations: [...orgs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, ts]) => ({ name, teams: ts })),
  });
}

// PUT /user/password
export async function changeOwnPassword(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const f = new Fields(await readJson(r), ['currentPassword', 'password']);
  const current = f.string('currentPassword', { required: true, max: MAX_PASSWORD });
  const password = f.string('password', { required: true, min: MIN_PASSWORD, max: MAX_PASSWORD });
  const rec = await r.auth.accounts.getUser(p.name);
  if (!rec) throw new ApiError('UNAUTHORIZED', 'the account no longer exists');
  // The current password, not an app token: whoever holds a token must not be able to take the account over.
  // Wrong guesses count against the same throttles as failed logins.
  try {
    await r.auth.checkPassword(p.name, current, r.ctx.ip, 'wrong current password on password change');
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    if (err.code === 'THROTTLED') throw new ApiError('TOO_MANY_REQUESTS', err.message, { headers: { 'Retry-After': String(err.retryAfterSeconds ?? 1) } });
    throw new ApiError('FORBIDDEN', 'the current password is wrong');
  }
  await r.auth.accounts.updateUser(p.name, { passwordHash: await hashPassword(password) });
  r.auth.forgetCredentials();
  audit(r, { action: 'user_password_change', namespace: p.name, detail: { user: p.name } });
  return noContent();
}

// GET /users
export async function listUsers(r: ApiRequest): Promise<ApiResponse> {
  requireSuperuser(r);
  const n = queryInt(r, 'n', 100, 1000);
  const last = r.query.get('last') ?? undefined;
  const users = await r.auth.accounts.listUsers({ n: n + 1, last });
  const more = users.length > n;
  const page = users.slice(0, n);
  return ok({ users: page.map(userJson), ...(more ? { next: page[page.length - 1]!.name } : {}) });
}

// POST /users
export async function createUser(r: ApiRequest): Promise<ApiResponse> {
  requireSuperuser(r);
  const f = new Fields(await readJson(r), ['name', 'password', 'email', 'superuser']);
  const name = parseName(f.string('name', { required: true, max: 255 }), 'user');
  const password = f.string('password', { required: true, min: MIN_PASSWORD, max: MAX_PASSWORD });
  const email = f.string('email', { max: 320 });
  const superuser = f.boolean('superuser') ?? false;
  const u = await r.auth.accounts.createUser({ name, passwordHash: await hashPassword(password), email, superuser });
  audit(r, { action: 'user_create', namespace: name, detail: { user: name, superuser } });
  return created(userJson(u));
}

// GET /users/{user}
export async function getUser(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const name = r.params.user!;
  if (!p.superuser && p.name !== name) throw new ApiError('FORBIDDEN', 'only superusers may look up other users');
  const u = await r.auth.accounts.getUser(name);
  if (!u) throw new ApiError('NOT_FOUND', `user ${name} does not exist`);
  return ok(userJson(u));
}

// DELETE /users/{user}
export async function deleteUser(r: ApiRequest): Promise<ApiResponse> {
  const p = requireSuperuser(r);
  const name = r.params.user!;
  if (name === p.name) throw new ApiError('CONFLICT', 'you cannot delete your own account');
  if (!(await r.auth.accounts.deleteUser(name))) throw new ApiError('NOT_FOUND', `user ${name} does not exist`);
  r.auth.forgetCredentials();
  audit(r, { action: 'user_delete', namespace: name, detail: { user: name } });
  return noContent();
}

// PUT /users/{user}/password
export async function setUserPassword(r: ApiRequest): Promise<ApiResponse> {
  requireSuperuser(r);
  const name = r.params.user!;
  const f = new Fields(await readJson(r), ['password']);
  const password = f.string('password', { required: true, min: MIN_PASSWORD, max: MAX_PASSWORD });
  if (!(await r.auth.accounts.getUser(name))) throw new ApiError('NOT_FOUND', `user ${name} does not exist`);
  await r.auth.accounts.updateUser(name, { passwordHash: await hashPassword(password) });
  r.auth.forgetCredentials();
  audit(r, { action: 'user_password_change', namespace: name, detail: { user: name } });
  return noContent();
}
