// End to end with the real `serve()`: images with real package databases (this machine's dpkg status, an rpm
// database written by `rpm`) are pushed while scanning is off, so their scans wait in the queue; advisories are
// imported with `berth advisories import`; the server started again with scanning on works the queue off and
// stores each grade. A repeated import changes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FixtureImage } from '../client/fixtures.js';
import { buildProgram } from '../cli/main.js';
import { SqliteStore } from '../metadata/sqlite/store.js';
import { parseDpkgStatus } from '../scan/inventory/dpkg.js';
import { csafDocument, osvRecord } from '../scan/testing/advisories.js';
import { file, imageOf } from '../scan/testing/images.js';
import { buildRpmdb, type RpmFixture } from '../scan/testing/rpm-fixtures.js';
import { hasDpkg, hasRpm, hasRpmbuild, needs } from '../scan/testing/tools.js';
import { pushBlob, pushManifest } from '../testing/fixtures.js';
import { loadConfig, type Config } from './config.js';
import { serve } from './serve.js';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();
const hasStatus = existsSync('/var/lib/dpkg/status') && existsSync('/etc/os-release');

let dir: string;
let rpm: RpmFixture | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-scan-serve-'));
  if (hasRpm && hasRpmbuild) rpm = buildRpmdb([{ name: 'berth-tool', version: '1.0', release: '1.el9', vendor: 'Red Hat, Inc.' }]);
});
after(async () => {
  rpm?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function config(data: string, scan: boolean): Promise<Config> {
  const c = await loadConfig({ env: {} });
  c.data = data;
  c.listen = '127.0.0.1:0';
  c.auth.enabled = false;
  c.gc.interval = '0';
  c.scan.enabled = scan;
  c.scan.pollInterval = '50ms';
  // The certifier runs too, as in production: a server may be stopped while it certifies, and must still stop
  // (issue 7; certifier-errors.test.ts stops one mid-certification on purpose).
  c.certify.enabled = true;
  return c;
}

async function push(url: string, repo: string, tag: string, img: FixtureImage): Promise<void> {
  for (const b of [img.config, ...img.layers]) await pushBlob(url, repo, b);
  await pushManifest(url, repo, tag, img.manifest, img.mediaType);
}

async function cli(args: string[]): Promise<{ out: string; code: number }> {
  let out = '';
  const before = process.exitCode;
  process.exitCode = undefined;
  await (await buildProgram({ out: (s) => (out += s), err: () => {}, version: 'test' }))
    .exitOverride()
    .parseAsync(['node', 'berth', ...args]);
  const code = process.exitCode ?? 0;
  process.exitCode = before;
  return { out, code };
}

describe('scanning in berth serve', { skip: needs(hasDpkg && hasStatus, 'dpkg') }, () => {
  it('queues scans across a restart, imports advisories with the CLI, grades every pushed image', async () => {
    const data = join(dir, 'data');
    const log = pino({ level: 'silent' });
    // This machine's own dpkg database and os-release.
    const statusText = await readFile('/var/lib/dpkg/status', 'utf8');
    const osRelease = await readFile('/etc/os-release', 'utf8');
    const versionId = /^VERSION_ID="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? '12';
    const entries = parseDpkgStatus(statusText);
    const dpkg = entries.find((e) => e.package === 'dpkg')!;
    assert.ok(dpkg, 'dpkg is installed');
    const debian = imageOf([[file('etc/os-release', osRelease), file('var/lib/dpkg/status', statusText)], [file('srv/app', 'app')]]);

    let rhel: FixtureImage | undefined;
    if (rpm) {
      const os = 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n';
      rhel = imageOf([[file('etc/os-release', os), file('usr/lib/sysimage/rpm/rpmdb.sqlite', await readFile(join(rpm.dbpath, 'rpmdb.sqlite')))]]);
    }

    // 1. Scanning off: the pushes only queue.
    const first = await serve(await config(data, false), log);
    await push(first.server.url, 'debian/app', 'v1', debian);
    if (rhel) await push(first.server.url, 'rhel/app', 'v1', rhel);
    await first.stop();
    const peek = SqliteStore.open({ path: join(data, 'metadata.db') });
    assert.deepEqual((await peek.scans.listScanJobs()).map((j) => j.digest).sort(), [debian.digest, ...(rhel ? [rhel.digest] : [])].sort());
    await peek.close();

    // 2. Advisories, through the CLI, into the stopped registry's store.
    const adv = join(dir, 'advisories');
    await mkdir(adv);
    await writeFile(
      join(adv, 'osv.json'),
      JSON.stringify([osvRecord({ id: 'DSA-9001', ecosystem: `Debian:${versionId}`, name: dpkg.sourceName, fixed: `${dpkg.version}+berth1`, severity: 'critical', aliases: ['CVE-2026-9001'], published: daysAgo(20) })]),
    );
    await writeFile(
      join(adv, 'rhsa.json'),
      JSON.stringify(csafDocument({ id: 'RHSA-2026:9002', severity: 'Important', released: daysAgo(100), cves: ['CVE-2026-9002'], cpe: 'cpe:/a:redhat:enterprise_linux:9::appstream', fixed: [{ name: 'berth-tool', evr: '1.0-2.el9', arch: 'noarch' }] })),
    );
    const imported = await cli(['advisories', 'import', '--data', data, adv, '--format', 'json']);
    assert.equal(imported.code, 0);
    const report = JSON.parse(imported.out) as { sources: Array<{ added: string[]; unchanged: number }>; total: number; revision: number };
    assert.deepEqual(report.sources[0]!.added.sort(), ['DSA-9001', 'RHSA-2026:9002']);
    const again = await cli(['advisories', 'import', '--data', data, adv]);
    assert.match(again.out, /0 added, 0 changed, 0 removed, 2 unchanged/);
    assert.match(again.out, new RegExp(`2 advisories stored \\(revision ${report.revision}\\)`));

    // 3. Scanning on: the queue left by the first run is worked off.
    const second = await serve(await config(data, true), log);
    const store = SqliteStore.open({ path: join(data, 'metadata.db') });
    try {
      const deadline = Date.now() + 30_000;
      while ((await store.scans.listScanJobs()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const deb = await store.scans.getResult(debian.digest);
      assert.equal(deb?.status, 'done', JSON.stringify(deb?.error));
      assert.equal(deb?.packageCount, entries.length);
      assert.equal(deb?.grade, 'C', 'a Critical fix 20 days old');
      assert.ok((JSON.parse(deb!.findings!) as Array<{ advisory: string }>).some((f) => f.advisory === 'DSA-9001'));
      if (rhel) {
        const r = await store.scans.getResult(rhel.digest);
        assert.equal(r?.status, 'done', JSON.stringify(r?.error));
        assert.equal(r?.grade, 'D', 'an Important erratum 100 days old');
      }
    } finally {
      await store.close();
      await second.stop();
    }
  });
});
