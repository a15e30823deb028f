// berth tag, catalog and blob get|put against a real Berth server, and --help of every command this file's
// siblings add.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { digestOf } from '../content/digest.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushImage, randomImage, type ImageFixture } from '../testing/fixtures.js';
import { startProxy, type RunningProxy } from '../client/transports/registry/test-servers.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
let reg: TestRegistry;
let dir: string;
let host: string;
let env: NodeJS.ProcessEnv;
let img: ImageFixture;
let proxy: RunningProxy;

before(async () => {
  reg = await startTestRegistry();
  host = new URL(reg.url).host;
  dir = await mkdtemp(join(tmpdir(), 'berth-more-'));
  const authfile = join(dir, 'auth.json');
  await writeFile(authfile, '{}');
  await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir };
  img = randomImage({ size: 4000 });
  await pushImage(reg.url, 'more/app', img, 'v1');
  for (const r of ['more/a', 'more/b', 'more/c']) await pushImage(reg.url, r, randomImage({ size: 10 }), 'x');
  // Serves wrong bytes for one blob, as a corrupt registry or a bad proxy would.
  proxy = await startProxy(reg.url, (req, res) => {
    if (req.method === 'GET' && req.url === `/v2/more/app/blobs/${img.layers[0]!.digest}`) {
      const bad = Buffer.alloc(img.layers[0]!.bytes.length, 7);
      res.writeHead(200, { 'content-length': String(bad.length), 'docker-content-digest': img.layers[0]!.digest }).end(bad);
      return true;
    }
    return false;
  });
});
after(async () => {
  await proxy.close();
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, encoding: 'latin1', maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function headDigest(repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: img.mediaType } });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

describe('berth tag, catalog, blob', () => {
  it('tag puts the same manifest under new tags, by digest', async () => {
    const res = await berth('tag', '--tls-verify=false', `docker://${host}/more/app:v1`, 'v1.0', 'stable');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `docker://${host}/more/app:v1.0@${img.digest}\ndocker://${host}/more/app:stable@${img.digest}\n`);
    assert.equal(await headDigest('more/app', 'v1.0'), img.digest);
    assert.equal(await headDigest('more/app', 'stable'), img.digest);
    const json = await berth('tag', '--tls-verify=false', '--format', 'json', `docker://${host}/more/app@${img.digest}`, 'pinned');
    assert.equal((JSON.parse(json.stdout) as { Digest: string }).Digest, img.digest);
    const bad = await berth('tag', '--tls-verify=false', `docker://${host}/more/app:v1`, 'other/repo:x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^berth: "other\/repo:x" is not a valid tag/m);
    const missing = await berth('tag', '--tls-verify=false', `docker://${host}/more/app:nope`, 'x');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^berth: .*MANIFEST_UNKNOWN/m);
    const local = await berth('tag', `oci:${dir}/layout:v1`, 'x');
    assert.equal(local.code, 1);
    assert.match(local.stderr, /needs a docker:\/\/ reference/);
  });

  it('catalog lists every repository across Link pages, as text or JSON', async () => {
    const text = await berth('catalog', '--tls-verify=false', '--page-size', '1', `docker://${host}`);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.trim().split('\n').sort(), ['more/a', 'more/app', 'more/b', 'more/c']);
    const json = JSON.parse((await berth('catalog', '--tls-verify=false', '--format', 'json', `docker://${host}`)).stdout) as { Registry: string; Repositories: string[] };
    assert.equal(json.Registry, host);
    assert.deepEqual([...json.Repositories].sort(), ['more/a', 'more/app', 'more/b', 'more/c']);
    const bad = await berth('catalog', `docker://${host}/more/app`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^berth: .*expected a registry/m);
  });

  it('blob get streams to stdout or a file; blob put uploads and prints the digest', async () => {
    const layer = img.layers[0]!;
    const out = await berth('blob', 'get', '--tls-verify=false', `docker://${host}/more/app@${layer.digest}`);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(Buffer.from(out.stdout, 'latin1').equals(layer.bytes));
    const file = join(dir, 'layer');
    assert.equal((await berth('blob', 'get', '--tls-verify=false', `docker://${host}/more/app@${layer.digest}`, '-o', file)).code, 0);
    assert.ok((await readFile(file)).equals(layer.bytes));

    const upload = join(dir, 'upload.bin');
    const bytes = Buffer.from(`hello ${Date.now()}\n`);
    await writeFile(upload, bytes);
    const put = await berth('blob', 'put', '--tls-verify=false', `docker://${host}/more/blobs`, upload);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, `${digestOf(bytes)}\n`);
    const back = await fetch(`${reg.url}/v2/more/blobs/blobs/${digestOf(bytes)}`);
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes));
    const again = JSON.parse((await berth('blob', 'put', '--tls-verify=false', '--format', 'json', `docker://${host}/more/blobs`, upload)).stdout) as { Digest: string; Uploaded: boolean };
    assert.deepEqual(again, { Digest: digestOf(bytes), Size: bytes.length, Uploaded: false });
  });

  it('blob get: a digest mismatch fails and leaves no file; a missing blob names BLOB_UNKNOWN', async () => {
    const file = join(dir, 'corrupt', 'layer');
    await rm(join(dir, 'corrupt'), { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(join(dir, 'corrupt'));
    const res = await berth('blob', 'get', '--tls-verify=false', `docker://${proxy.host}/more/app@${img.layers[0]!.digest}`, '-o', file);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^berth: blob sha256:.* the registry sent content with digest sha256:/m);
    assert.deepEqual(await readdir(join(dir, 'corrupt')), [], 'nothing is left behind');
    const missing = await berth('blob', 'get', '--tls-verify=false', `docker://${host}/more/app@${digestOf('nope')}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^berth: .*BLOB_UNKNOWN/m);
    const noDigest = await berth('blob', 'get', '--tls-verify=false', `docker://${host}/more/app:v1`);
    assert.equal(noDigest.code, 1);
    assert.match(noDigest.stderr, /needs docker:\/\/HOST\/NAME@DIGEST/);
  });

  it('shows examples in --help of login, logout, sync, tag, catalog, blob, blob get and blob put', async () => {
    const cmds = [['login'], ['logout'], ['sync'], ['tag'], ['catalog'], ['blob'], ['blob', 'get'], ['blob', 'put']];
    const helps = await Promise.all(cmds.map((cmd) => berth(...cmd, '--help')));
    for (const [i, help] of helps.entries()) {
      assert.equal(help.code, 0, cmds[i]!.join(' '));
      assert.match(help.stdout, /Examples:\n {2}\$ berth /, cmds[i]!.join(' '));
    }
  });
});
