// skopeo copy --format v2s2: an OCI image converted to Docker schema 2 on push, stored and served as such.
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

const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

describe('skopeo copy --format v2s2 to Berth', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;
  let oci: JsonManifest;
  let stored: { digest: string; bytes: Buffer; manifest: JsonManifest };

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
    const layout = sb.path('layout');
    await buildUmociImage(sb, { layout, tag: 'v1', layers: sampleLayers(), config: { user: '1001', entrypoint: '/bin/app' } });
    oci = parseJson<JsonManifest>(await readLayoutBlob(layout, (await layoutDescriptor(layout, 'v1')).digest));
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/docker:v1`, ['--format', 'v2s2']);
    const m = await fetchManifest(reg.url, 'ns/docker', 'v1');
    stored = { digest: m.digest ?? '', bytes: m.body, manifest: parseJson<JsonManifest>(m.body) };
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  it('is stored as a Docker v2 manifest with the same layers, Docker-Content-Digest = sha256 of the bytes', async () => {
    const m = await fetchManifest(reg.url, 'ns/docker', 'v1');
    assert.equal(m.status, 200);
    assert.equal(m.mediaType, DOCKER_V2);
    assert.equal(m.digest, sha256(m.body));
    assert.equal(stored.manifest.mediaType, DOCKER_V2);
    assert.equal(stored.manifest.config.mediaType, DOCKER_CONFIG);
    assert.deepEqual(stored.manifest.layers.map((l) => l.digest), oci.layers.map((l) => l.digest));
    assert.ok(stored.manifest.layers.every((l) => l.mediaType === DOCKER_LAYER));
    await checkBlobs(stored.manifest, (d) => fetchBlob(reg.url, 'ns/docker', d));
    // skopeo sees the same bytes by tag and by digest
    assert.equal(sha256(await sb.inspect(`docker://${host}/ns/docker:v1`, ['--raw'])), stored.digest);
    assert.equal(sha256(await sb.inspect(`docker://${host}/ns/docker@${stored.digest}`, ['--raw'])), stored.digest);
  });

  it('pulls back to dir: with its digest and blobs', async () => {
    const out = sb.path('out-dir');
    await sb.copy(`docker://${host}/ns/docker:v1`, `dir:${out}`);
    assert.deepEqual(await readFile(join(out, 'manifest.json')), stored.bytes);
    assert.equal(await manifestDigestOf(sb, join(out, 'manifest.json')), stored.digest);
    await checkBlobs(stored.manifest, (d) => readDirBlob(out, d));
  });

  it('skopeo inspect reads the converted config (user, entrypoint)', async () => {
    const cfg = parseJson<{ config?: { User?: string; Entrypoint?: string[] } }>(await sb.inspect(`docker://${host}/ns/docker:v1`, ['--config']));
    assert.equal(cfg.config?.User, '1001');
    assert.deepEqual(cfg.config?.Entrypoint, ['/bin/app']);
  });
});
