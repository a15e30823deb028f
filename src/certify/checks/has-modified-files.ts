/**
 * HasModifiedFiles (openshift-preflight internal/policy/container/has_modified_files.go; rules in tooling.md
 * §4.2): no file that an RPM installed in an earlier layer may be changed by a later layer other than through
 * RPM. Per layer, in order:
 *
 * 1. the files it changes: regular files (a file whiteout `.wh.x` counts as a change of `x`), whiteouts of
 *    directories, symbolic and hard links by their own name; link targets are dropped from the set afterwards
 *    (entries with a `security.capability` xattr are left out, as preflight does);
 * 2. its packages, when it carries `var/lib/rpm/*`: that RPM database (`rpmdb.sqlite`, else `Packages`); a layer
 *    without one (or with one that does not open) inherits the previous layer's packages.
 *
 * Then each changed file owned by a package in the previous layer is judged as `judge` says. Layer 0 is not
 * judged. The platform dist tag comes from the final `/etc/os-release` (`PLATFORM_ID="platform:el9"`); without
 * that file the check errors, as preflight's does.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { walkLayers } from '../../scan/rootfs.js';
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { CertifyError } from '../errors.js';
import { openRpmDatabase, RPMFILE, type RpmPackage } from '../rpm.js';
import type { Subject } from '../subject.js';

const SETUID = 0o4000;
const SETGID = 0o2000;
const RED_HAT_VENDOR = 'Red Hat, Inc.';
/** preflight's `okFlags`: files RPM itself expects to change or to be absent. */
const OK_FLAGS = RPMFILE.CONFIG | RPMFILE.DOC | RPMFILE.LICENSE | RPMFILE.MISSINGOK | RPMFILE.README | RPMFILE.ARTIFACT | RPMFILE.GHOST;
const EXCLUDED_DIRS = ['etc', 'var', 'run', 'usr/lib/.build-id', 'usr/tmp', 'usr/share/openstack-dashboard'];
const EXCLUDED_PATHS = new Set(['etc/resolv.conf', 'etc/hostname', 'etc', 'etc/', 'run', 'run/']);
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

interface PackageMeta {
  name: string;
  version: string;
  release: string;
  arch: string;
  vendor: string;
  installTime: number;
}

export interface LayerRef {
  /** Changed path (no leading slash) → tar mode. */
  files: Map<string, number>;
  /** NVRA → package. */
  packages: Map<string, PackageMeta>;
  /** Installed path (no leading slash) → NVRA. */
  packageFiles: Map<string, string>;
  hasRpmDb: boolean;
}

/** Go's filepath.Clean for the relative names in a layer. */
function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out = posix.normalize(p).replace(/\/+$/, '');
  return out === '' ? (rooted ? '/' : '.') : out;
}

function nvra(p: { name: string; version: string; release: string; arch: string }): string {
  return `${p.name}-${p.version}-${p.release}-${p.arch}`;
}

function excluded(s: string): boolean {
  if (EXCLUDED_PATHS.has(s)) return true;
  // preflight compares with HasPrefix(s, Clean(k + "/")), i.e. without the slash: "etcetera/x" is excluded too.
  if (EXCLUDED_DIRS.some((k) => s.startsWith(k) || s === k)) return true;
  return s.startsWith('usr/') && s.endsWith('.cache');
}

