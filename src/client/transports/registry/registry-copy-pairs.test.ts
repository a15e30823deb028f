// Copies between docker:// and each local transport, and registry to registry, with digests preserved
// (docker-archive stores layers uncompressed, so it is left to the local pairs test).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage } from '../../copy.js';
import { digestOfRef, makeSourceLayout, tempDir, validateRef, type SourceLayout } from '../../conformance.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { startProxy } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';
import type { RegistryTransport } from './transport.js';

describe('copy pairs with docker://', () => {
  let a: TestRegistry;
  let b: TestRegistry;
  let root: string;
  let src: SourceLayout;
  let t: RegistryTransport;
  let hostA: string;
  before(async () => {
    a = await startTestRegistry();
    b = await startTestRegistry();
    hostA = new URL(a.url).host;
    root = await tempDir('berth-regpairs-');
    src = await makeSourceLayout(join(root, 'source'));
    t = testTransport();
    await pushWith(t, `oci:${src.dir}:multi`, `docker://${hostA}/pairs/seed:multi`, { multiArch: 'all', preserveDigests: true });
    await pushWith(t, `oci:${src.dir}:docker`, `docker://${hostA}/pairs/seed:docker`, { preserveDigests: true });
  });
  after(async () => {
    t.close();
    await a.close();
    await b.close();
    await rm(root, { recursive: true, force: true });
  });

  const locals = (name: string) => ({
    oci: `oci:${join(root, `layout-${name}`)}:${name}`,
    dir: `dir:${join(root, `dir-${name}`)}`,
    'oci-archive': `oci-archive:${join(root, `${name}.tar`)}:${name}`,
  });

  for (const kind of ['oci', 'dir', 'oci-archive'] as const) {
    it(`docker → ${kind} → docker (Docker v2 image)`, async () => {
      const local = locals(`docker-${kind}`)[kind];
      await pullWith(t, `docker://${hostA}/pairs/seed:docker`, local, { preserveDigests: true });
      assert.equal(await digestOfRef(local), src.docker.digest);
      await validateRef(local);
      const back = `docker://${hostA}/pairs/back-${kind}:v1`;
      assert.equal((await pushWith(t, local, back, { preserveDigests: true })).digest, src.docker.digest);
    });
  }

  it('docker → oci with a whole index, then back', async () => {
    const local = locals('multi').oci;
    await pullWith(t, `docker://${hostA}/pairs/seed:multi`, local, { multiArch: 'all', preserveDigests: true });
    assert.equal(await digestOfRef(local), src.index.digest);
    assert.equal((await pushWith(t, local, `docker://${hostA}/pairs/back-multi:v1`, { multiArch: 'all', preserveDigests: true })).digest, src.index.digest);
  });

  it('registry → another registry, and a digest-pinned source', async () => {
    const hostB = new URL(b.url).host;
    const s = await t.newSource(t.parseReference(`//${hostA}/pairs/seed@${src.index.digest}`));
    const d = await t.newDestination(t.parseReference(`//${hostB}/pairs/copied:v1`));
    const res = await copyImage(s, d, { multiArch: 'all' });
    assert.equal(res.digest, src.index.digest);
    assert.equal(res.manifests, 3);
    const again = await copyImage(s, d, { multiArch: 'all' });
    assert.equal(again.blobs.copied, 0, 'every blob skipped the second time (HEAD)');
  });

  it('listTags follows Link pages; deleteImage removes the manifest a tag names', async () => {
    const proxy = await startProxy(a.url);
    try {
      for (const tag of ['t1', 't2', 't3']) await pushWith(t, `oci:${src.dir}:docker`, `docker://${hostA}/pairs/tags:${tag}`);
      const tags = await t.listTags(t.parseReference(`//${proxy.host}/pairs/tags`), { pageSize: 1 });
      assert.deepEqual(tags.sort(), ['t1', 't2', 't3']);
      assert.ok(proxy.log.filter((l) => l.startsWith('GET /v2/pairs/tags/tags/list')).length >= 3, proxy.log.join('\n'));
      await t.deleteImage(t.parseReference(`//${proxy.host}/pairs/tags:t1`));
      assert.ok(proxy.log.includes(`DELETE /v2/pairs/tags/manifests/${src.docker.digest}`));
    } finally {
      await proxy.close();
    }
  });
});
