/**
 * os-release(5) (`etc/os-release`, falling back to `usr/lib/os-release`) and what the scanner derives from
 * it: the distribution and the OSV ecosystem its advisories are filed under (`Debian:12`, `Alpine:v3.19`,
 * `Ubuntu:22.04`, `Red Hat:…`, `Rocky Linux:9`).
 */

export interface OsRelease {
  id: string;
  versionId?: string;
  idLike: string[];
  versionCodename?: string;
  prettyName?: string;
  cpeName?: string;
  platformId?: string;
  /** Every key as written. */
  fields: Record<string, string>;
}

/** Parses os-release's shell-like `KEY=value` lines (quotes and backslash escapes as os-release(5) allows). */
export function parseOsRelease(text: string): OsRelease {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z0-9_]+$/.test(key)) continue;
    let v = line.slice(eq + 1);
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([\\$"`])/g, '$1');
    }
    fields[key] = v;
  }
  const out: OsRelease = { id: (fields.ID ?? 'linux').toLowerCase(), idLike: (fields.ID_LIKE ?? '').split(/\s+/).filter(Boolean), fields };
  const set = (k: keyof OsRelease, f: string) => {
    if (fields[f] !== undefined) (out as unknown as Record<string, string>)[k] = fields[f]!;
  };
  set('versionId', 'VERSION_ID');
  set('versionCodename', 'VERSION_CODENAME');
  set('prettyName', 'PRETTY_NAME');
  set('cpeName', 'CPE_NAME');
  set('platformId', 'PLATFORM_ID');
  return out;
}

/** Debian codenames to release numbers, for images whose os-release has a codename but no VERSION_ID (testing). */
/** Debian's codenames and release numbers, as the ecosystem `Debian:<N>` names them (`sid` is itself). */
export const DEBIAN_RELEASES: Record<string, string> = { buster: '10', bullseye: '11', bookworm: '12', trixie: '13', forky: '14', sid: 'sid' };

export interface Distro {
  /** os-release ID: `debian`, `ubuntu`, `alpine`, `rhel`, `centos`, `rocky`, ... */
  id: string;
  /** The release as advisories name it: `12`, `22.04`, `v3.19`, `9`. */
  release?: string;
  /** OSV ecosystem, e.g. `Debian:12`, or undefined when the distribution has none the scanner knows. */
  ecosystem?: string;
  /** The purl namespace of its packages (`debian`, `alpine`, `redhat`, ...). */
  namespace: string;
  /** The purl `distro` qualifier (`debian-12`, `alpine-3.19.1`, `rhel-9.4`). */
  purlDistro?: string;
}

const RPM_DISTROS: Record<string, { ecosystem: string; namespace: string }> = {
  rhel: { ecosystem: 'Red Hat', namespace: 'redhat' },
  centos: { ecosystem: 'Red Hat', namespace: 'centos' },
  rocky: { ecosystem: 'Rocky Linux', namespace: 'rocky' },
  almalinux: { ecosystem: 'AlmaLinux', namespace: 'almalinux' },
  fedora: { ecosystem: 'Fedora', namespace: 'fedora' },
  ol: { ecosystem: 'Oracle Linux', namespace: 'oracle' },
  amzn: { ecosystem: 'Amazon Linux', namespace: 'amazon' },
  sles: { ecosystem: 'SUSE', namespace: 'suse' },
  'opensuse-leap': { ecosystem: 'openSUSE', namespace: 'opensuse' },
  'opensuse-tumbleweed': { ecosystem: 'openSUSE', namespace: 'opensuse' },
  photon: { ecosystem: 'Photon OS', namespace: 'photon' },
  azurelinux: { ecosystem: 'Azure Linux', namespace: 'azurelinux' },
  mariner: { ecosystem: 'Azure Linux', namespace: 'mariner' },
};

/** The distribution an os-release describes. */
export function distroOf(os: OsRelease): Distro {
  const v = os.versionId;
  const major = v?.split('.')[0];
  const d: Distro = { id: os.id, namespace: os.id };
  if (v) d.purlDistro = `${os.id}-${v}`;
  switch (os.id) {
    case 'debian': {
      const rel = major ?? (os.versionCodename ? DEBIAN_RELEASES[os.versionCodename] ?? os.versionCodename : undefined);
      if (rel) {
        d.release = rel;
        d.ecosystem = `Debian:${rel}`;
        d.purlDistro = `debian-${rel}`;
      } else d.ecosystem = 'Debian';
      return d;
    }
    case 'ubuntu':
      if (v) {
        d.release = v;
        d.ecosystem = `Ubuntu:${v}`;
      } else d.ecosystem = 'Ubuntu';
      return d;
    case 'alpine':
    case 'wolfi':
    case 'chainguard': {
      if (os.id !== 'alpine') {
        d.ecosystem = os.id === 'wolfi' ? 'Wolfi' : 'Chainguard';
        return d;
      }
      const mm = v?.split('.').slice(0, 2).join('.');
      if (mm) {
        d.release = `v${mm}`;
        d.ecosystem = `Alpine:v${mm}`;
      } else d.ecosystem = 'Alpine';
      return d;
    }
    default: {
      const rpm = RPM_DISTROS[os.id] ?? (os.idLike.includes('rhel') || os.idLike.includes('fedora') ? RPM_DISTROS.rhel : undefined);
      if (!rpm) return d;
      d.namespace = rpm.namespace;
      if (major) d.release = major;
      d.ecosystem = rpm.ecosystem === 'Red Hat' ? 'Red Hat' : major ? `${rpm.ecosystem}:${major}` : rpm.ecosystem;
      return d;
    }
  }
}
