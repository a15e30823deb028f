// Real clients against Berth with authentication on: skopeo login then copy to and from a private repository,
// skopeo --creds for a robot, anonymous pulls of public (allowed) and private (denied) repositories, buildah and
// podman login/push/pull, and the berth client's own token flow.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { hashPassword } from '../auth/secrets.js';
import { TOOL_TEST_TIMEOUT, buildUmociImage, hasSkopeo, hasUmoci, hostOf, layoutDescriptor, makeSandbox, sampleLayers, type Sandbox } from './tools.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasBuildah = spawnSync('buildah', ['--version']).status === 0;
const hasPodman = spawnSync('podman', ['--version']).status === 0;

describe('real clients against Berth with authentication', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT * 4 }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;
  let layout: string;
  let digest: string;
  let robotToken: string;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs', auth: true }), makeSandbox()]);
    host = hostOf(reg.url);
    layout = sb.path('layout');
    await buildUmociImage(sb, { layout, tag: 'v1', layers: sampleLayers().slice(0, 2) });
    digest = (await layoutDescriptor(layout, 'v1')).digest;
    const a = reg.auth!.accounts;
    await a.createUser({ name: 'bob', passwordHash: await hashPassword('bob-password') });
    const robot = reg.auth!.newRobotToken();
    robotToken = robot.token;
    await a.createRobot({ name: 'admin+ci', namespace: 'admin', tokenHash: robot.hash });
    await a.ensureRepository({ repo: 'admin/robot-repo', namespace: 'admin', visibility: 'private' });
    await a.setPermission({ repo: 'admin/robot-repo', subjectKind: 'robot', subject: 'admin+ci', role: 'write' });
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  it('skopeo login, then copy to a private repository and back with the digest kept; logout, then it is denied', async () => {
    await sb.skopeo(['login', '--tls-verify=false', '--username', 'admin', '--password', reg.adminPassword!, host]);
    const auth = JSON.parse(await readFile(join(sb.dir, 'auth.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.ok(auth.auths[host]?.auth);
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/admin/private:v1`);
    const out = sb.path('out');
    await sb.copy(`docker://${host}/admin/private:v1`, `oci:${out}:v1`);
    assert.equal((await layoutDescriptor(out, 'v1')).digest, digest);
    assert.equal((await reg.auth!.accounts.getRepository('admin/private'))?.visibility, 'private');
    await sb.skopeo(['logout', host]);
    const denied = await sb.skopeoFails(['inspect', '--retry-times', '0', '--tls-verify=false', `docker://${host}/admin/private:v1`]);
    assert.match(denied, /unauthorized|authentication required/i);
  });

  it('anonymous skopeo pulls a public repository and is denied a private one', async () => {
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/admin/public:v1`, ['--dest-creds', `admin:${reg.adminPassword!}`]);
    await reg.auth!.accounts.updateRepository('admin/public', { visibility: 'public' });
    const out = sb.path('anon');
    await sb.copy(`docker://${host}/admin/public:v1`, `oci:${out}:v1`);
    assert.equal((await layoutDescriptor(out, 'v1')).digest, digest);
    const denied = await sb.skopeoFails(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${host}/admin/private:v1`, `oci:${sb.path('nope')}:v1`]);
    assert.match(denied, /unauthorized|authentication required/i);
    const pushAnon = await sb.skopeoFails(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/admin/public:v2`]);
    assert.match(pushAnon, /denied|unauthorized/i);
    assert.equal(await reg.deps.store.getTaggedManifest('admin/public', 'v2'), undefined);
  });

  it('skopeo --creds with a robot works on its repositories only', async () => {
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/admin/robot-repo:v1`, ['--dest-creds', `admin+ci:${robotToken}`]);
    assert.ok(await reg.deps.store.getTaggedManifest('admin/robot-repo', 'v1'));
    const outside = await sb.skopeoFails([
      'copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `admin+ci:${robotToken}`, `oci:${layout}:v1`, `docker://${host}/admin/elsewhere:v1`,
    ]);
    assert.match(outside, /unauthorized|denied/i);
    const wrong = await sb.skopeoFails(['inspect', '--retry-times', '0', '--tls-verify=false', '--creds', 'admin+ci:not-the-token', `docker://${host}/admin/robot-repo:v1`]);
    assert.match(wrong, /unauthorized|invalid username or password/i);
  });

  it('the berth client logs in and copies through the token flow; a read-only user cannot push', async () => {
    await reg.auth!.accounts.setPermission({ repo: 'admin/private', subjectKind: 'user', subject: 'bob', role: 'read' });
    const env = { ...process.env, REGISTRY_AUTH_FILE: join(sb.dir, 'berth-auth.json'), HOME: join(sb.dir, 'home') };
    const berth = (...args: string[]) => run(process.execPath, [BIN, ...args], { env });
    await berth('login', '--tls-verify=false', '--username', 'bob', '--password', 'bob-password', host);
    const out = sb.path('berth-out');
    await berth('copy', '--insecure-policy', '--src-tls-verify=false', `docker://${host}/admin/private:v1`, `oci:${out}:v1`);
    assert.equal((await layoutDescriptor(out, 'v1')).digest, digest);
    await assert.rejects(
      berth('copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/admin/private:bob`),
      (err: Error & { code?: number; stderr?: string }) => err.code !== 0 && /denied|unauthorized/i.test(err.stderr ?? ''),
    );
    assert.equal(await reg.deps.store.getTaggedManifest('admin/private', 'bob'), undefined);
  });

  for (const tool of ['buildah', 'podman'] as const) {
    const available = tool === 'buildah' ? hasBuildah : hasPodman;
    it(`${tool} login, push and pull`, { skip: !available && `${tool} is not installed` }, async () => {
      const root = sb.path(`${tool}-root`);
      const storage = ['--storage-driver', 'vfs', '--root', join(root, 'root'), '--runroot', join(root, 'run')];
      const env = { ...process.env, REGISTRY_AUTH_FILE: join(root, 'auth.json'), HOME: sb.dir, XDG_RUNTIME_DIR: join(root, 'xdg') };
      const t = (...args: string[]) => run(tool, [...storage, ...args], { env, timeout: TOOL_TEST_TIMEOUT });
      await t('login', '--tls-verify=false', '--username', 'admin', '--password', reg.adminPassword!, host);
      await t('pull', '--tls-verify=false', `docker://${host}/admin/private:v1`);
      await t('push', '--tls-verify=false', `${host}/admin/private:v1`, `docker://${host}/admin/from-${tool}:v1`);
      assert.ok(await reg.deps.store.getTaggedManifest(`admin/from-${tool}`, 'v1'));
      await t('logout', host);
      await assert.rejects(t('pull', '--tls-verify=false', `docker://${host}/admin/from-${tool}:v1`));
    });
  }
});
