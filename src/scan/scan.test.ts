// End to end: images with real package databases in their layers, advisories in each source's shape, through
// the library and through `berth scan` on an OCI layout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../client/image.js';
import { openSource } from '../client/open.js';
import { buildProgram } from '../cli/main.js';
import { parseAdvisoryJson } from './advisories/load.js';
import { MemoryAdvisoryStore } from './advisories/store.js';
import { scanImage, type ScanReport } from './scan.js';
import { alpineSecdb, csafDocument, osvRecord } from './testing/advisories.js';
import { file, imageOf, whiteout, writeImageLayout } from './testing/images.js';
import { buildRpmdb, type RpmFixture } from './testing/rpm-fixtures.js';
import { hasRpm, hasRpmbuild, needs } from './testing/tools.js';

const DAY = 86_400_000;
const now = new Date('2026-06-01T12:00:00Z');
const daysAgo = (n: number) => new Date(now.getTime() - n * DAY).toISOString();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-scan-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scanLayout(name: string, layers: Parameters<typeof imageOf>[0], advisories: unknown[]): Promise<ScanReport> {
  const root = join(dir, name);
  await writeImageLayout(root, 'v1', imageOf(layers));
  const store = new MemoryAdvisoryStore();
  await store.import(advisories.flatMap((a, i) => parseAdvisoryJson(a, `fixture ${i}`)));
  const source = await openSource(`oci:${root}:v1`);
  try {
    return await scanImage(await openImage(source), store, { now });
  } finally {
    await source.close();
  }
}

const DEBIAN_OS = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const dpkgStatus = (pkgs: Array<[string, string, string?]>) =>
  pkgs.map(([name, version, source]) => `Package: ${name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nDescription: ${name}\n`).join('\n');

