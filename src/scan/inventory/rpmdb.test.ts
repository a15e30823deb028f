// RPM databases made by real rpm/rpmbuild/rpmsign/db_load must decode to exactly what `rpm -qa` prints.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectRpmdbFormat, readBdbBlobs, readNdbBlobs, readSqliteBlobs } from './rpmdb.js';
import { readRpmPackages, rpmEvr } from './rpm.js';
import { parseRpmHeader, pgpSignatureKeyId, RPMTAG } from './rpm-header.js';
import { isScanError } from '../errors.js';
import { bdbFromBlobs, buildRpmdb, ndbFromBlobs, rpmQuery, type RpmFixture } from '../testing/rpm-fixtures.js';
import { hasDbLoad, hasRpm, hasRpmbuild, needs } from '../testing/tools.js';

const skip = needs(hasRpm && hasRpmbuild, 'rpm') || needs(hasDbLoad, 'db5.3-util');
const manyFiles = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`/usr/share/berth-delta/data/file-${i}.txt`, `content ${i}`]));

const FIELDS = '%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}|%{VENDOR}|%{LICENSE}|%{SIZE}|%{INSTALLTIME}\\n';
const opt = (v: string | number | undefined) => (v === undefined ? '(none)' : String(v));

describe('rpmdb formats', { skip }, () => {
  let fx: RpmFixture;
  let sqlite: Buffer;
  let blobs: Buffer[];
  before(async () => {
    fx = buildRpmdb(
      [
        { name: 'berth-alpha', version: '1.2.3', release: '4.el9', epoch: 2, vendor: 'Red Hat, Inc.', license: 'MIT and BSD' },
        { name: 'berth-beta', version: '0.9~rc1', release: '1.el9_2', vendor: 'Berth Tests' },
        { name: 'berth-gamma', version: '7', release: '0.1' },
        { name: 'berth-delta', version: '2024.01', release: '3', files: manyFiles },
      ],
      { sign: ['berth-gamma'] },
    );
    sqlite = readFileSync(join(fx.dbpath, 'rpmdb.sqlite'));
    blobs = await readSqliteBlobs(sqlite);
  });
  after(() => fx?.cleanup());

  const expectedRows = (pkgs: Awaited<ReturnType<typeof readRpmPackages>>) =>
    pkgs
      .map((p) => [p.name, opt(p.epoch), p.version, p.release, p.arch, opt(p.sourceRpm), opt(p.vendor), opt(p.license), opt(p.size), opt(p.installTime)].join('|'))
      .sort();

  it('sqlite: every package as rpm -qa prints it', async () => {
    assert.equal(detectRpmdbFormat(sqlite), 'sqlite');
    const pkgs = await readRpmPackages('sqlite', sqlite);
    assert.equal(pkgs.length, 4);
    assert.deepEqual(expectedRows(pkgs), rpmQuery(fx.dbpath, FIELDS));
    const alpha = pkgs.find((p) => p.name === 'berth-alpha')!;
    assert.equal(rpmEvr(alpha), '2:1.2.3-4.el9');
    assert.equal(alpha.sourceName, 'berth-alpha');
    assert.equal(alpha.sourceVersion, '1.2.3');
    assert.equal(alpha.sourceRelease, '4.el9');
  });

  it('file lists: names, sizes, modes, digests, flags and owners as rpm prints them', async () => {
    const pkgs = await readRpmPackages('sqlite', sqlite, { files: true });
    const mine = pkgs.flatMap((p) => p.files!.map((f) => [p.name, f.path, f.size, f.mode, f.digest, f.flags, f.user].join('|'))).sort();
    const want = rpmQuery(fx.dbpath, '[%{=NAME}|%{FILENAMES}|%{FILESIZES}|%{FILEMODES}|%{FILEDIGESTS}|%{FILEFLAGS}|%{FILEUSERNAME}\\n]');
    assert.equal(mine.length, 4 * 4 + 150);
    assert.deepEqual(mine, want);
    const alpha = pkgs.find((p) => p.name === 'berth-alpha')!;
    assert.equal(alpha.fileDigestAlgo, 8, 'sha256 file digests');
  });

  it('signature key id from RSAHEADER, as rpm and gpg name the key', async () => {
    assert.ok(fx.keyId, 'gpg made a key');
    const pkgs = await readRpmPackages('sqlite', sqlite);
    const gamma = pkgs.find((p) => p.name === 'berth-gamma')!;
    assert.equal(gamma.signatureKeyId, fx.keyId);
    const sig = rpmQuery(fx.dbpath, '%{NAME} %{RSAHEADER:pgpsig}\\n').find((l) => l.startsWith('berth-gamma'))!;
    assert.match(sig, new RegExp(`Key ID ${fx.keyId}$`));
    assert.equal(pkgs.find((p) => p.name === 'berth-alpha')!.signatureKeyId, undefined);
  });

  for (const pageSize of [4096, 512]) {
    it(`BerkeleyDB hash (page size ${pageSize}, overflow chains) made by db_load, read by rpm and by Berth alike`, async () => {
      const dir = join(fx.dir, `bdb-${pageSize}`);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir);
      bdbFromBlobs(blobs, join(dir, 'Packages'), pageSize);
      const bytes = readFileSync(join(dir, 'Packages'));
      assert.equal(detectRpmdbFormat(bytes), 'bdb');
      // rpm's own read-only BerkeleyDB backend accepts the file: it is a real rpm database.
      assert.deepEqual(rpmQuery(dir, FIELDS, 'bdb_ro'), rpmQuery(fx.dbpath, FIELDS));
      const got = readBdbBlobs(bytes);
      assert.deepEqual(got.map((b) => b.toString('hex')).sort(), blobs.map((b) => b.toString('hex')).sort());
      assert.deepEqual(expectedRows(await readRpmPackages('bdb', bytes)), rpmQuery(fx.dbpath, FIELDS));
    });
  }

  it('BerkeleyDB: a truncated file is RPMDB_INVALID', async () => {
    const file = join(fx.dir, 'Packages-trunc');
    bdbFromBlobs(blobs, file);
    const bytes = readFileSync(file);
    assert.throws(() => readBdbBlobs(bytes.subarray(0, bytes.length - 4096)), (e) => isScanError(e, 'RPMDB_INVALID'));
    assert.throws(() => readBdbBlobs(Buffer.alloc(100)), (e) => isScanError(e, 'RPMDB_INVALID'));
  });

  it('NDB laid out as rpm does (generated: Debian rpm cannot write ndb)', async () => {
    const ndb = ndbFromBlobs(blobs, { slotPages: 2, freeSlots: [0, 3] });
    assert.equal(detectRpmdbFormat(ndb), 'ndb');
    assert.deepEqual(readNdbBlobs(ndb), blobs);
    assert.deepEqual(expectedRows(await readRpmPackages('ndb', ndb)), rpmQuery(fx.dbpath, FIELDS));
    const broken = Buffer.from(ndb);
    broken.writeUInt32LE(0, 2 * 4096); // the first blob's magic
    assert.throws(() => readNdbBlobs(broken), (e) => isScanError(e, 'RPMDB_INVALID') && /BlbS/.test((e as Error).message));
    assert.throws(() => readNdbBlobs(ndb.subarray(0, 4096)), (e) => isScanError(e, 'RPMDB_INVALID'));
  });

  it('a damaged header blob is RPM_HEADER_INVALID, never a crash', () => {
    const blob = Buffer.from(blobs[0]!);
    assert.ok(parseRpmHeader(blob).get(RPMTAG.NAME));
    assert.throws(() => parseRpmHeader(blob.subarray(0, blob.length - 10)), (e) => isScanError(e, 'RPM_HEADER_INVALID'));
    const huge = Buffer.from(blob);
    huge.writeUInt32BE(0xfffffff, 0);
    assert.throws(() => parseRpmHeader(huge), (e) => isScanError(e, 'RPM_HEADER_INVALID'));
    const badOffset = Buffer.from(blob);
    badOffset.writeInt32BE(0x7fffffff, 8 + 16 + 8); // entry 1's offset
    assert.throws(() => parseRpmHeader(badOffset), (e) => isScanError(e, 'RPM_HEADER_INVALID'));
  });

  it('sqlite bytes that are not a database are RPMDB_INVALID', async () => {
    await assert.rejects(readSqliteBlobs(Buffer.from('not sqlite at all')), (e) => isScanError(e, 'RPMDB_INVALID'));
    const f = join(fx.dir, 'empty.sqlite');
    const { execFileSync } = await import('node:child_process');
    execFileSync('sqlite3', [f, 'CREATE TABLE other(x);']);
    await assert.rejects(readSqliteBlobs(readFileSync(f)), (e) => isScanError(e, 'RPMDB_INVALID') && /Packages/.test((e as Error).message));
    writeFileSync(f, '');
  });
});

describe('OpenPGP key ids', () => {
  it('reads v3 and v4 signature packets', () => {
    // v4, new-format packet: issuer subpacket (16) in the unhashed area.
    const v4 = Buffer.from('c2' + '1a' + '04000108' + '0000' + '000a' + '0910' + '0123456789abcdef' + '0000', 'hex');
    v4[1] = v4.length - 2;
    assert.equal(pgpSignatureKeyId(v4), '0123456789abcdef');
    // v3, old-format packet (tag 2, one-octet length).
    const v3 = Buffer.from('8813' + '03' + '05' + '00' + '01020304' + 'fedcba9876543210' + '01' + '08' + '0000' + '0000', 'hex');
    assert.equal(pgpSignatureKeyId(v3), 'fedcba9876543210');
    assert.equal(pgpSignatureKeyId(Buffer.from('00', 'hex')), undefined);
  });
});
