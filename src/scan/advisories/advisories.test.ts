// Every advisory format into one model; OSV from a file, a directory and a zip written by Python's zipfile;
// idempotent, incremental imports.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdvisories, parseAdvisoryJson } from './load.js';
import { cvss3BaseScore } from './cvss.js';
import { MemoryAdvisoryStore } from './store.js';
import { cveIds, type Advisory } from './model.js';
import { isScanError } from '../errors.js';
import { alpineSecdb, csafDocument, debianTracker, osvRecord } from '../testing/advisories.js';
import { has, needs } from '../testing/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-adv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const collect = async (p: string) => {
  const out: Advisory[] = [];
  for await (const a of loadAdvisories(p)) out.push(a);
  return out;
};

describe('advisory formats', () => {
  it('OSV: ranges, aliases, dates and severity from words or CVSS', () => {
    const [a] = parseAdvisoryJson(osvRecord({ id: 'DSA-1', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u1', aliases: ['CVE-2023-1'], severity: 'HIGH' }), 'x');
    assert.equal(a!.severity, 'Important');
    assert.deepEqual(a!.affected[0]!.ranges[0]!.events, [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u1' }]);
    assert.equal(a!.published, '2026-01-01T00:00:00Z');
    const [b] = parseAdvisoryJson(osvRecord({ id: 'X-2', ecosystem: 'Alpine:v3.19', name: 'musl', cvss: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }), 'x');
    assert.equal(b!.severity, 'Critical');
    assert.throws(() => parseAdvisoryJson({ id: 'X', affected: [{ package: { name: 'a' } }] }, 'bad'), (e) => isScanError(e, 'ADVISORY_INVALID'));
    assert.throws(() => parseAdvisoryJson({ hello: 1 }, 'bad'), (e) => isScanError(e, 'ADVISORY_INVALID'));
  });

  it('CVSS v3.1 base scores match the specification examples', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N'), 6.1);
    assert.equal(cvss3BaseScore('CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N'), 5.5);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H'), 9.0);
    assert.equal(cvss3BaseScore('not a vector'), undefined);
  });

  it('Red Hat CSAF advisory: one RHSA with its CVEs, fixed NEVRAs by product CPE', () => {
    const doc = csafDocument({ id: 'RHSA-2026:0001', severity: 'Important', released: '2026-01-10T00:00:00Z', cves: ['CVE-2026-1', 'CVE-2026-2'], cpe: 'cpe:/a:redhat:enterprise_linux:9::appstream', fixed: [{ name: 'openssl', evr: '1:3.0.7-27.el9', arch: 'x86_64' }, { name: 'openssl', evr: '1:3.0.7-27.el9', arch: 'aarch64' }] });
    const [a, ...rest] = parseAdvisoryJson(doc, 'rhsa');
    assert.equal(rest.length, 0);
    assert.equal(a!.id, 'RHSA-2026:0001');
    assert.deepEqual(a!.aliases, ['CVE-2026-1', 'CVE-2026-2']);
    assert.equal(a!.severity, 'Important');
    assert.equal(a!.published, '2026-01-10T00:00:00Z');
    assert.deepEqual(a!.affected, [{ ecosystem: 'Red Hat:enterprise_linux:9::appstream', name: 'openssl', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-27.el9' }] }], versions: [] }]);
  });

  it('Red Hat VEX: one advisory per CVE, unfixed packages affected in every version', () => {
    const doc = csafDocument({ id: 'CVE-2026-9', vex: true, severity: 'Critical', released: '2026-02-01T00:00:00Z', cves: ['CVE-2026-9'], cpe: 'cpe:/o:redhat:enterprise_linux:9::baseos', fixed: [{ name: 'glibc', evr: '2.34-100.el9', arch: 'x86_64' }], affected: ['zlib'] });
    const [a] = parseAdvisoryJson(doc, 'vex');
    assert.equal(a!.id, 'REDHAT-CVE-2026-9');
    assert.deepEqual(a!.aliases, ['CVE-2026-9']);
    assert.equal(a!.severity, 'Critical');
    assert.deepEqual(a!.affected.map((x) => [x.name, x.ranges[0]!.events]), [['glibc', [{ introduced: '0' }, { fixed: '2.34-100.el9' }]], ['zlib', [{ introduced: '0' }]]]);
  });

  it('Alpine secdb: one advisory per CVE, "0" means never affected', () => {
    const adv = parseAdvisoryJson(alpineSecdb('v3.19', { openssl: { '3.1.4-r1': ['CVE-2023-5678'], '3.1.4-r3': ['CVE-2023-6129 XSA-1'], '0': ['CVE-2022-0001'] } }), 'secdb');
    assert.deepEqual(adv.map((a) => [a.id, a.aliases, a.affected[0]!.ecosystem, a.affected[0]!.ranges[0]!.events[1]]).sort(), [
      ['ALPINE-CVE-2023-5678', ['CVE-2023-5678'], 'Alpine:v3.19', { fixed: '3.1.4-r1' }],
      ['ALPINE-CVE-2023-6129', ['CVE-2023-6129', 'XSA-1'], 'Alpine:v3.19', { fixed: '3.1.4-r3' }],
    ]);
  });

  it('Debian tracker: codenames to Debian:N, urgency to severity, open means unfixed', () => {
    const adv = parseAdvisoryJson(
      debianTracker([
        { pkg: 'openssl', cve: 'CVE-2024-1', release: 'bookworm', status: 'resolved', fixed: '3.0.13-1~deb12u1', urgency: 'high' },
        { pkg: 'openssl', cve: 'CVE-2024-1', release: 'trixie', status: 'resolved', fixed: '0', urgency: 'high' },
        { pkg: 'curl', cve: 'CVE-2024-2', release: 'bookworm', status: 'open', urgency: 'low**' },
      ]),
      'tracker',
    );
    const byId = Object.fromEntries(adv.map((a) => [a.id, a]));
    assert.equal(byId['DEBIAN-CVE-2024-1']!.severity, 'Important');
    assert.deepEqual(byId['DEBIAN-CVE-2024-1']!.affected.map((a) => a.ecosystem), ['Debian:12']);
    assert.deepEqual(byId['DEBIAN-CVE-2024-2']!.affected[0]!.ranges[0]!.events, [{ introduced: '0' }]);
    assert.equal(byId['DEBIAN-CVE-2024-2']!.severity, 'Low');
  });

  it('feeds that name advisories by CVE keep their own records of the same CVE, and each names the CVE', () => {
    const cve = 'CVE-2024-77';
    const ids = [
      ...parseAdvisoryJson(debianTracker([{ pkg: 'openssl', cve, release: 'bookworm', status: 'resolved', fixed: '3.0.13-1~deb12u1', urgency: 'high' }]), 'tracker'),
      ...parseAdvisoryJson(alpineSecdb('v3.19', { openssl: { '3.1.4-r1': [cve] } }), 'secdb'),
      ...parseAdvisoryJson(csafDocument({ id: cve, vex: true, severity: 'Critical', released: '2026-02-01T00:00:00Z', cves: [cve], cpe: 'cpe:/o:redhat:enterprise_linux:9::baseos', fixed: [], affected: ['openssl'] }), 'vex'),
    ].map((a) => [a.id, cveIds(a)]);
    assert.deepEqual(ids, [[`DEBIAN-${cve}`, [cve]], [`ALPINE-${cve}`, [cve]], [`REDHAT-${cve}`, [cve]]]);
  });

  it('OSV from a file, a directory and a zip of an export (written by Python zipfile)', { skip: needs(has('python3'), 'python3') }, async () => {
    const osvDir = join(dir, 'osv');
    mkdirSync(join(osvDir, 'nested'), { recursive: true });
    const records = Array.from({ length: 30 }, (_, i) => osvRecord({ id: `DEBIAN-CVE-2026-${i}`, ecosystem: 'Debian:12', name: `pkg${i}`, fixed: `1.${i}-1` }));
    records.forEach((r, i) => writeFileSync(join(osvDir, i % 2 ? 'nested' : '', `${r.id}.json`), JSON.stringify(r)));
    assert.equal((await collect(join(osvDir, `${records[0]!.id}.json`))).length, 1);
    assert.equal((await collect(osvDir)).length, 30);
    const zip = join(dir, 'all.zip');
    // Deflated members from the export, a stored (uncompressed) one, and a non-JSON member that is skipped.
    const py = [
      'import sys, zipfile, os',
      'z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)',
      'for root, _, files in os.walk(sys.argv[2]):',
      '    for f in sorted(files): z.write(os.path.join(root, f), f)',
      'z.writestr("README", "not json")',
      'z.writestr(zipfile.ZipInfo("stored.json"), "[]", compress_type=zipfile.ZIP_STORED)',
      'z.close()',
    ].join('\n');
    execFileSync('python3', ['-c', py, zip, osvDir]);
    const fromZip = await collect(zip);
    assert.deepEqual(fromZip.map((a) => a.id).sort(), records.map((r) => r.id).sort());
    writeFileSync(join(dir, 'broken.zip'), 'PK not really');
    await assert.rejects(collect(join(dir, 'broken.zip')), (e) => isScanError(e, 'ZIP_INVALID'));
  });
});

describe('MemoryAdvisoryStore imports', () => {
  it('are idempotent and incremental, and report added, changed and removed', async () => {
    const store = new MemoryAdvisoryStore();
    const v1 = [osvRecord({ id: 'A', ecosystem: 'Debian:12', name: 'a', fixed: '1' }), osvRecord({ id: 'B', ecosystem: 'Debian:12', name: 'b', fixed: '1' })].map((r) => parseAdvisoryJson(r, 'x')[0]!);
    assert.deepEqual(await store.import(v1, { source: 'feed', complete: true }), { added: ['A', 'B'], changed: [], removed: [], unchanged: 0 });
    assert.deepEqual(await store.import(v1, { source: 'feed', complete: true }), { added: [], changed: [], removed: [], unchanged: 2 });
    const v2 = [
      osvRecord({ id: 'A', ecosystem: 'Debian:12', name: 'a', fixed: '2', modified: '2026-02-01T00:00:00Z' }),
      osvRecord({ id: 'C', ecosystem: 'Debian:12', name: 'c', fixed: '1' }),
    ].map((r) => parseAdvisoryJson(r, 'x')[0]!);
    assert.deepEqual(await store.import(v2, { source: 'feed', complete: true }), { added: ['C'], changed: ['A'], removed: ['B'], unchanged: 0 });
    assert.equal(await store.count(), 2);
    assert.deepEqual((await store.lookup('Debian', 'a')).map((a) => a.affected[0]!.ranges[0]!.events[1]), [{ fixed: '2' }]);
    assert.deepEqual(await store.lookup('Debian', 'b'), []);
    const withdrawn = parseAdvisoryJson(osvRecord({ id: 'C', ecosystem: 'Debian:12', name: 'c', withdrawn: '2026-03-01T00:00:00Z', modified: '2026-03-01T00:00:00Z' }), 'x');
    assert.deepEqual(await store.import(withdrawn), { added: [], changed: [], removed: ['C'], unchanged: 0 });
  });
});
