/**
 * The Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`; claircore
 * `debian/parser.go`): `{ source-package: { CVE: { description, releases: { codename: { status, fixed_version,
 * urgency } } } } }`. `fixed_version "0"` means not affected; `open` without a fixed version means unfixed
 * (range `introduced 0` only). Releases are codenames, mapped to OSV's `Debian:<number>`.
 */
import { DEBIAN_RELEASES } from '../inventory/os-release.js';
import { ScanError } from '../errors.js';
import { maxSeverity, normalizeSeverity, type Advisory, type Severity } from './model.js';


function urgency(u: unknown): Severity {
  if (typeof u !== 'string') return 'Unknown';
  // "low**" marks a guess; "not yet assigned" and "end-of-life" say nothing about severity.
  return normalizeSeverity(u.replace(/\*+$/, ''));
}

export function parseDebianTracker(v: unknown, where = 'Debian tracker JSON'): Advisory[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScanError('ADVISORY_INVALID', `${where}: not a JSON object of source packages`);
  const byId = new Map<string, Advisory>();
  for (const [pkg, cves] of Object.entries(v as Record<string, unknown>)) {
    if (typeof cves !== 'object' || cves === null) throw new ScanError('ADVISORY_INVALID', `${where}: ${pkg} is not an object of CVEs`);
    for (const [cve, info] of Object.entries(cves as Record<string, { description?: unknown; releases?: Record<string, { status?: unknown; fixed_version?: unknown; urgency?: unknown }> }>)) {
      if (typeof info !== 'object' || info === null || typeof info.releases !== 'object' || info.releases === null) continue;
      for (const [codename, rel] of Object.entries(info.releases)) {
        const num = DEBIAN_RELEASES[codename];
        if (!num || typeof rel !== 'object' || rel === null) continue;
        const fixed = typeof rel.fixed_version === 'string' ? rel.fixed_version : undefined;
        if (fixed === '0') continue;
        if (rel.status === 'resolved' && !fixed) continue;
        if (rel.status !== 'open' && rel.status !== 'resolved' && rel.status !== 'undetermined') continue;
        // Advisory ids are global: DEBIAN-CVE-… (OSV's name for Debian's records) keeps Debian's record of a CVE
        // from replacing another feed's.
        const id = `DEBIAN-${cve}`;
        let adv = byId.get(id);
        if (!adv) {
          adv = { id, aliases: [cve], severity: 'Unknown', affected: [], source: 'debian-tracker' };
          if (typeof info.description === 'string') adv.summary = info.description;
          byId.set(id, adv);
        }
        const sev = urgency(rel.urgency);
        adv.severity = maxSeverity(adv.severity, sev);
        const entry: Advisory['affected'][number] = { ecosystem: `Debian:${num}`, name: pkg, ranges: [{ type: 'ECOSYSTEM', events: fixed ? [{ introduced: '0' }, { fixed }] : [{ introduced: '0' }] }], versions: [] };
        if (sev !== 'Unknown') entry.severity = sev;
        adv.affected.push(entry);
      }
    }
  }
  return [...byId.values()];
}
