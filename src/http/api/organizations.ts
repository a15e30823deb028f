import { TEAM_ROLES, type NamespaceRecord, type TeamRecord } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { isOrganizationMember, parseName, requireNamespaceAdmin, requireOrganization, requireUser } from './guard.js';
import { audit, created, Fields, iso, noContent, ok, readJson, type ApiRequest, type ApiResponse } from './request.js';

/** Organisations, their teams and team membership. */

/** The team every organisation is created with; it keeps the role admin and at least one member. */
export const OWNERS_TEAM = 'owners';

function orgJson(o: NamespaceRecord, withEmail: boolean) {
  return { name: o.name, ...(withEmail && o.email ? { email: o.email } : {}), createdAt: iso(o.createdAt) };
}

function teamJson(t: TeamRecord) {
  return { name: t.name, role: t.role, description: t.description ?? '', createdAt: iso(t.createdAt) };
}

// GET /organizations
export async function listOrganizations(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  if (p.superuser) return ok({ organizations: (await r.auth.accounts.listOrganizations()).map((o) => orgJson(o, true)) });
  const names = [...new Set((await r.auth.accounts.teamsOf(p.name)).map((t) => t.org))].sort();
  const orgs = await Promise.all(names.map((n) => r.auth.accounts.getNamespace(n)));
  return ok({ organizations: orgs.filter((o): o is NamespaceRecord => o !== undefined).map((o) => orgJson(o, false)) });
}

// POST /organizations
export async function createOrganization(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const f = new Fields(await readJson(r), ['name', 'email']);
  const name = parseName(f.string('name', { required: true, max: 255 }), 'organization');
  const email = f.string('email', { max: 320 });
  const org = await r.auth.accounts.createOrganization({ name, owner: p.name, email });
  audit(r, { action: 'org_create', namespace: name, detail: { organization: name, owner: p.name } });
  return created(orgJson(org, true));
}

// GET /organizations/{org}
export async function getOrganization(r: ApiRequest): Promise<ApiResponse> {
  requireUser(r);
  const org = await requireOrganization(r, r.params.org!);
  const admin = await r.auth.access.isNamespaceAdmin(r.principal, org.name);
  return ok({ ...orgJson(org, admin), admin, member: admin || (await isOrganizationMember(r, org.name)) });
}

// DELETE /organizations/{org}
export async function deleteOrganization(r: ApiRequest): Promise<ApiResponse> {
  requireUser(r);
  const org = await requireOrganization(r, r.params.org!);
  await requireNamespaceAdmin(r, org.name);
  await r.auth.accounts.deleteOrganization(org.name);
  // Its robots went with it.
  r.auth.forgetCredentials();
  audit(r, { action: 'org_delete', namespace: org.name, detail: { organization: org.name } });
  return noContent();
}

/** The organisation, for a caller who may see its teams (its members) or change them (its admins). */
async function orgFor(r: ApiRequest, need: 'read' | 'admin'): Promise<NamespaceRecord> {
  requireUser(r);
  const org = await requireOrganization(r, r.params.org!);
  if (need === 'admin') await requireNamespaceAdmin(r, org.name);
  else if (!(await isOrganizationMember(r, org.name))) throw new ApiError('FORBIDDEN', `only members of ${org.name} may see its teams`);
  return org;
}

async function teamOf(r: ApiRequest, org: string): Promise<TeamRecord> {
  const team = await r.auth.accounts.getTeam(org, r.params.team!);
  if (!team) throw new ApiError('NOT_FOUND', `team ${org}/${r.params.team!} does not exist`);
  return team;
}

// GET /organizations/{org}/teams
export async function listTeams(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'read');
  return ok({ teams: (await r.auth.accounts.listTeams(org.name)).map(teamJson) });
}

// GET /organizations/{org}/teams/{team}
export async function getTeam(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'read');
  const team = await teamOf(r, org.name);
  return ok({ ...teamJson(team), members: await r.auth.accounts.listTeamMembers(org.name, team.name) });
}

// PUT /organizations/{org}/teams/{team}
export async function putTeam(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'admin');
  const name = parseName(r.params.team!, 'team');
  const f = new Fields(await readJson(r), ['role', 'description']);
  const role = f.oneOf('role', TEAM_ROLES, true);
  const description = f.string('description', { max: 4096 });
  if (name === OWNERS_TEAM && role !== 'admin') throw new ApiError('CONFLICT', `the ${OWNERS_TEAM} team keeps the role admin`);
  const before = await r.auth.accounts.getTeam(org.name, name);
  const team = await r.auth.accounts.putTeam({ org: org.name, name, role, description: description ?? before?.description });
  if (!before) audit(r, { action: 'team_create', namespace: org.name, detail: { team: name, role } });
  else if (before.role !== role) audit(r, { action: 'team_role_change', namespace: org.name, detail: { team: name, from: before.role, to: role } });
  return before ? ok(teamJson(team)) : created(teamJson(team));
}

// DELETE /organizations/{org}/teams/{team}
export async function deleteTeam(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'admin');
  const team = await teamOf(r, org.name);
  if (team.name === OWNERS_TEAM) throw new ApiError('CONFLICT', `the ${OWNERS_TEAM} team cannot be deleted`);
  await r.auth.accounts.deleteTeam(org.name, team.name);
  audit(r, { action: 'team_delete', namespace: org.name, detail: { team: team.name } });
  return noContent();
}

// GET /organizations/{org}/teams/{team}/members
export async function listMembers(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'read');
  const team = await teamOf(r, org.name);
  return ok({ members: await r.auth.accounts.listTeamMembers(org.name, team.name) });
}

// PUT /organizations/{org}/teams/{team}/members/{user}
export async function addMember(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'admin');
  const team = await teamOf(r, org.name);
  const user = r.params.user!;
  if (!(await r.auth.accounts.getUser(user))) throw new ApiError('NOT_FOUND', `user ${user} does not exist`);
  const already = (await r.auth.accounts.listTeamMembers(org.name, team.name)).includes(user);
  await r.auth.accounts.addTeamMember(org.name, team.name, user);
  if (!already) audit(r, { action: 'team_member_add', namespace: org.name, detail: { team: team.name, user } });
  return noContent();
}

// DELETE /organizations/{org}/teams/{team}/members/{user}
export async function removeMember(r: ApiRequest): Promise<ApiResponse> {
  const org = await orgFor(r, 'admin');
  const team = await teamOf(r, org.name);
  const user = r.params.user!;
  const members = await r.auth.accounts.listTeamMembers(org.name, team.name);
  if (!members.includes(user)) throw new ApiError('NOT_FOUND', `${user} is not a member of ${org.name}/${team.name}`);
  if (team.name === OWNERS_TEAM && members.length === 1) throw new ApiError('CONFLICT', `${user} is the last member of ${org.name}/${OWNERS_TEAM}; add another owner first`);
  await r.auth.accounts.removeTeamMember(org.name, team.name, user);
  audit(r, { action: 'team_member_remove', namespace: org.name, detail: { team: team.name, user } });
  return noContent();
}
