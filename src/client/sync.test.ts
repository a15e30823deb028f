// The parts of sync and login that need no registry: destination naming for dir sources (as skopeo's
// cmd/skopeo/sync.go computes it), the YAML checks, and what `login REGISTRY` names.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClientError } from './errors.js';
import { loginTarget } from './login.js';
import { parseSyncYaml, planSync } from './sync.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-sync-plan-'));
  for (const p of ['app:v1', 'nested/team/app:v2', 'nested/team/app:v2/ignored-inside-an-image']) {
    await mkdir(join(root, 'tree', p), { recursive: true });
  }
  await writeFile(join(root, 'tree', 'app:v1', 'manifest.json'), '{}');
  await writeFile(join(root, 'tree', 'nested/team/app:v2', 'manifest.json'), '{}');
  await writeFile(join(root, 'tree', 'nested/team/app:v2/ignored-inside-an-image', 'manifest.json'), '{}');
});
after(() => rm(root, { recursive: true, force: true }));

describe('planSync', () => {
  it('dir source: one image per directory with a manifest.json; NAME:TAG, or the path below the source with --scoped', async () => {
    const src = join(root, 'tree');
    const plain = await planSync(src, 'reg.example/mirror', { src: 'dir', dest: 'docker' });
    assert.deepEqual(plain.items.map((i) => [i.source, i.destination]), [
      [`dir:${src}/app:v1`, 'docker://reg.example/mirror/app:v1'],
      [`dir:${src}/nested/team/app:v2`, 'docker://reg.example/mirror/app:v2'],
    ]);
    assert.equal(plain.sources, 1);
    const scoped = await planSync(src, 'docker://reg.example/mirror', { src: 'dir', dest: 'docker', scoped: true, appendSuffix: '-bak' });
    assert.deepEqual(scoped.items.map((i) => i.destination), ['docker://reg.example/mirror/app:v1-bak', 'docker://reg.example/mirror/nested/team/app:v2-bak']);
    const single = await planSync(join(src, 'app:v1'), 'reg.example/one', { src: 'dir', dest: 'docker' });
    assert.deepEqual(single.items.map((i) => i.destination), ['docker://reg.example/one/app:v1']);
  });

  it('a tagged docker source is one image, named as skopeo names it', async () => {
    const p = await planSync('docker://reg.example:5000/team/app:v1', '/backup', { src: 'docker', dest: 'dir', scoped: true });
    assert.deepEqual(p.items.map((i) => [i.source, i.destination]), [['docker://reg.example:5000/team/app:v1', 'dir:/backup/reg.example:5000/team/app:v1']]);
    const hub = await planSync('busybox:1', '/backup', { src: 'docker', dest: 'dir', scoped: true });
    assert.equal(hub.items[0]!.destination, 'dir:/backup/docker.io/library/busybox:1');
  });

  it('refuses dir → dir, an empty source tree and a missing directory', async () => {
    await assert.rejects(planSync(root, '/x', { src: 'dir', dest: 'dir' }), /sync from 'dir' to 'dir'/);
    await mkdir(join(root, 'empty'), { recursive: true });
    await assert.rejects(planSync(join(root, 'empty'), 'reg.example/x', { src: 'dir', dest: 'docker' }), /no images to sync found/);
    await assert.rejects(planSync(join(root, 'missing'), 'reg.example/x', { src: 'dir', dest: 'docker' }), /invalid source directory/);
  });
});

describe('parseSyncYaml', () => {
  it('reads the skopeo sync format, in document order', () => {
    const m = parseSyncYaml(['quay.io:', '  tls-verify: false', '  credentials: {username: u, password: p}', '  images:', '    team/app: [v1, v2]', '    team/all:', '  images-by-tag-regex:', '    team/x: ^v1\\.', ''].join('\n'));
    assert.deepEqual([...m.entries()], [['quay.io', { 'tls-verify': false, credentials: { username: 'u', password: 'p' }, images: { 'team/app': ['v1', 'v2'], 'team/all': null }, 'images-by-tag-regex': { 'team/x': '^v1\\.' } }]]);
  });
  it('refuses what it cannot honour, naming the registry', () => {
    assert.deepEqual(parseSyncYaml('r.example:\n  images-by-semver:\n    a: ">= 1"\n').get('r.example'), { 'images-by-semver': { a: '>= 1' } });
    assert.throws(() => parseSyncYaml('r.example:\n  images-by-semver:\n    a: [1]\n'), (e) => isClientError(e, 'CONFIG_INVALID') && /r\.example: images-by-semver must be a map/.test(e.message));
    assert.throws(() => parseSyncYaml('r.example:\n  image: {}\n'), /unknown field "image"/);
    assert.throws(() => parseSyncYaml('r.example:\n  images:\n    a: v1\n'), /images\.a must be a list/);
    assert.throws(() => parseSyncYaml('r.example:\n  tls-verify: maybe\n'), /tls-verify must be true or false/);
  });
});

describe('loginTarget', () => {
  it('names the auth.json key as podman does', () => {
    assert.deepEqual(loginTarget('localhost:5000'), { key: 'localhost:5000', registry: 'localhost:5000' });
    assert.deepEqual(loginTarget('https://index.docker.io/v1/'), { key: 'docker.io', registry: 'docker.io' });
    assert.deepEqual(loginTarget('quay.io/team/'), { key: 'quay.io/team', registry: 'quay.io' });
    assert.throws(() => loginTarget('docker://quay.io'), /not a docker:\/\/ reference/);
    assert.throws(() => loginTarget('quay.io/team:v1'), /cannot have a tag/);
  });
});
