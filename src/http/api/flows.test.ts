// The management API's happy paths, one resource at a time, as an operator uses them: on a real server with the
// SQLite store, and again on PostgreSQL when BERTH_TEST_POSTGRES_URL is set. Each write is checked through
// what it changes elsewhere (a robot token that logs in on /v2/, a visibility that lets anonymous pulls through)
// and through the audit log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { AuthService } from '../../auth/service.js';
import { InProcessLocker } from '../../metadata/locks.js';
import { SKIP_POSTGRES, openTestPostgresStore } from '../../metadata/postgres/testing.js';
import { MemoryDriver } from '../../storage/memory/driver.js';
import { UploadHashes } from '../../registry/upload-hashes.js';
import { DEFAULT_LIMITS } from '../../registry/deps.js';
import { startServer } from '../server.js';
import { startTestRegistry, TEST_AUTH_CONFIG } from '../../testing/registry.js';
import { indexOf, pushImage, pushManifest, randomImage } from '../../testing/fixtures.js';
import type { AuditEvent, CurrentUser, Organization, Permission, Repository, Robot, TagPage, Team, Token, User } from '../../client/api/types.js';

type Users = { users: User[]; next?: string };
type Repos = { repositories: Repository[]; next?: string };
type Events = { events: AuditEvent[]; next?: number };
type Me = Extract<CurrentUser, { kind: 'user' }>;

interface Running {
  url: string;
  adminPassword: string;
  close(): Promise<void>;
}

/** The same server as startTestRegistry's, on a PostgreSQL schema of its own. */
async function startOnPostgres(): Promise<Running> {
  const store = await openTestPostgresStore();
  const driver = new MemoryDriver();
  const log = pino({ level: 'silent' });
  const auth = await AuthService.open(store, TEST_AUTH_CONFIG, log);
  const { generatedPassword } = await auth.bootstrapAdmin();
  const deps = {
    driver,
    store,
    locker: new InProcessLocker(),
    hashes: new UploadHashes(),
    limits: DEFAULT_LIMITS,
    schema1Key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  };
  const server = await startServer({ deps, log, host: '127.0.0.1', port: 0, auth });
  return {
    url: server.url,
    adminPassword: generatedPassword!,
    async close() {
      await server.close(1000);
      await store.close();
      await driver.close();
    },
  };
}

const STORES: { name: string; start: () => Promise<Running>; skip: string | false }[] = [
  {
    name: 'sqlite',
    start: async () => {
      const reg = await startTestRegistry({ auth: true });
      return { url: reg.url, adminPassword: reg.adminPassword!, close: () => reg.close() };
    },
    skip: false,
  },
  { name: 'postgres', start: startOnPostgres, skip: SKIP_POSTGRES },
];

