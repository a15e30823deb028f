/**
 * The three RPM database formats (shared/reference/tooling.md §5.3; knqyf263/go-rpmdb, rpm `lib/backend/*`).
 * Each reader returns the header blobs in database order; `parseRpmHeader` decodes them.
 *
 * - sqlite (`rpmdb.sqlite`, RHEL 9+, Fedora 33+): table `Packages(hnum, blob)`. Opened from a temporary copy
 *   (with its `-wal` file when the image has one, so transactions not yet checkpointed are seen).
 * - BerkeleyDB hash (`Packages`, RHEL ≤ 8, CentOS, Amazon Linux 2): page 0 is the hash metadata page; the
 *   values of hash pages are header blobs, inline or in chains of overflow pages. Key 0 (rpm's instance
 *   counter) is skipped.
 * - NDB (`Packages.db`, SUSE): a slot table in 4 KiB pages, each slot pointing at a blob in 16-byte blocks.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ScanError } from '../errors.js';

export type RpmdbFormat = 'sqlite' | 'bdb' | 'ndb';

/** Where each format lives in an image (trivy `rpm.go` requiredFiles), paths without a leading `/`. */
export const RPMDB_PATHS: ReadonlyArray<{ path: string; format: RpmdbFormat }> = [
  { path: 'usr/lib/sysimage/rpm/rpmdb.sqlite', format: 'sqlite' },
  { path: 'var/lib/rpm/rpmdb.sqlite', format: 'sqlite' },
  { path: 'usr/share/rpm/rpmdb.sqlite', format: 'sqlite' },
  { path: 'usr/lib/sysimage/rpm/Packages.db', format: 'ndb' },
  { path: 'var/lib/rpm/Packages.db', format: 'ndb' },
  { path: 'usr/lib/sysimage/rpm/Packages', format: 'bdb' },
  { path: 'var/lib/rpm/Packages', format: 'bdb' },
];

function bad(format: RpmdbFormat, msg: string): never {
  throw new ScanError('RPMDB_INVALID', `rpmdb (${format}): ${msg}`);
}

/** Guesses the format from the first bytes: sqlite's header string, NDB's `RpmP`, else BerkeleyDB's hash magic. */
export function detectRpmdbFormat(bytes: Buffer): RpmdbFormat | undefined {
  if (bytes.length >= 16 && bytes.toString('latin1', 0, 15) === 'SQLite format 3') return 'sqlite';
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === NDB_HEADER_MAGIC) return 'ndb';
  if (bytes.length >= 16 && (bytes.readUInt32LE(12) === BDB_HASH_MAGIC || bytes.readUInt32BE(12) === BDB_HASH_MAGIC)) return 'bdb';
  return undefined;
}

/** The header blobs of a database of `format`. */
export async function readRpmdbBlobs(format: RpmdbFormat, bytes: Buffer, extra: { wal?: Buffer } = {}): Promise<Buffer[]> {
  if (format === 'sqlite') return readSqliteBlobs(bytes, extra.wal);
  if (format === 'bdb') return readBdbBlobs(bytes);
  return readNdbBlobs(bytes);
}

// --- sqlite -----------------------------------------------------------------------------------------

