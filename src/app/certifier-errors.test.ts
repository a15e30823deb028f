// What the certifier does with what it cannot certify: an index without platform images is stored at once as
// an error (another attempt cannot fix it), a tag deleted before its turn ends its job without a result, an
// image whose layers are not tar archives is certified with every filesystem check undecided, and two
// certifiers on one store never certify the same tag twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { indexOf, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';
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
});
