import { namespaceOf } from '../../auth/access.js';
import { REPO_ROLES, SUBJECT_KINDS, VISIBILITIES, type PermissionRecord, type RepositorySettings, type SubjectKind } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { adminRepo, ensureSettings, parseRepo, readableRepo, requireUser, type RepoView } from './guard.js';
import { audit, created, Fields, iso, noContent, ok, queryInt, readJson, type ApiRequest, type ApiResponse } from './request.js';

/**
 * Repository settings (visibility, description) and permissions. Deleting a repository here deletes its
 * settings and permissions only: its manifests, tags and blobs stay, and it is then private, readable by
 * superusers and its namespace's admins until it gets settings again (a push, or a create here).
 */

function repoJson(view: { repo: string; namespace: string; settings: RepositorySettings | undefined; actions?: Set<string> }) {
  const s = view.settings;
  return {
    name: view.repo,
    namespace: view.namespace,
    visibility: s?.visibility ?? 'private',
    description: s?.description ?? '',
    ...(s?.createdBy ? { createdBy: s.createdBy } : {}),
    ...(s ? { createdAt: iso(s.createdAt) } : {}),
    ...(view.actions ? { access: ['pull', 'push', 'delete'].filter((a) => view.actions!.has(a)) } : {}),
  };
}

// POST /repositories
export async function createRepository(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const f = new Fields(await readJson(r), ['name', 'visibility', 'description']);
  const repo = parseRepo(f.string('name', { required: true, max: 255 }));
  const visibility = f.oneOf('visibility', VISIBILITIES) ?? 'private';
  const description = f.string('description', { max: 4096 }) ?? '';
  const ns = namespaceOf(repo);
  // The right to create is checked before anything about the repository is looked at, so that a caller who
  // may not create here learns nothing about what exists.
  const may = await r.auth.access.mayCreateIn(p, ns);
  if (!may.allowed) throw new ApiError('FORBIDDEN', ns === '' ? 'only superusers may create repositories outside a namespace' : `you may not create repositories in ${ns}`);
  if (ns !== '' && !(await r.auth.accounts.getNamespace(ns))) throw new ApiError('NOT_FOUND', `namespace ${ns} does not exist`);
  // Content without settings (pushed while auth was off) is a repository too: "creating" it would hand a
  // creator team member admin over images someone else pushed.
  const conflict = new ApiError('CONFLICT', `repository ${repo} already exists`);
  if (await r.ctx.deps.store.repositoryExists(repo)) throw conflict;
  const { settings, created: isNew } = await r.auth.accounts.ensureRepository({ repo, namespace: ns, visibility, description, createdBy: p.name });
  if (!isNew) throw conflict;
  // As Quay: a member of a creator team becomes admin of what they create.
  if (may.asCreatorOnly) await r.auth.accounts.setPermission({ repo, subjectKind: 'user', subject: p.name, role: 'admin' });
  audit(r, { action: 'repo_create', namespace: ns, repo, detail: { visibility } });
  return created(repoJson({ repo, namespace: ns, settings, actions: await r.auth.access.actionsOn(p, repo) }));
}

// GET /repositories
export async function listRepositories(r: ApiRequest): Promise<ApiResponse> {
  const n = queryInt(r, 'n', 100, 1000);
  const nsFilter = r.query.get('namespace') ?? undefined;
  let last = r.query.get('last') ?? undefined;
  const out: ReturnType<typeof repoJson>[] = [];
  let more = false;
  // Reads pages of settings and keeps the readable ones, until a page is full.
  for (;;) {
    const batch = await r.auth.accounts.listRepositorySettings({ namespace: nsFilter, n: 200, last });
    for (const s of batch) {
      const actions = await r.auth.access.actionsOn(r.principal, s.repo);
      if (!actions.has('pull')) continue;
      if (out.length === n) {
        more = true;
        break;
      }
      out.push(repoJson({ repo: s.repo, namespace: s.namespace, settings: s, actions }));
    }
    if (more || batch.length < 200) break;
    last = batch[batch.length - 1]!.repo;
  }
  return ok({ repositories: out, ...(more && out.length ? { next: out[out.length - 1]!.name } : {}) });
}

// GET /repositories/{repo}
export async function getRepository(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  return ok(repoJson(view));
}

