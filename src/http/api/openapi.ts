import { API_ERROR_CODES } from './errors.js';
import { CERTIFICATION_OPENAPI } from './certification.js';
import { ok, type ApiRequest, type ApiResponse } from './request.js';

/**
 * The OpenAPI 3.1 description of the management API, served at `GET /api/v1/openapi.json`. Written by hand
 * (not generated from the route table), so that `openapi.test.ts` comparing the two catches an endpoint
 * added to one and forgotten in the other.
 */

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const errors = (...statuses: number[]): Json => Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const body = (schema: Json, required = true): Json => ({ required, content: { 'application/json': { schema } } });
const noContent = { '204': { description: 'Done.' } };
const list = (key: string, item: string, paged = false): Json => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'array', items: ref(item) }, ...(paged ? { next: { type: 'string', description: 'Pass as `last` to get the next page; absent on the last page.' } } : {}) },
});
const query = (name: string, description: string, schema: Json = { type: 'string' }): Json => ({ name, in: 'query', required: false, description, schema });

const DATE = { type: 'string', format: 'date-time' };
const NAME = { type: 'string', pattern: '^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$', maxLength: 255 };

const SCHEMAS: Json = {
  ...CERTIFICATION_OPENAPI.schemas,
  Error: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', enum: [...API_ERROR_CODES] }, message: { type: 'string' } } } },
  },
  User: { type: 'object', required: ['name', 'superuser'], properties: { name: NAME, email: { type: 'string' }, superuser: { type: 'boolean' }, createdAt: DATE } },
  CurrentUser: {
    oneOf: [
      {
        type: 'object',
        required: ['kind', 'name', 'superuser', 'organizations'],
        properties: {
          kind: { const: 'user' },
          name: NAME,
          email: { type: 'string' },
          superuser: { type: 'boolean' },
          createdAt: DATE,
          organizations: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: NAME, teams: { type: 'array', items: { type: 'object', properties: { name: NAME, role: ref('TeamRole') } } } },
            },
          },
        },
      },
      { type: 'object', required: ['kind', 'name', 'namespace'], properties: { kind: { const: 'robot' }, name: { type: 'string' }, namespace: NAME } },
    ],
  },
  NewUser: {
    type: 'object',
    required: ['name', 'password'],
    additionalProperties: false,
    properties: { name: NAME, password: { type: 'string', minLength: 8, maxLength: 1024 }, email: { type: 'string' }, superuser: { type: 'boolean', default: false } },
  },
  Organization: {
    type: 'object',
    required: ['name'],
    properties: { name: NAME, email: { type: 'string', description: 'Shown to the organisation’s admins.' }, createdAt: DATE, admin: { type: 'boolean' }, member: { type: 'boolean' } },
  },
  TeamRole: { type: 'string', enum: ['admin', 'creator', 'member'] },
  Team: {
    type: 'object',
    required: ['name', 'role'],
    properties: { name: NAME, role: ref('TeamRole'), description: { type: 'string' }, createdAt: DATE, members: { type: 'array', items: NAME } },
  },
  Robot: {
    type: 'object',
    required: ['name', 'shortName', 'namespace'],
    properties: {
      name: { type: 'string', description: '`namespace+shortName`: the user name robots log in with.' },
      shortName: NAME,
      namespace: NAME,
      description: { type: 'string' },
      expiresAt: DATE,
      createdAt: DATE,
    },
  },
  RobotWithToken: {
    allOf: [ref('Robot'), { type: 'object', required: ['token'], properties: { token: { type: 'string', description: 'The robot’s password. Shown this once.' } } }],
  },
  Visibility: { type: 'string', enum: ['public', 'private'] },
  Repository: {
    type: 'object',
    required: ['name', 'namespace', 'visibility', 'description'],
    properties: {
      name: { type: 'string' },
      namespace: { type: 'string' },
      visibility: ref('Visibility'),
      description: { type: 'string' },
      createdBy: { type: 'string' },
      createdAt: DATE,
      access: { type: 'array', items: { type: 'string', enum: ['pull', 'push', 'delete'] }, description: 'What the caller may do.' },
    },
  },
  Permission: {
    type: 'object',
    required: ['kind', 'name', 'role'],
    properties: {
      kind: { type: 'string', enum: ['user', 'team', 'robot'] },
      name: { type: 'string', description: 'A user name, a team of the repository’s organisation, or a robot `namespace+name`.' },
      role: { type: 'string', enum: ['read', 'write', 'admin'] },
    },
  },
  Platform: { type: 'object', required: ['os', 'architecture'], properties: { os: { type: 'string' }, architecture: { type: 'string' }, variant: { type: 'string' } } },
  Tag: {
    type: 'object',
    required: ['name', 'digest', 'mediaType', 'manifestSize', 'size', 'platforms', 'pushedAt', 'security', 'certification'],
    properties: {
      name: { type: 'string' },
      digest: { type: 'string' },
      mediaType: { type: 'string' },
      manifestSize: { type: 'integer' },
      size: { type: 'integer', description: 'Bytes of the manifest, config and layers; for an index, of the index, its children held here and each distinct blob.' },
      platforms: { type: 'array', items: ref('Platform') },
      pushedAt: DATE,
      security: {
        type: 'object',
        description: 'The Container Health Index of the manifest (`pending` until scanned).',
        required: ['status'],
        properties: { status: { type: 'string' }, grade: { type: 'string', enum: ['A', 'B', 'C', 'D', 'E', 'F'] }, nextDropDate: { type: 'string', format: 'date' } },
      },
      certification: { type: 'string', enum: ['pending', 'passed', 'failed', 'error'], description: 'Certification under the repository’s policy.' },
    },
  },
  Token: {
    type: 'object',
    required: ['id', 'name', 'kind', 'createdAt'],
    properties: { id: { type: 'string' }, name: { type: 'string' }, kind: { type: 'string', enum: ['app', 'refresh'] }, createdAt: DATE, expiresAt: DATE, lastUsedAt: DATE },
  },
  TokenWithSecret: {
    allOf: [ref('Token'), { type: 'object', required: ['token'], properties: { token: { type: 'string', description: '`berth_app_…`. Shown this once.' } } }],
  },
  AuditEvent: {
    type: 'object',
    required: ['id', 'at', 'action', 'actorKind'],
    properties: {
      id: { type: 'integer' },
      at: DATE,
      action: { type: 'string' },
      actor: { type: 'string' },
      actorKind: { type: 'string', enum: ['user', 'robot', 'anonymous', 'system'] },
      namespace: { type: 'string' },
      repository: { type: 'string' },
      ip: { type: 'string' },
      detail: { type: 'object' },
    },
  },
};

