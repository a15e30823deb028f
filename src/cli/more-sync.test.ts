// berth sync against a Berth server, compared with skopeo sync on the same inputs: the destination names
// (dir trees and repositories) and the digests must be the same.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { indexOf, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const TLS = ['--src-tls-verify=false', '--dest-tls-verify=false'];

let reg: TestRegistry;
let dir: string;
let host: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  reg = await startTestRegistry();
  host = new URL(reg.url).host;
  dir = await mkdtemp(join(tmpdir(), 'berth-sync-'));
  const authfile = join(dir, 'auth.json');
  await writeFile(authfile, '{}');
  await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir, TMPDIR: dir };
  await pushImage(reg.url, 'sync/app', randomImage({ size: 500 }), 'v1');
  await pushImage(reg.url, 'sync/app', randomImage({ size: 500, format: 'docker' }), 'v2');
  const amd = randomImage({ size: 300 });
  const arm = randomImage({ size: 300, platform: { os: 'linux', architecture: 'arm64' } });
  await pushImage(reg.url, 'sync/multi', amd);
  await pushImage(reg.url, 'sync/multi', arm);
  const idx = indexOf([amd, arm]);
  await pushManifest(reg.url, 'sync/multi', 'latest', idx.bytes, idx.mediaType);
  await pushManifest(reg.url, 'sync/multi', 'other', idx.bytes, idx.mediaType);
});
after(async () => {
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

async function tool(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const berth = (...args: string[]) => tool(process.execPath, [BIN, '--policy', join(dir, 'policy.json'), ...args]);
const skopeo = (...args: string[]) => tool('skopeo', ['--policy', join(dir, 'policy.json'), ...args]);

/** Every file below `root`, relative, with the sha of its content (a dir: tree is the same tree if these are equal). */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(root, p)] = (await import('node:crypto')).createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16);
    }
  };
  await walk(root);
  return out;
}

