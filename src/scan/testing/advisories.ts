/**
 * Advisory fixtures in the real shapes of each source (OSV schema, Red Hat CSAF 2.0 advisory/VEX, Alpine secdb,
 * Debian tracker JSON), written by generators rather than typed by hand.
 */

export function osvRecord(o: { id: string; ecosystem: string; name: string; fixed?: string; introduced?: string; modified?: string; published?: string; aliases?: string[]; severity?: string; cvss?: string; withdrawn?: string; versions?: string[] }) {
  const events: Array<Record<string, string>> = [{ introduced: o.introduced ?? '0' }];
  if (o.fixed) events.push({ fixed: o.fixed });
  return {
    schema_version: '1.6.0',
    id: o.id,
    modified: o.modified ?? '2026-01-02T00:00:00Z',
    published: o.published ?? '2026-01-01T00:00:00Z',
    ...(o.withdrawn ? { withdrawn: o.withdrawn } : {}),
    aliases: o.aliases ?? [],
    summary: `${o.name} flaw`,
    ...(o.cvss ? { severity: [{ type: 'CVSS_V3', score: o.cvss }] } : {}),
    affected: [
      {
        package: { ecosystem: o.ecosystem, name: o.name },
        ranges: [{ type: 'ECOSYSTEM', events }],
        versions: o.versions ?? [],
        ...(o.severity ? { ecosystem_specific: { severity: o.severity } } : {}),
      },
    ],
    references: [{ type: 'ADVISORY', url: `https://example.invalid/${o.id}` }],
  };
}

/** A Red Hat CSAF advisory (RHSA) or, with `vex`, a VEX document for one CVE. */
export function csafDocument(o: { id: string; severity: string; released: string; cves: string[]; cpe: string; fixed: Array<{ name: string; evr: string; arch: string }>; affected?: string[]; vex?: boolean }) {
  const product = 'AppStream-9.4.0.Z.MAIN';
  const comps = o.fixed.map((f) => {
    const [epoch, vr] = f.evr.includes(':') ? f.evr.split(':') : ['0', f.evr];
    const id = `${f.name}-${vr}.${f.arch}`;
    return { id, purl: `pkg:rpm/redhat/${f.name}@${vr}?arch=${f.arch}${epoch !== '0' ? `&epoch=${epoch}` : ''}` };
  });
  const unfixed = (o.affected ?? []).map((name) => ({ id: name, purl: `pkg:rpm/redhat/${name}?arch=src` }));
  return {
    document: {
      category: o.vex ? 'csaf_vex' : 'csaf_security_advisory',
      csaf_version: '2.0',
      title: `Red Hat Security Advisory: ${o.id}`,
      aggregate_severity: { namespace: 'https://access.redhat.com/security/updates/classification/', text: o.severity },
      tracking: { id: o.id, initial_release_date: o.released, current_release_date: o.released, status: 'final', version: '1' },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Red Hat',
          branches: [
            { category: 'product_family', name: 'Red Hat Enterprise Linux', branches: [{ category: 'product_name', name: 'Red Hat Enterprise Linux AppStream (v. 9)', product: { name: 'Red Hat Enterprise Linux AppStream (v. 9)', product_id: product, product_identification_helper: { cpe: o.cpe } } }] },
            { category: 'architecture', name: 'x86_64', branches: [...comps, ...unfixed].map((c) => ({ category: 'product_version', name: c.id, product: { name: c.id, product_id: c.id, product_identification_helper: { purl: c.purl } } })) },
          ],
        },
      ],
      relationships: [...comps, ...unfixed].map((c) => ({ category: 'default_component_of', full_product_name: { name: `${c.id} as a component of ${product}`, product_id: `${product}:${c.id}` }, product_reference: c.id, relates_to_product_reference: product })),
    },
    vulnerabilities: o.cves.map((cve) => ({
      cve,
      title: `${cve} flaw`,
      threats: [{ category: 'impact', details: o.severity }],
      product_status: { fixed: comps.map((c) => `${product}:${c.id}`), known_affected: unfixed.map((c) => `${product}:${c.id}`) },
      remediations: [{ category: 'vendor_fix', details: 'update', product_ids: comps.map((c) => `${product}:${c.id}`), url: `https://access.redhat.com/errata/${o.id}` }],
    })),
  };
}

export function alpineSecdb(distroversion: string, packages: Record<string, Record<string, string[]>>) {
  return {
    apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
    archs: ['aarch64', 'x86_64'],
    reponame: 'main',
    urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
    distroversion,
    packages: Object.entries(packages).map(([name, secfixes]) => ({ pkg: { name, secfixes } })),
  };
}

export function debianTracker(entries: Array<{ pkg: string; cve: string; release: string; status: string; fixed?: string; urgency: string }>) {
  const out: Record<string, Record<string, { description: string; scope: string; releases: Record<string, unknown> }>> = {};
  for (const e of entries) {
    const p = (out[e.pkg] ??= {});
    const c = (p[e.cve] ??= { description: `${e.cve} in ${e.pkg}`, scope: 'remote', releases: {} });
    c.releases[e.release] = { status: e.status, repositories: { [e.release]: '1.0-1' }, ...(e.fixed ? { fixed_version: e.fixed } : {}), urgency: e.urgency };
  }
  return out;
}
