/**
 * Red Hat CSAF 2.0 advisories (one per RHSA) and VEX files (one per CVE)
 * (https://redhatproductsecurity.github.io/security-data-guidelines/csaf-vex; OASIS CSAF 2.0 §3.1.5, §3.2.3).
 *
 * `product_tree` names products (with a CPE) and components (with a purl); a relationship
 * `default_component_of` joins them into the product ids that `vulnerabilities[].product_status` lists. A fixed
 * id becomes an affected package in ecosystem `Red Hat:<CPE without "cpe:/a:redhat:">`, name from the purl, with
 * range `introduced 0, fixed [epoch:]version` from the purl; a known_affected id without a fix is affected in
 * every version. An RHSA document yields one advisory (id = RHSA, aliases = its CVEs); a VEX yields one per CVE
 * (id = `REDHAT-<CVE>`, aliases = the CVE).
 */
import { ScanError } from '../errors.js';
import { maxSeverity, normalizeSeverity, type Advisory, type Affected, type Severity } from './model.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

interface ProductInfo {
  cpe?: string;
  purl?: string;
}

/** `pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1` → name and `[epoch:]version-release`. */
export function parseRpmPurl(purl: string): { name: string; version?: string; arch?: string } | undefined {
  const m = /^pkg:rpm\/(?:[^/]+\/)?([^@?#]+)(?:@([^?#]+))?(?:\?([^#]*))?/.exec(purl);
  if (!m) return undefined;
  const q = new URLSearchParams(m[3] ?? '');
  const out: { name: string; version?: string; arch?: string } = { name: decodeURIComponent(m[1]!) };
  if (m[2]) {
    const epoch = q.get('epoch');
    out.version = `${epoch && epoch !== '0' ? `${epoch}:` : ''}${decodeURIComponent(m[2])}`;
  }
  const arch = q.get('arch');
  if (arch) out.arch = arch;
  return out;
}

/** `cpe:/a:redhat:enterprise_linux:9::appstream` → `Red Hat:enterprise_linux:9::appstream`. */
export function redHatEcosystem(cpe: string): string | undefined {
  const m = /^cpe:\/[aho]:redhat:(.+)$/.exec(cpe);
  return m ? `Red Hat:${m[1]}` : undefined;
}

function walkBranches(branches: unknown, out: Map<string, ProductInfo>): void {
  for (const b of arr(branches)) {
    if (!isObj(b)) continue;
    const p = b.product;
    if (isObj(p) && typeof p.product_id === 'string') {
      const h = isObj(p.product_identification_helper) ? p.product_identification_helper : {};
      const info: ProductInfo = {};
      if (typeof h.cpe === 'string') info.cpe = h.cpe;
      if (typeof h.purl === 'string') info.purl = h.purl;
      out.set(p.product_id, info);
    }
    walkBranches(b.branches, out);
  }
}

export function parseCsaf(v: unknown, where = 'CSAF document'): Advisory[] {
  if (!isObj(v) || !isObj(v.document) || !Array.isArray(v.vulnerabilities)) throw new ScanError('ADVISORY_INVALID', `${where}: not a CSAF document (no document/vulnerabilities)`);
  const doc = v.document;
  const tracking = isObj(doc.tracking) ? doc.tracking : {};
  const docId = typeof tracking.id === 'string' ? tracking.id : undefined;
  if (!docId) throw new ScanError('ADVISORY_INVALID', `${where}: no document.tracking.id`);
  const category = typeof doc.category === 'string' ? doc.category : '';
  const aggregate = isObj(doc.aggregate_severity) ? normalizeSeverity(doc.aggregate_severity.text) : 'Unknown';

  const products = new Map<string, ProductInfo>();
  const tree = isObj(v.product_tree) ? v.product_tree : {};
  walkBranches(tree.branches, products);
  // default_component_of: product id "<product>:<component>" = component (purl) of product (cpe).
  const combined = new Map<string, { ecosystem: string; purl: string }>();
  for (const r of arr(tree.relationships)) {
    if (!isObj(r) || !isObj(r.full_product_name) || typeof r.full_product_name.product_id !== 'string') continue;
    const comp = products.get(String(r.product_reference));
    const prod = products.get(String(r.relates_to_product_reference));
    const eco = prod?.cpe ? redHatEcosystem(prod.cpe) : undefined;
    if (comp?.purl && eco) combined.set(r.full_product_name.product_id, { ecosystem: eco, purl: comp.purl });
  }

  const perCve: Advisory[] = [];
  for (const vuln of v.vulnerabilities) {
    if (!isObj(vuln)) continue;
    const cve = typeof vuln.cve === 'string' ? vuln.cve : undefined;
    let severity: Severity = 'Unknown';
    for (const t of arr(vuln.threats)) if (isObj(t) && t.category === 'impact') severity = maxSeverity(severity, normalizeSeverity(t.details));
    const status = isObj(vuln.product_status) ? vuln.product_status : {};
    const affected = new Map<string, Affected>();
    const add = (pid: unknown, fixedVersion: boolean) => {
      const c = typeof pid === 'string' ? combined.get(pid) : undefined;
      const p = c ? parseRpmPurl(c.purl) : undefined;
      if (!c || !p) return;
      const fixed = fixedVersion ? p.version : undefined;
      if (fixedVersion && !fixed) return;
      const key = `${c.ecosystem}\0${p.name}\0${fixed ?? ''}`;
      if (affected.has(key)) return;
      affected.set(key, { ecosystem: c.ecosystem, name: p.name, ranges: [{ type: 'ECOSYSTEM', events: fixed ? [{ introduced: '0' }, { fixed }] : [{ introduced: '0' }] }], versions: [] });
    };
    for (const pid of arr(status.fixed)) add(pid, true);
    for (const pid of arr(status.known_affected)) add(pid, false);
    // Per-CVE records (VEX) get Red Hat's prefix, so they never replace another feed's record of the CVE.
    const adv: Advisory = { id: cve ? `REDHAT-${cve}` : docId, aliases: cve ? [cve] : [], severity: severity === 'Unknown' ? aggregate : severity, affected: [...affected.values()], source: 'csaf' };
    const urls = arr(vuln.remediations).flatMap((r) => (isObj(r) && typeof r.url === 'string' ? [r.url] : []));
    if (urls.length) adv.references = urls;
    if (typeof vuln.title === 'string') adv.summary = vuln.title;
    perCve.push(adv);
  }

  const dates: Partial<Pick<Advisory, 'published' | 'modified'>> = {};
  if (typeof tracking.initial_release_date === 'string') dates.published = tracking.initial_release_date;
  if (typeof tracking.current_release_date === 'string') dates.modified = tracking.current_release_date;

  if (category === 'csaf_vex' || !/^RH[SBE]A-/.test(docId)) return perCve.map((a) => ({ ...a, ...dates, aliases: [...new Set([...a.aliases, docId])].filter((x) => x !== a.id) }));
  // An RHSA: one advisory whose severity is the erratum's, covering every CVE it fixes.
  const merged = new Map<string, Affected>();
  for (const a of perCve) for (const af of a.affected) merged.set(`${af.ecosystem}\0${af.name}\0${JSON.stringify(af.ranges)}`, af);
  const rhsa: Advisory = {
    id: docId,
    aliases: perCve.flatMap((a) => a.aliases).filter((id) => id !== docId),
    severity: aggregate !== 'Unknown' ? aggregate : perCve.reduce<Severity>((s, a) => maxSeverity(s, a.severity), 'Unknown'),
    affected: [...merged.values()],
    source: 'csaf',
    ...dates,
  };
  if (typeof doc.title === 'string') rhsa.summary = doc.title;
  return [rhsa];
}
