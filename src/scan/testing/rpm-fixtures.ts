/**
 * Real RPM databases for the tests, made by real tools: packages built by `rpmbuild` (one signed with a fresh
 * gpg key through `rpmsign`), installed with `rpm --justdb` into an sqlite rpmdb. Debian's rpm writes only
 * sqlite; a BerkeleyDB `Packages` is made from the same header blobs by `db_load` (Debian's db5.3-util), and
 * rpm's read-only bdb backend reads it back, which proves the file is a real rpm BerkeleyDB. NDB has no
 * writer here: `ndbFromBlobs` lays the blobs out as rpm's `backend/ndb/rpmpkg.c` does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpecOptions {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  vendor?: string;
  license?: string;
  /** Extra files beyond the standard set (path → content). */
  files?: Record<string, string>;
}

function spec(o: SpecOptions): string {
  const extra = Object.entries(o.files ?? {});
  return `Name: ${o.name}
Version: ${o.version}
Release: ${o.release}
${o.epoch !== undefined ? `Epoch: ${o.epoch}\n` : ''}Summary: Berth test package ${o.name}
License: ${o.license ?? 'MIT'}
${o.vendor ? `Vendor: ${o.vendor}\n` : ''}BuildArch: ${o.arch ?? 'noarch'}
%description
A package built by the Berth scanner tests.
%install
mkdir -p %{buildroot}/usr/share/${o.name} %{buildroot}/etc
echo "hello from ${o.name}" > %{buildroot}/usr/share/${o.name}/readme.txt
echo "setting=1" > %{buildroot}/etc/${o.name}.conf
ln -s readme.txt %{buildroot}/usr/share/${o.name}/link
${extra.map(([p, c]) => `mkdir -p $(dirname %{buildroot}${p}) && printf '%s' '${c}' > %{buildroot}${p}`).join('\n')}
%files
%config(noreplace) /etc/${o.name}.conf
%doc /usr/share/${o.name}/readme.txt
%dir /usr/share/${o.name}
/usr/share/${o.name}/link
${extra.map(([p]) => p).join('\n')}
`;
}

export interface RpmFixture {
  dir: string;
  /** The sqlite rpmdb directory (holds rpmdb.sqlite). */
  dbpath: string;
  /** The built .rpm files. */
  rpms: string[];
  /** Key id (16 hex digits, lowercase) of the key that signed `signed` packages. */
  keyId?: string;
  cleanup(): void;
}

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });

