// Docker schema 1 with skopeo: a signed schema-1 push (skopeo signs with its own key) and pull, and Berth's
// schema-1 rendering of a schema-2 image for clients whose Accept names only schema 1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import {
  TOOL_TEST_TIMEOUT,
  buildUmociImage,
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
  verifySchema1,
  type JsonImageConfig,
  type JsonManifest,
  type Sandbox,
} from './tools.js';

const SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
/** The gzipped empty tar that schema 1 lists for history entries that add no layer. */
const EMPTY_GZIP_LAYER = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

interface Schema1 {
  schemaVersion: number;
  name: string;
  tag: string;
  architecture: string;
  fsLayers: Array<{ blobSum: string }>;
  history: Array<{ v1Compatibility: string }>;
  signatures?: unknown[];
}

/** fsLayers as distribution converts them: one per history entry, empty ones as EMPTY_GZIP_LAYER, top first. */
function expectedBlobSums(config: JsonImageConfig, layers: string[]): string[] {
  let next = 0;
  return (config.history ?? []).map((h) => (h.empty_layer ? EMPTY_GZIP_LAYER : layers[next++]!)).reverse();
}

describe('Docker schema 1 with skopeo', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;
  let layout: string;
  let oci: JsonManifest;
  let config: JsonImageConfig;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
    layout = sb.path('layout');
    await buildUmociImage(sb, {
      layout,
      tag: 'v1',
      layers: sampleLayers(),
      config: { user: '1001', entrypoint: '/bin/app', labels: { a: 'b' }, os: 'linux', architecture: 'amd64' },
    });
    oci = parseJson<JsonManifest>(await readLayoutBlob(layout, (await layoutDescriptor(layout, 'v1')).digest));
    config = parseJson<JsonImageConfig>(await readLayoutBlob(layout, oci.config.digest));
    // umoci records `umoci config` as an empty-layer history entry, so the conversion has a throwaway layer
    assert.ok(config.history?.some((h) => h.empty_layer), JSON.stringify(config.history));
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  describe('skopeo copy --format v2s1 (a signed schema-1 push)', () => {
    let stored: { digest: string; body: Buffer; manifest: Schema1 };

    it('is accepted and served as v1+prettyjws; Docker-Content-Digest is the digest of the signed payload', async () => {
      await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/legacy:v1`, ['--format', 'v2s1']);
      const m = await fetchManifest(reg.url, 'ns/legacy', 'v1');
      assert.equal(m.status, 200);
      assert.equal(m.mediaType, SCHEMA1_SIGNED);
      const manifest = parseJson<Schema1>(m.body);
      assert.equal(manifest.schemaVersion, 1);
      assert.equal(manifest.name, 'ns/legacy');
      assert.equal(manifest.tag, 'v1');
      assert.ok(Array.isArray(manifest.signatures) && manifest.signatures.length > 0, 'signed by skopeo');
      const file = join(sb.dir, 'legacy-served.json');
      await writeFile(file, m.body);
      assert.equal(m.digest, await manifestDigestOf(sb, file));
      // skopeo's own signature still verifies on the bytes Berth serves
      assert.equal(sha256(verifySchema1(m.body)), m.digest);
      stored = { digest: m.digest ?? '', body: m.body, manifest };
      assert.deepEqual(manifest.fsLayers.map((l) => l.blobSum), expectedBlobSums(config, oci.layers.map((l) => l.digest)));
      for (const { blobSum } of manifest.fsLayers) assert.equal(sha256(await fetchBlob(reg.url, 'ns/legacy', blobSum)), blobSum);
    });

    it('skopeo pulls it back to dir: with the same digest and layers', async () => {
      const out = sb.path('legacy-dir');
      await sb.copy(`docker://${host}/ns/legacy:v1`, `dir:${out}`);
      const bytes = await readFile(join(out, 'manifest.json'));
      assert.equal(await manifestDigestOf(sb, join(out, 'manifest.json')), stored.digest);
      assert.deepEqual(parseJson<Schema1>(bytes).fsLayers, stored.manifest.fsLayers);
      for (const l of oci.layers) assert.equal(sha256(await readDirBlob(out, l.digest)), l.digest);
    });

    it('skopeo inspect reads user, entrypoint and labels out of v1Compatibility', async () => {
      const out = parseJson<{ Digest: string; Labels: Record<string, string>; Architecture: string; Layers: string[] }>(
        await sb.inspect(`docker://${host}/ns/legacy:v1`),
      );
      assert.equal(out.Digest, stored.digest);
      assert.deepEqual(out.Labels, { a: 'b' });
      assert.equal(out.Architecture, 'amd64');
      const cfg = parseJson<{ config?: { User?: string; Entrypoint?: string[] } }>(await sb.inspect(`docker://${host}/ns/legacy:v1`, ['--config']));
      assert.equal(cfg.config?.User, '1001');
      assert.deepEqual(cfg.config?.Entrypoint, ['/bin/app']);
    });
  });

  describe('schema-1 rendering of a schema-2 image', () => {
    let v2: { digest: string; body: Buffer };

    before(async () => {
      await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/docker:v1`, ['--format', 'v2s2']);
      const m = await fetchManifest(reg.url, 'ns/docker', 'v1');
      assert.equal(m.mediaType, DOCKER_V2);
      v2 = { digest: m.digest ?? '', body: m.body };
    });

    it('GET by tag with only Accept: v1+prettyjws returns schema 1 whose fsLayers are the layers, top first', async () => {
      const m = await fetchManifest(reg.url, 'ns/docker', 'v1', SCHEMA1_SIGNED);
      assert.equal(m.status, 200, m.body.toString());
      assert.equal(m.mediaType, SCHEMA1_SIGNED);
      const s1 = parseJson<Schema1>(m.body);
      assert.equal(s1.schemaVersion, 1);
      assert.equal(s1.name, 'ns/docker');
      assert.equal(s1.tag, 'v1');
      assert.equal(s1.architecture, 'amd64');
      assert.ok(Array.isArray(s1.signatures) && s1.signatures.length === 1);
      const blobSums = s1.fsLayers.map((l) => l.blobSum);
      assert.deepEqual(blobSums, expectedBlobSums(config, oci.layers.map((l) => l.digest)));
      assert.deepEqual(blobSums.filter((b) => b !== EMPTY_GZIP_LAYER), oci.layers.map((l) => l.digest).reverse());
      assert.equal(s1.history.length, s1.fsLayers.length);
      const top = parseJson<{ config?: { User?: string; Entrypoint?: string[] }; architecture?: string }>(s1.history[0]!.v1Compatibility);
      assert.equal(top.config?.User, '1001');
      assert.deepEqual(top.config?.Entrypoint, ['/bin/app']);
      // Docker-Content-Digest is the digest skopeo computes for the signed manifest (payload without signatures)
      const file = join(sb.dir, 'rendered.json');
      await writeFile(file, m.body);
      assert.equal(m.digest, await manifestDigestOf(sb, file));
      // Berth's signature verifies as libtrust would check it, and covers the payload the digest names
      assert.equal(sha256(verifySchema1(m.body)), m.digest);
      assert.throws(() => verifySchema1(Buffer.from(m.body.toString().replace('"tag": "v1"', '"tag": "v2"'))), /does not verify/);
      assert.notEqual(m.digest, v2.digest);
      // an old client then fetches every blobSum, the throwaway empty layer included
      for (const b of new Set(blobSums)) assert.equal(sha256(await fetchBlob(reg.url, 'ns/docker', b)), b);
    });

    it('skopeo inspect --raw of the same tag (skopeo accepts every type) returns the original v2s2 bytes', async () => {
      const raw = await sb.inspect(`docker://${host}/ns/docker:v1`, ['--raw']);
      assert.equal(raw, v2.body.toString('utf8'));
      assert.equal(sha256(raw), v2.digest);
    });

    it('GET by digest is never rewritten, even with only Accept: v1+prettyjws', async () => {
      const m = await fetchManifest(reg.url, 'ns/docker', v2.digest, SCHEMA1_SIGNED);
      assert.equal(m.status, 200);
      assert.equal(m.mediaType, DOCKER_V2);
      assert.equal(m.digest, v2.digest);
      assert.deepEqual(m.body, v2.body);
    });
  });
});
