// The management API's access rules, role by role (superuser, organisation admin, creator team member,
// member team member, outsider, robot, anonymous), the enumeration rule (a private repository the caller
// cannot read answers exactly as a missing one) and that no response and no audit row carries a secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../../testing/registry.js';
import { pushImage, randomImage } from '../../testing/fixtures.js';
import { API_ROUTES } from './routes.js';

let reg: TestRegistry;
/** Every response body and header the API sent during this file, to search for secrets at the end. */
const seen: string[] = [];
/** Every secret this file handled: passwords, robot tokens, app tokens. */
const secrets: string[] = [];

type Role = 'superuser' | 'orgadmin' | 'creator' | 'member' | 'outsider' | 'robot' | 'anonymous';
const ROLES: Role[] = ['superuser', 'orgadmin', 'creator', 'member', 'outsider', 'robot', 'anonymous'];
const auth: Record<Role, string | undefined> = { superuser: '', orgadmin: '', creator: '', member: '', outsider: '', robot: '', anonymous: undefined };

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function call(method: string, path: string, who: Role | string | undefined, body?: unknown): Promise<Answer> {
  const authorization = who === undefined ? undefined : who in auth ? auth[who as Role] : who;
  const headers: Record<string, string> = {};
  if (authorization) headers['authorization'] = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${reg.url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  seen.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text, headers: res.headers };
}