async function digestOf(repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

async function tags(repo: string): Promise<string[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/tags/list`);
  return res.status === 200 ? (((await res.json()) as { tags: string[] }).tags ?? []).sort() : [];
}

describe('berth sync', () => {
  it('docker → dir: every tag of a repository, named NAME:TAG (and HOST/NAME:TAG with --scoped), as skopeo names them', async () => {
    const ours = join(dir, 'b-dir');
    const res = await berth('sync', '--src', 'docker', '--dest', 'dir', ...TLS, `${host}/sync/app`, ours);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'Synced 2 images from 1 sources\n');
    assert.deepEqual((await readdir(ours)).sort(), ['app:v1', 'app:v2']);
    const scoped = join(dir, 'b-scoped');
    assert.equal((await berth('sync', '--src', 'docker', '--dest', 'dir', '--scoped', '-q', ...TLS, `docker://${host}/sync/app:v2`, scoped)).code, 0);
    assert.deepEqual(Object.keys(await tree(scoped)).map((p) => p.split('/').slice(0, 3).join('/')).filter((p, i, a) => a.indexOf(p) === i), [`${host}/sync/app:v2`]);
    if (!hasSkopeo) return;
    const theirs = join(dir, 's-dir');
    const sk = await skopeo('sync', '--src', 'docker', '--dest', 'dir', ...TLS, `${host}/sync/app`, theirs);
    assert.equal(sk.code, 0, sk.stderr);
    assert.deepEqual(await tree(ours), await tree(theirs), 'the same directories, files and bytes');
    const skScoped = join(dir, 's-scoped');
    assert.equal((await skopeo('sync', '--src', 'docker', '--dest', 'dir', '--scoped', ...TLS, `${host}/sync/app:v2`, skScoped)).code, 0);
    assert.deepEqual(await tree(scoped), await tree(skScoped));
  });

  it('--all copies the whole index; dir → docker and docker → docker name repositories as skopeo does', async () => {
    const ours = join(dir, 'b-multi');
    assert.equal((await berth('sync', '--src', 'docker', '--dest', 'dir', '--all', '-q', ...TLS, `${host}/sync/multi:latest`, ours)).code, 0);
    const toRegistry = await berth('sync', '--src', 'dir', '--dest', 'docker', '--all', '--format', 'json', ...TLS, ours, `${host}/b-restored`);
    assert.equal(toRegistry.code, 0, toRegistry.stderr);
    const summary = JSON.parse(toRegistry.stdout) as { images: Array<{ destination: string; digest: string }> };
    assert.deepEqual(summary.images.map((i) => i.destination), [`docker://${host}/b-restored/multi:latest`]);
    assert.equal(summary.images[0]!.digest, await digestOf('sync/multi', 'latest'), 'the index digest is kept');
    const mirrored = await berth('sync', '--src', 'docker', '--dest', 'docker', '-q', ...TLS, `${host}/sync/app`, `${host}/b-mirror/team`);
    assert.equal(mirrored.code, 0, mirrored.stderr);
    assert.deepEqual(await tags('b-mirror/team/app'), ['v1', 'v2']);
    for (const t of ['v1', 'v2']) assert.equal(await digestOf('b-mirror/team/app', t), await digestOf('sync/app', t));
    if (!hasSkopeo) return;
    const theirs = join(dir, 's-multi');
    assert.equal((await skopeo('sync', '--src', 'docker', '--dest', 'dir', '--all', ...TLS, `${host}/sync/multi:latest`, theirs)).code, 0);
    assert.deepEqual(await tree(ours), await tree(theirs));
    assert.equal((await skopeo('sync', '--src', 'dir', '--dest', 'docker', '--all', ...TLS, theirs, `${host}/s-restored`)).code, 0);
    assert.equal(await digestOf('s-restored/multi', 'latest'), summary.images[0]!.digest);
    assert.equal((await skopeo('sync', '--src', 'docker', '--dest', 'docker', ...TLS, `${host}/sync/app`, `${host}/s-mirror/team`)).code, 0);
    assert.deepEqual(await tags('s-mirror/team/app'), await tags('b-mirror/team/app'));
    for (const t of ['v1', 'v2']) assert.equal(await digestOf('s-mirror/team/app', t), await digestOf('b-mirror/team/app', t));
  });

  it('a YAML source: tags, digests and tag regexes per registry, with its tls-verify', async () => {
    const appV1 = (await digestOf('sync/app', 'v1'))!;
    const yaml = join(dir, 'sync.yaml');
    await writeFile(yaml, [`${host}:`, '  tls-verify: false', '  images:', '    sync/app:', '      - v2', `      - ${appV1}`, '  images-by-tag-regex:', '    sync/multi: ^oth', ''].join('\n'));
    const ours = join(dir, 'b-yaml');
    const res = await berth('sync', '--src', 'yaml', '--dest', 'dir', '--format', 'json', '--dest-tls-verify=false', yaml, ours);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual((await readdir(ours)).sort(), [`app@${appV1}`, 'app:v2', 'multi:other'].sort());
    assert.equal((JSON.parse(res.stdout) as { sources: number }).sources, 2);
    if (!hasSkopeo) return;
    const theirs = join(dir, 's-yaml');
    const sk = await skopeo('sync', '--src', 'yaml', '--dest', 'dir', yaml, theirs);
    assert.equal(sk.code, 0, sk.stderr);
    assert.deepEqual(await tree(ours), await tree(theirs));
  });

  it('--dry-run copies and creates nothing; an existing destination directory is refused; --keep-going goes on and fails at the end', async () => {
    const dry = join(dir, 'b-dry');
    const res = await berth('sync', '--src', 'docker', '--dest', 'dir', '--dry-run', ...TLS, `${host}/sync/app`, dry);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `Would copy image 1/2 from docker://${host}/sync/app:v1 to dir:${dry}/app:v1\nWould copy image 2/2 from docker://${host}/sync/app:v2 to dir:${dry}/app:v2\n`);
    await assert.rejects(stat(dry));
    const partial = join(dir, 'b-partial');
    await mkdir(join(partial, 'app:v1'), { recursive: true });
    const stop = await berth('sync', '--src', 'docker', '--dest', 'dir', '-q', ...TLS, `${host}/sync/app`, partial);
    assert.equal(stop.code, 1);
    assert.match(stop.stderr, /^berth: copying image 1\/2 .*refusing to overwrite destination directory/m);
    assert.deepEqual(await readdir(partial), ['app:v1'], 'stopped at the first failure');
    if (hasSkopeo) {
      const sk = await skopeo('sync', '--src', 'docker', '--dest', 'dir', ...TLS, `${host}/sync/app`, partial);
      assert.notEqual(sk.code, 0);
      assert.match(sk.stderr, /Refusing to overwrite destination directory/, 'skopeo refuses it too');
      assert.deepEqual(await readdir(partial), ['app:v1']);
    }
    const going = await berth('sync', '--src', 'docker', '--dest', 'dir', '--keep-going', '--format', 'json', ...TLS, `${host}/sync/app`, partial);
    assert.equal(going.code, 1);
    const summary = JSON.parse(going.stdout) as { images: unknown[]; errors: Array<{ error: string }> };
    assert.equal(summary.images.length, 1);
    assert.match(summary.errors[0]!.error, /refusing to overwrite/);
    assert.match(going.stderr, /^berth: sync: 1 of 2 images failed/m);
    const dirToDir = await berth('sync', '--src', 'dir', '--dest', 'dir', partial, join(dir, 'x'));
    assert.equal(dirToDir.code, 1);
    assert.match(dirToDir.stderr, /^berth: sync from 'dir' to 'dir' is not implemented/m);
  });
});