const PARAMETERS: Json = {
  user: { name: 'user', in: 'path', required: true, schema: NAME },
  org: { name: 'org', in: 'path', required: true, schema: NAME },
  team: { name: 'team', in: 'path', required: true, schema: NAME },
  namespace: { name: 'namespace', in: 'path', required: true, schema: NAME, description: 'A user or an organisation.' },
  robot: { name: 'robot', in: 'path', required: true, schema: NAME, description: 'The robot’s short name (without `namespace+`).' },
  repo: {
    name: 'repo',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'The repository name, slashes included and not encoded (`team/app`).',
    'x-berth-spans-segments': true,
  },
  n: query('n', 'Page size (default 100, at most 1000).', { type: 'integer', minimum: 0, maximum: 1000 }),
  last: query('last', 'The `next` of the previous page.'),
};

const RESPONSES: Json = Object.fromEntries(
  [
    [400, 'INVALID_REQUEST: a malformed body, field or parameter.'],
    [401, 'UNAUTHORIZED: no credentials, or credentials that are not valid.'],
    [403, 'FORBIDDEN: the caller may not do this.'],
    [404, 'NOT_FOUND: no such resource, or a private repository the caller cannot read (indistinguishable).'],
    [409, 'CONFLICT: the name is taken, or the change would break an invariant (last owner, namespace with repositories).'],
    [429, 'TOO_MANY_REQUESTS: too many wrong passwords; see Retry-After.'],
  ].map(([s, d]) => [`E${s}`, json(ref('Error'), d as string)]),
);

