// The berth CLI as a user runs it: against a real Berth server, compared with skopeo on the same images.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { indexOf, pushImage, randomImage } from '../testing/fixtures.js';
import { COMMANDS } from './main.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
let reg: TestRegistry;
let dir: string;
let host: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  reg = await startTestRegistry({ driver: 'fs' });
  host = new URL(reg.url).host;
  dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  const authfile = join(dir, 'auth.json');
  await writeFile(authfile, '{}');
  await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir };
  const img = randomImage({ layers: 2, size: 2000, extra: { annotations: { a: 'b' } } });
  await pushImage(reg.url, 'cli/app', img, 'v1');
  await pushImage(reg.url, 'cli/app', img, 'v2');
  const arm = randomImage({ platform: { os: 'linux', architecture: 'arm64' } });
  const amd = randomImage();
  await pushImage(reg.url, 'cli/multi', arm);
  await pushImage(reg.url, 'cli/multi', amd);
  const idx = indexOf([amd, arm], { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
  const res = await fetch(`${reg.url}/v2/cli/multi/manifests/latest`, { method: 'PUT', body: new Uint8Array(idx.bytes), headers: { 'Content-Type': idx.mediaType } });
  assert.equal(res.status, 201);
});
after(async () => {
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['--policy', join(dir, 'policy.json'), ...args], { env });
  return stdout;
}

