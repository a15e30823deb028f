// Online garbage collection: what goes, what stays, and that it is safe while pushes go on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Digest } from '../content/digest.js';
import { OCI_MANIFEST } from '../content/media-types.js';
import { paths } from '../storage/paths.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { indexOf, pushBlob, pushImage, pushManifest, randomBlob, randomImage } from '../testing/fixtures.js';
import { collectGarbage, type GcOptions } from './gc.js';

let reg: TestRegistry;
before(async () => (reg = await startTestRegistry({ driver: 'fs' })));
after(() => reg.close());

const HOUR = 3_600_000;
const later = (ms = 2 * HOUR) => new Date(Date.now() + ms);
const opts = (o: Partial<GcOptions> = {}): GcOptions => ({ deleteUntagged: true, graceMs: HOUR, uploadTtlMs: 24 * HOUR, ...o });

async function bytesExist(digest: Digest): Promise<boolean> {
  return reg.deps.driver.stat(paths.blobData(digest)).then(() => true, () => false);
}

async function status(path: string): Promise<number> {
  const res = await fetch(`${reg.url}${path}`, { method: 'HEAD' });
  return res.status;
}

describe('garbage collection', () => {
  it('keeps tagged images, index children and referrers of live subjects; removes untagged manifests and frees their blobs', async () => {
    const tagged = randomImage();
    const child = randomImage();
    const untagged = randomImage();
    await pushImage(reg.url, 'gc/a', tagged, 'keep');
    await pushImage(reg.url, 'gc/a', child);
    const idx = indexOf([child]);
    await pushManifest(reg.url, 'gc/a', 'multi', idx.bytes, idx.mediaType);
    await pushImage(reg.url, 'gc/a', untagged);
    const referrer = randomImage({ extra: { subject: { mediaType: OCI_MANIFEST, digest: tagged.digest, size: tagged.manifest.length } } });
    await pushImage(reg.url, 'gc/a', referrer);

    const result = await collectGarbage(reg.deps, opts({ now: later() }));
    assert.ok(result.manifests >= 1);
    assert.equal(await status(`/v2/gc/a/manifests/keep`), 200);
    assert.equal(await status(`/v2/gc/a/manifests/${child.digest}`), 200);
    assert.equal(await status(`/v2/gc/a/manifests/${referrer.digest}`), 200);
    assert.equal(await status(`/v2/gc/a/manifests/${untagged.digest}`), 404);
    for (const b of untagged.layers) {
      assert.equal(await status(`/v2/gc/a/blobs/${b.digest}`), 404);
      assert.equal(await bytesExist(b.digest), false, 'deleting the last reference frees the space');
    }
    for (const b of tagged.layers) assert.equal(await bytesExist(b.digest), true);
  });

  it('keeps what is younger than the grace period, and everything when untagged deletion is off', async () => {
    const img = randomImage();
    await pushImage(reg.url, 'gc/young', img);
    const loose = randomBlob(100);
    await pushBlob(reg.url, 'gc/young', loose);
    await collectGarbage(reg.deps, opts());
    assert.equal(await status(`/v2/gc/young/manifests/${img.digest}`), 200);
    assert.equal(await status(`/v2/gc/young/blobs/${loose.digest}`), 200, 'an uploaded, not yet referenced blob survives the grace period');
    await collectGarbage(reg.deps, opts({ deleteUntagged: false, now: later() }));
    assert.equal(await status(`/v2/gc/young/manifests/${img.digest}`), 200);
    assert.equal(await status(`/v2/gc/young/blobs/${loose.digest}`), 404, 'an unreferenced blob goes once the grace period is over');
  });

  it('keeps a blob that another repository still links', async () => {
    const shared = randomBlob(500);
    await pushBlob(reg.url, 'gc/one', shared);
    const img = randomImage();
    await pushImage(reg.url, 'gc/two', { ...img, layers: [...img.layers] }, 'v1');
    await pushBlob(reg.url, 'gc/two', shared);
    const m = JSON.parse(img.manifest.toString()) as { layers: object[] };
    m.layers.push({ mediaType: 'application/octet-stream', digest: shared.digest, size: 500 });
    await pushManifest(reg.url, 'gc/two', 'v2', Buffer.from(JSON.stringify(m)), OCI_MANIFEST);
    await collectGarbage(reg.deps, opts({ now: later() }));
    assert.equal(await status(`/v2/gc/one/blobs/${shared.digest}`), 404);
    assert.equal(await status(`/v2/gc/two/blobs/${shared.digest}`), 200);
    assert.equal(await bytesExist(shared.digest), true);
  });

  it('removes abandoned uploads and their bytes', async () => {
    const res = await fetch(`${reg.url}/v2/gc/upl/blobs/uploads/`, { method: 'POST' });
    const location = res.headers.get('location')!;
    await fetch(`${reg.url}${location}`, { method: 'PATCH', body: 'partial' });
    const id = location.split('/').pop()!;
    const result = await collectGarbage(reg.deps, opts({ now: later(25 * HOUR) }));
    assert.ok(result.uploads >= 1);
    assert.equal(await reg.deps.store.getUpload('gc/upl', id), undefined);
    await assert.rejects(reg.deps.driver.stat(paths.uploadData(id)), { code: 'PATH_NOT_FOUND' });
  });

  it('with sweepStorage, deletes bytes no record accounts for, past the grace period, and keeps recorded and young ones', async () => {
    const put = async (path: string, bytes: Buffer) => {
      const w = await reg.deps.driver.writer(path);
      await w.write(bytes);
      await w.commit();
    };
    const stray = randomBlob(3000); // stored, never recorded: a crash between the two
    await put(paths.blobData(stray.digest), stray.bytes);
    const image = randomImage({ layers: 1, size: 2000 }); // recorded and tagged: stays
    await pushImage(reg.url, 'gc/sweep', image, 'v1');
    const kept = image.layers[0]!;
    const upload = '/uploads/00000000-dead-4000-8000-000000000000/data'; // an upload file whose session is gone
    await put(upload, Buffer.from('partial'));
    const exists = (path: string) => reg.deps.driver.stat(path).then(() => true, () => false);

    const off = await collectGarbage(reg.deps, opts({ now: later(26 * HOUR), deleteUntagged: false }));
    assert.equal(off.strays, 0, 'off by default');
    assert.ok(await bytesExist(stray.digest));
    const young = await collectGarbage(reg.deps, opts({ sweepStorage: true, deleteUntagged: false }));
    assert.equal(young.strays, 0, 'within the grace period');
    assert.ok(await bytesExist(stray.digest));
    const blobsOnly = await collectGarbage(reg.deps, opts({ sweepStorage: true, deleteUntagged: false, now: later(2 * HOUR) }));
    assert.equal(blobsOnly.strays, 1, 'the upload file is not past the upload TTL yet');
    assert.equal(blobsOnly.strayBytes, 3000);
    assert.ok(!(await bytesExist(stray.digest)));
    assert.ok(await exists(upload));
    assert.ok(await bytesExist(kept.digest), 'a recorded blob keeps its bytes');
    assert.equal(await status(`/v2/gc/sweep/blobs/${kept.digest}`), 200);
    const all = await collectGarbage(reg.deps, opts({ sweepStorage: true, deleteUntagged: false, now: later(26 * HOUR) }));
    assert.ok(!(await exists(upload)));
    assert.ok(all.strays >= 1);
  });

  it('with sweepStorage, keeps stray bytes that a push records before the sweep reaches them', async () => {
    const image = randomImage({ layers: 1, size: 1500 });
    const blob = image.layers[0]!;
    const w = await reg.deps.driver.writer(paths.blobData(blob.digest));
    await w.write(blob.bytes);
    await w.commit();
    await pushImage(reg.url, 'gc/sweep2', image, 'v1'); // the push finds the layer's bytes already there and records them
    const result = await collectGarbage(reg.deps, opts({ sweepStorage: true, deleteUntagged: false, now: later(2 * HOUR), graceMs: HOUR }));
    assert.equal(result.ran, true);
    assert.ok(await bytesExist(blob.digest));
    const res = await fetch(`${reg.url}/v2/gc/sweep2/blobs/${blob.digest}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(blob.bytes));
  });

  it('lets only one collector run at a time', async () => {
    const [a, b] = await Promise.all([collectGarbage(reg.deps, opts()), collectGarbage(reg.deps, opts())]);
    assert.deepEqual([a.ran, b.ran].sort(), [false, true]);
  });

  it('runs while pushes go on: nothing pushed is lost', async () => {
    const images = Array.from({ length: 12 }, () => randomImage({ layers: 3, size: 20_000 }));
    let gcRuns = 0;
    let pushing = true;
    const gcLoop = (async () => {
      while (pushing) {
        await collectGarbage(reg.deps, opts({ graceMs: 5_000 }));
        gcRuns++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(images.map((img, i) => pushImage(reg.url, `gc/busy${i % 3}`, img, `t${i}`)));
    pushing = false;
    await gcLoop;
    assert.ok(gcRuns > 0);
    for (const [i, img] of images.entries()) {
      assert.equal(await status(`/v2/gc/busy${i % 3}/manifests/t${i}`), 200);
      for (const b of [img.config, ...img.layers]) {
        const res = await fetch(`${reg.url}/v2/gc/busy${i % 3}/blobs/${b.digest}`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), b.bytes);
      }
    }
  });

  it('never leaves a blob record without its bytes when the collected blob is pushed again at the same moment', async () => {
    for (let round = 0; round < 20; round++) {
      const blob = randomBlob(50_000);
      await pushBlob(reg.url, 'gc/race', blob);
      await fetch(`${reg.url}/v2/gc/race/blobs/${blob.digest}`, { method: 'DELETE' });
      await Promise.all([
        collectGarbage(reg.deps, opts({ now: later() })),
        pushBlob(reg.url, 'gc/race2', blob).catch(() => undefined),
      ]);
      const record = await reg.deps.store.getBlob(blob.digest);
      if (record) {
        assert.equal(await bytesExist(blob.digest), true, `round ${round}: the record exists, so must the bytes`);
        const res = await fetch(`${reg.url}/v2/gc/race2/blobs/${blob.digest}`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), blob.bytes);
      }
    }
  });
});
