/**
 * RPM databases for the checks, read with the scanner's readers (scan/inventory: sqlite, BerkeleyDB, NDB;
 * header tags with file lists, vendor and signature key id). The reader module loads better-sqlite3, so it is
 * imported only when a check needs it: `berth` commands that never certify do not load a native module.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpmPackage } from '../scan/inventory/rpm-header.js';
import { CertifyError } from './errors.js';

export { RPMFILE, type RpmFile, type RpmPackage } from '../scan/inventory/rpm-header.js';

/** Largest RPM database read (the readers take the file whole); a UBI 9 rpmdb.sqlite is a few MiB; the scanner keeps files up to 256 MiB. */
export const MAX_RPMDB_BYTES = 256 * 1024 * 1024;

/** The packages (with file lists) of a database's bytes; `wal` is an sqlite database's `-wal` file, if any. */
export async function packagesOf(bytes: Buffer, where: string, wal?: Buffer): Promise<RpmPackage[]> {
  const { detectRpmdbFormat } = await import('../scan/inventory/rpmdb.js');
  const { readRpmPackages } = await import('../scan/inventory/rpm.js');
  const format = detectRpmdbFormat(bytes);
  if (!format) throw new CertifyError('CHECK_DATA_UNAVAILABLE', `${where}: not an RPM database (sqlite, BerkeleyDB or NDB)`);
  // gpg-pubkey entries stay: go-rpmdb's ListPackages, which preflight uses, lists them too.
  return readRpmPackages(format, bytes, { files: true, keepPubkeys: true, ...(wal ? { wal } : {}) });
}

async function readCapped(file: string): Promise<Buffer | undefined> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  if (st.size > MAX_RPMDB_BYTES) throw new CertifyError('CHECK_DATA_UNAVAILABLE', `${file}: ${st.size} bytes is more than the ${MAX_RPMDB_BYTES}-byte cap for an RPM database`);
  return readFile(file);
}

/**
 * preflight's `rpm.GetPackageList` on an extracted `var/lib/rpm` directory: `rpmdb.sqlite`, else `Packages`.
 * Throws when neither is there or the database does not read.
 */
export async function openRpmDatabase(dir: string): Promise<RpmPackage[]> {
  const sqlite = await readCapped(join(dir, 'rpmdb.sqlite'));
  if (sqlite) return packagesOf(sqlite, join(dir, 'rpmdb.sqlite'), await readCapped(join(dir, 'rpmdb.sqlite-wal')));
  const bdb = await readCapped(join(dir, 'Packages'));
  if (bdb) return packagesOf(bdb, join(dir, 'Packages'));
  throw new CertifyError('RPMDB_MISSING', `${dir}: no rpmdb.sqlite or Packages`);
}
