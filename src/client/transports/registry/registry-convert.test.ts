// Pushing converted images to a registry: --format v2s1 (signed schema 1, with the empty layer its history
// needs), v2s2, and recompressed layers. skopeo must pull each back with every digest as Berth reports it.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../../../content/digest.js';
import { parseManifest } from '../../../content/manifest.js';
import * as mt from '../../../content/media-types.js';
import { EMPTY_GZIP_LAYER } from '../../../content/schema1.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { copyRefs, makeSourceLayout, tempDir, validateRef, type SourceLayout } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { hasSkopeo, makeTools, type Tools } from '../../skopeo-sandbox.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';
import type { RegistryTransport } from './transport.js';

describe('converted pushes to a registry', () => {
  let reg: TestRegistry;
  let host: string;
  let root: string;
  let src: SourceLayout;
  let t: RegistryTransport;
  let tools: Tools | undefined;
  before(async () => {
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
    root = await tempDir('berth-regconvert-');
    src = await makeSourceLayout(join(root, 'source'));
    t = testTransport();
    if (hasSkopeo) tools = await makeTools(root);
  });
  after(async () => {
    t.close();
    await reg.close();
    await rm(root, { recursive: true, force: true });
  });

  it('--format v2s1: a signed schema 1 manifest the registry names by its payload digest; skopeo pulls it', async (t2) => {
    const res = await pushWith(t, `oci:${src.dir}:img`, `docker://${host}/convert/v1:old`, { manifestFormat: 'v2s1' });
    const back = join(root, 'v1-dir');
    await pullWith(t, `docker://${host}/convert/v1:old`, `dir:${back}`, { preserveDigests: true });
    const bytes = await readFile(join(back, 'manifest.json'));
    const parsed = parseManifest(bytes);
    assert.equal(parsed.mediaType, mt.DOCKER_SCHEMA1_SIGNED);
    assert.equal(digestOf(parsed.payload), res.digest);
    const m = JSON.parse(bytes.toString()) as { name: string; tag: string; fsLayers: Array<{ blobSum: string }> };
    assert.equal(m.name, 'convert/v1');
    assert.equal(m.tag, 'old');
    assert.deepEqual(m.fsLayers.map((l) => l.blobSum), src.image.layers.map((l) => l.digest).reverse());
    if (!tools) return t2.skip('skopeo is not installed');
    const inspected = JSON.parse(await tools.skopeo(['inspect', '--tls-verify=false', `docker://${host}/convert/v1:old`])) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, res.digest);
    assert.deepEqual(inspected.Layers, src.image.layers.map((l) => l.digest));
    await tools.skopeo(['copy', '-q', '--src-tls-verify=false', `docker://${host}/convert/v1:old`, `oci:${join(root, 'v1-skopeo')}:x`]);
  });

  it('--format v2s1 with empty_layer history: the gzipped empty tar is pushed too', async () => {
    const { realImage, writeLayout } = await import('../../fixtures.js');
    const img = realImage({ layers: 1 });
    const cfg = JSON.parse(img.config.bytes.toString()) as { history: Array<Record<string, unknown>> };
    cfg.history.push({ created: '2026-01-01T00:00:00Z', created_by: 'ENV A=1', empty_layer: true });
    const config = Buffer.from(JSON.stringify(cfg));
    const configDesc = { mediaType: mt.OCI_CONFIG, digest: digestOf(config), size: config.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config: configDesc, layers: img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })) }));
    const layout = join(root, 'empty-layer');
    await writeLayout(layout, { e: { ...img, config: { ...img.config, bytes: config, digest: configDesc.digest }, manifest, digest: digestOf(manifest) } });
    await pushWith(t, `oci:${layout}:e`, `docker://${host}/convert/empty:v1`, { manifestFormat: 'v2s1' });
    const back = join(root, 'empty-back');
    await pullWith(t, `docker://${host}/convert/empty:v1`, `dir:${back}`);
    const m = JSON.parse(await readFile(join(back, 'manifest.json'), 'utf8')) as { fsLayers: Array<{ blobSum: string }> };
    assert.equal(m.fsLayers[0]!.blobSum, EMPTY_GZIP_LAYER);
  });

  it('--format v2s2 and recompression to a registry: skopeo copies it back out with the same digest', async (t2) => {
    const plain = join(root, 'plain');
    await copyRefs(`oci:${src.dir}:img`, `dir:${plain}`, { layerCompression: { mode: 'decompress' } });
    const res = await pushWith(t, `dir:${plain}`, `docker://${host}/convert/gz:v1`, { manifestFormat: 'v2s2', layerCompression: { mode: 'compress', level: 9 } });
    const back = join(root, 'gz-back');
    await pullWith(t, `docker://${host}/convert/gz:v1`, `oci:${back}:x`, { preserveDigests: true });
    await validateRef(`oci:${back}:x`);
    const m = JSON.parse(await readFile(join(back, 'blobs', 'sha256', res.digest.slice(7)), 'utf8')) as { mediaType: string; layers: Array<{ mediaType: string }> };
    assert.equal(m.mediaType, mt.DOCKER_MANIFEST_V2);
    assert.ok(m.layers.every((l) => l.mediaType === mt.DOCKER_LAYER_GZIP));
    if (!tools) return t2.skip('skopeo is not installed');
    const out = join(root, 'gz-skopeo');
    await tools.skopeo(['copy', '-q', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/convert/gz:v1`, `dir:${out}`]);
    assert.equal(digestOf(await readFile(join(out, 'manifest.json'))), res.digest);
  });

  it('a digest-pinned registry destination that a conversion would change is refused before any push', async () => {
    await assert.rejects(pushWith(t, `oci:${src.dir}:img`, `docker://${host}/convert/pinned@${src.image.digest}`, { manifestFormat: 'v2s2' }), (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED'));
    const res = await fetch(`${reg.url}/v2/convert/pinned/blobs/${src.image.layers[0]!.digest}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
  });
});
