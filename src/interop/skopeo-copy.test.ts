// skopeo copy of a umoci-built, three-layer OCI image: oci: → Berth → oci: and dir:, digests preserved at every hop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import {
  TOOL_TEST_TIMEOUT,
  buildUmociImage,
  checkBlobs,
  fetchBlob,
  fetchManifest,
  hasSkopeo,
  hasUmoci,
  hostOf,
  layoutDescriptor,
  makeSandbox,
  manifestDigestOf,
  parseJson,
  readDirBlob,
  readLayoutBlob,
  sampleLayers,
  sha256,
  type JsonManifest,
  type Sandbox,
} from './tools.js';

describe('skopeo copy oci: → Berth → oci:/dir:', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let layout: string;
  let digest: string;
  let manifest: JsonManifest;
  let remote: string;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    layout = sb.path('layout');
    await buildUmociImage(sb, { layout, tag: 'v1', layers: sampleLayers(), config: { user: '1001', labels: { a: 'b' }, entrypoint: '/bin/app' } });
    const desc = await layoutDescriptor(layout, 'v1');
    digest = desc.digest;
    manifest = parseJson<JsonManifest>(await readLayoutBlob(layout, digest));
    remote = `docker://${hostOf(reg.url)}/ns/app:v1`;
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  it('the source layout is what skopeo sees: three layers, manifest digest = sha256 of its bytes', async () => {
    assert.equal(manifest.layers.length, 3);
    const raw = await sb.inspect(`oci:${layout}:v1`, ['--raw']);
    assert.equal(sha256(raw), digest);
  });

  it('pushes to Berth, which stores the manifest byte for byte under the same digest', async () => {
    await sb.copy(`oci:${layout}:v1`, remote);
    const byTag = await fetchManifest(reg.url, 'ns/app', 'v1');
    assert.equal(byTag.status, 200);
    assert.equal(byTag.digest, digest);
    assert.equal(byTag.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(sha256(byTag.body), digest);
    const head = await fetch(`${reg.url}/v2/ns/app/manifests/v1`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(head.headers.get('docker-content-digest'), digest);
    const raw = await sb.inspect(remote, ['--raw']);
    assert.equal(sha256(raw), digest);
    await checkBlobs(manifest, (d) => fetchBlob(reg.url, 'ns/app', d));
  });

  it('pulls back to an OCI layout with the same manifest digest and the same blobs', async () => {
    const out = sb.path('out-oci');
    await sb.copy(remote, `oci:${out}:v1`);
    const desc = await layoutDescriptor(out, 'v1');
    assert.equal(desc.digest, digest);
    const bytes = await readLayoutBlob(out, desc.digest);
    assert.equal(sha256(bytes), digest);
    const pulled = parseJson<JsonManifest>(bytes);
    assert.deepEqual(pulled.layers.map((l) => l.digest), manifest.layers.map((l) => l.digest));
    await checkBlobs(pulled, (d) => readLayoutBlob(out, d));
    for (const l of manifest.layers) assert.deepEqual(await readLayoutBlob(out, l.digest), await readLayoutBlob(layout, l.digest));
  });

  it('pulls back to dir: with the same manifest digest and the same blobs', async () => {
    const out = sb.path('out-dir');
    await sb.copy(remote, `dir:${out}`);
    const file = join(out, 'manifest.json');
    assert.equal(sha256(await readFile(file)), digest);
    assert.equal(await manifestDigestOf(sb, file), digest);
    await checkBlobs(manifest, (d) => readDirBlob(out, d));
    for (const l of manifest.layers) assert.deepEqual(await readDirBlob(out, l.digest), await readLayoutBlob(layout, l.digest));
  });

  it('copies by digest too (docker://…@sha256:…)', async () => {
    const out = sb.path('out-digest');
    await sb.copy(`docker://${hostOf(reg.url)}/ns/app@${digest}`, `dir:${out}`);
    assert.equal(await manifestDigestOf(sb, join(out, 'manifest.json')), digest);
  });
});
