import { namespaceOf, type Principal, type RepoAction } from '../../auth/access.js';
import type { NamespaceRecord, RepositorySettings } from '../../metadata/accounts.js';
import { parseRepositoryName } from '../../content/reference.js';
import { ApiError } from './errors.js';
import type { ApiRequest } from './request.js';

/**
 * Who may do what on the API. The decisions themselves are `AccessControl`'s (auth/access.ts); these helpers
 * turn them into the API's answers: 403 for a caller without the right, and 404, never 403, for a private
 * repository the caller cannot read (so that nobody learns it exists).
 */

/**
 * User, organisation, team and robot short names: one component of a repository name (the namespace is a
 * name's first component), lower case, at most 255 characters. `+` is reserved for robots (`ns+robot`).
 */
const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function parseName(value: string, what: string): string {
  if (value.length > 255 || !NAME_RE.test(value)) {
    throw new ApiError('INVALID_REQUEST', `invalid ${what} name ${JSON.stringify(value.slice(0, 100))}: use lower-case letters, digits and single separators (. _ -), as in a repository path component`);
  }
  return value;
}

export function parseRepo(value: string): string {
  return parseRepositoryName(value);
}

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** The calling user; robots get 403 (they pull and push, they do not manage). */
export function requireUser(r: ApiRequest): UserPrincipal {
  const p = r.principal;
  if (p.kind !== 'user') throw new ApiError('FORBIDDEN', p.kind === 'robot' ? 'robot accounts cannot use this endpoint' : 'authentication required');
  return p;
}

export function requireSuperuser(r: ApiRequest): UserPrincipal {
  const p = requireUser(r);
  if (!p.superuser) throw new ApiError('FORBIDDEN', 'only superusers may do this');
  return p;
}

export async function requireNamespace(r: ApiRequest, name: string): Promise<NamespaceRecord> {
  const ns = await r.auth.accounts.getNamespace(name);
  if (!ns) throw new ApiError('NOT_FOUND', `namespace ${name} does not exist`);
  return ns;
}

export async function requireOrganization(r: ApiRequest, name: string): Promise<NamespaceRecord> {
  const ns = await r.auth.accounts.getNamespace(name);
  if (!ns || ns.kind !== 'organization') throw new ApiError('NOT_FOUND', `organization ${name} does not exist`);
  return ns;
}

/** 403 unless the caller administers the namespace (their own, an organisation's admin team, or a superuser). */
export async function requireNamespaceAdmin(r: ApiRequest, ns: string): Promise<void> {
  if (!(await r.auth.access.isNamespaceAdmin(r.principal, ns))) throw new ApiError('FORBIDDEN', `you do not administer ${ns}`);
}

/** Whether the caller belongs to the organisation (any team) or administers it. */
export async function isOrganizationMember(r: ApiRequest, org: string): Promise<boolean> {
  const p = r.principal;
  if (p.kind !== 'user') return false;
  if (p.superuser) return true;
  return (await r.auth.accounts.teamsOf(p.name)).some((t) => t.org === org);
}

export interface RepoView {
  repo: string;
  namespace: string;
  /** Undefined for a repository pushed before it had settings (it is private). */
  settings: RepositorySettings | undefined;
  actions: Set<RepoAction>;
}

/**
 * A repository the caller can read. A repository exists when it has settings or content. Missing and
 * unreadable answer the same 404, with the same message.
 */
export async function readableRepo(r: ApiRequest, name: string): Promise<RepoView> {
  const repo = parseRepo(name);
  const actions = await r.auth.access.actionsOn(r.principal, repo);
  const settings = actions.has('pull') ? await r.auth.accounts.getRepository(repo) : undefined;
  if (!actions.has('pull') || (!settings && !(await r.ctx.deps.store.repositoryExists(repo)))) throw repoNotFound(repo);
  return { repo, namespace: namespaceOf(repo), settings, actions };
}

/** A repository the caller administers: 404 as `readableRepo` when they cannot read it, else 403 without admin. */
export async function adminRepo(r: ApiRequest, name: string): Promise<RepoView> {
  const view = await readableRepo(r, name);
  if (!view.actions.has('delete')) throw new ApiError('FORBIDDEN', `you do not administer repository ${view.repo}`);
  return view;
}

export function repoNotFound(repo: string): ApiError {
  return new ApiError('NOT_FOUND', `repository ${repo} not found`);
}

/** Settings of a repository that has content but none yet (pushed before accounts existed): private. */
export async function ensureSettings(r: ApiRequest, view: RepoView): Promise<RepositorySettings> {
  if (view.settings) return view.settings;
  const { settings } = await r.auth.accounts.ensureRepository({ repo: view.repo, namespace: view.namespace, visibility: 'private' });
  return settings;
}
