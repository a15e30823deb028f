/**
 * OSV records (ossf/osv-schema `docs/schema.md`). Severity comes from, in order: `database_specific.severity`
 * or an affected entry's `ecosystem_specific`/`database_specific` `severity` (words such as HIGH, Important),
 * else the highest CVSS v3 base score among `severity[]`.
 */
import { ScanError } from '../errors.js';
import { cvss3BaseScore, severityOfScore } from './cvss.js';
import { maxSeverity, normalizeSeverity, type Advisory, type Affected, type AffectedRange, type RangeEvent, type Severity } from './model.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function severityOf(o: Json): Severity {
  let s: Severity = 'Unknown';
  for (const spec of [o.database_specific, o.ecosystem_specific]) if (isObj(spec)) s = maxSeverity(s, normalizeSeverity(spec.severity));
  if (s !== 'Unknown') return s;
  if (Array.isArray(o.severity)) {
    for (const sv of o.severity) {
      if (!isObj(sv) || typeof sv.score !== 'string') continue;
      const score = cvss3BaseScore(sv.score);
      if (score !== undefined) s = maxSeverity(s, severityOfScore(score));
      else s = maxSeverity(s, normalizeSeverity(sv.score));
    }
  }
  return s;
}

/** One OSV record; `where` names it in errors. */
export function parseOsv(v: unknown, where = 'OSV record'): Advisory {
  if (!isObj(v) || typeof v.id !== 'string' || v.id === '') throw new ScanError('ADVISORY_INVALID', `${where}: not an OSV record (no id)`);
  const affected: Affected[] = [];
  let severity = severityOf(v);
  for (const [i, a] of (Array.isArray(v.affected) ? v.affected : []).entries()) {
    if (!isObj(a) || !isObj(a.package)) continue;
    const ecosystem = str(a.package.ecosystem);
    const name = str(a.package.name);
    if (!ecosystem || !name) throw new ScanError('ADVISORY_INVALID', `${where} (${v.id}): affected[${i}] has no package ecosystem or name`);
    const ranges: AffectedRange[] = [];
    for (const r of Array.isArray(a.ranges) ? a.ranges : []) {
      if (!isObj(r) || (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER' && r.type !== 'GIT') || !Array.isArray(r.events)) continue;
      const events: RangeEvent[] = [];
      for (const e of r.events) {
        if (!isObj(e)) continue;
        for (const k of ['introduced', 'fixed', 'last_affected', 'limit'] as const) if (typeof e[k] === 'string') events.push({ [k]: e[k] as string });
      }
      ranges.push({ type: r.type, events });
    }
    const entry: Affected = { ecosystem, name, ranges, versions: strs(a.versions) };
    const s = severityOf(a);
    if (s !== 'Unknown') {
      entry.severity = s;
      severity = maxSeverity(severity, s);
    }
    affected.push(entry);
  }
  const adv: Advisory = { id: v.id, aliases: strs(v.aliases), severity, affected, source: 'osv' };
  for (const k of ['modified', 'published', 'withdrawn', 'summary'] as const) {
    const x = str(v[k]);
    if (x !== undefined) adv[k] = x;
  }
  const refs = (Array.isArray(v.references) ? v.references : []).flatMap((r) => (isObj(r) && typeof r.url === 'string' ? [r.url] : []));
  if (refs.length) adv.references = refs;
  return adv;
}
