// copyImage with a manifest format (skopeo --format oci|v2s2) and layer (de)compression (--dest-compress*,
// --dest-decompress), between local transports. skopeo 1.9 is the oracle: where the result is deterministic
// (conversion, decompression) Berth must write the very bytes skopeo writes; where it is not (gzip output
// differs between Go and zlib), skopeo must read what Berth wrote and keep its digests.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../content/digest.js';
import * as mt from '../content/media-types.js';
import { copyRefs, digestOfRef, makeSourceLayout, snapshot, tempDir, validateRef, type SourceLayout } from './conformance.js';
import { isClientError } from './errors.js';
import { hasZstd } from './recompress.js';
import { hasSkopeo, makeTools, type Tools } from './skopeo-sandbox.js';
import { tarBuffer } from './tar/writer.js';

interface M {
  mediaType: string;
  config: { mediaType: string; digest: string };
  layers: Array<{ mediaType: string; digest: string; size: number }>;
  manifests?: Array<{ mediaType: string; digest: string }>;
}

describe('copy --format and layer compression', () => {
  let root: string;
  let src: SourceLayout;
  let tools: Tools | undefined;
  before(async () => {
    root = await tempDir('berth-convert-');
    src = await makeSourceLayout(join(root, 'source'));
    if (hasSkopeo) tools = await makeTools(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  const dirManifest = async (dir: string): Promise<Buffer> => readFile(join(dir, 'manifest.json'));
  const skopeo = (t: { skip(m: string): void }) => {
    if (!tools) t.skip('skopeo is not installed');
    return tools;
  };

  it('OCI → v2s2: the same bytes skopeo writes; blobs keep their digests', async (t) => {
    const out = join(root, 'v2s2');
    const res = await copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { manifestFormat: 'v2s2' });
    const m = JSON.parse((await dirManifest(out)).toString()) as M;
    assert.equal(m.mediaType, mt.DOCKER_MANIFEST_V2);
    assert.equal(m.config.digest, src.image.config.digest);
    assert.deepEqual(m.layers.map((l) => l.digest), src.image.layers.map((l) => l.digest));
    assert.equal(res.digest, digestOf(await dirManifest(out)));
    await validateRef(`dir:${out}`);
    const s = skopeo(t);
    if (!s) return;
    const theirs = join(root, 'v2s2-skopeo');
    await s.skopeo(['copy', '-q', '--format', 'v2s2', `oci:${src.dir}:img`, `dir:${theirs}`]);
    assert.equal((await dirManifest(out)).toString(), (await dirManifest(theirs)).toString());
  });

  it('v2s2 → OCI: the same bytes skopeo writes', async (t) => {
    const v2 = join(root, 'docker-dir');
    await copyRefs(`oci:${src.dir}:docker`, `dir:${v2}`, { preserveDigests: true });
    const out = join(root, 'to-oci');
    await copyRefs(`dir:${v2}`, `oci:${out}:x`, { manifestFormat: 'oci' });
    const raw = (await readFile(join(out, 'blobs', 'sha256', (await digestOfRef(`oci:${out}:x`)).slice(7)))).toString();
    assert.equal((JSON.parse(raw) as M).mediaType, mt.OCI_MANIFEST);
    await validateRef(`oci:${out}:x`);
    const s = skopeo(t);
    if (!s) return;
    const theirs = join(root, 'to-oci-skopeo');
    await s.skopeo(['copy', '-q', '--format', 'oci', `dir:${v2}`, `dir:${theirs}`]);
    assert.equal(raw, (await dirManifest(theirs)).toString());
  });

  it('v2s2 → OCI rewrites a Docker config exactly as skopeo does (Docker-only fields dropped, Go order and times)', async (t) => {
    const tar = tarBuffer([{ name: 'a', body: Buffer.from('hi') }]);
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64', os: 'linux', created: '2020-01-02T03:04:05.120000+00:00', author: 'me <a&b>', container: 'abc', docker_version: '20',
        config: { Hostname: 'h', Env: ['A=1'], Cmd: null, Labels: { z: '1', a: '2' }, ExposedPorts: { '80/tcp': {} }, ArgsEscaped: true, Volumes: null, WorkingDir: '' },
        container_config: { Cmd: ['x'] },
        rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
        history: [{ created: '2020-01-02T03:04:05Z', created_by: 'x', empty_layer: false }, { created: '2020-01-02T03:04:05.5-07:00', empty_layer: true, comment: 'c' }],
      }),
    );
    const dir = join(root, 'rich-docker');
    await mkdir(dir);
    await writeFile(join(dir, digestOf(config).slice(7)), config);
    await writeFile(join(dir, digestOf(layer).slice(7)), layer);
    await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ schemaVersion: 2, mediaType: mt.DOCKER_MANIFEST_V2, config: { mediaType: mt.DOCKER_CONFIG, size: config.length, digest: digestOf(config) }, layers: [{ mediaType: mt.DOCKER_LAYER_GZIP, size: layer.length, digest: digestOf(layer) }] }));
    const out = join(root, 'rich-oci');
    await copyRefs(`dir:${dir}`, `dir:${out}`, { manifestFormat: 'oci' });
    const m = JSON.parse((await dirManifest(out)).toString()) as M;
    const ours = await readFile(join(out, m.config.digest.slice(7)), 'utf8');
    assert.equal(ours, '{"created":"2020-01-02T03:04:05.12Z","author":"me \\u003ca\\u0026b\\u003e","architecture":"amd64","os":"linux","config":{"ExposedPorts":{"80/tcp":{}},"Env":["A=1"],"Labels":{"a":"2","z":"1"},"ArgsEscaped":true},"rootfs":{"type":"layers","diff_ids":["' + digestOf(tar) + '"]},"history":[{"created":"2020-01-02T03:04:05Z","created_by":"x"},{"created":"2020-01-02T03:04:05.5-07:00","comment":"c","empty_layer":true}]}');
    await validateRef(`dir:${out}`);
    const s = skopeo(t);
    if (!s) return;
    const theirs = join(root, 'rich-oci-skopeo');
    await s.skopeo(['copy', '-q', '--format', 'oci', `dir:${dir}`, `dir:${theirs}`]);
    assert.equal((await dirManifest(out)).toString(), (await dirManifest(theirs)).toString());
  });

  it('the format the source has already changes nothing', async () => {
    const res = await copyRefs(`oci:${src.dir}:img`, `oci:${join(root, 'same')}:x`, { manifestFormat: 'oci', preserveDigests: true });
    assert.equal(res.digest, src.image.digest);
  });

  it('a conversion with digests kept (preserveDigests, a pinned destination) is refused before anything is written', async () => {
    const out = join(root, 'refused');
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { manifestFormat: 'v2s2', preserveDigests: true }), (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED'));
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `oci:${out}@${src.image.digest}`, { layerCompression: { mode: 'decompress' } }), (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED') && /decompressed/.test(e.message));
    assert.deepEqual(await snapshot(out), new Map());
  });

  it('v2s1 is for registries only, and an index cannot become v2s1', async () => {
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${join(root, 'v1')}`, { manifestFormat: 'v2s1' }), (e) => isClientError(e, 'UNSUPPORTED_FORMAT') && /registry/.test(e.message));
    await assert.rejects(copyRefs(`oci:${src.dir}:multi`, `dir:${join(root, 'v1')}`, { manifestFormat: 'v2s1', multiArch: 'all' }), (e) => isClientError(e, 'UNSUPPORTED_FORMAT'));
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `docker-archive:${join(root, 'x.tar')}`, { manifestFormat: 'oci' }), (e) => isClientError(e, 'UNSUPPORTED_FORMAT') && /cannot store oci/.test(e.message));
  });

  it('--all with v2s2: every child is converted and the index becomes a Docker list that names them', async (t) => {
    const out = join(root, 'list');
    const res = await copyRefs(`oci:${src.dir}:multi`, `dir:${out}`, { manifestFormat: 'v2s2', multiArch: 'all' });
    const list = JSON.parse((await dirManifest(out)).toString()) as M;
    assert.equal(list.mediaType, mt.DOCKER_MANIFEST_LIST);
    assert.equal(res.digest, digestOf(await dirManifest(out)));
    for (const c of list.manifests!) assert.equal(c.mediaType, mt.DOCKER_MANIFEST_V2);
    await validateRef(`dir:${out}`);
    const s = skopeo(t);
    if (!s) return;
    const back = join(root, 'list-back');
    await s.skopeo(['copy', '-q', '--all', '--preserve-digests', `dir:${out}`, `dir:${back}`]);
    assert.equal(digestOf(await dirManifest(back)), res.digest);
  });

  it('decompress: layers become the tars their diff_ids name, as skopeo --dest-decompress writes them', async (t) => {
    const out = join(root, 'plain');
    const res = await copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { layerCompression: { mode: 'decompress' } });
    const m = JSON.parse((await dirManifest(out)).toString()) as M;
    assert.deepEqual(m.layers.map((l) => l.digest), src.image.diffIDs);
    assert.deepEqual(m.layers.map((l) => l.mediaType), src.image.layers.map(() => mt.OCI_LAYER_TAR));
    assert.equal(m.config.digest, src.image.config.digest);
    assert.equal(res.blobs.copied, 4);
    await validateRef(`dir:${out}`);
    const s = skopeo(t);
    if (!s) return;
    const theirs = join(root, 'plain-skopeo');
    await s.skopeo(['copy', '-q', '--dest-decompress', `oci:${src.dir}:img`, `dir:${theirs}`]);
    assert.equal((await dirManifest(out)).toString(), (await dirManifest(theirs)).toString());
  });

  it('compress: plain layers are gzipped at the level asked; skopeo reads the result and keeps its digests', async (t) => {
    const plain = join(root, 'plain-src');
    await copyRefs(`oci:${src.dir}:docker`, `dir:${plain}`, { layerCompression: { mode: 'decompress' } });
    const plainManifest = JSON.parse((await dirManifest(plain)).toString()) as M;
    assert.equal(plainManifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar');

    const fast = join(root, 'gz1');
    const best = join(root, 'gz9');
    await copyRefs(`dir:${plain}`, `oci:${fast}:x`, { layerCompression: { mode: 'compress', level: 1 } });
    const res = await copyRefs(`dir:${plain}`, `oci:${best}:x`, { layerCompression: { mode: 'compress', format: 'gzip', level: 9 } });
    const read = async (dir: string) => JSON.parse((await readFile(join(dir, 'blobs', 'sha256', (await digestOfRef(`oci:${dir}:x`)).slice(7)))).toString()) as M;
    const [m1, m9] = [await read(fast), await read(best)];
    assert.equal(m9.mediaType, mt.DOCKER_MANIFEST_V2);
    assert.deepEqual(m9.layers.map((l) => l.mediaType), m9.layers.map(() => mt.DOCKER_LAYER_GZIP));
    assert.notDeepEqual(m1.layers.map((l) => l.digest), m9.layers.map((l) => l.digest));
    assert.ok(m9.layers.every((l, i) => l.size <= m1.layers[i]!.size));
    await validateRef(`oci:${best}:x`);

    // Layers already gzipped are left alone: compressing again changes nothing.
    const again = await copyRefs(`oci:${best}:x`, `oci:${join(root, 'gz-again')}:x`, { layerCompression: { mode: 'compress' }, preserveDigests: true });
    assert.equal(again.digest, res.digest);

    const s = skopeo(t);
    if (!s) return;
    const back = join(root, 'gz9-back');
    await s.skopeo(['copy', '-q', '--preserve-digests', `dir:${join(root, 'gz9-dir')}`, `dir:${back}`]).catch(() => undefined);
    await copyRefs(`oci:${best}:x`, `dir:${join(root, 'gz9-dir')}`, { preserveDigests: true });
    await s.skopeo(['copy', '-q', '--preserve-digests', `dir:${join(root, 'gz9-dir')}`, `dir:${back}`]);
    assert.equal(digestOf(await dirManifest(back)), res.digest);
  });

  it('docker-archive layers (plain tars behind a gzip type) are compressed for real', async () => {
    const archive = join(root, 'img.docker.tar');
    await copyRefs(`oci:${src.dir}:docker`, `docker-archive:${archive}`);
    const out = join(root, 'from-archive');
    await copyRefs(`docker-archive:${archive}`, `dir:${out}`, { layerCompression: { mode: 'compress' } });
    const m = JSON.parse((await dirManifest(out)).toString()) as M;
    for (const l of m.layers) {
      const head = (await readFile(join(out, l.digest.slice(7)))).subarray(0, 2);
      assert.deepEqual([...head], [0x1f, 0x8b]);
    }
    await validateRef(`dir:${out}`);
  });

  it('bad options are OPTION_INVALID; zstd without zstd in zlib is UNSUPPORTED_FORMAT; nothing is written', async () => {
    const out = join(root, 'bad');
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { layerCompression: { mode: 'compress', level: 42 } }), (e) => isClientError(e, 'OPTION_INVALID') && /1 to 9/.test(e.message));
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { layerCompression: { mode: 'decompress', format: 'gzip' } }), (e) => isClientError(e, 'OPTION_INVALID'));
    await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { manifestFormat: 'v2s3' as 'oci' }), (e) => isClientError(e, 'OPTION_INVALID'));
    await assert.rejects(copyRefs(`oci:${src.dir}:multi`, `dir:${out}`, { multiArch: 'index-only', manifestFormat: 'v2s2' }), (e) => isClientError(e, 'OPTION_INVALID'));
    if (!hasZstd()) {
      await assert.rejects(copyRefs(`oci:${src.dir}:img`, `dir:${out}`, { layerCompression: { mode: 'compress', format: 'zstd' } }), (e) => isClientError(e, 'UNSUPPORTED_FORMAT') && /zstd/.test(e.message) && /Node/.test(e.message));
    }
    assert.deepEqual(await snapshot(out), new Map());
  });

  it('zstd, where zlib has it: a Docker v2 image goes as OCI with zstd layers', { skip: !hasZstd() && 'this Node has no zstd in zlib' }, async () => {
    const out = join(root, 'zstd');
    await copyRefs(`oci:${src.dir}:docker`, `dir:${out}`, { layerCompression: { mode: 'compress', format: 'zstd' } });
    const m = JSON.parse((await dirManifest(out)).toString()) as M;
    assert.equal(m.mediaType, mt.OCI_MANIFEST);
    assert.ok(m.layers.every((l) => l.mediaType === mt.OCI_LAYER_ZSTD));
  });
});