describe('berth CLI', () => {
  it('inspect prints what skopeo inspect prints, field by field', { skip: !hasSkopeo && 'skopeo is not installed' }, async () => {
    for (const ref of [`docker://${host}/cli/app:v1`, `docker://${host}/cli/multi:latest`]) {
      const ours = JSON.parse((await berth('inspect', '--tls-verify=false', ref)).stdout) as Record<string, unknown>;
      const theirs = JSON.parse(await skopeo('inspect', '--tls-verify=false', ref)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(theirs)) assert.deepEqual(ours[k], v, `${ref} ${k}`);
    }
    const raw = await berth('inspect', '--raw', '--tls-verify=false', `docker://${host}/cli/app:v1`);
    assert.equal(raw.stdout, await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/cli/app:v1`));
    const config = await berth('inspect', '--config', '--tls-verify=false', `docker://${host}/cli/app:v1`);
    assert.deepEqual(JSON.parse(config.stdout), JSON.parse(await skopeo('inspect', '--config', '--tls-verify=false', `docker://${host}/cli/app:v1`)));
    const arm = JSON.parse((await berth('--override-arch', 'arm64', 'inspect', '--tls-verify=false', `docker://${host}/cli/multi:latest`)).stdout) as { Architecture: string };
    assert.equal(arm.Architecture, 'arm64');
    const digest = await berth('inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${host}/cli/app:v1`);
    assert.match(digest.stdout, /^sha256:[0-9a-f]{64}\n$/);
  });

  it('list-tags and manifest-digest print exactly what skopeo prints', { skip: !hasSkopeo && 'skopeo is not installed' }, async () => {
    const ours = await berth('list-tags', '--tls-verify=false', `docker://${host}/cli/app`);
    assert.equal(ours.stdout, await skopeo('list-tags', '--tls-verify=false', `docker://${host}/cli/app`));
    const out = join(dir, 'app-dir');
    assert.equal((await berth('copy', '-q', '--src-tls-verify=false', `docker://${host}/cli/app:v1`, `dir:${out}`)).code, 0);
    const file = join(out, 'manifest.json');
    assert.equal((await berth('manifest-digest', file)).stdout, `${(await skopeo('manifest-digest', file)).trim()}\n`);
  });

  it('copies registry → oci: → registry → dir:, keeping the digest, with a JSON summary and a digest file', async () => {
    const digestfile = join(dir, 'digest');
    const first = await berth('copy', '--format', 'json', '--digestfile', digestfile, '--src-tls-verify=false', `docker://${host}/cli/app:v1`, `oci:${join(dir, 'layout')}:v1`);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as { digest: string; blobs: { copied: number } };
    assert.equal(await readFile(digestfile, 'utf8'), summary.digest);
    const back = await berth('copy', '-q', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/cli/copy:v1`);
    assert.equal(back.code, 0, back.stderr);
    const head = await fetch(`${reg.url}/v2/cli/copy/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.headers.get('docker-content-digest'), summary.digest);
    const again = await berth('copy', '--format', 'json', '--dest-tls-verify=false', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/cli/copy:v1`);
    assert.equal((JSON.parse(again.stdout) as { blobs: { copied: number } }).blobs.copied, 0, 'a re-copy skips blobs the registry has');
    const all = await berth('copy', '-q', '--all', '--src-tls-verify=false', `docker://${host}/cli/multi:latest`, `oci:${join(dir, 'multi')}:latest`);
    assert.equal(all.code, 0, all.stderr);
  });

  it('--additional-tag names the image again in a docker-archive:, which skopeo then finds by that name', async () => {
    const archive = join(dir, 'tagged.tar');
    const res = await berth('copy', '-q', '--src-tls-verify=false', '--additional-tag', 'team/app:latest', '--additional-tag', 'quay.io/other/x:1', `docker://${host}/cli/app:v1`, `docker-archive:${archive}:team/app:v1`);
    assert.equal(res.code, 0, res.stderr);
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }).stdout) as Array<{ RepoTags: string[] }>;
    assert.deepEqual(manifest[0]!.RepoTags, ['docker.io/team/app:v1', 'docker.io/team/app:latest', 'quay.io/other/x:1']);
    if (hasSkopeo) {
      const viaExtra = JSON.parse(await skopeo('inspect', `docker-archive:${archive}:quay.io/other/x:1`)) as { Digest: string };
      const viaName = JSON.parse(await skopeo('inspect', `docker-archive:${archive}:team/app:v1`)) as { Digest: string };
      assert.equal(viaExtra.Digest, viaName.Digest);
    }
  });

  it('refuses --additional-tag that is not a name:tag, or for a destination that keeps no names, writing nothing', async () => {
    const bad = await berth('copy', '-q', '--src-tls-verify=false', '--additional-tag', 'Bad Name', `docker://${host}/cli/app:v1`, `docker-archive:${join(dir, 'bad.tar')}`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--additional-tag: .*"Bad Name"/);
    const oci = await berth('copy', '-q', '--src-tls-verify=false', '--additional-tag', 'team/app:latest', `docker://${host}/cli/app:v1`, `oci:${join(dir, 'not-here')}:v1`);
    assert.equal(oci.code, 1);
    assert.match(oci.stderr, /additional tags are kept only by docker-archive: destinations/);
    const left = (await readdir(dir)).filter((n) => n === 'bad.tar' || n === 'not-here' || n.startsWith('.berth-staging-'));
    assert.deepEqual(left, []);
  });

  it('mounts blobs across repositories of one registry instead of copying them', async () => {
    const res = await berth('copy', '--format', 'json', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/cli/app:v1`, `docker://${host}/cli/mounted:v1`);
    assert.equal(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stdout) as { digest: string; blobs: { copied: number; skipped: number } };
    assert.equal(summary.blobs.copied, 0);
    assert.equal(summary.blobs.skipped, 3);
    const m = await fetch(`${reg.url}/v2/cli/mounted/manifests/v1`, { method: 'HEAD' });
    assert.equal(m.headers.get('docker-content-digest'), summary.digest);
  });

  it('checks the trust policy before copying', async () => {
    const reject = join(dir, 'reject.json');
    await writeFile(reject, '{"default":[{"type":"reject"}]}');
    const res = await berth('--policy', reject, 'copy', '--src-tls-verify=false', `docker://${host}/cli/app:v1`, `oci:${join(dir, 'rejected')}:v1`);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^berth: .*reject/im);
    const ok = await berth('--policy', reject, '--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${host}/cli/app:v1`, `oci:${join(dir, 'accepted')}:v1`);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('delete removes the manifest; inspect of a missing image exits 2 with the registry error', async () => {
    const del = await berth('delete', '--tls-verify=false', `docker://${host}/cli/app:v2`);
    assert.equal(del.code, 0, del.stderr);
    const gone = await berth('inspect', '--tls-verify=false', `docker://${host}/cli/app:v1`);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /^berth: .*MANIFEST_UNKNOWN/m);
  });

  it('names the problem and exits 1 on bad input', async () => {
    const transport = await berth('inspect', 'bogus:thing');
    assert.equal(transport.code, 1);
    assert.match(transport.stderr, /^berth: unknown transport "bogus" \(known: .*docker.*oci.*\)/);
    const layout = await berth('inspect', `oci:${join(dir, 'no-such-layout')}:v1`);
    assert.notEqual(layout.code, 0);
    assert.match(layout.stderr, /no-such-layout/);
    const tagged = await berth('list-tags', `docker://${host}/cli/app:v1`);
    assert.equal(tagged.code, 1);
    assert.match(tagged.stderr, /without a tag or digest/);
  });

  it('shows examples in --help of every command', async () => {
    for (const cmd of Object.keys(COMMANDS)) {
      const help = await berth(cmd, '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Examples:\n {2}\$ berth /, cmd);
    }
  });
});
