import type { ApiHandler } from './request.js';
import { changeOwnPassword, createUser, deleteUser, getCurrentUser, getUser, listUsers, setUserPassword } from './users.js';
import { addMember, createOrganization, deleteOrganization, deleteTeam, getOrganization, getTeam, listMembers, listOrganizations, listTeams, putTeam, removeMember } from './organizations.js';
import { createRobot, deleteRobot, getRobot, listRobots, regenerateRobotToken } from './robots.js';
import { createRepository, deleteRepository, getRepository, listPermissions, listRepositories, removePermission, setPermission, updateRepository } from './repositories.js';
import { listTags } from './tags.js';
import { createToken, listTokens, revokeToken } from './tokens.js';
import { queryAudit } from './audit.js';
import { getOpenApi } from './openapi.js';
import { CERTIFICATION_ROUTES } from './certification.js';
import { SECURITY_ROUTE } from './security.js';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiOperation {
  /** The OpenAPI `operationId`. */
  id: string;
  handler: ApiHandler;
  /** Answered without credentials, and when the server runs without auth (only the OpenAPI document). */
  public?: boolean;
}

export interface ApiRoute {
  /** The OpenAPI path template below `/api/v1`, e.g. `/repositories/{repo}/tags`. */
  path: string;
  methods: Partial<Record<ApiMethod, ApiOperation>>;
}

export const API_PREFIX = '/api/v1';

/**
 * The whole route table of the management API. Repository names contain slashes, so `{repo}` matches one or
 * more path components and routes that end in a fixed suffix come before `/repositories/{repo}` (as in
 * `http/routes.ts`): `GET /repositories/a/b/tags` lists the tags of `a/b`. Every other parameter is one
 * component, percent-decoded.
 */
export const API_ROUTES: ApiRoute[] = [
  ...CERTIFICATION_ROUTES,
  SECURITY_ROUTE,
  { path: '/openapi.json', methods: { GET: { id: 'getOpenApi', handler: getOpenApi, public: true } } },
  { path: '/user', methods: { GET: { id: 'getCurrentUser', handler: getCurrentUser } } },
  { path: '/user/password', methods: { PUT: { id: 'changeOwnPassword', handler: changeOwnPassword } } },
  { path: '/user/tokens', methods: { GET: { id: 'listTokens', handler: listTokens }, POST: { id: 'createToken', handler: createToken } } },
  { path: '/user/tokens/{id}', methods: { DELETE: { id: 'revokeToken', handler: revokeToken } } },
  { path: '/users', methods: { GET: { id: 'listUsers', handler: listUsers }, POST: { id: 'createUser', handler: createUser } } },
  { path: '/users/{user}', methods: { GET: { id: 'getUser', handler: getUser }, DELETE: { id: 'deleteUser', handler: deleteUser } } },
  { path: '/users/{user}/password', methods: { PUT: { id: 'setUserPassword', handler: setUserPassword } } },
  { path: '/organizations', methods: { GET: { id: 'listOrganizations', handler: listOrganizations }, POST: { id: 'createOrganization', handler: createOrganization } } },
  { path: '/organizations/{org}', methods: { GET: { id: 'getOrganization', handler: getOrganization }, DELETE: { id: 'deleteOrganization', handler: deleteOrganization } } },
  { path: '/organizations/{org}/teams', methods: { GET: { id: 'listTeams', handler: listTeams } } },
  {
    path: '/organizations/{org}/teams/{team}',
    methods: { GET: { id: 'getTeam', handler: getTeam }, PUT: { id: 'putTeam', handler: putTeam }, DELETE: { id: 'deleteTeam', handler: deleteTeam } },
  },
  { path: '/organizations/{org}/teams/{team}/members', methods: { GET: { id: 'listTeamMembers', handler: listMembers } } },
  {
    path: '/organizations/{org}/teams/{team}/members/{user}',
    methods: { PUT: { id: 'addTeamMember', handler: addMember }, DELETE: { id: 'removeTeamMember', handler: removeMember } },
  },
  { path: '/namespaces/{namespace}/robots', methods: { GET: { id: 'listRobots', handler: listRobots }, POST: { id: 'createRobot', handler: createRobot } } },
  { path: '/namespaces/{namespace}/robots/{robot}', methods: { GET: { id: 'getRobot', handler: getRobot }, DELETE: { id: 'deleteRobot', handler: deleteRobot } } },
  { path: '/namespaces/{namespace}/robots/{robot}/token', methods: { POST: { id: 'regenerateRobotToken', handler: regenerateRobotToken } } },
  { path: '/repositories', methods: { GET: { id: 'listRepositories', handler: listRepositories }, POST: { id: 'createRepository', handler: createRepository } } },
  { path: '/repositories/{repo}/tags', methods: { GET: { id: 'listTags', handler: listTags } } },
  { path: '/repositories/{repo}/permissions', methods: { GET: { id: 'listPermissions', handler: listPermissions } } },
  {
    path: '/repositories/{repo}/permissions/{kind}/{name}',
    methods: { PUT: { id: 'setPermission', handler: setPermission }, DELETE: { id: 'removePermission', handler: removePermission } },
  },
  {
    path: '/repositories/{repo}',
    methods: { GET: { id: 'getRepository', handler: getRepository }, PATCH: { id: 'updateRepository', handler: updateRepository }, DELETE: { id: 'deleteRepository', handler: deleteRepository } },
  },
  { path: '/audit', methods: { GET: { id: 'queryAudit', handler: queryAudit } } },
];

/** `{repo}` spans components; any other `{param}` is one component. */
function compile(path: string): RegExp {
  const re = path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_, name: string) => (name === 'repo' ? `(?<${name}>.+)` : `(?<${name}>[^/]+)`));
  return new RegExp(`^${re}$`);
}

const COMPILED = API_ROUTES.map((route) => ({ route, pattern: compile(route.path) }));

export interface ApiMatch {
  route: ApiRoute;
  params: Record<string, string>;
}

/** The route for a path below `/api/v1` (without the prefix and query), with its parameters decoded. */
export function matchApiRoute(path: string): ApiMatch | undefined {
  for (const { route, pattern } of COMPILED) {
    const m = pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decode(v);
    return { route, params };
  }
  return undefined;
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
