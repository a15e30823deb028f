// Background scanning inside the registry: images pushed over HTTP are scanned from the registry's own
// storage, base layers are read once (their bytes can disappear afterwards), indexes roll up their children,
// an advisory import re-grades stored images without reading a layer, storage errors are retried, and two
// scanners on one store never scan a manifest twice. On SQLite, and on PostgreSQL when BERTH_TEST_POSTGRES_URL is set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { realIndex, type FixtureImage } from '../client/fixtures.js';
import type { Digest } from '../content/digest.js';
import { paths } from '../storage/paths.js';
import { parseAdvisoryJson } from '../scan/advisories/load.js';
import { osvRecord } from '../scan/testing/advisories.js';
import { file, imageOf, type LayerEntry } from '../scan/testing/images.js';
import { pushBlob, pushManifest } from '../testing/fixtures.js';
import { SKIP_POSTGRES, openTestPostgresStore } from '../metadata/postgres/testing.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { importAdvisories } from './scanner-data.js';
import { Scanner } from './scanner.js';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();
const DEBIAN_OS = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const status = (pkgs: Array<[string, string, string?]>) =>
  pkgs.map(([name, version, source]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nDescription: ${name}\n`).join('\n');

/** The same scans on both engines (PostgreSQL when BERTH_TEST_POSTGRES_URL is set). */
const ENGINES: Array<{ name: string; open: () => Promise<TestRegistry>; skip: string | false }> = [
  { name: 'SQLite', open: () => startTestRegistry(), skip: false },
  { name: 'PostgreSQL', open: async () => startTestRegistry({ store: await openTestPostgresStore() }), skip: SKIP_POSTGRES },
];

let reg: TestRegistry;

async function push(repo: string, img: FixtureImage, tag?: string, skipBlobs: Digest[] = []): Promise<void> {
  for (const b of [img.config, ...img.layers]) if (!skipBlobs.includes(b.digest)) await pushBlob(reg.url, repo, b);
  await pushManifest(reg.url, repo, tag ?? img.digest, img.manifest, img.mediaType);
}

const advisories = (...records: unknown[]) => records.flatMap((r, i) => parseAdvisoryJson(r, `fixture ${i}`));

for (const engine of ENGINES) describe(`Scanner on ${engine.name}`, { skip: engine.skip }, () => {
  before(async () => (reg = await engine.open()));
  after(() => reg.close());
  const base: LayerEntry[] = [
    file('etc/os-release', DEBIAN_OS),
    file('var/lib/dpkg/status', status([['libssl3', '3.0.9-1', 'openssl (3.0.9-1)'], ['curl', '7.88.1-10']])),
    file('usr/share/doc/big', randomBytes(256 * 1024)),
  ];
  const img1 = imageOf([base, [file('app/bin', 'v1')]]);
  const img2 = imageOf([base, [file('var/lib/dpkg/status', status([['libssl3', '3.0.11-1~deb12u2', 'openssl'], ['curl', '7.88.1-10']]))]], { os: 'linux', architecture: 'arm64' });
  const baseLayer = img1.layers[0]!;
  let scanner: Scanner;
  before(() => (scanner = new Scanner(reg.deps, { concurrency: 2 })));

  it('scans a pushed image from storage; a shared base layer is read once', async () => {
    const scans = reg.deps.store.scans;
    await importAdvisories(scans, advisories(osvRecord({ id: 'DSA-1', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u2', aliases: ['CVE-2026-1'], severity: 'critical', published: daysAgo(10) })));
    await push('team/app', img1, 'v1');
    assert.equal((await scans.listScanJobs()).length, 1, 'the push queued the scan');
    await scanner.drain();
    const r1 = await scans.getResult(img1.digest);
    assert.equal(r1?.status, 'done');
    assert.equal(r1?.grade, 'C', 'a Critical fix 10 days old');
    assert.equal(r1?.packageCount, 2);
    assert.deepEqual(JSON.parse(r1!.os!), { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', ecosystem: 'Debian:12' });
    const findings = JSON.parse(r1!.findings!) as Array<{ advisory: string; package: { name: string } }>;
    assert.deepEqual(findings.map((f) => [f.advisory, f.package.name]), [['DSA-1', 'libssl3']]);
    assert.ok(r1?.nextDropAt, 'C drops to D on day 31');
    assert.deepEqual(await scans.listScanJobs(), []);

    const extract = await scans.getLayerExtract(baseLayer.digest);
    assert.ok(extract && extract.extract.length > 0 && extract.extract.length < 16 * 1024, `the extract keeps the databases, not the 256 KiB file (${extract?.extract.length} bytes)`);

    // The base layer's bytes go; an image on the same base still scans, from the cached extract.
    await reg.deps.driver.delete(paths.blobData(baseLayer.digest));
    await push('team/app', img2, 'v2', [baseLayer.digest]);
    await scanner.drain();
    const r2 = await scans.getResult(img2.digest);
    assert.equal(r2?.status, 'done', JSON.stringify(r2?.error));
    assert.equal(r2?.grade, 'A', 'the upper layer updated openssl');
    assert.notEqual(r2?.inventoryKey, r1?.inventoryKey);
  });

  it('an index rolls up its children: the worst grade, pending until all are scanned', async () => {
    const scans = reg.deps.store.scans;
    const index = realIndex([img1, img2]);
    await pushManifest(reg.url, 'team/app', 'multi', index.bytes, index.mediaType);
    await scanner.drain();
    const r = await scans.getResult(index.digest);
    assert.equal(r?.kind, 'index');
    assert.equal(r?.status, 'done');
    assert.equal(r?.grade, 'C');
    assert.deepEqual(await scans.childrenOf(index.digest), [{ digest: img1.digest, platform: 'linux/amd64' }, { digest: img2.digest, platform: 'linux/arm64' }].sort((a, b) => (a.digest < b.digest ? -1 : 1)));

    // A new child pushed in a new index is pending until it is scanned.
    const img3 = imageOf([base, [file('app/bin', 'v3')]], { os: 'linux', architecture: 's390x' });
    await push('team/app', img3, undefined, [baseLayer.digest]);
    const index2 = realIndex([img1, img3]);
    await pushManifest(reg.url, 'team/app', 'multi2', index2.bytes, index2.mediaType);
    const jobs = await scans.claimScanJobs({ owner: 'test', limit: 10, leaseMs: 60_000 });
    const indexJob = jobs.find((j) => j.digest === index2.digest)!;
    await scanner.runJob({ ...indexJob, leaseOwner: scanner.owner });
    // The scanner did not hold that lease: nothing was written.
    assert.equal(await scans.getResult(index2.digest), undefined);
    for (const j of jobs) await scans.retryScanJob(j.digest, 'test', { error: 'test', notBefore: new Date(0) });
    await scanner.drain();
    assert.equal((await scans.getResult(index2.digest))?.grade, 'C');
  });

  it('an advisory import re-grades stored images without reading any layer', async () => {
    const scans = reg.deps.store.scans;
    for (const l of [...img1.layers, ...img2.layers]) await reg.deps.driver.delete(paths.blobData(l.digest)).catch(() => {});
    const before = await scans.advisoryRevision();
    const report = await importAdvisories(scans, advisories(osvRecord({ id: 'DSA-2', ecosystem: 'Debian:12', name: 'curl', fixed: '7.88.1-11', severity: 'critical', published: daysAgo(400) })));
    assert.deepEqual(report.added, ['DSA-2']);
    assert.equal(report.revision, before + 1);
    assert.ok((await scans.countInventories()).stale >= 2);
    const n = await scanner.rematch();
    assert.ok(n >= 2, `${n} inventories re-graded`);
    assert.equal((await scans.getResult(img1.digest))?.grade, 'F');
    assert.equal((await scans.getResult(img2.digest))?.grade, 'F', 'curl is old in both');
    assert.equal((await scans.getResult(realIndex([img1, img2]).digest))?.grade, 'F', 'the index rolled up again');
    assert.equal((await scans.countInventories()).stale, 0);
    assert.equal(await scanner.rematch(), 0, 'nothing left to do');
  });

  it('storage errors are retried later; an image without an OS and a non-image are recorded as unsupported', async () => {
    const scans = reg.deps.store.scans;
    const broken = imageOf([[file('etc/os-release', DEBIAN_OS), file('var/lib/dpkg/status', status([['zlib1g', '1:1.2.13-1', 'zlib']]))], [file('x', randomBytes(64).toString('hex'))]]);
    await push('team/broken', broken);
    await reg.deps.driver.delete(paths.blobData(broken.layers[1]!.digest));
    const noOs = imageOf([[file('bin/app', 'static binary')]]);
    await push('team/static', noOs);
    await scanner.drain();
    const jobs = await scans.listScanJobs();
    assert.deepEqual(jobs.map((j) => [j.digest, j.attempts]), [[broken.digest, 1]]);
    assert.match(jobs[0]!.lastError ?? '', /bytes are missing|BLOB_UNKNOWN|not/);
    assert.ok(jobs[0]!.notBefore.getTime() > Date.now(), 'retried later, with backoff');
    assert.equal(await scans.getResult(broken.digest), undefined);
    const r = await scans.getResult(noOs.digest);
    assert.deepEqual([r?.status, r?.error?.code], ['unsupported', 'OS_UNKNOWN']);
    // The bytes come back (restored in storage): the retry succeeds.
    await reg.deps.driver.putContent(paths.blobData(broken.layers[1]!.digest), broken.layers[1]!.bytes);
    const [j] = await scans.claimScanJobs({ owner: scanner.owner, limit: 1, leaseMs: 60_000, now: new Date(Date.now() + 60 * 60_000) });
    await scanner.runJob(j!);
    const fixed = await scans.getResult(broken.digest);
    assert.equal(fixed?.status, 'done', JSON.stringify(fixed));
  });

  it('two scanners on one store scan each manifest once', async () => {
    const lines: Array<{ msg: string; digest?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { msg: string; digest?: string });
        cb();
      },
    });
    const log = pino({ level: 'info' }, sink);
    const imgs = Array.from({ length: 6 }, (_, i) => imageOf([base, [file('app/n', String(i))]]));
    for (const img of imgs) await push('team/app', img, undefined, [baseLayer.digest]);
    const a = new Scanner(reg.deps, { concurrency: 2, pollIntervalMs: 20 }, log);
    const b = new Scanner(reg.deps, { concurrency: 2, pollIntervalMs: 20 }, log);
    a.start();
    b.start();
    const deadline = Date.now() + 20_000;
    while ((await reg.deps.store.scans.listScanJobs()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([a.stop(), b.stop()]);
    const scanned = lines.filter((l) => l.msg === 'scanned').map((l) => l.digest!);
    assert.deepEqual([...scanned].sort(), imgs.map((i) => i.digest).sort(), 'each exactly once');
    for (const img of imgs) assert.equal((await reg.deps.store.scans.getResult(img.digest))?.grade, 'F');
  });
});