async function admin(method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await call(method, path, 'superuser', body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r;
}

before(async () => {
  reg = await startTestRegistry({ auth: true });
  secrets.push(reg.adminPassword!);
  auth.superuser = basic('admin', reg.adminPassword!);
  for (const u of ['orgadmin', 'creator', 'member', 'outsider']) {
    const password = `${u}-password-1`;
    secrets.push(password);
    await admin('POST', '/users', { name: u, password });
    auth[u as Role] = basic(u, password);
  }
  const org = await call('POST', '/organizations', 'orgadmin', { name: 'acme' });
  assert.equal(org.status, 201, org.text);
  await admin('PUT', '/organizations/acme/teams/builders', { role: 'creator' });
  await admin('PUT', '/organizations/acme/teams/readers', { role: 'member' });
  await admin('PUT', '/organizations/acme/teams/builders/members/creator');
  await admin('PUT', '/organizations/acme/teams/readers/members/member');
  const robot = await admin('POST', '/namespaces/acme/robots', { name: 'ci' });
  const token = robot.body.token as string;
  secrets.push(token);
  auth.robot = basic('acme+ci', token);
  await admin('POST', '/repositories', { name: 'acme/private', visibility: 'private' });
  await admin('POST', '/repositories', { name: 'acme/public', visibility: 'public' });
  await admin('PUT', '/repositories/acme/private/permissions/team/readers', { role: 'read' });
  await admin('PUT', '/repositories/acme/private/permissions/robot/acme+ci', { role: 'write' });
  const img = randomImage();
  await pushImage(reg.url, 'acme/private', img, 'v1', { authorization: auth.superuser! });
  await pushImage(reg.url, 'acme/public', img, 'v1', { authorization: auth.superuser! });
});
after(() => reg.close());

/** One action tried by every role: the status each must get. */
interface Case {
  name: string;
  method: string;
  /** A function of the role, so that creating actions use a fresh name per role. */
  path: (role: Role) => string;
  body?: (role: Role) => unknown;
  expect: Record<Role, number>;
}

const allUsers = (ok: number, robot: number): Record<Role, number> => ({ superuser: ok, orgadmin: ok, creator: ok, member: ok, outsider: ok, robot, anonymous: 401 });

const CASES: Case[] = [
  { name: 'who am I', method: 'GET', path: () => '/user', expect: allUsers(200, 200) },
  { name: 'list users', method: 'GET', path: () => '/users', expect: { superuser: 200, orgadmin: 403, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 } },
  {
    name: 'create a user',
    method: 'POST',
    path: () => '/users',
    body: (r) => ({ name: `new-${r}`, password: 'a-long-password' }),
    expect: { superuser: 201, orgadmin: 403, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  { name: 'create an organisation', method: 'POST', path: () => '/organizations', body: (r) => ({ name: `org-${r}` }), expect: allUsers(201, 403) },
  { name: 'see the organisation', method: 'GET', path: () => '/organizations/acme', expect: allUsers(200, 403) },
  { name: 'list its teams', method: 'GET', path: () => '/organizations/acme/teams', expect: { superuser: 200, orgadmin: 200, creator: 200, member: 200, outsider: 403, robot: 403, anonymous: 401 } },
  {
    name: 'create a team',
    method: 'PUT',
    path: (r) => `/organizations/acme/teams/team-${r}`,
    body: () => ({ role: 'member' }),
    expect: { superuser: 201, orgadmin: 201, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  {
    name: 'add a team member',
    method: 'PUT',
    path: () => '/organizations/acme/teams/team-superuser/members/outsider',
    expect: { superuser: 204, orgadmin: 204, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  {
    name: 'create a robot',
    method: 'POST',
    path: () => '/namespaces/acme/robots',
    body: (r) => ({ name: `bot-${r}` }),
    expect: { superuser: 201, orgadmin: 201, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  { name: 'list robots', method: 'GET', path: () => '/namespaces/acme/robots', expect: { superuser: 200, orgadmin: 200, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 } },
  {
    name: 'create a repository',
    method: 'POST',
    path: () => '/repositories',
    body: (r) => ({ name: `acme/new-${r}` }),
    expect: { superuser: 201, orgadmin: 201, creator: 201, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  { name: 'read a private repository', method: 'GET', path: () => '/repositories/acme/private', expect: { superuser: 200, orgadmin: 200, creator: 404, member: 200, outsider: 404, robot: 200, anonymous: 401 } },
  { name: 'read a public repository', method: 'GET', path: () => '/repositories/acme/public', expect: allUsers(200, 200) },
  { name: 'read a missing repository', method: 'GET', path: () => '/repositories/acme/missing', expect: allUsers(404, 404) },
  { name: 'list tags of a private repository', method: 'GET', path: () => '/repositories/acme/private/tags', expect: { superuser: 200, orgadmin: 200, creator: 404, member: 200, outsider: 404, robot: 200, anonymous: 401 } },
  {
    name: 'change a private repository',
    method: 'PATCH',
    path: () => '/repositories/acme/private',
    body: (r) => ({ description: `by ${r}` }),
    expect: { superuser: 200, orgadmin: 200, creator: 404, member: 403, outsider: 404, robot: 403, anonymous: 401 },
  },
  {
    name: 'change a public repository',
    method: 'PATCH',
    path: () => '/repositories/acme/public',
    body: (r) => ({ description: `by ${r}` }),
    expect: { superuser: 200, orgadmin: 200, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  { name: 'list permissions', method: 'GET', path: () => '/repositories/acme/private/permissions', expect: { superuser: 200, orgadmin: 200, creator: 404, member: 403, outsider: 404, robot: 403, anonymous: 401 } },
  {
    name: 'grant a permission',
    method: 'PUT',
    path: () => '/repositories/acme/public/permissions/user/outsider',
    body: () => ({ role: 'read' }),
    expect: { superuser: 200, orgadmin: 200, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 },
  },
  { name: 'read the namespace’s audit log', method: 'GET', path: () => '/audit?namespace=acme', expect: { superuser: 200, orgadmin: 200, creator: 403, member: 403, outsider: 403, robot: 403, anonymous: 401 } },
  { name: 'read the repository’s audit log', method: 'GET', path: () => '/audit?repository=acme/private', expect: { superuser: 200, orgadmin: 200, creator: 404, member: 403, outsider: 404, robot: 403, anonymous: 401 } },
  { name: 'read one’s own audit log', method: 'GET', path: () => '/audit', expect: allUsers(200, 403) },
  { name: 'create an app token', method: 'POST', path: () => '/user/tokens', body: (r) => ({ name: `t-${r}` }), expect: allUsers(201, 403) },
  { name: 'list one’s tokens', method: 'GET', path: () => '/user/tokens', expect: allUsers(200, 403) },
];

describe('roles × actions', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const got: Partial<Record<Role, number>> = {};
      for (const role of ROLES) {
        const res = await call(c.method, c.path(role), role, c.body?.(role));
        got[role] = res.status;
        if (res.status >= 400) {
          const err = res.body.error as { code: string; message: string };
          assert.equal(typeof err?.code, 'string', `${role}: ${res.text}`);
          assert.equal(typeof err.message, 'string');
        }
        if (res.status === 201 && typeof res.body.token === 'string') secrets.push(res.body.token);
      }
      assert.deepEqual(got, c.expect);
    });
  }

  it('a creator becomes admin of the repository they create, and nothing more', async () => {
    const res = await call('GET', '/repositories/acme/new-creator', 'creator');
    assert.deepEqual(res.body.access, ['pull', 'push', 'delete']);
    assert.equal((await call('GET', '/repositories/acme/new-orgadmin', 'creator')).status, 404);
  });
});

describe('anonymous callers', () => {
  it('get 401 with a challenge from every endpoint but the OpenAPI document', async () => {
    const fill = (p: string) => p.replace('{repo}', 'acme/public').replace('{kind}', 'user').replace(/\{\w+\}/g, 'x');
    for (const route of API_ROUTES) {
      for (const [method, op] of Object.entries(route.methods)) {
        const res = await call(method, fill(route.path), undefined, method === 'GET' || method === 'DELETE' ? undefined : {});
        if (op.public) assert.equal(res.status, 200, route.path);
        else {
          assert.equal(res.status, 401, `${method} ${route.path}: ${res.text}`);
          assert.equal((res.body.error as { code: string }).code, 'UNAUTHORIZED');
          assert.ok(res.headers.get('www-authenticate'), `${method} ${route.path} sends a challenge`);
        }
      }
    }
  });

  it('with wrong credentials get 401 in the API’s error shape', async () => {
    const res = await call('GET', '/user', basic('member', 'wrong-password'));
    assert.equal(res.status, 401);
    assert.equal((res.body.error as { code: string }).code, 'UNAUTHORIZED');
    const bearer = await call('GET', '/user', 'Bearer berth_app_0123456789abcdefnotatoken');
    assert.equal(bearer.status, 401);
  });
});

describe('enumeration', () => {
  /** Everything an outsider can see of the answer, with the repository's name taken out. */
  function shape(a: Answer, name: string) {
    const headers = [...a.headers].filter(([k]) => !['date', 'x-request-id', 'content-length'].includes(k));
    return { status: a.status, text: a.text.replaceAll(name, 'NAME'), headers };
  }

  it('an outsider cannot tell a private repository from a missing one', async () => {
    const requests: [string, string, unknown?][] = [
      ['GET', ''],
      ['PATCH', '', { visibility: 'public' }],
      ['DELETE', ''],
      ['GET', '/tags'],
      ['GET', '/tags?sort=pushed'],
      ['GET', '/permissions'],
      ['PUT', '/permissions/user/outsider', { role: 'admin' }],
      ['DELETE', '/permissions/robot/acme+ci'],
    ];
    for (const who of ['outsider', 'creator'] as const) {
      for (const [method, suffix, body] of requests) {
        const hidden = await call(method, `/repositories/acme/private${suffix}`, who, body);
        const missing = await call(method, `/repositories/acme/missing${suffix}`, who, body);
        assert.equal(hidden.status, 404, `${who} ${method} ${suffix}: ${hidden.text}`);
        assert.deepEqual(shape(hidden, 'acme/private'), shape(missing, 'acme/missing'), `${who} ${method} ${suffix}`);
      }
      const a = await call('GET', '/audit?repository=acme/private', who);
      const b = await call('GET', '/audit?repository=acme/missing', who);
      assert.deepEqual(shape(a, 'acme/private'), shape(b, 'acme/missing'));
    }
    // Nothing the outsider tried changed anything.
    const still = await admin('GET', '/repositories/acme/private');
    assert.equal(still.body.visibility, 'private');
  });

  it('the repository list shows only what the caller can read', async () => {
    const names = async (who: Role) => ((await call('GET', '/repositories?namespace=acme', who)).body.repositories as { name: string }[]).map((r) => r.name);
    assert.ok(!(await names('outsider')).includes('acme/private'));
    assert.ok((await names('outsider')).includes('acme/public'));
    assert.ok((await names('member')).includes('acme/private'));
    assert.ok((await names('robot')).includes('acme/private'));
    assert.ok(!(await names('creator')).includes('acme/private'));
    assert.ok((await names('superuser')).includes('acme/private'));
  });
});

describe('secrets', () => {
  it('no response and no audit row contains a password, token or hash', async () => {
    // Exercise the secret-bearing operations once more: password changes, token regeneration and revocation.
    await admin('PUT', '/users/outsider/password', { password: 'outsider-password-2' });
    secrets.push('outsider-password-2');
    auth.outsider = basic('outsider', 'outsider-password-2');
    const own = await call('PUT', '/user/password', 'outsider', { currentPassword: 'outsider-password-2', password: 'outsider-password-3' });
    assert.equal(own.status, 204, own.text);
    secrets.push('outsider-password-3');
    const wrong = await call('PUT', '/user/password', basic('outsider', 'outsider-password-3'), { currentPassword: 'guessed-password-9', password: 'outsider-password-4' });
    assert.equal(wrong.status, 403);
    secrets.push('guessed-password-9', 'outsider-password-4');
    const regen = await admin('POST', '/namespaces/acme/robots/ci/token');
    secrets.push(regen.body.token as string);
    const created = await call('POST', '/user/tokens', basic('outsider', 'outsider-password-3'), { name: 'x' });
    secrets.push(created.body.token as string);
    await call('DELETE', `/user/tokens/${created.body.id as string}`, basic('outsider', 'outsider-password-3'));

    // Stored hashes are secrets too.
    const accounts = reg.auth!.accounts;
    const hashes: string[] = [];
    for (const u of await accounts.listUsers()) {
      hashes.push(u.passwordHash);
      for (const t of await accounts.listTokens(u.name)) hashes.push(t.secretHash);
    }
    for (const ns of ['acme', 'admin']) for (const rb of await accounts.listRobots(ns)) hashes.push(rb.tokenHash);
    const all = [...secrets, ...hashes].filter((s) => s.length >= 8);
    assert.ok(all.length > 10);

    const log = await admin('GET', '/audit?limit=1000');
    const events = log.body.events as { action: string }[];
    const actions = new Set(events.map((e) => e.action));
    for (const a of ['user_create', 'org_create', 'team_create', 'team_member_add', 'robot_create', 'robot_token_regenerate', 'repo_create', 'permission_set', 'app_token_create', 'app_token_revoke', 'user_password_change', 'login_failure', 'repo_description_change']) {
      assert.ok(actions.has(a), `the audit log has ${a}`);
    }
    await reg.auth!.flushAudit();
    const rows = JSON.stringify(await accounts.queryAudit({ limit: 1000 }));
    for (const s of all) {
      assert.ok(!rows.includes(s), 'an audit row contains a secret');
      for (const text of seen) assert.ok(!text.includes(s) || secrets.includes(s) && isShownOnce(text, s), 'a response contains a secret');
    }
    for (const text of seen) assert.ok(!/passwordHash|tokenHash|secretHash|scrypt\$/.test(text), 'a response names a hash field');
  });
});

/**
 * A robot or app token appears in exactly one response: the one that created it (`"token": ...`). Passwords
 * never appear at all.
 */
function isShownOnce(text: string, secret: string): boolean {
  if (!text.includes(`"token":"${secret}"`)) return false;
  return seen.filter((t) => t.includes(secret)).length === 1;
}
