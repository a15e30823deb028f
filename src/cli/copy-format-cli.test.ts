// berth copy / sync with skopeo's -f/--format (manifest type) and --dest-compress* / --dest-decompress, as a
// user runs them; skopeo writes the reference result where it is deterministic.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../content/digest.js';
import * as mt from '../content/media-types.js';
import { makeSourceLayout, tempDir, type SourceLayout } from '../client/conformance.js';
import { hasZstd } from '../client/recompress.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;

describe('berth copy --format / --dest-compress*', () => {
  let dir: string;
  let src: SourceLayout;
  let env: NodeJS.ProcessEnv;
  let reg: TestRegistry;
  let host: string;
  before(async () => {
    dir = await tempDir('berth-cli-format-');
    src = await makeSourceLayout(join(dir, 'source'));
    await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
    await writeFile(join(dir, 'auth.json'), '{}');
    await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
    env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: join(dir, 'auth.json'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir };
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, '--policy', join(dir, 'policy.json'), ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const manifestOf = async (d: string) => readFile(join(d, 'manifest.json'), 'utf8');

  it('-f v2s2 converts, and writes the manifest skopeo writes', async () => {
    const out = join(dir, 'v2s2');
    const r = await berth('copy', '-q', '-f', 'v2s2', `oci:${src.dir}:img`, `dir:${out}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(await manifestOf(out)) as { mediaType: string }).mediaType, mt.DOCKER_MANIFEST_V2);
    if (!hasSkopeo) return;
    const theirs = join(dir, 'v2s2-skopeo');
    await run('skopeo', ['--policy', join(dir, 'policy.json'), 'copy', '-q', '-f', 'v2s2', `oci:${src.dir}:img`, `dir:${theirs}`], { env });
    assert.equal(await manifestOf(out), await manifestOf(theirs));
  });

  it('--format given twice: a manifest type and the JSON output', async () => {
    const r = await berth('copy', '--format', 'v2s2', '--format', 'json', `oci:${src.dir}:img`, `dir:${join(dir, 'both')}`);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { digest: string };
    assert.equal(res.digest, digestOf(Buffer.from(await manifestOf(join(dir, 'both')))));
    assert.notEqual(res.digest, src.image.digest);
  });

  it('bad --format values and contradicting flags fail with a clear message and copy nothing', async () => {
    const out = join(dir, 'bad');
    for (const [args, message] of [
      [['--format', 'v2s3'], /use oci, v2s2 or v2s1/],
      [['--format', 'v2s2', '--format', 'oci'], /only one manifest type/],
      [['--dest-compress', '--dest-decompress'], /cannot compress and decompress/],
      [['--dest-compress-level', '12'], /1 to 9/],
      [['--dest-compress-format', 'lz4'], /Allowed choices are gzip, zstd/],
      [['--preserve-digests', '--format', 'v2s2'], /preserveDigests is set/],
    ] as const) {
      const r = await berth('copy', '-q', ...args, `oci:${src.dir}:img`, `dir:${out}`);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    if (!hasZstd()) {
      const r = await berth('copy', '-q', '--dest-compress-format', 'zstd', `oci:${src.dir}:img`, `dir:${out}`);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /zstd.*Node/);
    }
    await assert.rejects(readFile(join(out, 'manifest.json')));
  });

  it('--dest-decompress then --dest-compress: tars, then gzip again, and skopeo reads the result', async () => {
    const plain = join(dir, 'plain');
    assert.equal((await berth('copy', '-q', '--dest-decompress', `oci:${src.dir}:img`, `dir:${plain}`)).code, 0);
    const m = JSON.parse(await manifestOf(plain)) as { layers: Array<{ digest: string; mediaType: string }> };
    assert.deepEqual(m.layers.map((l) => l.digest), src.image.diffIDs);
    const gz = join(dir, 'gz');
    const r = await berth('copy', '--format', 'json', '--dest-compress', '--dest-compress-level', '9', `dir:${plain}`, `oci:${gz}:x`);
    assert.equal(r.code, 0, r.stderr);
    const digest = (JSON.parse(r.stdout) as { digest: string }).digest;
    if (!hasSkopeo) return;
    const back = join(dir, 'gz-back');
    await run('skopeo', ['--policy', join(dir, 'policy.json'), 'copy', '-q', '--preserve-digests', `oci:${gz}:x`, `dir:${back}`], { env });
    assert.equal(digestOf(Buffer.from(await manifestOf(back))), digest);
  });

  it('sync takes the same flags: -f v2s2 for every image it copies', async () => {
    assert.equal((await berth('copy', '-q', '--dest-tls-verify=false', `oci:${src.dir}:img`, `docker://${host}/sync/app:v1`)).code, 0);
    const out = join(dir, 'synced');
    const r = await berth('sync', '-q', '--src', 'docker', '--dest', 'dir', '-f', 'v2s2', '--src-tls-verify=false', `${host}/sync/app`, out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(await manifestOf(join(out, 'app:v1'))) as { mediaType: string }).mediaType, mt.DOCKER_MANIFEST_V2);
  });

  it('--dest-chunk-size pushes in chunks; a bad size is refused', async () => {
    const r = await berth('copy', '--format', 'json', '--dest-chunk-size', '4KiB', '--dest-tls-verify=false', `oci:${src.dir}:img`, `docker://${host}/chunked/app:v1`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { digest: string }).digest, src.image.digest);
    const bad = await berth('copy', '--dest-chunk-size', 'lots', `oci:${src.dir}:img`, `docker://${host}/chunked/app:v2`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /512KiB or 8MiB/);
  });

  it('--help shows the flags with examples', async () => {
    const r = await berth('copy', '--help');
    for (const s of ['--format <format>', '--dest-compress-format', '--dest-compress-level', '--dest-decompress', '--dest-chunk-size', 'berth copy --format v2s1']) assert.ok(r.stdout.includes(s), s);
  });
});
