/**
 * The version order of an OSV ecosystem: `Debian:12` and `Ubuntu:22.04:LTS` use dpkg's, `Alpine:v3.19`, Wolfi and
 * Chainguard apk's, and the RPM distributions (`Red Hat:…`, Rocky, Alma, SUSE, …) rpm's.
 */
import { ScanError } from '../errors.js';
import { compareApkVersions } from './apk.js';
import { compareDebVersions } from './dpkg.js';
import { compareRpmVersions } from './rpm.js';

export type VersionScheme = 'rpm' | 'dpkg' | 'apk';
export type Comparator = (a: string, b: string) => -1 | 0 | 1;

const SCHEMES: Record<string, VersionScheme> = {
  Debian: 'dpkg',
  Ubuntu: 'dpkg',
  Alpine: 'apk',
  Wolfi: 'apk',
  Chainguard: 'apk',
  'Alpaquita': 'apk',
  'Red Hat': 'rpm',
  'Rocky Linux': 'rpm',
  AlmaLinux: 'rpm',
  SUSE: 'rpm',
  openSUSE: 'rpm',
  'Photon OS': 'rpm',
  'Azure Linux': 'rpm',
  Mageia: 'rpm',
  openEuler: 'rpm',
  'Oracle Linux': 'rpm',
  'Amazon Linux': 'rpm',
  CentOS: 'rpm',
  Fedora: 'rpm',
};

export const COMPARATORS: Record<VersionScheme, Comparator> = { rpm: compareRpmVersions, dpkg: compareDebVersions, apk: compareApkVersions };

/** `Debian:12` → `Debian`. */
export function ecosystemFamily(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i === -1 ? ecosystem : ecosystem.slice(0, i);
}

/** The version scheme of an OSV ecosystem string, or undefined for one the scanner does not know. */
export function schemeOf(ecosystem: string): VersionScheme | undefined {
  return SCHEMES[ecosystemFamily(ecosystem)];
}

/** The comparator for an ecosystem; `UNSUPPORTED_FORMAT` for an unknown one. */
export function comparatorFor(ecosystem: string): Comparator {
  const s = schemeOf(ecosystem);
  if (!s) throw new ScanError('UNSUPPORTED_FORMAT', `no version order known for ecosystem ${JSON.stringify(ecosystem)}`);
  return COMPARATORS[s];
}
