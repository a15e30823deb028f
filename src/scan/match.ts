/**
 * Matching an inventory against advisories: a package is affected when an advisory lists it (by binary name, or
 * by source name: Debian and Alpine feeds key on source packages) for the image's distribution and release, and
 * its installed version is in an affected range (OSV evaluation, shared/reference/tooling.md §5.6) under the
 * ecosystem's own version order.
 */
import type { Inventory } from './inventory/index.js';
import type { Package } from './inventory/package.js';
import { cveIds, type Advisory, type Affected, type AffectedRange, type RangeEvent, type Severity } from './advisories/model.js';
import type { AdvisoryLookup } from './advisories/store.js';
import { comparatorFor, ecosystemFamily, type Comparator } from './version/index.js';
import { ScanError } from './errors.js';

export interface Finding {
  advisory: string;
  /** CVE ids of the flaw (the advisory's own id when it is a CVE). */
  cves: string[];
  severity: Severity;
  /** The version that fixes it; absent when no fix is published. */
  fixedVersion?: string;
  /** When the fix was published (RFC 3339), if the source says. */
  published?: string;
  package: { name: string; version: string; purl: string; sourceName?: string };
  ecosystem: string;
  summary?: string;
}

/** Whether an advisory's ecosystem covers the image's: same family, and the same release when both name one. */
export function ecosystemCovers(advisoryEcosystem: string, distroEcosystem: string, distroRelease?: string): boolean {
  const fam = ecosystemFamily(advisoryEcosystem);
  if (fam !== ecosystemFamily(distroEcosystem)) return false;
  const rest = advisoryEcosystem.slice(fam.length + 1);
  if (rest === '' || advisoryEcosystem === fam) return true;
  if (fam === 'Red Hat') {
    // Red Hat:<product>:<version>[:...]: the product's version names the major release (9, 8.4 → 8).
    const version = rest.split(':')[1] ?? '';
    return distroRelease === undefined || version === '' || version.split('.')[0] === distroRelease;
  }
  const wanted = distroEcosystem.slice(fam.length + 1);
  if (wanted === '') return true;
  // Ubuntu:22.04:LTS covers Ubuntu:22.04.
  return rest === wanted || rest.startsWith(`${wanted}:`);
}

/** A range's events in the order OSV evaluates them (`introduced: 0` first, then by version), and its limits. */
interface SortedRange {
  cmp: Comparator;
  events: readonly RangeEvent[];
  limits: readonly RangeEvent[];
}

/**
 * Sorted ranges by range object: a re-grade evaluates each cached advisory against thousands of inventories,
 * and the order of its events does not change between them.
 */
const SORTED = new WeakMap<AffectedRange, SortedRange>();
const NO_LIMITS: readonly RangeEvent[] = [];

function sortedRange(range: AffectedRange, cmp: Comparator): Omit<SortedRange, 'cmp'> {
  const ev = range.events;
  // Most ranges are `introduced: 0` and one fix: already in order, nothing to sort or remember.
  if (ev.length === 2 ? ev[0]!.introduced === '0' && ev[1]!.limit === undefined : ev.length < 2 && ev[0]?.limit === undefined) return { events: ev, limits: NO_LIMITS };
  let s = SORTED.get(range);
  if (s && s.cmp === cmp) return s;
  const at = (e: RangeEvent) => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';
  const events = [...ev].sort((a, b) => {
    if (a.introduced === '0') return -1;
    if (b.introduced === '0') return 1;
    return cmp(at(a), at(b));
  });
  s = { cmp, events, limits: events.filter((e) => e.limit !== undefined && e.limit !== '*') };
  SORTED.set(range, s);
  return s;
}

const NOT_AFFECTED: { affected: boolean; fixed?: string } = Object.freeze({ affected: false });

/**
 * Whether `version` is affected by `affected` (OSV: listed in `versions`, or inside an ECOSYSTEM range), and the
 * fixed version that ends its range.
 */
export function evaluateAffected(affected: Affected, version: string, cmp: Comparator): { affected: boolean; fixed?: string } {
  if (affected.versions.length && affected.versions.includes(version)) return { affected: true };
  for (const range of affected.ranges) {
    if (range.type !== 'ECOSYSTEM') continue;
    const { events, limits } = sortedRange(range, cmp);
    if (limits.length && limits.every((e) => cmp(version, e.limit!) >= 0)) continue;
    let hit = false;
    let fixed: string | undefined;
    for (const e of events) {
      if (e.introduced !== undefined) {
        if (e.introduced === '0' || cmp(version, e.introduced) >= 0) {
          hit = true;
          fixed = undefined;
        }
      } else if (e.fixed !== undefined) {
        if (cmp(version, e.fixed) >= 0) hit = false;
        else if (hit && fixed === undefined) fixed = e.fixed;
      } else if (e.last_affected !== undefined) {
        if (cmp(version, e.last_affected) > 0) hit = false;
      }
    }
    if (hit) return fixed !== undefined ? { affected: true, fixed } : { affected: true };
  }
  return NOT_AFFECTED;
}

