/**
 * Alpine secdb (`https://secdb.alpinelinux.org/v3.19/main.json`; claircore `alpine/secdb.go`): per package,
 * `secfixes` maps a fixed version to the CVEs it fixes. Fixed version `"0"` means never affected and is skipped.
 * Each CVE becomes one advisory (id = the CVE) with an `Alpine:v3.19` range `introduced 0, fixed V`.
 */
import { ScanError } from '../errors.js';
import type { Advisory } from './model.js';

export function parseAlpineSecdb(v: unknown, where = 'Alpine secdb'): Advisory[] {
  const o = v as { distroversion?: unknown; packages?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.distroversion !== 'string' || !Array.isArray(o.packages)) throw new ScanError('ADVISORY_INVALID', `${where}: not an Alpine secdb (no distroversion/packages)`);
  const ecosystem = `Alpine:${o.distroversion.startsWith('v') ? o.distroversion : `v${o.distroversion}`}`;
  const byId = new Map<string, Advisory>();
  for (const p of o.packages as Array<{ pkg?: { name?: unknown; secfixes?: unknown } }>) {
    const name = p?.pkg?.name;
    const fixes = p?.pkg?.secfixes;
    if (typeof name !== 'string' || typeof fixes !== 'object' || fixes === null) continue;
    for (const [fixed, ids] of Object.entries(fixes as Record<string, unknown>)) {
      if (fixed === '0' || !Array.isArray(ids)) continue;
      for (const raw of ids) {
        if (typeof raw !== 'string') continue;
        // Entries are sometimes "CVE-2021-1 XSA-2": the first word is the id, the rest are aliases.
        const [vuln, ...aliases] = raw.trim().split(/\s+/);
        if (!vuln) continue;
        // Advisory ids are global: the feed's own prefix keeps Alpine's record of a CVE from replacing another
        // feed's (OSV names Alpine's the same way).
        const id = `ALPINE-${vuln}`;
        let adv = byId.get(id);
        if (!adv) {
          adv = { id, aliases: [vuln], severity: 'Unknown', affected: [], source: 'alpine-secdb' };
          byId.set(id, adv);
        }
        for (const a of aliases) if (!adv.aliases.includes(a)) adv.aliases.push(a);
        adv.affected.push({ ecosystem, name, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }], versions: [] });
      }
    }
  }
  return [...byId.values()];
}