/** preflight's installedFileMapWithExclusions: installed path → NVRA of the package that owns it. */
export function installedFileMap(pkgs: readonly RpmPackage[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const pkg of pkgs) {
    for (const f of pkg.files ?? []) {
      // Directories are not files a layer can modify (preflight drops the package's DirNames).
      if ((f.mode & S_IFMT) === S_IFDIR) continue;
      if ((f.flags & OK_FLAGS) > 0) continue;
      const normalized = f.path === '/' ? '/' : goClean(f.path.replace(/^\//, ''));
      if (excluded(normalized)) continue;
      const prev = m.get(normalized);
      if (prev !== undefined) {
        // The same package for another architecture (multilib) keeps the first owner. preflight splits the NVRA
        // string on the first three '-', which only lines up for names without '-'; we do the same.
        const parts = prev.split('-');
        if (parts.length >= 4) {
          const [name, version, release] = parts;
          const arch = parts.slice(3).join('-');
          if (name === pkg.name && version === pkg.version && release === pkg.release && arch !== pkg.arch) continue;
        }
      }
      m.set(normalized, nvra(pkg));
    }
  }
  return m;
}

/**
 * Every layer's changes and packages, as preflight's gatherDataToValidate, in one pass over the layers
 * (the scanner's walkLayers). A layer's files under var/lib/rpm are copied to a scratch directory while
 * its tar flows, and read as that layer's RPM database when the layer ends.
 */
export async function gatherLayers(s: Subject): Promise<LayerRef[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-certify-rpm-'));
  const refs: LayerRef[] = [];
  const count = s.image.layers().length;
  let files = new Map<string, number>();
  let links: string[] = [];
  let sawRpm = false;
  const finish = async (index: number) => {
    for (const l of links) files.delete(l);
    let packages: RpmPackage[] | undefined;
    const dbDir = join(scratch, String(index));
    // As preflight's findRPMDB: a database that is missing or does not open means "no RPM database here".
    if (sawRpm) packages = await openRpmDatabase(join(dbDir, 'var/lib/rpm')).catch(() => undefined);
    await rm(dbDir, { recursive: true, force: true });
    if (!packages && index > 0) {
      const last = refs[index - 1]!;
      refs.push({ files, packages: last.packages, packageFiles: last.packageFiles, hasRpmDb: false });
    } else {
      const list = packages ?? [];
      refs.push({
        files,
        packages: new Map(list.map((p) => [nvra(p), { name: p.name, version: p.version, release: p.release, arch: p.arch, vendor: p.vendor ?? '', installTime: p.installTime ?? 0 }])),
        packageFiles: installedFileMap(list),
        // preflight marks layer 0 as having a database even when it has none (with an empty package list).
        hasRpmDb: true,
      });
    }
    files = new Map();
    links = [];
    sawRpm = false;
  };
  try {
    for await (const ev of walkLayers(s.image, s.signal ? { signal: s.signal } : {})) {
      while (refs.length < ev.layer) await finish(refs.length);
      if (ev.kind === 'whiteout') {
        // A whiteout is a tar entry of its own (mode 0 here: the scanner decodes it without its header); a file
        // removed from a package is a change of that file.
        files.set(ev.path, 0);
        continue;
      }
      if (ev.kind === 'opaque') continue;
      const h = ev.entry;
      // preflight leaves out entries that carry a file capability (a layer that only ran `setcap` on a binary).
      if (h.pax?.has(CAPABILITY_XATTR)) continue;
      if (h.type === 'file') files.set(ev.path, h.mode);
      else if (h.type === 'symlink' || h.type === 'hardlink') {
        files.set(ev.path, h.mode);
        links.push((h.linkname ?? '').replace(/^\//, ''));
      }
      // preflight copies every file and directory whose path starts with var/lib/rpm to read the database.
      if ((h.type === 'file' || h.type === 'directory') && ev.path.startsWith('var/lib/rpm')) {
        const dbDir = join(scratch, String(ev.layer));
        const target = join(dbDir, ev.path);
        if (!target.startsWith(`${dbDir}/`)) continue;
        if (h.type === 'directory') await mkdir(target, { recursive: true });
        else {
          await mkdir(dirname(target), { recursive: true });
          await pipeline(h.body, createWriteStream(target));
          sawRpm = true;
        }
      }
    }
    while (refs.length < count) await finish(refs.length);
    return refs;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const CAPABILITY_XATTR = 'SCHILY.xattr.security.capability';

/** The `<dist>` of `PLATFORM_ID="platform:<dist>"` in os-release text, or `unknown`. */
export function packageDist(osRelease: string): string {
  for (const line of osRelease.split('\n')) {
    const m = /PLATFORM_ID="platform:([A-Za-z0-9]+)"/.exec(line);
    if (m) return m[1]!;
  }
  return 'unknown';
}

/** preflight's validate: the disallowed modifications (empty: pass), and files let through with a warning. */
export function judge(layers: LayerRef[], dist: string): { violations: string[]; warnings: string[] } {
  const violations: string[] = [];
  const warnings: string[] = [];
  const zero: PackageMeta = { name: '', version: '', release: '', arch: '', vendor: '', installTime: 0 };
  layers.forEach((ref, idx) => {
    for (const [file, mode] of ref.files) {
      if (idx === 0 && ref.hasRpmDb) continue;
      const current = ref.packageFiles.get(file);
      if (current === undefined) continue;
      const prevRef = layers[idx - 1]!;
      const previous = prevRef.packageFiles.get(file);
      if (previous === undefined && ref.hasRpmDb) continue; // a file of a package new in this layer
      const prevPkg = prevRef.packages.get(previous ?? '') ?? zero;
      const curPkg = ref.packages.get(current) ?? zero;
      const where = `/${file} (layer ${idx})`;
      if (previous === current) {
        let prevMode = 0;
        for (let i = idx - 1; i >= 0; i--) {
          const m = layers[i]!.files.get(file);
          if (m !== undefined) {
            prevMode = m;
            break;
          }
        }
        const setuidRemoved = (prevMode & SETUID) !== 0 && (mode & SETUID) === 0;
        const setgidRemoved = (prevMode & SETGID) !== 0 && (mode & SETGID) === 0;
        if (setuidRemoved || setgidRemoved) continue;
        if (!curPkg.release.includes(dist) && dist !== 'unknown') {
          warnings.push(`${where} of ${current} was modified outside of rpm; the release has no "${dist}": a third-party package`);
          continue;
        }
        if (curPkg.vendor !== RED_HAT_VENDOR && prevPkg.vendor !== RED_HAT_VENDOR) {
          warnings.push(`${where} of ${current} was modified outside of rpm; the vendor is not ${RED_HAT_VENDOR}`);
          continue;
        }
        if (curPkg.installTime > prevPkg.installTime) continue; // reinstalled
        violations.push(`${where} of ${current} was modified without rpm`);
        continue;
      }
      const prevDist = prevPkg.release.includes(dist);
      const curDist = curPkg.release.includes(dist);
      if (prevDist && !curDist) {
        violations.push(`${where}: ${previous} was replaced by ${current}, whose release lost "${dist}"`);
        continue;
      }
      if (prevPkg.arch !== curPkg.arch) {
        violations.push(`${where}: ${previous} was replaced by ${current}, of another architecture`);
        continue;
      }
    }
  });
  return { violations, warnings };
}

export const hasModifiedFiles: Check = {
  name: 'HasModifiedFiles',
  level: 'best',
  description: 'Checks that no files installed via RPM in the base Red Hat layer have been modified',
  help: helpMessage('HasModifiedFiles'),
  suggestion: 'Do not modify any files installed by RPM in the base Red Hat layer',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-modified-files.md',
  async validate(s) {
    const layers = await gatherLayers(s);
    const osRelease = await (await s.tree()).readFile('/etc/os-release', 1024 * 1024).catch(() => undefined);
    if (osRelease === undefined) throw new CertifyError('OS_RELEASE_MISSING', 'could not generate modified files list: could not open os-release: /etc/os-release does not exist');
    const dist = packageDist(osRelease.toString('utf8'));
    const { violations, warnings } = judge(layers, dist);
    const why = [...violations, ...warnings.map((w) => `warning: ${w}`)];
    return violations.length === 0 ? verdict(true, `no RPM-installed file was modified outside of rpm (dist ${dist})`, ...why) : verdict(false, ...why);
  },
};
