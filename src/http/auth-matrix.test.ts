// Every role × action × visibility combination, over real HTTP. The expected outcomes are written out by hand from
// Quay's model (not computed by the code under test): superusers and namespace owners may do anything; an org's
// admin team anything in the org; a creator team may create repositories but gets nothing on others'; members and
// robots only what repository permissions give (read → pull, write → +push, admin → +delete); anyone may pull a
// public repository. A denied caller who can see the repository gets 403 DENIED, anyone else the 401 challenge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushBlob, pushImage, pushManifest, randomImage, type ImageFixture } from '../testing/fixtures.js';
import { hashPassword } from '../auth/secrets.js';

type Outcome = 'ok' | 401 | 403;
interface Row {
  who: string;
  private: { pull: Outcome; push: Outcome; delete: Outcome; catalog: boolean };
  public: { pull: Outcome; push: Outcome; delete: Outcome; catalog: boolean };
}

const ALL = { pull: 'ok', push: 'ok', delete: 'ok', catalog: true } as const;
const NONE = { pull: 401, push: 401, delete: 401, catalog: false } as const;
const READ = { pull: 'ok', push: 403, delete: 403, catalog: true } as const;
const WRITE = { pull: 'ok', push: 'ok', delete: 403, catalog: true } as const;

const MATRIX: Row[] = [
  { who: 'admin (superuser)', private: ALL, public: ALL },
  { who: 'olga (acme owners team: admin)', private: ALL, public: ALL },
  { who: 'carl (acme builders team: creator)', private: NONE, public: READ },
  { who: 'mia (acme readers team: member, read on private)', private: READ, public: READ },
  { who: 'wes (user permission: write)', private: WRITE, public: READ },
  { who: 'ada (user permission: admin)', private: ALL, public: READ },
  { who: 'acme+ci (robot, write)', private: WRITE, public: READ },
  { who: 'otto (outsider)', private: NONE, public: READ },
  { who: 'anonymous', private: NONE, public: READ },
];

const PASSWORDS: Record<string, string> = {};
const basic = (user: string): string => `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}`;

