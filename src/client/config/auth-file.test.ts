// auth.json: skopeo's lookup order (an explicit file disables the fallbacks), the most specific key winning,
// Docker's key spellings, identity tokens, credential helpers, and login/logout writing 0600 files atomically.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError } from '../errors.js';
import { authFilesInOrder, getCredentials, primaryAuthFile, removeAllCredentials, removeCredentials, saveCredentials } from './auth-file.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('auth.json', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let runtime: string;
  let home: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-auth-'));
    home = join(dir, 'home');
    runtime = join(dir, 'run');
    await mkdir(join(runtime, 'containers'), { recursive: true });
    await mkdir(join(home, '.config', 'containers'), { recursive: true });
    await mkdir(join(home, '.docker'), { recursive: true });
    env = { HOME: home, XDG_RUNTIME_DIR: runtime, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('lookup order: XDG_RUNTIME_DIR, ~/.config/containers, ~/.docker/config.json, ~/.dockercfg', () => {
    assert.deepEqual(
      authFilesInOrder({ env }).map((p) => p.path),
      [join(runtime, 'containers', 'auth.json'), join(home, '.config', 'containers', 'auth.json'), join(home, '.docker', 'config.json'), join(home, '.dockercfg')],
    );
    assert.deepEqual(authFilesInOrder({ env: { ...env, XDG_CONFIG_HOME: join(dir, 'xdg'), DOCKER_CONFIG: join(dir, 'dc') } }).map((p) => p.path).slice(1, 3), [join(dir, 'xdg', 'containers', 'auth.json'), join(dir, 'dc', 'config.json')]);
    assert.deepEqual(authFilesInOrder({ env: { ...env, REGISTRY_AUTH_FILE: '/x/auth.json' } }).map((p) => p.path), ['/x/auth.json']);
    assert.deepEqual(authFilesInOrder({ env, authFile: '/y/auth.json' }).map((p) => p.path), ['/y/auth.json']);
    assert.equal(primaryAuthFile({ env: { HOME: home } }), join('/run/containers', String(process.getuid?.() ?? 0), 'auth.json'));
  });

  it('the first file with an entry wins; a later file fills in other registries', async () => {
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:hubpw') }, 'quay.io': { auth: b64('docker:quay') } } }));
    await writeFile(join(home, '.config', 'containers', 'auth.json'), JSON.stringify({ auths: { 'quay.io': { auth: b64('containers:quay') } } }));
    assert.deepEqual(await getCredentials('quay.io/a/b', { env }), { username: 'containers', password: 'quay' });
    assert.deepEqual(await getCredentials('docker.io/library/busybox', { env }), { username: 'hub', password: 'hubpw' });
    assert.equal(await getCredentials('ghcr.io/x/y', { env }), undefined);
    await writeFile(join(home, '.dockercfg'), JSON.stringify({ 'legacy.example': { auth: b64('old:pw') } }));
    assert.deepEqual(await getCredentials('legacy.example/x', { env }), { username: 'old', password: 'pw' });
  });

  it('the most specific key wins: host/ns/repo, host/ns, host; empty entries are skipped; NULs trimmed', async () => {
    const f = join(dir, 'specific.json');
    await writeFile(
      f,
      JSON.stringify({
        auths: {
          'reg.example': { auth: b64('host:1') },
          'reg.example/team': { auth: b64('team:2') },
          'reg.example/team/app': { auth: b64('app:3\0\0') },
          'reg.example/team/empty': {},
        },
      }),
    );
    assert.deepEqual(await getCredentials('reg.example/team/app', { authFile: f }), { username: 'app', password: '3' });
    assert.deepEqual(await getCredentials('reg.example/team/other', { authFile: f }), { username: 'team', password: '2' });
    assert.deepEqual(await getCredentials('reg.example/team/empty', { authFile: f }), { username: 'team', password: '2' });
    assert.deepEqual(await getCredentials('reg.example/else/x', { authFile: f }), { username: 'host', password: '1' });
  });

  it('an explicit file disables the fallbacks, even when it has nothing', async () => {
    const f = join(dir, 'empty.json');
    await writeFile(f, '{}');
    assert.equal(await getCredentials('quay.io/a/b', { env, authFile: f }), undefined);
    assert.equal(await getCredentials('quay.io/a/b', { env: { ...env, REGISTRY_AUTH_FILE: f } }), undefined);
  });

  it('identitytoken is returned as a refresh token', async () => {
    const f = join(dir, 'token.json');
    await writeFile(f, JSON.stringify({ auths: { 'tok.example': { identitytoken: 'refresh-me' } } }));
    assert.deepEqual(await getCredentials('tok.example', { authFile: f }), { identityToken: 'refresh-me' });
  });

  it('credHelpers: docker-credential-<name> get with the host on stdin', async () => {
    await mkdir(join(dir, 'bin'), { recursive: true });
    const helper = join(dir, 'bin', 'docker-credential-berthtest');
    await writeFile(
      helper,
      `#!/bin/sh\nread host\ncase "$host" in\n  helped.example) echo '{"ServerURL":"helped.example","Username":"helper-user","Secret":"helper-pw"}';;\n  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"rt"}';;\n  broken.example) echo 'boom' >&2; exit 3;;\n  *) echo 'credentials not found in native keychain'; exit 1;;\nesac\n`,
    );
    await chmod(helper, 0o755);
    const f = join(dir, 'helpers.json');
    await writeFile(f, JSON.stringify({ auths: { 'helped.example': { auth: b64('ignored:x') } }, credHelpers: { 'helped.example': 'berthtest', 'token.example': 'berthtest', 'missing.example': 'berthtest', 'broken.example': 'berthtest', 'nohelper.example': 'nosuchhelper' } }));
    assert.deepEqual(await getCredentials('helped.example/a/b', { authFile: f, env }), { username: 'helper-user', password: 'helper-pw' });
    assert.deepEqual(await getCredentials('token.example', { authFile: f, env }), { identityToken: 'rt' });
    assert.equal(await getCredentials('missing.example', { authFile: f, env }), undefined);
    await assert.rejects(getCredentials('broken.example', { authFile: f, env }), (e) => isClientError(e, 'CONFIG_INVALID') && /docker-credential-berthtest failed for broken\.example: boom/.test(e.message));
    await assert.rejects(getCredentials('nohelper.example', { authFile: f, env }), (e) => isClientError(e, 'CONFIG_INVALID') && /docker-credential-nosuchhelper/.test(e.message));
  });

  it('malformed files are CONFIG_INVALID naming the file', async () => {
    const f = join(dir, 'bad.json');
    await writeFile(f, '{ nope');
    await assert.rejects(getCredentials('x.example', { authFile: f }), (e) => isClientError(e, 'CONFIG_INVALID') && e.message.includes(f));
    await writeFile(f, JSON.stringify({ auths: { 'x.example': { auth: b64('no-colon') } } }));
    await assert.rejects(getCredentials('x.example', { authFile: f }), (e) => isClientError(e, 'CONFIG_INVALID') && /user:password/.test(e.message));
  });

  it('login writes the primary file 0600, keeping other entries; logout removes one or all', async () => {
    const primary = join(runtime, 'containers', 'auth.json');
    await writeFile(primary, JSON.stringify({ auths: { 'keep.example': { auth: b64('k:k') } }, credHelpers: { 'h.example': 'x' } }));
    assert.equal(await saveCredentials('new.example', { username: 'u', password: 'p:w' }, { env }), primary);
    const mode = (await stat(primary)).mode & 0o777;
    assert.equal(mode, 0o600);
    const written = JSON.parse(await readFile(primary, 'utf8')) as { auths: Record<string, { auth: string }>; credHelpers: unknown };
    assert.deepEqual(Object.keys(written.auths).sort(), ['keep.example', 'new.example']);
    assert.deepEqual(written.credHelpers, { 'h.example': 'x' });
    assert.deepEqual(await getCredentials('new.example', { env }), { username: 'u', password: 'p:w' });
    assert.deepEqual((await readdir(join(runtime, 'containers'))).sort(), ['auth.json'], 'no temp files left');
    assert.equal(await removeCredentials('new.example', { env }), true);
    assert.equal(await removeCredentials('new.example', { env }), false);
    await removeAllCredentials({ env });
    assert.deepEqual((JSON.parse(await readFile(primary, 'utf8')) as { auths: object }).auths, {});
    // A fresh directory is created 0700.
    const fresh = join(dir, 'fresh', 'containers', 'auth.json');
    await saveCredentials('a.example', { identityToken: 't' }, { authFile: fresh });
    assert.equal((await stat(join(dir, 'fresh', 'containers'))).mode & 0o777, 0o700);
    assert.deepEqual(await getCredentials('a.example', { authFile: fresh }), { identityToken: 't' });
  });
});
