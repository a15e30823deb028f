// What the certifier does with what it cannot certify: an index without platform images is stored at once as
// an error (another attempt cannot fix it), a tag deleted before its turn ends its job without a result, an
// image whose layers are not tar archives is certified with every filesystem check undecided, two
// certifiers on one store never certify the same tag twice, and stopping a certifier mid-certification ends it
// at once and leaves the job for another attempt.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import { file, imageOf } from '../scan/testing/images.js';
import type { ReadOptions } from '../storage/driver.js';
import { FsDriver } from '../storage/fs/driver.js';
import { paths } from '../storage/paths.js';
import { indexOf, pushBlob, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { Certifier } from './certifier.js';

describe('Certifier on images it cannot certify', () => {
  let reg: TestRegistry;
  const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  before(async () => (reg = await startTestRegistry()));
  after(() => reg.close());

  it('an index of attestations only (platform unknown/unknown) is stored as an error at once', async () => {
    const child = randomImage({ layers: 1, size: 64 });
    await pushImage(reg.url, 'team/attest', child);
    const index = indexOf([child], { platforms: [{ os: 'unknown', architecture: 'unknown' }] });
    await pushManifest(reg.url, 'team/attest', '1.0', index.bytes, index.mediaType);
    const certifier = new Certifier(reg.deps, log, { owner: 'a' });
    assert.equal((await certifier.runOnce()).certified, 1);
    const r = await reg.deps.store.certs.getCertResult('team/attest', index.digest);
    assert.equal(r?.status, 'error');
    assert.equal(r?.passed, false);
    assert.equal(r?.error?.code, 'NO_PLATFORMS');
    assert.equal(r?.tag, '1.0');
    assert.deepEqual(await reg.deps.store.certs.listCertJobs(), [], 'not retried');
  });

  it('a tag deleted before its turn ends its job without a result', async () => {
    const img = randomImage({ layers: 1, size: 64 });
    await pushImage(reg.url, 'team/gone', img, '1.0');
    assert.equal(await reg.deps.store.deleteTag('team/gone', '1.0'), true);
    const certifier = new Certifier(reg.deps, log, { owner: 'b' });
    assert.deepEqual(await certifier.runOnce(), { certified: 0, published: 0 });
    assert.equal(await reg.deps.store.certs.getCertResult('team/gone', img.digest), undefined);
    assert.deepEqual(await reg.deps.store.certs.listCertJobs(), []);
  });

  it('layers that are not tar archives: certified, with the filesystem checks undecided and the others decided', async () => {
    const img = randomImage({ layers: 1, size: 256, platform: { os: 'linux', architecture: 'amd64' } });
    await pushImage(reg.url, 'team/junk', img, '2.0');
    await new Certifier(reg.deps, log, { owner: 'c' }).runOnce();
    const r = await reg.deps.store.certs.getCertResult('team/junk', img.digest);
    assert.equal(r?.status, 'done');
    assert.equal(r?.passed, false);
    const [p] = JSON.parse(r!.platforms) as Array<{ platform: string; checks: Array<{ name: string; status: string }> }>;
    assert.equal(p!.platform, 'linux/amd64');
    const by = Object.fromEntries(p!.checks.map((c) => [c.name, c.status]));
    assert.equal(by['HasLicense'], 'error', 'the layer cannot be read');
    assert.equal(by['HasUniqueTag'], 'passed');
    assert.equal(by['LayerCountAcceptable'], 'passed');
    assert.equal(by['HasRequiredLabel'], 'failed');
    assert.equal(by['HasProhibitedContainerName'], 'passed');
  });

  it('two certifiers on one store certify each pushed tag exactly once', async () => {
    const tags = ['a', 'b', 'c', 'd'];
    for (const t of tags) await pushImage(reg.url, 'team/many', randomImage({ layers: 1, size: 64 }), t);
    const one = new Certifier(reg.deps, log, { owner: 'one', concurrency: 2 });
    const two = new Certifier(reg.deps, log, { owner: 'two', concurrency: 2 });
    const [p1, p2] = await Promise.all([one.runOnce(), two.runOnce()]);
    assert.equal(p1.certified + p2.certified, tags.length);
    assert.deepEqual(await reg.deps.store.certs.listCertJobs(), []);
  });

  it('start() works the queue in the background and stop() ends it', async () => {
    const certifier = new Certifier(reg.deps, log, { owner: 'bg', pollMs: 20 });
    certifier.start();
    const img = randomImage({ layers: 1, size: 64 });
    await pushImage(reg.url, 'team/bg', img, '1.0');
    const deadline = Date.now() + 10_000;
    while (!(await reg.deps.store.certs.getCertResult('team/bg', img.digest)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await certifier.stop();
    assert.ok(await reg.deps.store.certs.getCertResult('team/bg', img.digest), 'certified in the background');
  });

  it('stop() in the middle of reading a layer returns at once and leaves the job for another attempt (issue 7)', async () => {
    // The production path: the filesystem driver, a layer far bigger than one read, its licenses in a second layer.
    const fsReg = await startTestRegistry({ driver: 'fs' });
    try {
      const data = Array.from({ length: 64 }, (_, i) => file(`usr/share/data/f${i}`, randomBytes(64 * 1024)));
      const img = imageOf([data, [file('licenses/LICENSE', 'MIT')]]);
      for (const b of [img.config, ...img.layers]) await pushBlob(fsReg.url, 'team/stop', b);
      await pushManifest(fsReg.url, 'team/stop', '1.0', img.manifest, img.mediaType);

      // The same storage through a second driver that tells when the first layer is opened (it reads nothing itself).
      let opened!: (s: ReadStream) => void;
      const layerOpened = new Promise<ReadStream>((resolve) => (opened = resolve));
      const layerPath = paths.blobData(img.layers[0]!.digest);
      class WatchedFsDriver extends FsDriver {
        override async reader(path: string, opts?: ReadOptions): Promise<Readable> {
          const stream = await super.reader(path, opts);
          if (path === layerPath) opened(stream as ReadStream);
          return stream;
        }
      }
      const driver = new WatchedFsDriver({ root: join(fsReg.dir, 'storage') });
      // A poll far longer than the bound on stop(): the bug left the loop waiting for the next poll.
      const certifier = new Certifier({ ...fsReg.deps, driver }, log, { owner: 'stopping', leaseMs: 300, pollMs: 60_000 });
      certifier.start();
      const layer = await within(layerOpened, 10_000, 'the first layer read');
      while (layer.bytesRead === 0 && !layer.destroyed) await new Promise((r) => setImmediate(r));

      // Before the fix, the loop went on to wait for an 'abort' that had already happened: stop() returned only
      // after the next poll, and never when nothing else kept the process alive (the poll timer is unref'd).
      await within(certifier.stop(), 3000, 'stop()');
      assert.ok(layer.destroyed && !layer.readableEnded, 'the layer read was cut short');
      assert.equal(await fsReg.deps.store.certs.getCertResult('team/stop', img.digest), undefined, 'no result from an aborted run');
      const [job] = await fsReg.deps.store.certs.listCertJobs();
      assert.equal(job?.tag, '1.0', 'the job is still queued');
      assert.equal(job?.leaseOwner, undefined, 'handed back, not left leased');
      assert.ok(job!.notBefore.getTime() <= Date.now(), 'due at once');

      // The next certifier takes the job at once and certifies the image.
      assert.equal((await new Certifier(fsReg.deps, log, { owner: 'next' }).runOnce()).certified, 1);
      assert.equal((await fsReg.deps.store.certs.getCertResult('team/stop', img.digest))?.status, 'done');
      assert.deepEqual(await fsReg.deps.store.certs.listCertJobs(), []);
    } finally {
      await fsReg.close();
    }
  });
});

/** Fails when `p` has not settled within `ms`; the timer keeps the process waiting, so a lost promise shows. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
