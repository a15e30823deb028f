// dpkg: this machine's own status file must give exactly what dpkg-query lists as installed. apk: text made by
// a generator. os-release: the distributions' own files as they ship them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { packageFromDpkg, parseDpkgStatus } from './dpkg.js';
import { packageFromApk, parseApkInstalled, type ApkEntry } from './apk.js';
import { distroOf, parseOsRelease } from './os-release.js';
import { isScanError } from '../errors.js';
import { hasDpkg, needs } from '../testing/tools.js';

describe('dpkg status', () => {
  it("agrees with dpkg-query on this machine's database", { skip: needs(hasDpkg && existsSync('/var/lib/dpkg/status'), 'dpkg') }, () => {
    const mine = parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8'))
      .map((e) => [e.package, e.version, e.architecture, e.sourceName, e.sourceVersion].join('\t'))
      .sort();
    const want = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n'], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter((l) => l.startsWith('installed\t'))
      .map((l) => l.slice('installed\t'.length))
      .sort();
    assert.ok(want.length > 50, 'the machine has packages');
    assert.deepEqual(mine, want);
  });

  it('handles Source with a version, continuation lines and non-installed states', () => {
    const text = [
      'Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\nDescription: x\n more\n .\n end',
      'Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: all',
      'Package: held\nStatus: hold ok installed\nVersion: 2:1.0-1\nArchitecture: all\nSource: heldsrc',
    ].join('\n\n');
    const e = parseDpkgStatus(text);
    assert.deepEqual(e.map((x) => [x.package, x.sourceName, x.sourceVersion]), [['libssl3', 'openssl', '3.0.11-1~deb12u2'], ['held', 'heldsrc', '2:1.0-1']]);
    assert.equal(e[0]!.fields.Description, 'x\nmore\n.\nend');
    const p = packageFromDpkg(e[1]!, distroOf(parseOsRelease('ID=debian\nVERSION_ID="12"\n')));
    assert.equal(p.purl, 'pkg:deb/debian/held@1.0-1?arch=all&distro=debian-12&epoch=2');
    assert.throws(() => parseDpkgStatus(' leading continuation'), (err) => isScanError(err, 'PACKAGE_DB_INVALID'));
    // status.d paragraphs (distroless) have no Status line.
    assert.equal(parseDpkgStatus('Package: base-files\nVersion: 12.4\nArchitecture: amd64\n', { statusOptional: true }).length, 1);
    assert.equal(parseDpkgStatus('Package: base-files\nVersion: 12.4\nArchitecture: amd64\n').length, 0);
  });
});

/** apk's installed format, written the way apk writes it. */
export function apkInstalledText(entries: ApkEntry[]): string {
  return entries
    .map((e) => {
      const lines = [`C:Q1${Buffer.from(e.name).toString('base64')}=`, `P:${e.name}`, `V:${e.version}`, `A:${e.arch ?? 'x86_64'}`, 'S:1234', 'I:4096', `T:${e.description ?? e.name}`, 'U:https://example.invalid', `L:${e.license ?? 'MIT'}`];
      if (e.origin) lines.push(`o:${e.origin}`);
      lines.push('m:Tester <t@example.invalid>', 't:1700000000', `c:${e.commit ?? 'abc123'}`, 'D:so:libc.musl-x86_64.so.1');
      const byDir = new Map<string, string[]>();
      for (const f of e.files) {
        const i = f.lastIndexOf('/');
        const d = f.slice(0, i);
        byDir.set(d, [...(byDir.get(d) ?? []), f.slice(i + 1)]);
      }
      for (const [d, names] of byDir) {
        lines.push(`F:${d}`);
        for (const n of names) lines.push(`R:${n}`, 'a:0:0:755', `Z:Q1${'A'.repeat(27)}=`);
      }
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

describe('apk installed', () => {
  it('parses what the generator writes, origin and files included', () => {
    const entries: ApkEntry[] = Array.from({ length: 40 }, (_, i) => ({
      name: `pkg-${i}`,
      version: `1.${i}.0-r${i % 3}`,
      arch: 'x86_64',
      origin: i % 2 ? `src-${i}` : `pkg-${i}`,
      license: 'MIT',
      description: `package ${i}`,
      commit: 'abc123',
      files: [`usr/lib/pkg-${i}/a.so`, `usr/lib/pkg-${i}/b.so`, `etc/pkg-${i}.conf`],
    }));
    const got = parseApkInstalled(apkInstalledText(entries));
    assert.deepEqual(got, entries);
    const p = packageFromApk(got[1]!, distroOf(parseOsRelease('ID=alpine\nVERSION_ID=3.19.1\n')));
    assert.equal(p.sourceName, 'src-1');
    assert.equal(p.purl, 'pkg:apk/alpine/pkg-1@1.1.0-r1?arch=x86_64&distro=alpine-3.19.1');
    assert.throws(() => parseApkInstalled('P:x\nnot a field\n'), (e) => isScanError(e, 'PACKAGE_DB_INVALID'));
    assert.throws(() => parseApkInstalled('P:x\n\n'), (e) => isScanError(e, 'PACKAGE_DB_INVALID'));
  });
});

describe('os-release', () => {
  it('maps distributions to OSV ecosystems', () => {
    const cases: Array<[string, string | undefined]> = [
      ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n', 'Debian:12'],
      ['PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=trixie\nID=debian\n', 'Debian:13'],
      ['NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n', 'Alpine:v3.19'],
      ['NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n', 'Ubuntu:22.04'],
      ['NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\nPLATFORM_ID="platform:el9"\nCPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"\n', 'Red Hat'],
      ['NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', 'Rocky Linux:9'],
      ['NAME=Scratchy\nID=scratchy\n', undefined],
    ];
    for (const [text, eco] of cases) assert.equal(distroOf(parseOsRelease(text)).ecosystem, eco, text);
    const rhel = parseOsRelease(cases[4]![0]);
    assert.equal(rhel.platformId, 'platform:el9');
    assert.deepEqual(rhel.idLike, ['fedora']);
    assert.equal(parseOsRelease('NAME="a \\"quoted\\" name"\n').fields.NAME, 'a "quoted" name');
  });
});