const PATHS: Json = {
  ...CERTIFICATION_OPENAPI.paths,
  '/openapi.json': {
    get: { operationId: 'getOpenApi', summary: 'This document', security: [], responses: { '200': { description: 'The OpenAPI document.', content: { 'application/json': {} } } } },
  },
  '/user': {
    get: { operationId: 'getCurrentUser', summary: 'Who the caller is (a user with their organisations and teams, or a robot)', responses: { '200': json(ref('CurrentUser'), 'The caller.'), ...errors(401) } },
  },
  '/user/password': {
    put: {
      operationId: 'changeOwnPassword',
      summary: 'Change the caller’s own password (needs the current one)',
      requestBody: body({ type: 'object', required: ['currentPassword', 'password'], additionalProperties: false, properties: { currentPassword: { type: 'string' }, password: { type: 'string', minLength: 8 } } }),
      responses: { ...noContent, ...errors(400, 401, 403, 429) },
    },
  },
  '/user/tokens': {
    get: {
      operationId: 'listTokens',
      summary: 'The caller’s app and refresh tokens (never their secrets)',
      parameters: [query('kind', 'Only tokens of this kind.', { type: 'string', enum: ['app', 'refresh'] })],
      responses: { '200': json(list('tokens', 'Token'), 'Tokens, oldest first.'), ...errors(400, 401, 403) },
    },
    post: {
      operationId: 'createToken',
      summary: 'Create an app token; its secret is in this response only',
      requestBody: body({ type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' }, expiresAt: DATE } }),
      responses: { '201': json(ref('TokenWithSecret'), 'The new token.'), ...errors(400, 401, 403) },
    },
  },
  '/user/tokens/{id}': {
    delete: { operationId: 'revokeToken', summary: 'Revoke one of the caller’s tokens', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { ...noContent, ...errors(401, 403, 404) } },
  },
  '/users': {
    get: { operationId: 'listUsers', summary: 'All users (superusers)', parameters: [param('n'), param('last')], responses: { '200': json(list('users', 'User', true), 'Users by name.'), ...errors(400, 401, 403) } },
    post: { operationId: 'createUser', summary: 'Create a user (superusers)', requestBody: body(ref('NewUser')), responses: { '201': json(ref('User'), 'The new user.'), ...errors(400, 401, 403, 409) } },
  },
  '/users/{user}': {
    parameters: [param('user')],
    get: { operationId: 'getUser', summary: 'A user (superusers, or the user themselves)', responses: { '200': json(ref('User'), 'The user.'), ...errors(401, 403, 404) } },
    delete: {
      operationId: 'deleteUser',
      summary: 'Delete a user with their memberships, permissions, tokens and robots (superusers); refused while their namespace has repositories',
      responses: { ...noContent, ...errors(401, 403, 404, 409) },
    },
  },
  '/users/{user}/password': {
    parameters: [param('user')],
    put: {
      operationId: 'setUserPassword',
      summary: 'Set a user’s password (superusers)',
      requestBody: body({ type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', minLength: 8 } } }),
      responses: { ...noContent, ...errors(400, 401, 403, 404) },
    },
  },
  '/organizations': {
    get: { operationId: 'listOrganizations', summary: 'Organisations the caller belongs to (all, for superusers)', responses: { '200': json(list('organizations', 'Organization'), 'Organisations by name.'), ...errors(401, 403) } },
    post: {
      operationId: 'createOrganization',
      summary: 'Create an organisation; the caller becomes the only member of its `owners` team',
      requestBody: body({ type: 'object', required: ['name'], additionalProperties: false, properties: { name: NAME, email: { type: 'string' } } }),
      responses: { '201': json(ref('Organization'), 'The new organisation.'), ...errors(400, 401, 403, 409) },
    },
  },
  '/organizations/{org}': {
    parameters: [param('org')],
    get: { operationId: 'getOrganization', summary: 'An organisation', responses: { '200': json(ref('Organization'), 'The organisation.'), ...errors(401, 403, 404) } },
    delete: { operationId: 'deleteOrganization', summary: 'Delete an organisation with its teams and robots (its admins); refused while it has repositories', responses: { ...noContent, ...errors(401, 403, 404, 409) } },
  },
  '/organizations/{org}/teams': {
    parameters: [param('org')],
    get: { operationId: 'listTeams', summary: 'Teams of an organisation (its members)', responses: { '200': json(list('teams', 'Team'), 'Teams by name.'), ...errors(401, 403, 404) } },
  },
  '/organizations/{org}/teams/{team}': {
    parameters: [param('org'), param('team')],
    get: { operationId: 'getTeam', summary: 'A team with its members (the organisation’s members)', responses: { '200': json(ref('Team'), 'The team.'), ...errors(401, 403, 404) } },
    put: {
      operationId: 'putTeam',
      summary: 'Create a team or change its role and description (the organisation’s admins)',
      requestBody: body({ type: 'object', required: ['role'], additionalProperties: false, properties: { role: ref('TeamRole'), description: { type: 'string' } } }),
      responses: { '200': json(ref('Team'), 'The changed team.'), '201': json(ref('Team'), 'The new team.'), ...errors(400, 401, 403, 404, 409) },
    },
    delete: { operationId: 'deleteTeam', summary: 'Delete a team (not `owners`)', responses: { ...noContent, ...errors(401, 403, 404, 409) } },
  },
  '/organizations/{org}/teams/{team}/members': {
    parameters: [param('org'), param('team')],
    get: {
      operationId: 'listTeamMembers',
      summary: 'Members of a team',
      responses: { '200': json({ type: 'object', required: ['members'], properties: { members: { type: 'array', items: NAME } } }, 'User names.'), ...errors(401, 403, 404) },
    },
  },
  '/organizations/{org}/teams/{team}/members/{user}': {
    parameters: [param('org'), param('team'), param('user')],
    put: { operationId: 'addTeamMember', summary: 'Add a user to a team (idempotent)', responses: { ...noContent, ...errors(401, 403, 404) } },
    delete: { operationId: 'removeTeamMember', summary: 'Remove a user from a team (not the last owner)', responses: { ...noContent, ...errors(401, 403, 404, 409) } },
  },
  '/namespaces/{namespace}/robots': {
    parameters: [param('namespace')],
    get: { operationId: 'listRobots', summary: 'Robot accounts of a namespace (its admins)', responses: { '200': json(list('robots', 'Robot'), 'Robots by name.'), ...errors(401, 403, 404) } },
    post: {
      operationId: 'createRobot',
      summary: 'Create a robot account; its token is in this response only',
      requestBody: body({ type: 'object', required: ['name'], additionalProperties: false, properties: { name: NAME, description: { type: 'string' }, expiresAt: DATE } }),
      responses: { '201': json(ref('RobotWithToken'), 'The new robot.'), ...errors(400, 401, 403, 404, 409) },
    },
  },
  '/namespaces/{namespace}/robots/{robot}': {
    parameters: [param('namespace'), param('robot')],
    get: { operationId: 'getRobot', summary: 'A robot account', responses: { '200': json(ref('Robot'), 'The robot.'), ...errors(401, 403, 404) } },
    delete: { operationId: 'deleteRobot', summary: 'Delete a robot account and its permissions', responses: { ...noContent, ...errors(401, 403, 404) } },
  },
  '/namespaces/{namespace}/robots/{robot}/token': {
    parameters: [param('namespace'), param('robot')],
    post: {
      operationId: 'regenerateRobotToken',
      summary: 'Replace a robot’s token (the old one stops working); the new one is in this response only',
      requestBody: body({ type: 'object', additionalProperties: false, properties: { expiresAt: { ...DATE, description: 'Without it, the new token does not expire.' } } }, false),
      responses: { '200': json(ref('RobotWithToken'), 'The robot and its new token.'), ...errors(400, 401, 403, 404) },
    },
  },
  '/repositories': {
    get: {
      operationId: 'listRepositories',
      summary: 'Repositories the caller can read',
      parameters: [query('namespace', 'Only this namespace.'), param('n'), param('last')],
      responses: { '200': json(list('repositories', 'Repository', true), 'Repositories by name.'), ...errors(400, 401) },
    },
    post: {
      operationId: 'createRepository',
      summary: 'Create a repository (private unless said otherwise)',
      requestBody: body({
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string' }, visibility: { ...ref('Visibility'), default: 'private' }, description: { type: 'string' } },
      }),
      responses: { '201': json(ref('Repository'), 'The new repository.'), ...errors(400, 401, 403, 404, 409) },
    },
  },
  '/repositories/{repo}': {
    parameters: [param('repo')],
    get: { operationId: 'getRepository', summary: 'A repository', responses: { '200': json(ref('Repository'), 'The repository.'), ...errors(400, 401, 404) } },
    patch: {
      operationId: 'updateRepository',
      summary: 'Change visibility and/or description (repository admins)',
      requestBody: body({ type: 'object', additionalProperties: false, properties: { visibility: ref('Visibility'), description: { type: 'string' } } }),
      responses: { '200': json(ref('Repository'), 'The changed repository.'), ...errors(400, 401, 403, 404) },
    },
    delete: {
      operationId: 'deleteRepository',
      summary: 'Delete a repository’s settings and permissions (repository admins); its manifests, tags and blobs stay',
      responses: { ...noContent, ...errors(400, 401, 403, 404) },
    },
  },
  '/repositories/{repo}/manifests/{digest}/security': {
    parameters: [param('repo'), { name: 'digest', in: 'path', required: true, schema: { type: 'string' }, description: 'A manifest digest of the repository.' }],
    get: {
      operationId: 'getManifestSecurity',
      summary: 'Vulnerability findings, Container Health Index grade and next drop date of a manifest (an index rolls up its children)',
      responses: {
        '200': { description: 'The scan result, or `status: queued` before the scan.', content: { 'application/json': {} } },
        '404': { description: 'No such repository or manifest, or a private repository the caller cannot read.' },
      },
    },
  },
  '/repositories/{repo}/tags': {
    parameters: [param('repo')],
    get: {
      operationId: 'listTags',
      summary: 'Tags with digest, size, platforms, push time, Health Index grade and certification',
      parameters: [
        query('sort', 'Sort key.', { type: 'string', enum: ['name', 'pushed'], default: 'name' }),
        query('order', 'Default: asc by name, desc by push time.', { type: 'string', enum: ['asc', 'desc'] }),
        param('n'),
        query('offset', 'Tags to skip (the `next` of the previous page).', { type: 'integer', minimum: 0 }),
      ],
      responses: {
        '200': json(
          { type: 'object', required: ['name', 'total', 'tags'], properties: { name: { type: 'string' }, total: { type: 'integer' }, tags: { type: 'array', items: ref('Tag') }, next: { type: 'integer' } } },
          'One page of tags.',
        ),
        ...errors(400, 401, 404),
      },
    },
  },
  '/repositories/{repo}/permissions': {
    parameters: [param('repo')],
    get: { operationId: 'listPermissions', summary: 'Who has which role on a repository (repository admins)', responses: { '200': json(list('permissions', 'Permission'), 'Permissions.'), ...errors(400, 401, 403, 404) } },
  },
  '/repositories/{repo}/permissions/{kind}/{name}': {
    parameters: [
      param('repo'),
      { name: 'kind', in: 'path', required: true, schema: { type: 'string', enum: ['user', 'team', 'robot'] } },
      { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'A user, a team of the repository’s organisation (short name), or a robot of its namespace (`ns+name`).' },
    ],
    put: {
      operationId: 'setPermission',
      summary: 'Give or change a role',
      requestBody: body({ type: 'object', required: ['role'], additionalProperties: false, properties: { role: { type: 'string', enum: ['read', 'write', 'admin'] } } }),
      responses: { '200': json(ref('Permission'), 'The permission.'), ...errors(400, 401, 403, 404) },
    },
    delete: { operationId: 'removePermission', summary: 'Take a role away', responses: { ...noContent, ...errors(400, 401, 403, 404) } },
  },
  '/audit': {
    get: {
      operationId: 'queryAudit',
      summary: 'The audit log, newest first: everything for superusers, a namespace or repository its admins administer for others',
      parameters: [
        query('namespace', 'Only this namespace (default for non-superusers: their own).'),
        query('repository', 'Only this repository.'),
        query('actor', 'Only events by this user or robot.'),
        query('action', 'Only this action (e.g. push, permission_set).'),
        query('since', 'From this time on (RFC 3339).', DATE),
        query('until', 'Before this time (RFC 3339).', DATE),
        query('before', 'Only events older than this id (the `next` of the previous page).', { type: 'integer' }),
        query('limit', 'At most this many events (default 100, at most 1000).', { type: 'integer', minimum: 1, maximum: 1000 }),
      ],
      responses: {
        '200': json({ type: 'object', required: ['events'], properties: { events: { type: 'array', items: ref('AuditEvent') }, next: { type: 'integer' } } }, 'Events.'),
        ...errors(400, 401, 403, 404),
      },
    },
  },
};

export const OPENAPI_DOCUMENT: Json = {
  openapi: '3.1.0',
  info: {
    title: 'Berth management API',
    version: '1',
    description:
      'Users, organisations, teams, robots, repositories and their permissions, tags, app tokens and the audit log of a Berth registry. ' +
      'Authenticate with Basic credentials (user and password, a robot and its token, or `$app` and an app token) or with a Bearer ' +
      'token (an app token `berth_app_…`, or a registry token from the token endpoint). Errors are `{"error": {"code", "message"}}`. ' +
      'A private repository the caller cannot read answers 404, exactly as a missing one does.',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ basic: [] }, { bearer: [] }],
  components: {
    securitySchemes: { basic: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer' } },
    schemas: SCHEMAS,
    parameters: PARAMETERS,
    responses: RESPONSES,
  },
  paths: PATHS,
};

const SERIALISED = JSON.stringify(OPENAPI_DOCUMENT);

// GET /openapi.json
export async function getOpenApi(_r: ApiRequest): Promise<ApiResponse> {
  return { ...ok(SERIALISED), headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=300' } };
}