// PATCH /repositories/{repo}
export async function updateRepository(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const f = new Fields(await readJson(r), ['visibility', 'description']);
  const visibility = f.oneOf('visibility', VISIBILITIES);
  const description = f.string('description', { max: 4096 });
  const before = await ensureSettings(r, view);
  await r.auth.accounts.updateRepository(view.repo, { visibility, description });
  if (visibility !== undefined && visibility !== before.visibility) {
    audit(r, { action: 'repo_visibility_change', namespace: view.namespace, repo: view.repo, detail: { from: before.visibility, to: visibility } });
  }
  if (description !== undefined && description !== before.description) audit(r, { action: 'repo_description_change', namespace: view.namespace, repo: view.repo });
  const settings = await r.auth.accounts.getRepository(view.repo);
  return ok(repoJson({ ...view, settings }));
}

// DELETE /repositories/{repo}
export async function deleteRepository(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  await r.auth.accounts.deleteRepository(view.repo);
  // The next push must give it settings again.
  r.auth.forgetRepository(view.repo);
  audit(r, { action: 'repo_delete', namespace: view.namespace, repo: view.repo });
  return noContent();
}

// --- permissions -------------------------------------------------------------------------------------

/** A team is named in the API by its short name: only teams of the repository's own organisation count. */
function permissionJson(p: PermissionRecord, ns: string) {
  return { kind: p.subjectKind, name: p.subjectKind === 'team' && p.subject.startsWith(`${ns}/`) ? p.subject.slice(ns.length + 1) : p.subject, role: p.role };
}

// GET /repositories/{repo}/permissions
export async function listPermissions(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const perms = await r.auth.accounts.listPermissions(view.repo);
  return ok({ permissions: perms.map((p) => permissionJson(p, view.namespace)) });
}

/** The stored subject for `kind`/`name` on a repository of `view.namespace`, checked to exist and to fit. */
async function subjectOf(r: ApiRequest, view: RepoView): Promise<{ kind: SubjectKind; subject: string }> {
  const kind = r.params.kind as SubjectKind;
  if (!SUBJECT_KINDS.includes(kind)) throw new ApiError('NOT_FOUND', `no permission kind ${JSON.stringify(kind.slice(0, 20))}: use user, team or robot`);
  const name = r.params.name!;
  const accounts = r.auth.accounts;
  if (kind === 'user') {
    if (!(await accounts.getUser(name))) throw new ApiError('NOT_FOUND', `user ${name} does not exist`);
    return { kind, subject: name };
  }
  if (kind === 'team') {
    const ns = await accounts.getNamespace(view.namespace);
    if (ns?.kind !== 'organization') throw new ApiError('INVALID_REQUEST', `teams exist only in organisations; ${view.repo} is not in one`);
    if (!(await accounts.getTeam(view.namespace, name))) throw new ApiError('NOT_FOUND', `team ${view.namespace}/${name} does not exist`);
    return { kind, subject: `${view.namespace}/${name}` };
  }
  const robot = await accounts.getRobot(name);
  if (!robot) throw new ApiError('NOT_FOUND', `robot ${name} does not exist`);
  if (robot.namespace !== view.namespace) throw new ApiError('INVALID_REQUEST', `robot ${name} belongs to ${robot.namespace}; only robots of ${view.namespace || 'the root namespace'} may be given access to ${view.repo}`);
  return { kind, subject: name };
}

// PUT /repositories/{repo}/permissions/{kind}/{name}
export async function setPermission(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const f = new Fields(await readJson(r), ['role']);
  const role = f.oneOf('role', REPO_ROLES, true);
  const { kind, subject } = await subjectOf(r, view);
  await ensureSettings(r, view);
  const before = (await r.auth.accounts.listPermissions(view.repo)).find((p) => p.subjectKind === kind && p.subject === subject);
  await r.auth.accounts.setPermission({ repo: view.repo, subjectKind: kind, subject, role });
  if (before?.role !== role) {
    audit(r, { action: 'permission_set', namespace: view.namespace, repo: view.repo, detail: { kind, subject, role, ...(before ? { from: before.role } : {}) } });
  }
  return ok(permissionJson({ repo: view.repo, subjectKind: kind, subject, role }, view.namespace));
}

// DELETE /repositories/{repo}/permissions/{kind}/{name}
export async function removePermission(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const kind = r.params.kind as SubjectKind;
  if (!SUBJECT_KINDS.includes(kind)) throw new ApiError('NOT_FOUND', `no permission kind ${JSON.stringify(kind.slice(0, 20))}: use user, team or robot`);
  const subject = kind === 'team' ? `${view.namespace}/${r.params.name!}` : r.params.name!;
  if (!(await r.auth.accounts.removePermission(view.repo, kind, subject))) throw new ApiError('NOT_FOUND', `${kind} ${r.params.name!} has no permission on ${view.repo}`);
  audit(r, { action: 'permission_remove', namespace: view.namespace, repo: view.repo, detail: { kind, subject } });
  return noContent();
}
