/**
 * The package inventory of an image: which files to read from its root filesystem (shared/reference/tooling.md
 * §5.2) and what they say, as one `Inventory`.
 */
import type { Image } from '../../client/image.js';
import type { SourceOptions } from '../../client/transport.js';
import { readRootfs, type LayerLike, type ReadRootfsOptions, type Rootfs } from '../rootfs.js';
import { packageFromApk, parseApkInstalled } from './apk.js';
import { parseContentManifest, type ContentManifest } from './content-manifest.js';
import { packageFromDpkg, parseDpkgStatus } from './dpkg.js';
import { distroOf, parseOsRelease, type Distro, type OsRelease } from './os-release.js';
import type { Package } from './package.js';
import { packageFromRpm, readRpmPackages } from './rpm.js';
import { RPMDB_PATHS, type RpmdbFormat } from './rpmdb.js';

export interface Inventory {
  os?: OsRelease;
  distro?: Distro;
  packages: Package[];
  /** The package databases that were read, as paths in the image. */
  sources: string[];
  contentManifests: ContentManifest[];
}

const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release'];
const APK = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'];
const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';
const CONTENT_MANIFESTS = 'root/buildinfo/content_manifests/';

/**
 * Every path (or directory, ending in `/`) the inventory reads, before symlinks: what a per-layer extract
 * must keep (`scan/layer-extract.ts`).
 */
export const INVENTORY_PATHS: readonly string[] = [
  ...OS_RELEASE,
  ...APK,
  DPKG_STATUS,
  DPKG_STATUS_D,
  CONTENT_MANIFESTS,
  ...RPMDB_PATHS.flatMap((r) => (r.format === 'sqlite' ? [r.path, `${r.path}-wal`] : [r.path])),
];

/** True for every file the inventory reads. */
export function isInventoryFile(path: string): boolean {
  if (OS_RELEASE.includes(path) || APK.includes(path) || path === DPKG_STATUS) return true;
  if (RPMDB_PATHS.some((r) => r.path === path || (r.format === 'sqlite' && `${r.path}-wal` === path))) return true;
  if (path.startsWith(DPKG_STATUS_D) && !path.slice(DPKG_STATUS_D.length).includes('/') && !path.endsWith('.md5sums')) return true;
  return path.startsWith(CONTENT_MANIFESTS) && path.endsWith('.json') && !path.slice(CONTENT_MANIFESTS.length).includes('/');
}

/** What the inventory files of a root filesystem say. */
export async function inventoryFromRootfs(fs: Rootfs): Promise<Inventory> {
  const inv: Inventory = { packages: [], sources: [], contentManifests: [] };
  const osFile = OS_RELEASE.map((p) => fs.file(p)).find(Boolean);
  if (osFile) {
    inv.os = parseOsRelease(osFile.content.toString('utf8'));
    inv.distro = distroOf(inv.os);
  }
  const distro = inv.distro;
  // rpm: the first database that exists, in trivy's order (sqlite, then ndb, then bdb).
  for (const { path, format } of RPMDB_PATHS) {
    const f = fs.file(path);
    if (!f) continue;
    const wal = format === 'sqlite' ? fs.file(`${path}-wal`)?.content : undefined;
    const pkgs = await readRpmPackages(format as RpmdbFormat, f.content, wal ? { wal } : {});
    inv.packages.push(...pkgs.map((p) => packageFromRpm(p, distro)));
    inv.sources.push(`/${path}`);
    break;
  }
  const status = fs.file(DPKG_STATUS);
  if (status) {
    inv.packages.push(...parseDpkgStatus(status.content.toString('utf8'), { where: `/${DPKG_STATUS}` }).map((e) => packageFromDpkg(e, distro)));
    inv.sources.push(`/${DPKG_STATUS}`);
  }
  const statusD = [...fs.files.keys()].filter((p) => p.startsWith(DPKG_STATUS_D) && isInventoryFile(p)).sort();
  for (const p of statusD) {
    inv.packages.push(...parseDpkgStatus(fs.files.get(p)!.content.toString('utf8'), { where: `/${p}`, statusOptional: true }).map((e) => packageFromDpkg(e, distro)));
    inv.sources.push(`/${p}`);
  }
  const apk = APK.map((p) => [p, fs.file(p)] as const).find(([, f]) => f);
  if (apk) {
    inv.packages.push(...parseApkInstalled(apk[1]!.content.toString('utf8'), `/${apk[0]}`).map((e) => packageFromApk(e, distro)));
    inv.sources.push(`/${apk[0]}`);
  }
  for (const p of [...fs.files.keys()].filter((k) => k.startsWith(CONTENT_MANIFESTS)).sort()) inv.contentManifests.push(parseContentManifest(`/${p}`, fs.files.get(p)!.content));
  return inv;
}

/** Reads an image's layers once and returns its inventory. */
export async function readInventory(image: Image | readonly LayerLike[], opts: SourceOptions & Pick<ReadRootfsOptions, 'maxFileBytes' | 'maxTotalBytes'> = {}): Promise<Inventory> {
  const fs = await readRootfs(image, { ...opts, want: (p) => isInventoryFile(p) });
  return inventoryFromRootfs(fs);
}

/** The OS of an inventory as results show it. */
export function osOf(inv: Inventory): { id: string; versionId?: string; prettyName?: string; ecosystem?: string } | undefined {
  if (!inv.os) return undefined;
  const os: { id: string; versionId?: string; prettyName?: string; ecosystem?: string } = { id: inv.os.id };
  if (inv.os.versionId) os.versionId = inv.os.versionId;
  if (inv.os.prettyName) os.prettyName = inv.os.prettyName;
  if (inv.distro?.ecosystem) os.ecosystem = inv.distro.ecosystem;
  return os;
}
