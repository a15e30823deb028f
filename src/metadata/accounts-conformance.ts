import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MetadataError } from './errors.js';
import type { MetadataStore } from './store.js';
import type { AccountStore } from './accounts.js';

/**
 * The shared suite every `AccountStore` must pass. Each test gets a store on an empty database from `factory`
 * and uses names unique to the run. Every refused write is checked to have left nothing behind.
 */
export function describeAccountStore(name: string, factory: () => Promise<MetadataStore>, opts: { skip?: string | false } = {}): void {
  describe(`AccountStore conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let store: MetadataStore;
    let a: AccountStore;
    beforeEach(async () => {
      store = await factory();
      a = store.accounts;
    });
    afterEach(async () => {
      await store.close();
    });

    const rejects = async (p: Promise<unknown>, code: MetadataError['code']): Promise<void> => {
      await assert.rejects(p, (err: unknown) => err instanceof MetadataError && err.code === code);
    };

    describe('users and namespaces', () => {
      it('creates, reads, lists, updates and deletes a user', async () => {
        const u = unique('alice');
        const at = new Date('2026-01-02T03:04:05.006Z');
        await a.createUser({ name: u, passwordHash: 'h1', email: 'a@example.com', now: at });
        assert.deepEqual(await a.getUser(u), { name: u, passwordHash: 'h1', email: 'a@example.com', superuser: false, createdAt: at });
        assert.deepEqual(await a.getNamespace(u), { name: u, kind: 'user', email: 'a@example.com', createdAt: at });
        assert.equal(await a.countUsers(), 1);
        await a.updateUser(u, { passwordHash: 'h2', superuser: true, email: 'b@example.com' });
        const changed = await a.getUser(u);
        assert.equal(changed?.passwordHash, 'h2');
        assert.equal(changed?.superuser, true);
        assert.equal(changed?.email, 'b@example.com');
        assert.equal(await a.deleteUser(u), true);
        assert.equal(await a.getUser(u), undefined);
        assert.equal(await a.getNamespace(u), undefined);
        assert.equal(await a.deleteUser(u), false);
      });

      it('refuses a taken namespace name, for users and organisations alike, and writes nothing', async () => {
        const u = unique('bob');
        await a.createUser({ name: u, passwordHash: 'h' });
        await rejects(a.createUser({ name: u, passwordHash: 'other' }), 'CONFLICT');
        await rejects(a.createOrganization({ name: u, owner: u }), 'CONFLICT');
        assert.equal((await a.getUser(u))?.passwordHash, 'h');
        assert.deepEqual(await a.listTeams(u), []);
      });

      it('lists users in byte order with paging', async () => {
        const names = ['b', 'a', 'c'].map((p) => `${p}-${unique('u')}`);
        for (const n of names) await a.createUser({ name: n, passwordHash: 'h' });
        const all = (await a.listUsers()).map((u) => u.name);
        assert.deepEqual(all, [...names].sort());
        assert.deepEqual((await a.listUsers({ n: 1, last: all[0] })).map((u) => u.name), [all[1]]);
      });

      it('updateUser on a missing user is NOT_FOUND', async () => {
        await rejects(a.updateUser(unique('ghost'), { passwordHash: 'x' }), 'NOT_FOUND');
      });
    });

    describe('organisations and teams', () => {
      it('creates an organisation with an owners team holding the owner', async () => {
        const owner = unique('owner');
        const org = unique('org');
        await a.createUser({ name: owner, passwordHash: 'h' });
        await a.createOrganization({ name: org, owner });
        assert.equal((await a.getNamespace(org))?.kind, 'organization');
        const teams = await a.listTeams(org);
        assert.deepEqual(teams.map((t) => [t.name, t.role]), [['owners', 'admin']]);
        assert.deepEqual(await a.listTeamMembers(org, 'owners'), [owner]);
        assert.deepEqual((await a.teamsOf(owner)).map((t) => `${t.org}/${t.name}`), [`${org}/owners`]);
        assert.ok((await a.listOrganizations()).some((o) => o.name === org));
      });

      it('refuses to delete the last administrator of an organisation, and allows it once there is another', async () => {
        const { org, owner } = await newOrg(a);
        await rejects(a.deleteUser(owner), 'CONFLICT');
        assert.ok(await a.getUser(owner));
        const second = unique('second');
        await a.createUser({ name: second, passwordHash: 'h' });
        await a.putTeam({ org, name: 'admins', role: 'admin' });
        await a.addTeamMember(org, 'admins', second);
        assert.equal(await a.deleteUser(owner), true);
        assert.deepEqual(await a.listTeamMembers(org, 'owners'), []);
      });

      it('refuses an organisation whose owner does not exist', async () => {
        const org = unique('org');
        await rejects(a.createOrganization({ name: org, owner: unique('nobody') }), 'NOT_FOUND');
        assert.equal(await a.getNamespace(org), undefined);
      });

      it('puts teams, changes roles, manages members and deletes teams', async () => {
        const { org, owner } = await newOrg(a);
        const dev = unique('dev');
        await a.createUser({ name: dev, passwordHash: 'h' });
        await a.putTeam({ org, name: 'devs', role: 'member', description: 'developers' });
        await a.putTeam({ org, name: 'devs', role: 'creator' });
        const team = await a.getTeam(org, 'devs');
        assert.equal(team?.role, 'creator');
        assert.equal(team?.description, 'developers');
        await a.addTeamMember(org, 'devs', dev);
        await a.addTeamMember(org, 'devs', dev); // idempotent
        assert.deepEqual(await a.listTeamMembers(org, 'devs'), [dev]);
        await rejects(a.addTeamMember(org, 'devs', unique('ghost')), 'NOT_FOUND');
        await rejects(a.addTeamMember(org, 'nope', owner), 'NOT_FOUND');
        await rejects(a.putTeam({ org: owner, name: 'x', role: 'member' }), 'NOT_FOUND'); // a user is not an org
        assert.equal(await a.removeTeamMember(org, 'devs', dev), true);
        assert.equal(await a.removeTeamMember(org, 'devs', dev), false);
        assert.equal(await a.deleteTeam(org, 'devs'), true);
        assert.equal(await a.getTeam(org, 'devs'), undefined);
      });

      it('refuses to delete an organisation that still has repositories, then deletes everything of it', async () => {
        const { org } = await newOrg(a);
        const robot = `${org}+ci`;
        await a.createRobot({ name: robot, namespace: org, tokenHash: 'th' });
        const repo = `${org}/app`;
        await a.ensureRepository({ repo, namespace: org, visibility: 'private' });
        await a.setPermission({ repo, subjectKind: 'robot', subject: robot, role: 'write' });
        await rejects(a.deleteOrganization(org), 'CONFLICT');
        assert.equal((await a.listRobots(org)).length, 1);
        assert.equal(await a.deleteRepository(repo), true);
        assert.equal(await a.deleteOrganization(org), true);
        assert.equal(await a.getNamespace(org), undefined);
        assert.deepEqual(await a.listTeams(org), []);
        assert.equal(await a.getRobot(robot), undefined);
      });
    });

    describe('robots', () => {
      it('creates, lists, regenerates and deletes a robot; its permissions go with it', async () => {
        const { org } = await newOrg(a);
        const name = `${org}+deploy`;
        const expires = new Date('2030-01-01T00:00:00.000Z');
        await a.createRobot({ name, namespace: org, tokenHash: 't1', description: 'deploys', expiresAt: expires });
        await rejects(a.createRobot({ name, namespace: org, tokenHash: 't2' }), 'CONFLICT');
        assert.equal((await a.getRobot(name))?.tokenHash, 't1');
        assert.deepEqual((await a.getRobot(name))?.expiresAt, expires);
        await a.setRobotToken(name, 't3');
        const r = await a.getRobot(name);
        assert.equal(r?.tokenHash, 't3');
        assert.equal(r?.expiresAt, undefined);
        await rejects(a.setRobotToken(`${org}+ghost`, 'x'), 'NOT_FOUND');
        await rejects(a.createRobot({ name: 'nobody+x', namespace: unique('nobody'), tokenHash: 'x' }), 'NOT_FOUND');
        const repo = `${org}/svc`;
        await a.ensureRepository({ repo, namespace: org, visibility: 'private' });
        await a.setPermission({ repo, subjectKind: 'robot', subject: name, role: 'read' });
        assert.equal(await a.deleteRobot(name), true);
        assert.deepEqual(await a.listPermissions(repo), []);
        assert.deepEqual(await a.listRobots(org), []);
      });
    });

    describe('repositories and permissions', () => {
      it('ensureRepository creates once; the second caller sees the first one’s settings', async () => {
        const { org, owner } = await newOrg(a);
        const repo = `${org}/app`;
        const first = await a.ensureRepository({ repo, namespace: org, visibility: 'private', createdBy: owner });
        const second = await a.ensureRepository({ repo, namespace: org, visibility: 'public', createdBy: 'other' });
        assert.equal(first.created, true);
        assert.equal(second.created, false);
        assert.equal(second.settings.visibility, 'private');
        assert.equal(second.settings.createdBy, owner);
        const racing = await Promise.all(
          Array.from({ length: 5 }, (_, i) => a.ensureRepository({ repo: `${org}/race`, namespace: org, visibility: 'private', createdBy: `u${i}` })),
        );
        assert.equal(racing.filter((r) => r.created).length, 1);
      });

      it('updates visibility and description, lists by namespace, deletes', async () => {
        const { org } = await newOrg(a);
        for (const n of ['b', 'a']) await a.ensureRepository({ repo: `${org}/${n}`, namespace: org, visibility: 'private' });
        await a.updateRepository(`${org}/a`, { visibility: 'public' });
        await a.updateRepository(`${org}/a`, { description: 'the A' });
        const got = await a.getRepository(`${org}/a`);
        assert.equal(got?.visibility, 'public');
        assert.equal(got?.description, 'the A');
        assert.deepEqual((await a.listRepositorySettings({ namespace: org })).map((r) => r.repo), [`${org}/a`, `${org}/b`]);
        assert.deepEqual((await a.listRepositorySettings({ namespace: org, last: `${org}/a`, n: 5 })).map((r) => r.repo), [`${org}/b`]);
        await rejects(a.updateRepository(`${org}/none`, { visibility: 'public' }), 'NOT_FOUND');
        assert.equal(await a.deleteRepository(`${org}/a`), true);
        assert.equal(await a.getRepository(`${org}/a`), undefined);
      });

      it('grants, changes and removes permissions for users, teams and robots, and finds them per subject', async () => {
        const { org, owner } = await newOrg(a);
        const repo = `${org}/app`;
        await a.ensureRepository({ repo, namespace: org, visibility: 'private' });
        await a.putTeam({ org, name: 'readers', role: 'member' });
        await a.createRobot({ name: `${org}+bot`, namespace: org, tokenHash: 'x' });
        await a.setPermission({ repo, subjectKind: 'user', subject: owner, role: 'read' });
        await a.setPermission({ repo, subjectKind: 'user', subject: owner, role: 'admin' });
        await a.setPermission({ repo, subjectKind: 'team', subject: `${org}/readers`, role: 'read' });
        await a.setPermission({ repo, subjectKind: 'robot', subject: `${org}+bot`, role: 'write' });
        await rejects(a.setPermission({ repo, subjectKind: 'user', subject: unique('ghost'), role: 'read' }), 'NOT_FOUND');
        await rejects(a.setPermission({ repo, subjectKind: 'team', subject: `${org}/ghosts`, role: 'read' }), 'NOT_FOUND');
        await rejects(a.setPermission({ repo: `${org}/none`, subjectKind: 'user', subject: owner, role: 'read' }), 'NOT_FOUND');
        assert.deepEqual(
          (await a.listPermissions(repo)).map((p) => `${p.subjectKind}:${p.subject}=${p.role}`),
          [`robot:${org}+bot=write`, `team:${org}/readers=read`, `user:${owner}=admin`],
        );
        const mine = await a.permissionsFor(repo, [
          { kind: 'user', name: owner },
          { kind: 'team', name: `${org}/readers` },
          { kind: 'team', name: `${org}/owners` },
        ]);
        assert.deepEqual(mine.map((p) => p.role).sort(), ['admin', 'read']);
        assert.deepEqual(await a.permissionsFor(repo, []), []);
        assert.equal(await a.removePermission(repo, 'user', owner), true);
        assert.equal(await a.removePermission(repo, 'user', owner), false);
        await a.deleteTeam(org, 'readers');
        assert.deepEqual((await a.listPermissions(repo)).map((p) => p.subjectKind), ['robot']);
      });
    });

    describe('tokens', () => {
      it('creates, finds, lists, touches and revokes tokens', async () => {
        const u = unique('tok');
        await a.createUser({ name: u, passwordHash: 'h' });
        const id1 = randomBytes(8).toString('hex');
        const id2 = randomBytes(8).toString('hex');
        await a.createToken({ id: id1, owner: u, kind: 'app', name: 'ci', secretHash: 's1', now: new Date(1000) });
        await a.createToken({ id: id2, owner: u, kind: 'refresh', name: 'login', secretHash: 's2', expiresAt: new Date(5000), now: new Date(2000) });
        await rejects(a.createToken({ id: id1, owner: u, kind: 'app', name: 'dup', secretHash: 'x' }), 'CONFLICT');
        await rejects(a.createToken({ id: 'x' + id1, owner: unique('ghost'), kind: 'app', name: 'x', secretHash: 'x' }), 'NOT_FOUND');
        assert.equal((await a.getToken(id1))?.secretHash, 's1');
        assert.deepEqual((await a.listTokens(u)).map((t) => t.id), [id1, id2]);
        assert.deepEqual((await a.listTokens(u, 'refresh')).map((t) => t.id), [id2]);
        await a.touchToken(id1, new Date(3000));
        assert.deepEqual((await a.getToken(id1))?.lastUsedAt, new Date(3000));
        assert.equal(await a.deleteToken(id1), true);
        assert.equal(await a.getToken(id1), undefined);
        await a.deleteUser(u);
        assert.equal(await a.getToken(id2), undefined);
      });
    });

    describe('signing keys', () => {
      it('adds keys idempotently, lists newest first, retires and deletes', async () => {
        await a.addSigningKey({ kid: 'k1', privateKeyPem: 'p1', now: new Date(1000) });
        await a.addSigningKey({ kid: 'k1', privateKeyPem: 'other', now: new Date(1500) });
        await a.addSigningKey({ kid: 'k2', privateKeyPem: 'p2', now: new Date(2000) });
        const keys = await a.listSigningKeys();
        assert.deepEqual(keys.map((k) => [k.kid, k.privateKeyPem]), [['k2', 'p2'], ['k1', 'p1']]);
        await a.retireSigningKey('k1', new Date(3000));
        await a.retireSigningKey('k1', new Date(4000)); // the first retirement stays
        assert.deepEqual((await a.listSigningKeys()).find((k) => k.kid === 'k1')?.retiredAt, new Date(3000));
        assert.equal(await a.deleteSigningKey('k1'), true);
        assert.deepEqual((await a.listSigningKeys()).map((k) => k.kid), ['k2']);
      });
    });

    describe('audit log', () => {
      it('appends and queries by namespace, repository, actor, action, time, newest first with paging', async () => {
        const ns = unique('ns');
        await a.appendAudit({ at: new Date(1000), action: 'push', actor: 'alice', actorKind: 'user', namespace: ns, repo: `${ns}/a`, ip: '127.0.0.1', detail: { tag: 'v1' } });
        await a.appendAudit({ at: new Date(2000), action: 'pull', actor: 'bob', actorKind: 'user', namespace: ns, repo: `${ns}/b` });
        await a.appendAudit({ at: new Date(3000), action: 'login_failure', actor: 'alice', actorKind: 'user', ip: '10.0.0.1' });
        await a.appendAudit([{ at: new Date(4000), action: 'pull', actorKind: 'anonymous', namespace: ns, repo: `${ns}/a` }]);
        await a.appendAudit([]);
        const all = await a.queryAudit({ namespace: ns });
        assert.deepEqual(all.map((e) => e.action), ['pull', 'pull', 'push']);
        assert.deepEqual(all[2]?.detail, { tag: 'v1' });
        assert.equal(all[2]?.ip, '127.0.0.1');
        assert.deepEqual(all[2]?.at, new Date(1000));
        assert.deepEqual((await a.queryAudit({ repo: `${ns}/a` })).map((e) => e.at.getTime()), [4000, 1000]);
        assert.deepEqual((await a.queryAudit({ actor: 'alice' })).map((e) => e.action), ['login_failure', 'push']);
        assert.deepEqual((await a.queryAudit({ action: 'pull', namespace: ns })).length, 2);
        assert.deepEqual((await a.queryAudit({ since: new Date(2000), until: new Date(4000) })).map((e) => e.at.getTime()), [3000, 2000]);
        const page1 = await a.queryAudit({ namespace: ns, limit: 2 });
        const page2 = await a.queryAudit({ namespace: ns, limit: 2, before: page1[1]!.id });
        assert.deepEqual([...page1, ...page2].map((e) => e.id), all.map((e) => e.id));
      });

      it('prunes the oldest events before a time, at most the limit at a time, and nothing newer', async () => {
        const ns = unique('ns');
        for (const t of [1000, 2000, 3000, 4000, 5000]) await a.appendAudit({ at: new Date(t), action: 'pull', actorKind: 'anonymous', namespace: ns, repo: `${ns}/a` });
        const times = async () => (await a.queryAudit({ namespace: ns })).map((e) => e.at.getTime());
        assert.equal(await a.pruneAudit(new Date(4000), 2), 2);
        assert.deepEqual(await times(), [5000, 4000, 3000], 'the oldest two first');
        assert.equal(await a.pruneAudit(new Date(4000), 10), 1);
        assert.deepEqual(await times(), [5000, 4000]);
        assert.equal(await a.pruneAudit(new Date(4000), 10), 0);
      });
    });
  });
}

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

async function newOrg(a: AccountStore): Promise<{ org: string; owner: string }> {
  const owner = unique('owner');
  const org = unique('org');
  await a.createUser({ name: owner, passwordHash: 'h' });
  await a.createOrganization({ name: org, owner });
  return { org, owner };
}