export async function readSqliteBlobs(bytes: Buffer, wal?: Buffer): Promise<Buffer[]> {
  if (bytes.length < 100 || bytes.toString('latin1', 0, 15) !== 'SQLite format 3') bad('sqlite', 'not an SQLite database');
  const dir = await mkdtemp(join(tmpdir(), 'berth-rpmdb-'));
  try {
    const file = join(dir, 'rpmdb.sqlite');
    await writeFile(file, bytes);
    if (wal && wal.length > 0) await writeFile(`${file}-wal`, wal);
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: true });
    } catch (cause) {
      throw new ScanError('RPMDB_INVALID', `rpmdb (sqlite): cannot open: ${(cause as Error).message}`, undefined, { cause });
    }
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'").get();
      if (!table) bad('sqlite', 'no Packages table');
      const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as Array<{ hnum: number; blob: unknown }>;
      return rows.map((r) => {
        if (!Buffer.isBuffer(r.blob)) bad('sqlite', `row ${r.hnum}: blob is not a BLOB`);
        return r.blob;
      });
    } catch (err) {
      if (err instanceof ScanError) throw err;
      throw new ScanError('RPMDB_INVALID', `rpmdb (sqlite): ${(err as Error).message}`, undefined, { cause: err });
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// --- BerkeleyDB hash ------------------------------------------------------------------------------------

const BDB_HASH_MAGIC = 0x00061561;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const P_HASHMETA = 8;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const PAGE_HEADER = 26;

export function readBdbBlobs(bytes: Buffer): Buffer[] {
  if (bytes.length < 72) bad('bdb', 'too short for a metadata page');
  let le = true;
  if (bytes.readUInt32LE(12) !== BDB_HASH_MAGIC) {
    if (bytes.readUInt32BE(12) !== BDB_HASH_MAGIC) bad('bdb', 'no hash magic (not a BerkeleyDB hash database)');
    le = false;
  }
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const pageSize = u32(bytes, 20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) bad('bdb', `page size ${pageSize}`);
  if (bytes[24] !== 0) bad('bdb', 'encrypted databases are not supported');
  if (bytes[25] !== P_HASHMETA) bad('bdb', `page 0 has type ${bytes[25]}, not hash metadata`);
  const lastPgno = u32(bytes, 32);
  if ((lastPgno + 1) * pageSize > bytes.length) bad('bdb', `last page ${lastPgno} is past the end of the file (${bytes.length} bytes)`);
  const page = (n: number) => bytes.subarray(n * pageSize, (n + 1) * pageSize);

  const overflow = (first: number, total: number): Buffer => {
    const parts: Buffer[] = [];
    let got = 0;
    const seen = new Set<number>();
    for (let n = first; n !== 0; ) {
      if (n > lastPgno || seen.has(n)) bad('bdb', `overflow chain reaches page ${n}`);
      seen.add(n);
      const p = page(n);
      if (p[25] !== P_OVERFLOW) bad('bdb', `page ${n} in an overflow chain has type ${p[25]}`);
      // On overflow pages the header's hf_offset field holds the number of data bytes on the page.
      const len = u16(p, 22);
      if (PAGE_HEADER + len > pageSize) bad('bdb', `overflow page ${n} claims ${len} bytes`);
      parts.push(p.subarray(PAGE_HEADER, PAGE_HEADER + len));
      got += len;
      n = u32(p, 16);
    }
    if (got !== total) bad('bdb', `overflow item of ${total} bytes has ${got}`);
    return Buffer.concat(parts, got);
  };

  const blobs: Buffer[] = [];
  for (let n = 1; n <= lastPgno; n++) {
    const p = page(n);
    const type = p[25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(p, 20);
    if (PAGE_HEADER + entries * 2 > pageSize) bad('bdb', `page ${n} has ${entries} entries`);
    const offsets = Array.from({ length: entries }, (_, i) => u16(p, PAGE_HEADER + i * 2));
    // Items are packed downwards from the end of the page: item i ends where item i-1 starts.
    const item = (i: number) => {
      const start = offsets[i]!;
      const end = i === 0 ? pageSize : offsets[i - 1]!;
      if (start < PAGE_HEADER || end > pageSize || start >= end) bad('bdb', `page ${n} item ${i} at ${start}..${end}`);
      return p.subarray(start, end);
    };
    for (let i = 0; i + 1 < entries; i += 2) {
      const key = item(i);
      const value = item(i + 1);
      if (key[0] === H_KEYDATA && key.length === 5 && key.readUInt32LE(1) === 0) continue;
      if (value[0] === H_OFFPAGE) {
        if (value.length < 12) bad('bdb', `page ${n}: short off-page item`);
        blobs.push(overflow(u32(value, 4), u32(value, 8)));
      } else if (value[0] === H_KEYDATA) {
        blobs.push(Buffer.from(value.subarray(1)));
      } else {
        bad('bdb', `page ${n}: item type ${value[0]} (duplicates are not used by rpm)`);
      }
    }
  }
  return blobs;
}

// --- NDB ------------------------------------------------------------------------------------------------

const NDB_HEADER_MAGIC = 0x506d7052; // 'RpmP' little-endian
const NDB_SLOT_MAGIC = 0x746f6c53; // 'Slot'
const NDB_BLOB_MAGIC = 0x53626c42; // 'BlbS'
const NDB_PAGE = 4096;
const NDB_BLOCK = 16;
const NDB_MAX_SLOT_PAGES = 2048;

export function readNdbBlobs(bytes: Buffer): Buffer[] {
  if (bytes.length < 32) bad('ndb', 'too short for a header');
  if (bytes.readUInt32LE(0) !== NDB_HEADER_MAGIC) bad('ndb', 'no RpmP magic');
  if (bytes.readUInt32LE(4) !== 0) bad('ndb', `version ${bytes.readUInt32LE(4)}`);
  const slotPages = bytes.readUInt32LE(12);
  if (slotPages === 0 || slotPages > NDB_MAX_SLOT_PAGES) bad('ndb', `${slotPages} slot pages`);
  if (slotPages * NDB_PAGE > bytes.length) bad('ndb', `slot table of ${slotPages} pages is past the end of the file`);
  const slots = slotPages * (NDB_PAGE / 16) - 2;
  const found: Array<{ index: number; blob: Buffer }> = [];
  for (let i = 0; i < slots; i++) {
    const at = 32 + i * 16;
    if (bytes.readUInt32LE(at) !== NDB_SLOT_MAGIC) bad('ndb', `slot ${i} has no Slot magic`);
    const pkgIndex = bytes.readUInt32LE(at + 4);
    if (pkgIndex === 0) continue;
    const blkOffset = bytes.readUInt32LE(at + 8);
    const blkCount = bytes.readUInt32LE(at + 12);
    const start = blkOffset * NDB_BLOCK;
    if (start + 16 > bytes.length || start + blkCount * NDB_BLOCK > bytes.length) bad('ndb', `slot ${i}: blob at block ${blkOffset} is past the end of the file`);
    if (bytes.readUInt32LE(start) !== NDB_BLOB_MAGIC) bad('ndb', `slot ${i}: no BlbS magic at byte ${start}`);
    if (bytes.readUInt32LE(start + 4) !== pkgIndex) bad('ndb', `slot ${i}: blob belongs to package ${bytes.readUInt32LE(start + 4)}, not ${pkgIndex}`);
    const len = bytes.readUInt32LE(start + 12);
    if (16 + len > blkCount * NDB_BLOCK) bad('ndb', `slot ${i}: blob of ${len} bytes does not fit its ${blkCount} blocks`);
    found.push({ index: pkgIndex, blob: Buffer.from(bytes.subarray(start + 16, start + 16 + len)) });
  }
  return found.sort((a, b) => a.index - b.index).map((f) => f.blob);
}
