// Old Docker clients: a pull by tag whose Accept lists only schema 1 gets a signed schema-1 rendering;
// a pull by digest is never rewritten; OCI content is not converted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from '../content/digest.js';
import { DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, DOCKER_MANIFEST_V2 } from '../content/media-types.js';
import { verifySchema1, EMPTY_GZIP_LAYER } from '../content/schema1.js';
import { parseManifest } from '../content/manifest.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, indexOf, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';

let reg: TestRegistry;
before(async () => (reg = await startTestRegistry()));
after(() => reg.close());

const SCHEMA1_ONLY = `${DOCKER_SCHEMA1_SIGNED}, ${DOCKER_SCHEMA1}`;

describe('schema 1 for old clients', () => {
  it('renders a Docker v2 image as signed schema 1 when pulled by tag', async () => {
    const img = randomImage({ format: 'docker', layers: 2 });
    await pushImage(reg.url, 'old/client', img, 'v1');
    const res = await fetch(`${reg.url}/v2/old/client/manifests/v1`, { headers: { Accept: SCHEMA1_ONLY } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), DOCKER_SCHEMA1_SIGNED);
    const bytes = Buffer.from(await res.arrayBuffer());
    const verified = verifySchema1(bytes);
    assert.equal(verified.signed, true);
    assert.equal(res.headers.get('docker-content-digest'), digestOf(verified.payload));
    assert.equal(verified.manifest.name, 'old/client');
    assert.equal(verified.manifest.tag, 'v1');
    assert.deepEqual(verified.manifest.fsLayers.map((l) => l.blobSum), img.layers.map((l) => l.digest).reverse());
    for (const l of verified.manifest.fsLayers) {
      assert.equal((await fetch(`${reg.url}/v2/old/client/blobs/${l.blobSum}`, { method: 'HEAD' })).status, 200);
    }
  });

  it('serves the empty gzip layer that a rendering of empty history entries points at', async () => {
    const img = randomImage({ format: 'docker', layers: 1 });
    const config = JSON.parse(img.config.bytes.toString()) as { history: object[] };
    config.history.push({ created: '2026-01-01T00:00:00Z', created_by: 'ENV A=1', empty_layer: true });
    const configBytes = Buffer.from(JSON.stringify(config));
    const manifest = JSON.parse(img.manifest.toString()) as { config: { digest: string; size: number } };
    manifest.config.digest = digestOf(configBytes);
    manifest.config.size = configBytes.length;
    const bytes = Buffer.from(JSON.stringify(manifest));
    await pushImage(reg.url, 'old/empty', { ...img, config: { ...img.config, bytes: configBytes, digest: digestOf(configBytes) }, manifest: bytes, digest: digestOf(bytes) }, 'v1');
    const res = await fetch(`${reg.url}/v2/old/empty/manifests/v1`, { headers: { Accept: DOCKER_SCHEMA1_SIGNED } });
    const m = verifySchema1(Buffer.from(await res.arrayBuffer())).manifest;
    assert.equal(m.fsLayers[0]!.blobSum, EMPTY_GZIP_LAYER);
    const blob = await fetch(`${reg.url}/v2/old/empty/blobs/${EMPTY_GZIP_LAYER}`);
    assert.equal(blob.status, 200);
    assert.equal(digestOf(Buffer.from(await blob.arrayBuffer())), EMPTY_GZIP_LAYER);
  });

  it('picks linux/amd64 from a manifest list', async () => {
    const amd = randomImage({ format: 'docker' });
    const arm = randomImage({ format: 'docker', platform: { os: 'linux', architecture: 'arm64' } });
    await pushImage(reg.url, 'old/list', arm);
    await pushImage(reg.url, 'old/list', amd);
    const list = indexOf([arm, amd], { format: 'docker', platforms: [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'amd64' }] });
    await pushManifest(reg.url, 'old/list', 'multi', list.bytes, list.mediaType);
    const res = await fetch(`${reg.url}/v2/old/list/manifests/multi`, { headers: { Accept: SCHEMA1_ONLY } });
    const m = verifySchema1(Buffer.from(await res.arrayBuffer())).manifest;
    assert.deepEqual(m.fsLayers.map((l) => l.blobSum), amd.layers.map((l) => l.digest).reverse());
  });

  it('never rewrites a pull by digest, or for a client that accepts schema 2', async () => {
    const img = randomImage({ format: 'docker' });
    await pushImage(reg.url, 'old/digest', img, 'v1');
    const byDigest = await fetch(`${reg.url}/v2/old/digest/manifests/${img.digest}`, { headers: { Accept: SCHEMA1_ONLY } });
    assert.equal(byDigest.headers.get('content-type'), DOCKER_MANIFEST_V2);
    assert.deepEqual(Buffer.from(await byDigest.arrayBuffer()), img.manifest);
    const modern = await fetch(`${reg.url}/v2/old/digest/manifests/v1`, { headers: { Accept: `${SCHEMA1_ONLY}, ${DOCKER_MANIFEST_V2}` } });
    assert.deepEqual(Buffer.from(await modern.arrayBuffer()), img.manifest);
  });

  it('does not convert OCI manifests: MANIFEST_UNKNOWN, as distribution answers', async () => {
    const img = randomImage({ format: 'oci' });
    await pushImage(reg.url, 'old/oci', img, 'v1');
    const res = await fetch(`${reg.url}/v2/old/oci/manifests/v1`, { headers: { Accept: SCHEMA1_ONLY } });
    assert.deepEqual(await errorOf(res), { status: 404, code: 'MANIFEST_UNKNOWN' });
  });

  it('accepts a schema 1 push signed by the registry and serves it back as pushed', async () => {
    const img = randomImage({ format: 'docker' });
    await pushImage(reg.url, 'old/push', img, 'v1');
    const rendered = Buffer.from(await (await fetch(`${reg.url}/v2/old/push/manifests/v1`, { headers: { Accept: SCHEMA1_ONLY } })).arrayBuffer());
    const put = await pushManifest(reg.url, 'old/push', 'legacy', rendered, DOCKER_SCHEMA1_SIGNED);
    const digest = digestOf(verifySchema1(rendered).payload);
    assert.equal(put.headers.get('docker-content-digest'), digest);
    const back = await fetch(`${reg.url}/v2/old/push/manifests/legacy`, { headers: { Accept: SCHEMA1_ONLY } });
    assert.equal(back.headers.get('content-type'), DOCKER_SCHEMA1_SIGNED);
    assert.deepEqual(Buffer.from(await back.arrayBuffer()), rendered);
    assert.equal(parseManifest(rendered, DOCKER_SCHEMA1_SIGNED).kind, 'schema1');
    const tampered = Buffer.from(rendered.toString().replace('"architecture": "amd64"', '"architecture": "arm64"'));
    const bad = await fetch(`${reg.url}/v2/old/push/manifests/bad`, { method: 'PUT', body: new Uint8Array(tampered), headers: { 'Content-Type': DOCKER_SCHEMA1_SIGNED } });
    assert.deepEqual(await errorOf(bad), { status: 400, code: 'MANIFEST_INVALID' });
  });
});
