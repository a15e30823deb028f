/**
 * dpkg's database: `var/lib/dpkg/status` (deb-control(5) paragraphs) and distroless images'
 * `var/lib/dpkg/status.d/*` (one paragraph per file, `*.md5sums` skipped). See shared/reference/tooling.md §5.4.
 * Vulnerability feeds key Debian packages on the source package, so `Source:` is kept.
 */
import { ScanError } from '../errors.js';
import { purl, type Package } from './package.js';
import type { Distro } from './os-release.js';

export interface DpkgEntry {
  package: string;
  version: string;
  architecture: string;
  /** From `Source: name [(version)]`; the binary's name and version when absent. */
  sourceName: string;
  sourceVersion: string;
  status?: string;
  /** Every field, names as written. */
  fields: Record<string, string>;
}

/** The paragraphs of a control file: field → value (continuation lines joined with `\n`). */
export function parseControlParagraphs(text: string, where = 'dpkg status'): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cur: Record<string, string> | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (cur) out.push(cur);
      cur = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (!cur || last === undefined) throw new ScanError('PACKAGE_DB_INVALID', `${where} line ${i + 1}: continuation line without a field`);
      cur[last] += `\n${line.slice(1)}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ScanError('PACKAGE_DB_INVALID', `${where} line ${i + 1}: not a "Field: value" line`);
    cur ??= {};
    last = line.slice(0, colon);
    cur[last] = line.slice(colon + 1).trim();
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * Installed packages: those whose `Status` says `ok installed` (hold and install wants both count). With
 * `statusOptional` (status.d files), a paragraph without `Status` counts as installed.
 */
export function parseDpkgStatus(text: string, opts: { where?: string; statusOptional?: boolean } = {}): DpkgEntry[] {
  const out: DpkgEntry[] = [];
  for (const p of parseControlParagraphs(text, opts.where)) {
    const status = p.Status;
    if (status === undefined ? !opts.statusOptional : !/(^|\s)ok\s+installed$/.test(status)) continue;
    const name = p.Package;
    const version = p.Version;
    if (!name || !version) throw new ScanError('PACKAGE_DB_INVALID', `${opts.where ?? 'dpkg status'}: an installed paragraph without Package or Version`);
    let sourceName = name;
    let sourceVersion = version;
    if (p.Source) {
      const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(p.Source.trim());
      if (m) {
        sourceName = m[1]!;
        if (m[2]) sourceVersion = m[2].trim();
      }
    }
    const e: DpkgEntry = { package: name, version, architecture: p.Architecture ?? '', sourceName, sourceVersion, fields: p };
    if (status !== undefined) e.status = status;
    out.push(e);
  }
  return out;
}

export function packageFromDpkg(e: DpkgEntry, distro?: Distro): Package {
  const colon = e.version.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(e.version.slice(0, colon)) ? e.version.slice(0, colon) : undefined;
  const bare = epoch !== undefined ? e.version.slice(colon + 1) : e.version;
  const out: Package = {
    type: 'deb',
    name: e.package,
    version: e.version,
    arch: e.architecture,
    sourceName: e.sourceName,
    sourceVersion: e.sourceVersion,
    purl: purl('deb', distro?.namespace ?? 'debian', e.package, bare, { arch: e.architecture || undefined, epoch, distro: distro?.purlDistro }),
  };
  if (e.fields.Maintainer) out.vendor = e.fields.Maintainer;
  return out;
}