const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const store of STORES) {
  describe(`management API on ${store.name}`, { skip: store.skip }, () => {
    let reg: Running;
    let ADMIN: string;
    const ALICE = basic('alice', 'alice-password-1');
    const BOB = basic('bob', 'bob-password-1');

    async function call(method: string, path: string, authorization: string | undefined, body?: unknown) {
      const headers: Record<string, string> = {};
      if (authorization) headers['authorization'] = authorization;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${reg.url}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as unknown };
    }
    /** The answer, which must have `status`; typed as the API documents it (the client library's types). */
    async function expect<T = Record<string, unknown>>(status: number, method: string, path: string, authorization: string | undefined, body?: unknown): Promise<T> {
      const r = await call(method, path, authorization, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body as T;
    }
    async function v2(path: string, authorization?: string): Promise<number> {
      const res = await fetch(`${reg.url}/v2/${path}`, { headers: authorization ? { authorization } : {} });
      await res.body?.cancel();
      return res.status;
    }
    async function lastEvent(query: string) {
      return (await expect<{ events: AuditEvent[] }>(200, 'GET', `/audit?${query}`, ADMIN)).events[0]!;
    }

    before(async () => {
      reg = await store.start();
      ADMIN = basic('admin', reg.adminPassword);
      await expect(201, 'POST', '/users', ADMIN, { name: 'alice', password: 'alice-password-1', email: 'alice@example.com' });
      await expect(201, 'POST', '/users', ADMIN, { name: 'bob', password: 'bob-password-1' });
    });
    after(() => reg.close());

    it('users: list with paging, look up, passwords, delete', async () => {
      const me = await expect<Me>(200, 'GET', '/user', ALICE);
      assert.deepEqual({ kind: me.kind, name: me.name, superuser: me.superuser, email: me.email, organizations: me.organizations }, { kind: 'user', name: 'alice', superuser: false, email: 'alice@example.com', organizations: [] });
      const first = await expect<Users>(200, 'GET', '/users?n=1', ADMIN);
      assert.deepEqual(first.users.map((u) => u.name), ['admin']);
      assert.equal(first.next, 'admin');
      const rest = await expect<Users>(200, 'GET', `/users?n=10&last=${first.next!}`, ADMIN);
      assert.deepEqual(rest.users.map((u) => u.name), ['alice', 'bob']);
      assert.equal(rest.next, undefined);
      assert.equal((await expect<User>(200, 'GET', '/users/alice', ALICE)).name, 'alice');
      await expect(403, 'GET', '/users/bob', ALICE);
      await expect(404, 'GET', '/users/nobody', ADMIN);
      await expect(400, 'POST', '/users', ADMIN, { name: 'Bad Name', password: 'long-enough' });
      await expect(400, 'POST', '/users', ADMIN, { name: 'short', password: 'short' });
      await expect(400, 'POST', '/users', ADMIN, { name: 'typo', password: 'long-enough', superusr: true });
      await expect(409, 'POST', '/users', ADMIN, { name: 'alice', password: 'long-enough' });

      await expect(201, 'POST', '/users', ADMIN, { name: 'carol', password: 'carol-password-1' });
      await expect(204, 'PUT', '/users/carol/password', ADMIN, { password: 'carol-password-2' });
      assert.equal(await v2('', basic('carol', 'carol-password-1')), 401);
      assert.equal(await v2('', basic('carol', 'carol-password-2')), 200);
      await expect(403, 'PUT', '/user/password', basic('carol', 'carol-password-2'), { currentPassword: 'not-it-at-all', password: 'carol-password-3' });
      await expect(204, 'PUT', '/user/password', basic('carol', 'carol-password-2'), { currentPassword: 'carol-password-2', password: 'carol-password-3' });
      assert.equal(await v2('', basic('carol', 'carol-password-2')), 401, 'the old password stops working at once');
      assert.equal(await v2('', basic('carol', 'carol-password-3')), 200);
      assert.deepEqual((await lastEvent('action=user_password_change')).detail, { user: 'carol' });

      await expect(409, 'DELETE', '/users/admin', ADMIN);
      await expect(201, 'POST', '/repositories', basic('carol', 'carol-password-3'), { name: 'carol/own' });
      await expect(409, 'DELETE', '/users/carol', ADMIN);
      await expect(204, 'DELETE', '/repositories/carol/own', ADMIN);
      await expect(204, 'DELETE', '/users/carol', ADMIN);
      await expect(404, 'DELETE', '/users/carol', ADMIN);
      assert.equal(await v2('', basic('carol', 'carol-password-3')), 401);
    });

    it('organisations and teams: owners, roles, members and their invariants', async () => {
      const org = await expect<Organization>(201, 'POST', '/organizations', ALICE, { name: 'acme', email: 'ops@acme.example' });
      assert.equal(org.name, 'acme');
      await expect(409, 'POST', '/organizations', BOB, { name: 'acme' });
      await expect(409, 'POST', '/organizations', BOB, { name: 'alice' });
      const seen = await expect<Organization>(200, 'GET', '/organizations/acme', BOB);
      assert.deepEqual(seen, { name: 'acme', createdAt: seen.createdAt, admin: false, member: false });
      assert.equal((await expect<Organization>(200, 'GET', '/organizations/acme', ALICE)).email, 'ops@acme.example');
      await expect(404, 'GET', '/organizations/alice', ALICE);
      assert.deepEqual((await expect<{ organizations: Organization[] }>(200, 'GET', '/organizations', ALICE)).organizations.map((o) => o.name), ['acme']);

      let teams = (await expect<{ teams: Team[] }>(200, 'GET', '/organizations/acme/teams', ALICE)).teams;
      assert.deepEqual(teams.map((t) => [t.name, t.role]), [['owners', 'admin']]);
      assert.deepEqual((await expect<Team>(200, 'GET', '/organizations/acme/teams/owners', ALICE)).members, ['alice']);

      await expect(201, 'PUT', '/organizations/acme/teams/devs', ALICE, { role: 'member', description: 'developers' });
      const changed = await expect<Team>(200, 'PUT', '/organizations/acme/teams/devs', ALICE, { role: 'creator' });
      assert.deepEqual([changed.role, changed.description], ['creator', 'developers']);
      assert.deepEqual((await lastEvent('action=team_role_change')).detail, { team: 'devs', from: 'member', to: 'creator' });
      await expect(400, 'PUT', '/organizations/acme/teams/devs', ALICE, { role: 'owner' });
      await expect(409, 'PUT', '/organizations/acme/teams/owners', ALICE, { role: 'member' });
      await expect(409, 'DELETE', '/organizations/acme/teams/owners', ALICE);
      await expect(409, 'DELETE', '/organizations/acme/teams/owners/members/alice', ALICE);

      await expect(204, 'PUT', '/organizations/acme/teams/devs/members/bob', ALICE);
      await expect(204, 'PUT', '/organizations/acme/teams/devs/members/bob', ALICE);
      await expect(404, 'PUT', '/organizations/acme/teams/devs/members/nobody', ALICE);
      await expect(404, 'PUT', '/organizations/acme/teams/nope/members/bob', ALICE);
      assert.deepEqual((await expect<{ members: string[] }>(200, 'GET', '/organizations/acme/teams/devs/members', BOB)).members, ['bob']);
      const bob = await expect<Me>(200, 'GET', '/user', BOB);
      assert.deepEqual(bob.organizations, [{ name: 'acme', teams: [{ name: 'devs', role: 'creator' }] }]);
      const adds = (await expect<Events>(200, 'GET', '/audit?namespace=acme&action=team_member_add', ALICE)).events;
      assert.equal(adds.length, 1, 'adding a member twice is audited once');

      await expect(204, 'DELETE', '/organizations/acme/teams/devs/members/bob', ALICE);
      await expect(404, 'DELETE', '/organizations/acme/teams/devs/members/bob', ALICE);
      await expect(204, 'PUT', '/organizations/acme/teams/owners/members/bob', ALICE);
      await expect(204, 'DELETE', '/organizations/acme/teams/owners/members/alice', BOB);
      await expect(403, 'PUT', '/organizations/acme/teams/devs', ALICE, { role: 'admin' });
      await expect(204, 'PUT', '/organizations/acme/teams/owners/members/alice', BOB);
      await expect(204, 'DELETE', '/organizations/acme/teams/owners/members/bob', ALICE);
      await expect(403, 'GET', '/namespaces/acme/robots', BOB);
      await expect(204, 'DELETE', '/organizations/acme/teams/devs', ALICE);
      teams = (await expect<{ teams: Team[] }>(200, 'GET', '/organizations/acme/teams', ALICE)).teams;
      assert.deepEqual(teams.map((t) => t.name), ['owners']);

      await expect(201, 'POST', '/organizations', BOB, { name: 'shortlived' });
      await expect(201, 'POST', '/repositories', BOB, { name: 'shortlived/app' });
      await expect(403, 'DELETE', '/organizations/shortlived', ALICE);
      await expect(409, 'DELETE', '/organizations/shortlived', BOB);
      await expect(204, 'DELETE', '/repositories/shortlived/app', BOB);
      await expect(204, 'DELETE', '/organizations/shortlived', BOB);
      await expect(404, 'GET', '/organizations/shortlived', BOB);
    });

    it('robots: a token shown once that logs in, expiry, regeneration, deletion', async () => {
      await expect(201, 'POST', '/repositories', ALICE, { name: 'acme/robotic' });
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const made = await expect<Robot & { token: string }>(201, 'POST', '/namespaces/acme/robots', ALICE, { name: 'ci', description: 'CI pushes', expiresAt });
      assert.deepEqual({ ...made, token: typeof made.token, createdAt: typeof made.createdAt }, {
        name: 'acme+ci',
        shortName: 'ci',
        namespace: 'acme',
        description: 'CI pushes',
        expiresAt,
        createdAt: 'string',
        token: 'string',
      });
      await expect(409, 'POST', '/namespaces/acme/robots', ALICE, { name: 'ci' });
      await expect(400, 'POST', '/namespaces/acme/robots', ALICE, { name: 'old', expiresAt: '2001-01-01T00:00:00Z' });
      await expect(400, 'POST', '/namespaces/acme/robots', ALICE, { name: 'when', expiresAt: 'tomorrow' });
      await expect(404, 'POST', '/namespaces/nowhere/robots', ADMIN, { name: 'x' });
      const listed = (await expect<{ robots: Record<string, unknown>[] }>(200, 'GET', '/namespaces/acme/robots', ALICE)).robots;
      assert.deepEqual(listed.map((r) => r.name), ['acme+ci']);
      assert.equal(listed[0]!.token, undefined, 'listing never shows the token');
      assert.equal((await expect(200, 'GET', '/namespaces/acme/robots/ci', ALICE)).token, undefined);
      // A user's own namespace has robots too.
      await expect(201, 'POST', '/namespaces/bob/robots', BOB, { name: 'laptop' });
      await expect(403, 'GET', '/namespaces/bob/robots', ALICE);

      const robot = basic('acme+ci', made.token);
      await pushImage(reg.url, 'acme/robotic', randomImage(), 'v1', { authorization: ALICE });
      assert.equal(await v2('acme/robotic/tags/list', robot), 401, 'no permission yet');
      await expect(200, 'PUT', '/repositories/acme/robotic/permissions/robot/acme+ci', ALICE, { role: 'read' });
      assert.equal(await v2('acme/robotic/tags/list', robot), 200);
      assert.deepEqual(await expect(200, 'GET', '/user', robot), { kind: 'robot', name: 'acme+ci', namespace: 'acme' });
      await expect(400, 'PUT', '/repositories/acme/robotic/permissions/robot/bob+laptop', ALICE, { role: 'read' });

      const regen = await expect<Robot & { token: string }>(200, 'POST', '/namespaces/acme/robots/ci/token', ALICE, {});
      assert.notEqual(regen.token, made.token);
      assert.equal(regen.expiresAt, undefined, 'a regenerated token without expiresAt does not expire');
      assert.equal(await v2('', robot), 401, 'the old token stops working at once');
      const robot2 = basic('acme+ci', regen.token);
      assert.equal(await v2('', robot2), 200);
      assert.deepEqual((await lastEvent('action=robot_token_regenerate')).detail, { robot: 'acme+ci' });

      await expect(204, 'DELETE', '/namespaces/acme/robots/ci', ALICE);
      await expect(404, 'DELETE', '/namespaces/acme/robots/ci', ALICE);
      assert.equal(await v2('', robot2), 401);
      assert.deepEqual((await expect<{ permissions: Permission[] }>(200, 'GET', '/repositories/acme/robotic/permissions', ALICE)).permissions, []);
    });

    it('repositories: create, visibility, description, permissions, delete', async () => {
      const repo = await expect<Repository>(201, 'POST', '/repositories', ALICE, { name: 'acme/web', visibility: 'public', description: 'the site' });
      assert.deepEqual({ ...repo, createdAt: undefined }, {
        name: 'acme/web',
        namespace: 'acme',
        visibility: 'public',
        description: 'the site',
        createdBy: 'alice',
        createdAt: undefined,
        access: ['pull', 'push', 'delete'],
      });
      await expect(409, 'POST', '/repositories', ALICE, { name: 'acme/web' });
      await expect(400, 'POST', '/repositories', ALICE, { name: 'acme/Web' });
      await expect(400, 'POST', '/repositories', ALICE, { name: 'acme/web2', visibility: 'secret' });
      await expect(403, 'POST', '/repositories', ALICE, { name: 'toplevel' });
      await expect(201, 'POST', '/repositories', ADMIN, { name: 'toplevel' });
      await expect(404, 'POST', '/repositories', ADMIN, { name: 'nowhere/app' });

      const img = randomImage();
      await pushImage(reg.url, 'acme/web', img, 'v1', { authorization: ALICE });
      assert.equal(await v2('acme/web/manifests/v1'), 200, 'public: anonymous pulls work');
      const patched = await expect<Repository>(200, 'PATCH', '/repositories/acme/web', ALICE, { visibility: 'private', description: 'the site, private' });
      assert.deepEqual([patched.visibility, patched.description], ['private', 'the site, private']);
      assert.equal(await v2('acme/web/manifests/v1'), 401, 'private: anonymous pulls are refused');
      assert.deepEqual((await lastEvent('repository=acme/web&action=repo_visibility_change')).detail, { from: 'public', to: 'private' });
      await expect(400, 'PATCH', '/repositories/acme/web', ALICE, { visibility: 'hidden' });

      assert.equal(await v2('acme/web/manifests/v1', BOB), 401);
      await expect(200, 'PUT', '/repositories/acme/web/permissions/user/bob', ALICE, { role: 'read' });
      assert.equal(await v2('acme/web/manifests/v1', BOB), 200);
      await expect(201, 'PUT', '/organizations/acme/teams/readers', ALICE, { role: 'member' });
      await expect(200, 'PUT', '/repositories/acme/web/permissions/team/readers', ALICE, { role: 'write' });
      await expect(404, 'PUT', '/repositories/acme/web/permissions/team/nobody', ALICE, { role: 'write' });
      await expect(404, 'PUT', '/repositories/acme/web/permissions/user/nobody', ALICE, { role: 'write' });
      await expect(404, 'PUT', '/repositories/acme/web/permissions/group/readers', ALICE, { role: 'write' });
      await expect(400, 'PUT', '/repositories/acme/web/permissions/user/bob', ALICE, { role: 'owner' });
      await expect(201, 'POST', '/repositories', BOB, { name: 'bob/tool' });
      await expect(400, 'PUT', '/repositories/bob/tool/permissions/team/readers', BOB, { role: 'read' });
      const perms = (await expect<{ permissions: Permission[] }>(200, 'GET', '/repositories/acme/web/permissions', ALICE)).permissions;
      assert.deepEqual(perms.sort((a, b) => (a.kind < b.kind ? -1 : 1)), [
        { kind: 'team', name: 'readers', role: 'write' },
        { kind: 'user', name: 'bob', role: 'read' },
      ]);
      const listed = (await expect<Repos>(200, 'GET', '/repositories?namespace=acme', BOB)).repositories.map((r) => r.name);
      assert.ok(listed.includes('acme/web'));
      assert.ok(!listed.includes('acme/robotic'));
      await expect(204, 'DELETE', '/repositories/acme/web/permissions/user/bob', ALICE);
      await expect(404, 'DELETE', '/repositories/acme/web/permissions/user/bob', ALICE);
      assert.equal(await v2('acme/web/manifests/v1', BOB), 401);
      assert.deepEqual((await lastEvent('repository=acme/web&action=permission_remove')).detail, { kind: 'user', subject: 'bob' });

      // Deleting a repository deletes its settings and permissions; its content stays, private to its admins.
      await expect(204, 'DELETE', '/repositories/acme/web', ALICE);
      const after = await expect<Repository>(200, 'GET', '/repositories/acme/web', ALICE);
      assert.deepEqual([after.visibility, after.description, after.createdAt], ['private', '', undefined]);
      assert.equal((await expect<TagPage>(200, 'GET', '/repositories/acme/web/tags', ALICE)).total, 1);
      assert.deepEqual((await expect<{ permissions: Permission[] }>(200, 'GET', '/repositories/acme/web/permissions', ALICE)).permissions, []);
      await expect(404, 'GET', '/repositories/acme/web', BOB);
      assert.ok(!(await expect<Repos>(200, 'GET', '/repositories?namespace=acme', ALICE)).repositories.some((r) => r.name === 'acme/web'));
      // It gets settings again when changed.
      await expect(200, 'PATCH', '/repositories/acme/web', ALICE, { visibility: 'public' });
      assert.equal(await v2('acme/web/manifests/v1'), 200);

      const page1 = await expect<Repos>(200, 'GET', '/repositories?namespace=acme&n=1', ALICE);
      assert.equal(page1.repositories.length, 1);
      const page2 = await expect<Repos>(200, 'GET', `/repositories?namespace=acme&n=100&last=${page1.next!}`, ALICE);
      assert.ok(!page2.repositories.some((r) => r.name === page1.repositories[0]!.name));
    });

    it('tags: digest, size, platforms and push time, sorted either way', async () => {
      await expect(201, 'POST', '/repositories', ALICE, { name: 'acme/multi' });
      const amd = randomImage({ layers: 2, size: 1000 });
      const arm = randomImage({ layers: 1, size: 700, platform: { os: 'linux', architecture: 'arm64' } });
      await pushImage(reg.url, 'acme/multi', amd, 'amd', { authorization: ALICE });
      await sleep(15);
      await pushImage(reg.url, 'acme/multi', arm, 'arm', { authorization: ALICE });
      await sleep(15);
      const idx = indexOf([amd, arm], { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
      await pushManifest(reg.url, 'acme/multi', 'all', idx.bytes, idx.mediaType, { authorization: ALICE });

      const byName = await expect<TagPage>(200, 'GET', '/repositories/acme/multi/tags', ALICE);
      assert.equal(byName.total, 3);
      assert.deepEqual(byName.tags.map((t) => t.name), ['all', 'amd', 'arm']);
      const [all, amdTag, armTag] = byName.tags as [TagPage['tags'][0], TagPage['tags'][0], TagPage['tags'][0]];
      const imageSize = (i: typeof amd) => i.manifest.length + i.config.bytes.length + i.layers.reduce((s, l) => s + l.bytes.length, 0);
      assert.deepEqual({ ...amdTag, pushedAt: undefined }, {
        name: 'amd',
        digest: amd.digest,
        mediaType: amd.mediaType,
        manifestSize: amd.manifest.length,
        size: imageSize(amd),
        platforms: [{ os: 'linux', architecture: 'amd64' }],
        pushedAt: undefined,
        // No scanner or certifier runs in this test: both are still to come.
        security: { status: 'pending' },
        certification: 'pending',
      });
      assert.deepEqual(armTag.platforms, [{ os: 'linux', architecture: 'arm64' }]);
      assert.equal(all.digest, idx.digest);
      assert.equal(all.size, idx.bytes.length + imageSize(amd) + imageSize(arm));
      assert.deepEqual(all.platforms, [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }]);
      assert.ok(Date.parse(amdTag.pushedAt) <= Date.parse(armTag.pushedAt) && Date.parse(armTag.pushedAt) <= Date.parse(all.pushedAt));

      const newest = await expect<TagPage>(200, 'GET', '/repositories/acme/multi/tags?sort=pushed', ALICE);
      assert.deepEqual(newest.tags.map((t) => t.name), ['all', 'arm', 'amd']);
      const oldest = await expect<TagPage>(200, 'GET', '/repositories/acme/multi/tags?sort=pushed&order=asc&n=2', ALICE);
      assert.deepEqual(oldest.tags.map((t) => t.name), ['amd', 'arm']);
      assert.equal(oldest.next, 2);
      const rest = await expect<TagPage>(200, 'GET', '/repositories/acme/multi/tags?sort=pushed&order=asc&n=2&offset=2', ALICE);
      assert.deepEqual(rest.tags.map((t) => t.name), ['all']);
      assert.equal(rest.next, undefined);
      // Moving a tag is a push: it becomes the newest.
      await sleep(15);
      await pushManifest(reg.url, 'acme/multi', 'amd', amd.manifest, amd.mediaType, { authorization: ALICE });
      assert.equal((await expect<TagPage>(200, 'GET', '/repositories/acme/multi/tags?sort=pushed&n=1', ALICE)).tags[0]!.name, 'amd');
      await expect(400, 'GET', '/repositories/acme/multi/tags?sort=size', ALICE);
      await expect(400, 'GET', '/repositories/acme/multi/tags?n=5000', ALICE);
      await expect(404, 'GET', '/repositories/acme/none/tags', ALICE);
    });

    it('app tokens: shown once, work as Basic and Bearer, listed without secret, revocable', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const made = await expect<Token & { token: string }>(201, 'POST', '/user/tokens', ALICE, { name: 'laptop', expiresAt });
      assert.match(made.token, /^berth_app_/);
      assert.equal(made.kind, 'app');
      assert.equal(made.expiresAt, expiresAt);
      const bearer = `Bearer ${made.token}`;
      assert.equal((await expect<Me>(200, 'GET', '/user', bearer)).name, 'alice');
      assert.equal(await v2('', basic('$app', made.token)), 200);
      const listed = (await expect<{ tokens: (Token & { token?: string })[] }>(200, 'GET', '/user/tokens', ALICE)).tokens;
      assert.deepEqual(listed.map((t) => [t.id, t.token]), [[made.id, undefined]]);
      assert.ok(listed[0]!.lastUsedAt, 'using a token records when');
      assert.deepEqual((await expect<{ tokens: Token[] }>(200, 'GET', '/user/tokens?kind=refresh', ALICE)).tokens, []);
      await expect(404, 'DELETE', `/user/tokens/${made.id}`, BOB);
      // An app token may not change the password: the current password is required.
      await expect(403, 'PUT', '/user/password', bearer, { currentPassword: made.token, password: 'taken-over-1' });
      await expect(204, 'DELETE', `/user/tokens/${made.id}`, bearer);
      await expect(401, 'GET', '/user', bearer);
      assert.equal(await v2('', basic('$app', made.token)), 401, 'a revoked token stops working at once, cached or not');
      assert.deepEqual((await lastEvent('action=app_token_revoke')).detail, { id: made.id, name: 'laptop' });
    });

    it('registry tokens work as Bearer on the API only when granted registry:api:*', async () => {
      const tokenFor = async (scope: string): Promise<string> => {
        const res = await fetch(`${reg.url}/v2/auth?service=${TEST_AUTH_CONFIG.service}${scope}`, { headers: { authorization: BOB } });
        assert.equal(res.status, 200);
        return ((await res.json()) as { token: string }).token;
      };
      const me = await expect<Me>(200, 'GET', '/user', `Bearer ${await tokenFor('&scope=registry:api:*')}`);
      assert.deepEqual([me.kind, me.name], ['user', 'bob']);
      // A token asked for a repository (or for nothing) is no key to the API.
      await expect(401, 'GET', '/user', `Bearer ${await tokenFor('&scope=repository:bob/x:pull')}`);
      await expect(401, 'GET', '/user', `Bearer ${await tokenFor('')}`);
    });

    it('audit log: filters by namespace, repository, actor, action and time, and pages', async () => {
      const start = new Date(Date.now() - 1).toISOString();
      await expect(201, 'POST', '/repositories', ALICE, { name: 'acme/audited' });
      await expect(200, 'PATCH', '/repositories/acme/audited', ALICE, { visibility: 'public' });
      await expect(200, 'PATCH', '/repositories/acme/audited', ALICE, { visibility: 'private' });
      const end = new Date(Date.now() + 1).toISOString();
      const events = (await expect<Events>(200, 'GET', `/audit?repository=acme/audited&since=${start}&until=${end}`, ALICE)).events;
      assert.deepEqual(events.map((e) => e.action), ['repo_visibility_change', 'repo_visibility_change', 'repo_create']);
      for (const e of events) assert.deepEqual([e.actor, e.actorKind, e.namespace, e.repository, e.ip], ['alice', 'user', 'acme', 'acme/audited', '127.0.0.1']);
      const page = await expect<Events>(200, 'GET', '/audit?repository=acme/audited&limit=2', ALICE);
      assert.equal(page.events.length, 2);
      const next = await expect<Events>(200, 'GET', `/audit?repository=acme/audited&limit=2&before=${page.next!}`, ALICE);
      assert.deepEqual(next.events.map((e) => e.action), ['repo_create']);
      assert.equal((await expect<Events>(200, 'GET', `/audit?actor=bob&since=${start}`, ADMIN)).events.length, 0);
      assert.ok((await expect<Events>(200, 'GET', '/audit?actor=alice&action=org_create', ADMIN)).events.length >= 1);
      // Pushes and pulls the registry audits show up under the namespace.
      assert.ok((await expect<Events>(200, 'GET', '/audit?namespace=acme&action=push', ALICE)).events.length >= 1);
      const own = (await expect<Events>(200, 'GET', '/audit', BOB)).events;
      assert.ok(own.every((e) => e.namespace === 'bob'));
      await expect(400, 'GET', '/audit?since=yesterday', ADMIN);
      await expect(400, 'GET', '/audit?namespace=bob&repository=acme/audited', ADMIN);
    });
  });
}