/**
 * `cmp` with its answers remembered, up to `max` pairs (then it starts over). Matching many inventories
 * compares the same installed versions with the same range bounds again and again; the version order is a
 * pure function, so its answers can be kept. Versions the grammar refuses throw every time.
 */
export function memoizedComparator(cmp: Comparator, max = 100_000): Comparator {
  let memo = new Map<string, Map<string, -1 | 0 | 1>>();
  let size = 0;
  return (a, b) => {
    let row = memo.get(a);
    const hit = row?.get(b);
    if (hit !== undefined) return hit;
    const r = cmp(a, b);
    if (size >= max) {
      memo = new Map();
      size = 0;
      row = undefined;
    }
    if (!row) memo.set(a, (row = new Map()));
    row.set(b, r);
    size++;
    return r;
  };
}

/** One memoized comparator per version order, shared by every match in this process. */
const MEMOIZED = new Map<Comparator, Comparator>();

function memoized(cmp: Comparator): Comparator {
  let m = MEMOIZED.get(cmp);
  if (!m) MEMOIZED.set(cmp, (m = memoizedComparator(cmp)));
  return m;
}

/** The version to compare for a package matched by `name` (Debian advisories on a source name use its version). */
function versionFor(pkg: Package, byName: string): string {
  if (pkg.type === 'deb' && byName === pkg.sourceName && byName !== pkg.name && pkg.sourceVersion) return pkg.sourceVersion;
  return pkg.version;
}

/** Every finding for the inventory's packages, sorted by severity (highest first), package and advisory. */
export async function matchInventory(inv: Inventory, advisories: AdvisoryLookup): Promise<Finding[]> {
  const distro = inv.distro;
  if (!distro?.ecosystem || inv.packages.length === 0) return [];
  let cmp: Comparator;
  try {
    cmp = memoized(comparatorFor(distro.ecosystem));
  } catch (err) {
    if (err instanceof ScanError) return [];
    throw err;
  }
  const family = ecosystemFamily(distro.ecosystem);
  // Every name at once where the lookup can (one query, one await), else name by name.
  const wanted = new Set<string>();
  for (const pkg of inv.packages) {
    wanted.add(pkg.name);
    if (pkg.sourceName) wanted.add(pkg.sourceName);
  }
  const byName = advisories.lookupMany ? await advisories.lookupMany(family, [...wanted]) : new Map<string, Advisory[]>();
  if (!advisories.lookupMany) for (const name of wanted) byName.set(name, await advisories.lookup(family, name));
  // Whether an advisory ecosystem covers the image's, once per ecosystem string.
  const covers = new Map<string, boolean>();
  const findings = new Map<string, Finding>();
  for (const pkg of inv.packages) {
    for (const name of pkg.sourceName && pkg.sourceName !== pkg.name ? [pkg.name, pkg.sourceName] : [pkg.name]) {
      const found = byName.get(name);
      if (!found?.length) continue;
      const version = versionFor(pkg, name);
      for (const adv of found) {
        if (adv.withdrawn) continue;
        for (const af of adv.affected) {
          if (af.name !== name) continue;
          let covered = covers.get(af.ecosystem);
          if (covered === undefined) covers.set(af.ecosystem, (covered = ecosystemCovers(af.ecosystem, distro.ecosystem, distro.release)));
          if (!covered) continue;
          let r: ReturnType<typeof evaluateAffected>;
          try {
            r = evaluateAffected(af, version, cmp);
          } catch (err) {
            // A version the ecosystem's grammar refuses cannot be placed in a range: not a match, not a crash.
            if (err instanceof ScanError && err.code === 'VERSION_INVALID') continue;
            throw err;
          }
          if (!r.affected) continue;
          const key = `${adv.id}\0${pkg.purl}`;
          const prev = findings.get(key);
          // One finding per advisory and package: the lowest fix any matching entry names, so the order of the
          // entries never decides it; without any fix, the first.
          if (prev && (r.fixed === undefined || (prev.fixedVersion !== undefined && cmp(prev.fixedVersion, r.fixed) <= 0))) continue;
          findings.set(key, finding(adv, af, pkg, r.fixed));
        }
      }
    }
  }
  const rank: Record<Severity, number> = { Critical: 0, Important: 1, Moderate: 2, Low: 3, Unknown: 4 };
  return [...findings.values()].sort((a, b) => rank[a.severity] - rank[b.severity] || a.package.name.localeCompare(b.package.name) || a.advisory.localeCompare(b.advisory));
}

function finding(adv: Advisory, af: Affected, pkg: Package, fixed: string | undefined): Finding {
  const f: Finding = {
    advisory: adv.id,
    cves: cveIds(adv),
    severity: af.severity ?? adv.severity,
    package: { name: pkg.name, version: pkg.version, purl: pkg.purl, ...(pkg.sourceName ? { sourceName: pkg.sourceName } : {}) },
    ecosystem: af.ecosystem,
  };
  if (fixed !== undefined) f.fixedVersion = fixed;
  if (adv.published) f.published = adv.published;
  if (adv.summary) f.summary = adv.summary;
  return f;
}