describe('scanImage', () => {
  it('Debian: matches on source packages with the source version, per release', async () => {
    const r = await scanLayout(
      'debian',
      [
        [file('usr/lib/os-release', DEBIAN_OS), file('var/lib/dpkg/status', dpkgStatus([['libssl3', '3.0.9-1', 'openssl (3.0.9-1)'], ['curl', '7.88.1-10']]))],
        [file('var/lib/dpkg/status', dpkgStatus([['libssl3', '3.0.11-1~deb12u1', 'openssl'], ['curl', '7.88.1-10'], ['zlib1g', '1:1.2.13.dfsg-1', 'zlib']]))],
      ],
      [
        osvRecord({ id: 'DSA-1', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u2', aliases: ['CVE-2026-0001'], severity: 'critical', published: daysAgo(10) }),
        osvRecord({ id: 'DSA-2', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u1', severity: 'critical' }),
        osvRecord({ id: 'DSA-3', ecosystem: 'Debian:11', name: 'curl', fixed: '9.0', severity: 'critical' }),
        osvRecord({ id: 'DSA-4', ecosystem: 'Debian:12', name: 'zlib', fixed: '1:1.3-1', severity: 'low', published: daysAgo(500) }),
      ],
    );
    assert.equal(r.os?.ecosystem, 'Debian:12');
    assert.equal(r.packages.length, 3, 'the later status file replaced the first');
    assert.deepEqual(r.findings.map((f) => [f.advisory, f.package.name, f.package.version, f.fixedVersion, f.severity]), [
      ['DSA-1', 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'Critical'],
      ['DSA-4', 'zlib1g', '1:1.2.13.dfsg-1', '1:1.3-1', 'Low'],
    ]);
    assert.deepEqual(r.findings[0]!.cves, ['CVE-2026-0001']);
    assert.equal(r.findings[0]!.package.purl, 'pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12');
    assert.equal(r.health.grade, 'C', 'a Critical fix 10 days old');
    assert.equal(r.health.nextDropDate, '2026-06-22', 'D from day 31');
  });

  it('Alpine: secdb on origin names; a removed database leaves no packages behind', async () => {
    const installed = 'P:libcrypto3\nV:3.1.4-r0\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n';
    const r = await scanLayout(
      'alpine',
      [[file('etc/os-release', 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'), file('lib/apk/db/installed', installed)], [file('etc/motd', 'hi')]],
      [alpineSecdb('v3.19', { openssl: { '3.1.4-r1': ['CVE-2023-5678'] }, musl: { '1.2.4-r2': ['CVE-2000-1'] } }), alpineSecdb('v3.18', { openssl: { '9.9-r0': ['CVE-2030-1'] } })],
    );
    assert.deepEqual(r.findings.map((f) => [f.advisory, f.package.name, f.fixedVersion]), [['ALPINE-CVE-2023-5678', 'libcrypto3', '3.1.4-r1']]);
    assert.equal(r.health.grade, 'A', 'secdb has no severities: nothing counts');
    const gone = await scanLayout('alpine-gone', [[file('etc/os-release', 'ID=alpine\nVERSION_ID=3.19.1\n'), file('lib/apk/db/installed', installed)], [whiteout('lib/apk')]], []);
    assert.equal(gone.packages.length, 0);
  });
});

describe('scanImage on an RPM image', { skip: needs(hasRpm && hasRpmbuild, 'rpm') }, () => {
  let fx: RpmFixture;
  before(() => {
    fx = buildRpmdb([
      { name: 'berth-alpha', version: '1.2.3', release: '4.el9', epoch: 2, vendor: 'Red Hat, Inc.' },
      { name: 'berth-beta', version: '0.9', release: '1.el9' },
    ]);
  });
  after(() => fx?.cleanup());

  it('Red Hat CSAF: RHSA fixes by NEVRA for the image major release; the grade ages the erratum', async () => {
    const db = await readFile(join(fx.dbpath, 'rpmdb.sqlite'));
    const rhel = 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n';
    const r = await scanLayout(
      'rhel',
      [[file('etc/os-release', rhel), file('var/lib/rpm/Packages', 'an older, replaced database')], [whiteout('var/lib/rpm/Packages'), file('usr/lib/sysimage/rpm/rpmdb.sqlite', db)]],
      [
        csafDocument({ id: 'RHSA-2026:0100', severity: 'Important', released: daysAgo(40), cves: ['CVE-2026-100'], cpe: 'cpe:/a:redhat:enterprise_linux:9::appstream', fixed: [{ name: 'berth-alpha', evr: '2:1.2.3-5.el9', arch: 'noarch' }] }),
        csafDocument({ id: 'RHSA-2026:0101', severity: 'Critical', released: daysAgo(5), cves: ['CVE-2026-101'], cpe: 'cpe:/a:redhat:enterprise_linux:8::appstream', fixed: [{ name: 'berth-alpha', evr: '2:9.0-1.el8', arch: 'noarch' }] }),
        csafDocument({ id: 'RHSA-2026:0102', severity: 'Critical', released: daysAgo(5), cves: ['CVE-2026-102'], cpe: 'cpe:/a:redhat:enterprise_linux:9::appstream', fixed: [{ name: 'berth-alpha', evr: '1:9.0-1.el9', arch: 'noarch' }] }),
        csafDocument({ id: 'CVE-2026-103', vex: true, severity: 'Critical', released: daysAgo(3), cves: ['CVE-2026-103'], cpe: 'cpe:/o:redhat:enterprise_linux:9::baseos', fixed: [], affected: ['berth-beta'] }),
      ],
    );
    assert.deepEqual(r.packageSources, ['/usr/lib/sysimage/rpm/rpmdb.sqlite']);
    assert.equal(r.packages.find((p) => p.name === 'berth-alpha')!.purl, 'pkg:rpm/redhat/berth-alpha@1.2.3-4.el9?arch=noarch&distro=rhel-9.4&epoch=2');
    assert.deepEqual(r.findings.map((f) => [f.advisory, f.package.name, f.fixedVersion ?? null, f.severity]), [
      ['REDHAT-CVE-2026-103', 'berth-beta', null, 'Critical'],
      ['RHSA-2026:0100', 'berth-alpha', '2:1.2.3-5.el9', 'Important'],
    ]);
    assert.equal(r.health.grade, 'C', 'Important erratum 40 days old; the unfixed Critical does not count');
    assert.match(r.health.reason, /RHSA-2026:0100/);
  });
});

describe('berth scan', () => {
  let root: string;
  let advisories: string;
  const runCli = async (args: string[]) => {
    let out = '';
    let err = '';
    const before = process.exitCode;
    process.exitCode = undefined;
    await (await buildProgram({ out: (s) => (out += s), err: (s) => (err += s), version: 'test' }))
      .exitOverride()
      .parseAsync(['node', 'berth', ...args]);
    const code = process.exitCode ?? 0;
    process.exitCode = before;
    return { out, err, code };
  };
  before(async () => {
    root = join(dir, 'cli');
    const layers = (arch: string) => [[file('etc/os-release', DEBIAN_OS), file('var/lib/dpkg/status', dpkgStatus([['libssl3', arch === 'arm64' ? '3.0.11-1~deb12u2' : '3.0.11-1~deb12u1', 'openssl']]))]];
    await writeImageLayout(root, 'v1', [imageOf(layers('amd64')), imageOf(layers('arm64'), { os: 'linux', architecture: 'arm64' })]);
    advisories = join(dir, 'advisories');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(advisories);
    await writeFile(join(advisories, 'dsa-1.json'), JSON.stringify(osvRecord({ id: 'DSA-1', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u2', aliases: ['CVE-2026-0001'], severity: 'high', published: new Date(Date.now() - 3 * DAY).toISOString() })));
  });

  it('prints a table with the grade and exits 0', async () => {
    const r = await runCli(['--override-arch', 'amd64', 'scan', `oci:${root}:v1`, '--advisories', advisories]);
    assert.equal(r.code, 0);
    assert.match(r.out, /PACKAGE\s+INSTALLED\s+FIXED\s+SEVERITY\s+ADVISORY/);
    assert.match(r.out, /libssl3\s+3\.0\.11-1~deb12u1\s+3\.0\.11-1~deb12u2\s+Important\s+DSA-1 CVE-2026-0001/);
    assert.match(r.out, /Health index: B/);
  });

  it('--format json carries OS, packages, findings and grade; --platform picks the child', async () => {
    const amd = JSON.parse((await runCli(['scan', '--platform', 'linux/amd64', '--format', 'json', `oci:${root}:v1`, '--advisories', advisories])).out) as ScanReport;
    assert.equal(amd.os?.ecosystem, 'Debian:12');
    assert.equal(amd.image.platform, 'linux/amd64');
    assert.equal(amd.packages.length, 1);
    assert.equal(amd.findings[0]!.advisory, 'DSA-1');
    assert.equal(amd.health.grade, 'B');
    const arm = JSON.parse((await runCli(['scan', '--platform', 'linux/arm64', '--format', 'json', `oci:${root}:v1`, '--advisories', advisories])).out) as ScanReport;
    assert.equal(arm.findings.length, 0);
    assert.equal(arm.health.grade, 'A');
  });

  it('--fail-on sets exit status 3 only when it trips', async () => {
    assert.equal((await runCli(['scan', '--platform', 'linux/amd64', `oci:${root}:v1`, '--advisories', advisories, '--fail-on', 'important'])).code, 3);
    assert.equal((await runCli(['scan', '--platform', 'linux/amd64', `oci:${root}:v1`, '--advisories', advisories, '--fail-on', 'critical'])).code, 0);
    assert.equal((await runCli(['scan', '--platform', 'linux/amd64', `oci:${root}:v1`, '--advisories', advisories, '--fail-on', 'c'])).code, 0);
    assert.equal((await runCli(['scan', '--platform', 'linux/amd64', `oci:${root}:v1`, '--advisories', advisories, '--fail-on', 'b'])).code, 3);
  });

  it('bad advisory data is a clear error', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"nothing": "here"}');
    await assert.rejects(runCli(['scan', `oci:${root}:v1`, '--advisories', bad]), /ADVISORY_INVALID|not OSV, CSAF/);
  });
});
