/**
 * One model for advisory data from every source (OSV, Red Hat CSAF/VEX, Alpine secdb, Debian security tracker):
 * OSV's shape (ossf/osv-schema `docs/schema.md`, shared/reference/tooling.md §5.6), with severity normalised to
 * Red Hat's four levels, which the Container Health Index grades on.
 */

/** Red Hat's severity scale; other sources map onto it (High → Important, Medium → Moderate). */
export type Severity = 'Critical' | 'Important' | 'Moderate' | 'Low' | 'Unknown';

export const SEVERITY_ORDER: Record<Severity, number> = { Critical: 4, Important: 3, Moderate: 2, Low: 1, Unknown: 0 };

/** One OSV range event: exactly one key is set. */
export interface RangeEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface AffectedRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT';
  events: RangeEvent[];
}

export interface Affected {
  /** OSV ecosystem: `Debian:12`, `Alpine:v3.19`, `Red Hat:enterprise_linux:9::appstream`, ... */
  ecosystem: string;
  /** Package name in that ecosystem (source package for Debian and Alpine; binary or source rpm for Red Hat). */
  name: string;
  ranges: AffectedRange[];
  /** Versions listed as affected one by one. */
  versions: string[];
  /** Severity for this package when the source gives one per package. */
  severity?: Severity;
}

export type AdvisorySourceKind = 'osv' | 'csaf' | 'alpine-secdb' | 'debian-tracker';

export interface Advisory {
  id: string;
  /** CVE ids and other names of the same flaw. */
  aliases: string[];
  /** RFC 3339; imports compare it to skip unchanged records. */
  modified?: string;
  /** RFC 3339: when the fix (erratum) was published; the Health Index ages fixes from this date. */
  published?: string;
  withdrawn?: string;
  summary?: string;
  severity: Severity;
  affected: Affected[];
  source: AdvisorySourceKind;
  references?: string[];
}

/** Maps a source's severity word onto Red Hat's scale (`High` and `Important` are the same level). */
export function normalizeSeverity(s: unknown): Severity {
  if (typeof s !== 'string') return 'Unknown';
  switch (s.trim().toLowerCase()) {
    case 'critical':
      return 'Critical';
    case 'high':
    case 'important':
      return 'Important';
    case 'medium':
    case 'moderate':
      return 'Moderate';
    case 'low':
    case 'negligible':
    case 'unimportant':
      return 'Low';
    default:
      return 'Unknown';
  }
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER[a] >= SEVERITY_ORDER[b] ? a : b;
}

/** CVE ids among an advisory's id and aliases. */
export function cveIds(a: Pick<Advisory, 'id' | 'aliases'>): string[] {
  return [...new Set([a.id, ...a.aliases].filter((x) => /^CVE-\d{4}-\d+$/.test(x)))];
}

/**
 * The advisories of one import by id, the same id twice (an RHSA as CSAF and as OSV) merged: aliases joined,
 * affected packages added up, the later record's other fields winning.
 */
export async function mergeById(advisories: Iterable<Advisory> | AsyncIterable<Advisory>): Promise<Map<string, Advisory>> {
  const out = new Map<string, Advisory>();
  for await (const a of advisories as AsyncIterable<Advisory>) {
    const prev = out.get(a.id);
    out.set(a.id, prev ? { ...prev, ...a, aliases: [...new Set([...prev.aliases, ...a.aliases])], affected: [...prev.affected, ...a.affected] } : a);
  }
  return out;
}