describe('access control matrix', () => {
  let reg: TestRegistry;
  const base = randomImage({ layers: 1, size: 64 });

  before(async () => {
    reg = await startTestRegistry({ auth: true });
    PASSWORDS.admin = reg.adminPassword!;
    const a = reg.auth!.accounts;
    for (const u of ['olga', 'carl', 'mia', 'wes', 'ada', 'otto', 'alice']) {
      PASSWORDS[u] = `${u}-password`;
      await a.createUser({ name: u, passwordHash: await hashPassword(PASSWORDS[u]!) });
    }
    await a.createOrganization({ name: 'acme', owner: 'olga' });
    await a.putTeam({ org: 'acme', name: 'builders', role: 'creator' });
    await a.putTeam({ org: 'acme', name: 'readers', role: 'member' });
    await a.addTeamMember('acme', 'builders', 'carl');
    await a.addTeamMember('acme', 'readers', 'mia');
    const robot = reg.auth!.newRobotToken();
    PASSWORDS['acme+ci'] = robot.token;
    await a.createRobot({ name: 'acme+ci', namespace: 'acme', tokenHash: robot.hash });
    for (const repo of ['acme/private', 'acme/public']) await pushImage(reg.url, repo, base, 'base', { Authorization: basic('admin') });
    await a.updateRepository('acme/public', { visibility: 'public' });
    await a.setPermission({ repo: 'acme/private', subjectKind: 'team', subject: 'acme/readers', role: 'read' });
    await a.setPermission({ repo: 'acme/private', subjectKind: 'user', subject: 'wes', role: 'write' });
    await a.setPermission({ repo: 'acme/private', subjectKind: 'user', subject: 'ada', role: 'admin' });
    await a.setPermission({ repo: 'acme/private', subjectKind: 'robot', subject: 'acme+ci', role: 'write' });
  });
  after(() => reg.close());

  /** Authorization for a row: Basic for named principals, an anonymous registry token for anonymous. */
  async function authFor(who: string, repo: string): Promise<Record<string, string>> {
    const name = who.split(' ')[0]!;
    if (name !== 'anonymous') return { Authorization: basic(name) };
    const res = await fetch(`${reg.url}/v2/auth?service=berth-test&scope=repository:${repo}:pull,push,delete&scope=registry:catalog:*`);
    return { Authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
  }

  const outcome = (status: number, ok: number): Outcome => (status === ok ? 'ok' : status === 401 || status === 403 ? status : (assert.fail(`unexpected status ${status}`) as never));

  for (const row of MATRIX) {
    for (const visibility of ['private', 'public'] as const) {
      it(`${row.who} on a ${visibility} repository`, async () => {
        const repo = `acme/${visibility}`;
        const expected = row[visibility];
        const headers = await authFor(row.who, repo);

        const pull = await fetch(`${reg.url}/v2/${repo}/manifests/base`, { headers });
        await pull.arrayBuffer();

        const image: ImageFixture = randomImage({ layers: 1, size: 32 });
        const tag = `t-${Math.random().toString(36).slice(2, 8)}`;
        const push = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${image.layers[0]!.digest}`, {
          method: 'POST',
          body: new Uint8Array(image.layers[0]!.bytes),
          headers,
        });
        await push.arrayBuffer();
        if (push.status === 201) {
          await pushBlob(reg.url, repo, image.config, headers);
          await pushManifest(reg.url, repo, tag, image.manifest, image.mediaType, headers);
          assert.ok(await reg.deps.store.getTaggedManifest(repo, tag));
        } else {
          assert.equal(await reg.deps.store.getRepositoryBlob(repo, image.layers[0]!.digest), undefined, 'a refused push wrote nothing');
        }

        // Something to delete, pushed by the superuser, so each row deletes its own manifest.
        const victim = randomImage({ layers: 1, size: 16 });
        await pushImage(reg.url, repo, victim, victim.digest, { Authorization: basic('admin') });
        const del = await fetch(`${reg.url}/v2/${repo}/manifests/${victim.digest}`, { method: 'DELETE', headers });
        await del.arrayBuffer();
        const stillThere = (await reg.deps.store.getManifest(repo, victim.digest)) !== undefined;
        assert.equal(stillThere, del.status !== 202, 'a refused delete lost nothing; an allowed one deleted');

        const catalog = await fetch(`${reg.url}/v2/_catalog`, { headers });
        assert.equal(catalog.status, 200);
        const listed = ((await catalog.json()) as { repositories: string[] }).repositories.includes(repo);

        assert.deepEqual(
          { pull: outcome(pull.status, 200), push: outcome(push.status, 201), delete: outcome(del.status, 202), catalog: listed },
          expected,
        );
      });
    }
  }

  it('creating repositories by push: owners in their namespace, creators in their org (and they get admin), nobody else', async () => {
    const img = randomImage({ layers: 1, size: 16 });
    const tryPush = async (who: string, repo: string): Promise<number> => {
      const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${img.layers[0]!.digest}`, {
        method: 'POST',
        body: new Uint8Array(img.layers[0]!.bytes),
        headers: { Authorization: basic(who) },
      });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await tryPush('alice', 'alice/tool'), 201);
    assert.equal(await tryPush('carl', 'acme/by-carl'), 201);
    assert.equal(await tryPush('olga', 'acme/by-olga'), 201);
    assert.equal(await tryPush('mia', 'acme/by-mia'), 401);
    assert.equal(await tryPush('otto', 'acme/by-otto'), 401);
    assert.equal(await tryPush('otto', 'alice/by-otto'), 401);
    assert.equal(await tryPush('acme+ci', 'acme/by-robot'), 401);
    assert.equal(await tryPush('alice', 'rootlevel'), 401); // the root namespace is the superusers'
    assert.equal(await tryPush('admin', 'rootlevel'), 201);
    const a = reg.auth!.accounts;
    assert.equal((await a.getRepository('acme/by-carl'))?.visibility, 'private');
    assert.deepEqual(await a.listPermissions('acme/by-carl'), [{ repo: 'acme/by-carl', subjectKind: 'user', subject: 'carl', role: 'admin' }]);
    assert.deepEqual(await a.listPermissions('acme/by-olga'), []); // an org admin needs no grant
    for (const repo of ['acme/by-mia', 'acme/by-otto', 'alice/by-otto', 'acme/by-robot']) {
      assert.equal(await a.getRepository(repo), undefined);
      assert.equal(await reg.deps.store.repositoryExists(repo), false);
    }
    await reg.auth!.flushAudit();
    const created = await a.queryAudit({ action: 'repo_create', repo: 'acme/by-carl' });
    assert.equal(created.length, 1);
    assert.equal(created[0]!.actor, 'carl');
  });

  it('a creator gets nothing on a repository that has content but no settings (pushed while auth was off, or its settings deleted)', async () => {
    await pushImage(reg.url, 'acme/legacy', base, 'v1', { Authorization: basic('admin') });
    const a = reg.auth!.accounts;
    await a.deleteRepository('acme/legacy'); // what DELETE /api/v1/repositories does: settings go, content stays
    reg.auth!.forgetRepository('acme/legacy');
    const carl = { Authorization: basic('carl') };
    assert.equal((await fetch(`${reg.url}/v2/acme/legacy/manifests/v1`, { headers: carl })).status, 401, 'no pull');
    const push = await fetch(`${reg.url}/v2/acme/legacy/blobs/uploads/`, { method: 'POST', headers: carl });
    await push.arrayBuffer();
    assert.equal(push.status, 401, 'no push, so no way to become its admin');
    const viaApi = await fetch(`${reg.url}/api/v1/repositories`, { method: 'POST', headers: { ...carl, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'acme/legacy' }) });
    assert.equal(viaApi.status, 409);
    assert.equal(await a.getRepository('acme/legacy'), undefined);
    assert.deepEqual(await a.listPermissions('acme/legacy'), []);
    // A superuser push gives it settings again, private, with no grant to anyone.
    await pushImage(reg.url, 'acme/legacy', base, 'v2', { Authorization: basic('admin') });
    assert.equal((await a.getRepository('acme/legacy'))?.visibility, 'private');
    assert.deepEqual(await a.listPermissions('acme/legacy'), []);
  });

  it('writes pushes, pulls and deletes to the audit log with the actor, and never a secret', async () => {
    await reg.auth!.flushAudit();
    const events = await a().queryAudit({ namespace: 'acme', limit: 1000 });
    const actions = new Set(events.map((e) => `${e.action}:${e.actor ?? 'anonymous'}`));
    for (const expected of ['push:admin', 'pull:wes', 'push:acme+ci', 'delete:ada', 'pull:anonymous']) assert.ok(actions.has(expected), expected);
    const dump = JSON.stringify(await a().queryAudit({ limit: 1000 }));
    for (const secret of Object.values(PASSWORDS)) assert.ok(!dump.includes(secret));
  });

  const a = () => reg.auth!.accounts;
});
