/**
 * RPM packages from an rpmdb of any format: blobs from `rpmdb.ts`, headers from `rpm-header.ts`.
 */
import { parseRpmHeader, rpmPackageFromHeader, type RpmPackage } from './rpm-header.js';
import { readRpmdbBlobs, type RpmdbFormat } from './rpmdb.js';
import { purl, type Package } from './package.js';
import type { Distro } from './os-release.js';
import { ScanError } from '../errors.js';

export interface ReadRpmOptions {
  /** Decode file lists too (the certification checks need them; the scanner does not). */
  files?: boolean;
  /** Keep `gpg-pubkey` entries (imported signing keys, not software). Default false. */
  keepPubkeys?: boolean;
  /** The `-wal` file beside an sqlite database. */
  wal?: Buffer;
}

/** Every package in the database, in database order. */
export async function readRpmPackages(format: RpmdbFormat, bytes: Buffer, opts: ReadRpmOptions = {}): Promise<RpmPackage[]> {
  const blobs = await readRpmdbBlobs(format, bytes, opts.wal ? { wal: opts.wal } : {});
  const out: RpmPackage[] = [];
  blobs.forEach((blob, i) => {
    let pkg: RpmPackage;
    try {
      pkg = rpmPackageFromHeader(parseRpmHeader(blob), { files: opts.files ?? false });
    } catch (err) {
      if (err instanceof ScanError) throw new ScanError(err.code, `rpmdb (${format}) record ${i}: ${err.message}`, err.detail, { cause: err });
      throw err;
    }
    if (pkg.name === 'gpg-pubkey' && !opts.keepPubkeys) return;
    out.push(pkg);
  });
  return out;
}

/** `[E:]V-R` as rpm compares it. */
export function rpmEvr(p: Pick<RpmPackage, 'epoch' | 'version' | 'release'>): string {
  return `${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
}

/** The scanner's view of an RPM package, with its purl. */
export function packageFromRpm(p: RpmPackage, distro?: Distro): Package {
  const out: Package = {
    type: 'rpm',
    name: p.name,
    version: rpmEvr(p),
    arch: p.arch,
    purl: purl('rpm', distro?.namespace, p.name, `${p.version}-${p.release}`, {
      arch: p.arch || undefined,
      epoch: p.epoch !== undefined ? String(p.epoch) : undefined,
      distro: distro?.purlDistro,
    }),
  };
  if (p.sourceName) out.sourceName = p.sourceName;
  if (p.sourceVersion !== undefined) out.sourceVersion = `${p.sourceVersion}-${p.sourceRelease ?? ''}`;
  if (p.vendor) out.vendor = p.vendor;
  if (p.license) out.license = p.license;
  if (p.signatureKeyId) out.signatureKeyId = p.signatureKeyId;
  if (p.modularityLabel) out.modularityLabel = p.modularityLabel;
  return out;
}
