/**
 * The package model every inventory produces, and package URLs (https://github.com/package-url/purl-spec:
 * `pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rhel-9.4`, `pkg:deb/debian/curl@7.88.1-10?...`,
 * `pkg:apk/alpine/musl@1.2.4-r2?...`). Qualifiers are sorted by key, as the spec asks.
 */
export type PackageType = 'rpm' | 'deb' | 'apk';

export interface Package {
  type: PackageType;
  name: string;
  /** The version as the ecosystem compares it: rpm `[E:]V-R`, dpkg and apk as written. */
  version: string;
  arch?: string;
  /** The source package advisories key on (dpkg `Source:`, apk origin `o:`, rpm SOURCERPM name). */
  sourceName?: string;
  /** dpkg `Source: name (version)`; rpm SOURCERPM `V-R` (no epoch). */
  sourceVersion?: string;
  vendor?: string;
  license?: string;
  /** rpm: header signature key id (16 hex digits). */
  signatureKeyId?: string;
  /** rpm: MODULARITYLABEL. */
  modularityLabel?: string;
  purl: string;
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(/%3A/g, ':');
}

/** Builds a purl; `qualifiers` with undefined values are left out. */
export function purl(type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers: Record<string, string | undefined> = {}): string {
  let s = `pkg:${type}/`;
  if (namespace) s += `${namespace.split('/').map(enc).join('/')}/`;
  s += enc(name);
  if (version) s += `@${enc(version)}`;
  const q = Object.entries(qualifiers)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${enc(v)}`);
  if (q.length) s += `?${q.join('&')}`;
  return s;
}