/** Builds `specs` with rpmbuild and installs them (database only) into a new sqlite rpmdb. */
export function buildRpmdb(specs: SpecOptions[], opts: { sign?: string[] } = {}): RpmFixture {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rpm-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const top = join(dir, 'rpmbuild');
    for (const d of ['SPECS', 'SOURCES', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT']) mkdirSync(join(top, d), { recursive: true });
    const files = specs.map((s) => {
      const f = join(top, 'SPECS', `${s.name}.spec`);
      writeFileSync(f, spec(s));
      return f;
    });
    run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', '_build_id_links none', '--define', 'debug_package %{nil}', ...files]);
    const rpms = readdirSync(join(top, 'RPMS'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.rpm'))
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
      .sort();
    let keyId: string | undefined;
    if (opts.sign && opts.sign.length > 0) {
      const gnupg = join(dir, 'gnupg');
      mkdirSync(gnupg, { mode: 0o700 });
      const env = { GNUPGHOME: gnupg };
      run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Berth Test <berth-test@example.invalid>', 'rsa2048', 'sign', 'never'], env);
      const colons = run('gpg', ['--batch', '--with-colons', '--list-keys'], env);
      keyId = /^pub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m.exec(colons)?.[1]?.toLowerCase();
      const toSign = rpms.filter((r) => opts.sign!.some((n) => r.split('/').pop()!.startsWith(`${n}-`)));
      run('rpmsign', ['--addsign', '--define', `__gpg ${run('sh', ['-c', 'command -v gpg']).trim()}`, '--define', '_gpg_name Berth Test', '--define', `_gpg_path ${gnupg}`, ...toSign], env);
    }
    const dbpath = join(dir, 'db');
    mkdirSync(dbpath);
    run('rpm', ['--dbpath', dbpath, '--define', '_db_backend sqlite', '--initdb']);
    run('rpm', ['--dbpath', dbpath, '--define', '_db_backend sqlite', '-i', '--justdb', '--nodeps', '--nosignature', '--noscripts', '--notriggers', '--ignorearch', ...rpms]);
    // Fold the WAL into the main file, as rpm does when it closes a database cleanly.
    run('sqlite3', [join(dbpath, 'rpmdb.sqlite'), 'PRAGMA wal_checkpoint(TRUNCATE);']);
    const fixture: RpmFixture = { dir, dbpath, rpms, cleanup };
    if (keyId) fixture.keyId = keyId;
    return fixture;
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** `rpm -qa --qf FORMAT` over a database, one line per package, sorted. */
export function rpmQuery(dbpath: string, format: string, backend = 'sqlite'): string[] {
  return run('rpm', ['--dbpath', dbpath, '--define', `_db_backend ${backend}`, '-qa', '--qf', format])
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

/**
 * A BerkeleyDB hash `Packages` holding `blobs` under keys 1..n (native little-endian header numbers) plus rpm's
 * key-0 instance counter, written by db_load.
 */
export function bdbFromBlobs(blobs: Buffer[], file: string, pageSize = 4096): void {
  const lines = ['VERSION=3', 'format=bytevalue', 'type=hash', `db_pagesize=${pageSize}`, 'HEADER=END'];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b.toString('hex');
  };
  lines.push(` ${u32(0)}`, ` ${u32(blobs.length + 1)}`);
  blobs.forEach((b, i) => lines.push(` ${u32(i + 1)}`, ` ${b.toString('hex')}`));
  lines.push('DATA=END', '');
  const input = `${file}.dump`;
  writeFileSync(input, lines.join('\n'));
  const load = ['db5.3_load', 'db_load'].find((c) => {
    try {
      execFileSync(c, ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!load) throw new Error('db_load is not installed (Debian package db5.3-util)');
  run(load, ['-f', input, file]);
  rmSync(input);
}

/**
 * An NDB `Packages.db` as rpm's ndb backend lays it out: a 32-byte header {'RpmP', version 0, generation,
 * slot pages}, slots {'Slot', pkgIndex, blkOffset, blkCount} filling `slotPages` 4 KiB pages, then each blob
 * in 16-byte blocks: {'BlbS', pkgIndex, generation, length}, the header blob, and a tail {adler32, length,
 * 'BlbE'}, padded to a whole block.
 */
export function ndbFromBlobs(blobs: Buffer[], opts: { slotPages?: number; freeSlots?: number[] } = {}): Buffer {
  const slotPages = opts.slotPages ?? 1;
  const PAGE = 4096;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0x506d7052, 0);
  header.writeUInt32LE(0, 4);
  header.writeUInt32LE(1, 8);
  header.writeUInt32LE(slotPages, 12);
  const slotTable = Buffer.alloc(slotPages * PAGE - 32);
  let block = (slotPages * PAGE) / 16;
  const free = new Set(opts.freeSlots ?? []);
  let slot = 0;
  blobs.forEach((blob, i) => {
    while (free.has(slot)) {
      slotTable.writeUInt32LE(0x746f6c53, slot * 16);
      slot++;
    }
    const pkgIndex = i + 1;
    const size = 16 + blob.length + 12;
    const blocks = Math.ceil(size / 16);
    const b = Buffer.alloc(blocks * 16);
    b.writeUInt32LE(0x53626c42, 0);
    b.writeUInt32LE(pkgIndex, 4);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(blob.length, 12);
    blob.copy(b, 16);
    b.writeUInt32LE(adler32(blob), 16 + blob.length);
    b.writeUInt32LE(blob.length, 16 + blob.length + 4);
    b.writeUInt32LE(0x45626c42, 16 + blob.length + 8);
    slotTable.writeUInt32LE(0x746f6c53, slot * 16);
    slotTable.writeUInt32LE(pkgIndex, slot * 16 + 4);
    slotTable.writeUInt32LE(block, slot * 16 + 8);
    slotTable.writeUInt32LE(blocks, slot * 16 + 12);
    slot++;
    block += blocks;
    parts.push(b);
  });
  for (let s = slot; s < slotTable.length / 16; s++) slotTable.writeUInt32LE(0x746f6c53, s * 16);
  return Buffer.concat([header, slotTable, ...parts]);
}

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}
