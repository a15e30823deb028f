// Manifest push and pull (end-3, end-7, end-7b, end-9) for every media type, and validation failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from '../content/digest.js';
import { DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, EMPTY_DESCRIPTOR, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../content/media-types.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, indexOf, jsonBlob, pushBlob, pushImage, pushManifest, randomBlob, randomImage } from '../testing/fixtures.js';

let reg: TestRegistry;
before(async () => (reg = await startTestRegistry({ limits: { maxManifestBytes: 64 * 1024 } })));
after(() => reg.close());

async function getManifest(repo: string, ref: string, accept = `${OCI_MANIFEST}, ${OCI_INDEX}, ${DOCKER_MANIFEST_V2}, ${DOCKER_MANIFEST_LIST}`) {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('manifests', () => {
  for (const format of ['oci', 'docker'] as const) {
    it(`stores a ${format} image byte for byte and serves it by tag and digest`, async () => {
      const img = randomImage({ format, layers: 3 });
      const put = await pushImage(reg.url, `img-${format}`, img, 'v1');
      assert.equal(put.headers.get('docker-content-digest'), img.digest);
      assert.equal(put.headers.get('location'), `/v2/img-${format}/manifests/${img.digest}`);
      for (const ref of ['v1', img.digest]) {
        const { res, body } = await getManifest(`img-${format}`, ref);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), img.mediaType);
        assert.equal(res.headers.get('docker-content-digest'), img.digest);
        assert.deepEqual(body, img.manifest);
      }
      const head = await fetch(`${reg.url}/v2/img-${format}/manifests/v1`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(img.manifest.length));
      assert.equal(head.headers.get('docker-content-digest'), img.digest);
    });
  }

  it('keeps the exact bytes, whitespace included', async () => {
    const img = randomImage();
    await pushImage(reg.url, 'exact', img);
    const pretty = Buffer.from(JSON.stringify(JSON.parse(img.manifest.toString()), null, 7) + '\n\n');
    await pushManifest(reg.url, 'exact', 'pretty', pretty, OCI_MANIFEST);
    const { res, body } = await getManifest('exact', 'pretty');
    assert.deepEqual(body, pretty);
    assert.equal(res.headers.get('docker-content-digest'), digestOf(pretty));
  });

  it('stores multi-arch indexes (OCI and Docker list) whose children exist', async () => {
    for (const format of ['oci', 'docker'] as const) {
      const repo = `multi-${format}`;
      const imgs = [randomImage({ format }), randomImage({ format, platform: { os: 'linux', architecture: 'arm64' } })];
      for (const img of imgs) await pushImage(reg.url, repo, img);
      const idx = indexOf(imgs, { format });
      await pushManifest(reg.url, repo, 'latest', idx.bytes, idx.mediaType);
      const { res, body } = await getManifest(repo, 'latest');
      assert.equal(res.headers.get('content-type'), idx.mediaType);
      assert.deepEqual(body, idx.bytes);
    }
  });

  it('refuses an index whose child is missing, with MANIFEST_BLOB_UNKNOWN', async () => {
    const img = randomImage();
    const idx = indexOf([img]);
    const res = await fetch(`${reg.url}/v2/idx-missing/manifests/latest`, { method: 'PUT', body: new Uint8Array(idx.bytes), headers: { 'Content-Type': OCI_INDEX } });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' });
  });

  it('refuses a manifest naming a missing blob with MANIFEST_BLOB_UNKNOWN and stores nothing', async () => {
    const img = randomImage();
    await pushBlob(reg.url, 'missing', img.config);
    const res = await fetch(`${reg.url}/v2/missing/manifests/v1`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'MANIFEST_BLOB_UNKNOWN' });
    assert.equal((await getManifest('missing', 'v1')).res.status, 404);
    assert.equal((await getManifest('missing', img.digest)).res.status, 404);
  });

  it('accepts nested indexes, artifacts with the empty config, and a manifest with no layers', async () => {
    const repo = 'shapes';
    await pushBlob(reg.url, repo, { bytes: Buffer.from('{}'), digest: EMPTY_DESCRIPTOR.digest });
    const artifact = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.sbom+json',
      config: EMPTY_DESCRIPTOR,
      layers: [],
    }));
    await pushManifest(reg.url, repo, 'sbom', artifact, OCI_MANIFEST);
    const inner = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: digestOf(artifact), size: artifact.length }] }));
    await pushManifest(reg.url, repo, 'inner', inner, OCI_INDEX);
    const outer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_INDEX, digest: digestOf(inner), size: inner.length }] }));
    await pushManifest(reg.url, repo, 'outer', outer, OCI_INDEX);
    assert.deepEqual((await getManifest(repo, 'outer')).body, outer);
  });

  it('stores a Helm chart and a cosign signature without whitelisting their media types', async () => {
    const repo = 'artifacts';
    const chartConfig = jsonBlob({ name: 'demo', version: '1.2.3', apiVersion: 'v2' }, 'application/vnd.cncf.helm.config.v1+json');
    const chart = randomBlob(3000, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    await pushBlob(reg.url, repo, chartConfig);
    await pushBlob(reg.url, repo, chart);
    const helm = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: chartConfig.mediaType, digest: chartConfig.digest, size: chartConfig.bytes.length },
      layers: [{ mediaType: chart.mediaType, digest: chart.digest, size: chart.bytes.length }],
      annotations: { 'org.opencontainers.image.title': 'demo', 'org.opencontainers.image.version': '1.2.3' },
    }));
    await pushManifest(reg.url, repo, '1.2.3', helm, OCI_MANIFEST);
    const payload = jsonBlob({ critical: { identity: { 'docker-reference': 'x' }, image: { 'docker-manifest-digest': digestOf(helm) }, type: 'cosign container image signature' }, optional: null }, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const sigConfig = jsonBlob({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [payload.digest] } }, 'application/vnd.oci.image.config.v1+json');
    await pushBlob(reg.url, repo, payload);
    await pushBlob(reg.url, repo, sigConfig);
    const sig = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: sigConfig.mediaType, digest: sigConfig.digest, size: sigConfig.bytes.length },
      layers: [{ mediaType: payload.mediaType, digest: payload.digest, size: payload.bytes.length, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ...' } }],
    }));
    const tag = `${digestOf(helm).replace(':', '-')}.sig`;
    await pushManifest(reg.url, repo, tag, sig, OCI_MANIFEST);
    assert.deepEqual((await getManifest(repo, tag)).body, sig);
  });

  it('refuses invalid manifests with MANIFEST_INVALID, and changes nothing', async () => {
    const cases: Array<[string, string]> = [
      ['not json', OCI_MANIFEST],
      ['[]', OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST],
      [JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x/y', digest: digestOf('a'), size: -1 }, layers: [] }), OCI_MANIFEST],
    ];
    for (const [body, type] of cases) {
      const res = await fetch(`${reg.url}/v2/invalid/manifests/v1`, { method: 'PUT', body, headers: { 'Content-Type': type } });
      assert.deepEqual(await errorOf(res), { status: 400, code: 'MANIFEST_INVALID' }, body);
    }
    const badTag = await fetch(`${reg.url}/v2/invalid/manifests/-bad-tag`, { method: 'PUT', body: '{}', headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(badTag.status, 400);
    assert.equal((await fetch(`${reg.url}/v2/invalid/tags/list`)).status, 404, 'no repository was created');
  });

  it('refuses a manifest whose digest does not match the reference with DIGEST_INVALID', async () => {
    const img = randomImage();
    for (const b of [img.config, ...img.layers]) await pushBlob(reg.url, 'dmis', b);
    const res = await fetch(`${reg.url}/v2/dmis/manifests/${digestOf('other')}`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'DIGEST_INVALID' });
    const ok = await fetch(`${reg.url}/v2/dmis/manifests/${img.digest}`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(ok.status, 201);
  });

  it('answers 413 for a manifest above the limit', async () => {
    const big = Buffer.alloc(65 * 1024, 0x20);
    const res = await fetch(`${reg.url}/v2/big/manifests/v1`, { method: 'PUT', body: new Uint8Array(big), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(res.status, 413);
    assert.equal((await errorOf(res)).code, 'SIZE_INVALID');
  });

  it('pushes one manifest under several tags with ?tag= and answers OCI-Tag (end-7b)', async () => {
    const img = randomImage();
    for (const b of [img.config, ...img.layers]) await pushBlob(reg.url, 'multitag', b);
    const res = await fetch(`${reg.url}/v2/multitag/manifests/${img.digest}?tag=a&tag=b`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-tag'), 'a, b');
    const tags = await (await fetch(`${reg.url}/v2/multitag/tags/list`)).json();
    assert.deepEqual(tags, { name: 'multitag', tags: ['a', 'b'] });
  });

  it('answers MANIFEST_UNKNOWN, NAME_INVALID and DIGEST_INVALID on pulls', async () => {
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/nothing/manifests/latest`)), { status: 404, code: 'MANIFEST_UNKNOWN' });
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/nothing/manifests/${digestOf('x')}`)), { status: 404, code: 'MANIFEST_UNKNOWN' });
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/UPPER/manifests/latest`)), { status: 400, code: 'NAME_INVALID' });
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/${'a'.repeat(256)}/manifests/latest`)), { status: 400, code: 'NAME_INVALID' });
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/x/manifests/sha256:abc`)), { status: 400, code: 'DIGEST_INVALID' });
  });

  it('deletes by digest (tags go too) and deletes a tag alone (end-9)', async () => {
    const img = randomImage();
    await pushImage(reg.url, 'delm', img, 'one');
    await pushManifest(reg.url, 'delm', 'two', img.manifest, OCI_MANIFEST);
    const delTag = await fetch(`${reg.url}/v2/delm/manifests/one`, { method: 'DELETE' });
    assert.equal(delTag.status, 202);
    assert.equal((await getManifest('delm', 'one')).res.status, 404);
    assert.equal((await getManifest('delm', img.digest)).res.status, 200);
    const del = await fetch(`${reg.url}/v2/delm/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal((await getManifest('delm', 'two')).res.status, 404);
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/delm/manifests/${img.digest}`, { method: 'DELETE' })), { status: 404, code: 'MANIFEST_UNKNOWN' });
  });
});

describe('referrers', () => {
  it('answers OCI-Subject on push, lists referrers with artifactType and annotations, and filters (end-12)', async () => {
    const repo = 'refs';
    const subject = randomImage();
    await pushImage(reg.url, repo, subject, 'v1');
    await pushBlob(reg.url, repo, { bytes: Buffer.from('{}'), digest: EMPTY_DESCRIPTOR.digest });
    const referrer = (artifactType: string, note: string) => Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: EMPTY_DESCRIPTOR,
      layers: [EMPTY_DESCRIPTOR],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
      annotations: { note },
    }));
    const sbom = referrer('application/spdx+json', 'sbom');
    const sig = referrer('application/vnd.dev.cosign.artifact.sig.v1+json', 'sig');
    for (const m of [sbom, sig]) {
      const res = await pushManifest(reg.url, repo, digestOf(m), m, OCI_MANIFEST);
      assert.equal(res.headers.get('oci-subject'), subject.digest);
    }
    const all = await fetch(`${reg.url}/v2/${repo}/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    assert.equal(all.headers.get('oci-filters-applied'), null);
    const index = (await all.json()) as { manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [digestOf(sbom), digestOf(sig)].sort());
    assert.deepEqual(index.manifests.find((m) => m.digest === digestOf(sbom))?.annotations, { note: 'sbom' });
    const filtered = await fetch(`${reg.url}/v2/${repo}/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    const f = (await filtered.json()) as { manifests: Array<{ digest: string; artifactType: string }> };
    assert.deepEqual(f.manifests.map((m) => [m.digest, m.artifactType]), [[digestOf(sbom), 'application/spdx+json']]);
  });

  it('accepts a subject that does not exist yet, and answers an empty index (never 404) when there are no referrers', async () => {
    const repo = 'refs2';
    await pushBlob(reg.url, repo, { bytes: Buffer.from('{}'), digest: EMPTY_DESCRIPTOR.digest });
    const missing = digestOf('not pushed yet');
    const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'x/y', config: { ...EMPTY_DESCRIPTOR, mediaType: OCI_EMPTY }, layers: [], subject: { mediaType: OCI_MANIFEST, digest: missing, size: 10 } }));
    const put = await pushManifest(reg.url, repo, digestOf(m), m, OCI_MANIFEST);
    assert.equal(put.headers.get('oci-subject'), missing);
    const list = (await (await fetch(`${reg.url}/v2/${repo}/referrers/${missing}`)).json()) as { manifests: unknown[] };
    assert.equal(list.manifests.length, 1);
    const none = await fetch(`${reg.url}/v2/${repo}/referrers/${digestOf('none')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(await none.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const unknownRepo = await fetch(`${reg.url}/v2/no-such-repo/referrers/${digestOf('none')}`);
    assert.equal(unknownRepo.status, 200);
    await unknownRepo.body?.cancel();
    const bad = await fetch(`${reg.url}/v2/${repo}/referrers/sha256:bad`);
    assert.deepEqual(await errorOf(bad), { status: 400, code: 'DIGEST_INVALID' });
  });
});
