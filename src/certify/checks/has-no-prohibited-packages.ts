/**
 * HasNoProhibitedPackages (openshift-preflight internal/policy/container/has_prohibited_packages.go): no
 * package in the image's RPM database (the first of /usr/lib/sysimage/rpm/rpmdb.sqlite,
 * /var/lib/rpm/rpmdb.sqlite, /var/lib/rpm/Packages) may be named exactly one of PROHIBITED_PACKAGES or start
 * with `kpatch`. No RPM database is an error, not a failure.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { CertifyError } from '../errors.js';

export const PROHIBITED_PACKAGES: ReadonlySet<string> = new Set([
  'grub',
  'grub2',
  'kernel',
  'kernel-core',
  'kernel-debug',
  'kernel-debug-core',
  'kernel-debug-modules',
  'kernel-debug-modules-extra',
  'kernel-debug-devel',
  'kernel-devel',
  'kernel-doc',
  'kernel-modules',
  'kernel-modules-extra',
  'kernel-tools',
  'kernel-tools-libs',
  'kmod-kvdo',
  'linux-firmware',
]);
export const PROHIBITED_PREFIXES = ['kpatch'] as const;

export function isProhibitedPackage(name: string): boolean {
  return PROHIBITED_PACKAGES.has(name) || PROHIBITED_PREFIXES.some((p) => name.startsWith(p));
}

export const hasNoProhibitedPackages: Check = {
  name: 'HasNoProhibitedPackages',
  level: 'best',
  description: 'Checks to ensure that the image in use does not include prohibited packages, such as Red Hat Enterprise Linux (RHEL) kernel packages.',
  help: helpMessage('HasNoProhibitedPackages'),
  suggestion: 'Remove any RHEL packages that are not distributable outside of UBI',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-no-prohibited-packages.md',
  async validate(s) {
    const db = await s.rpmDatabase();
    if (!db) throw new CertifyError('RPMDB_MISSING', 'unable to get a list of all packages in the image: could not get rpm list: no RPM database at /usr/lib/sysimage/rpm/rpmdb.sqlite, /var/lib/rpm/rpmdb.sqlite or /var/lib/rpm/Packages');
    const bad = db.packages.filter((p) => isProhibitedPackage(p.name)).map((p) => p.name);
    return bad.length === 0
      ? verdict(true, `${db.packages.length} packages in ${db.path}, none prohibited`)
      : verdict(false, `prohibited packages in ${db.path}: ${[...new Set(bad)].join(', ')}`);
  },
};
