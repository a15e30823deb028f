/**
 * Red Hat's package-signing key ids (the 64-bit OpenPGP key id, lower-case hex), for BasedOnUbi's fallback
 * evidence: RPMs in the image signed by Red Hat.
 *
 * Sources:
 * - release key 2 (RHEL 6–10, also Red Hat Hardened Images RPMs) `567E347AD0044ADE55BA8A5F199E2F91FD431D51` and
 *   auxiliary key 3 `7E4624258C406535D56D6F135054E4A45A6340B3`: the RHEL 10 STIG (RHEL-10-001020, `sq inspect
 *   /etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release`).
 * - release key 4 (RHEL 10, OpenPGP v6, ML-DSA-87+Ed448) `FCD355B305707A62DA143AB6E422397E50FE8467A2A95343D246D6276AFEDF8F`:
 *   dnf's import prompt on RHEL 10 ("Importing GPG key 0x05707A62"); a v6 key id is the fingerprint's first 8 bytes.
 * - the other release-signing key ids: Red Hat's insights-core `insights/parsers/installed_rpms.py`
 *   `PRODUCT_SIGNING_KEYS` ("RELEASE PACKAGE SIGNING"), kept in step with https://access.redhat.com/security/team/key/.
 * Beta and development keys are left out: a beta package is not a supported Red Hat base.
 */
export const RED_HAT_RELEASE_KEY_IDS: ReadonlyMap<string, string> = new Map([
  ['199e2f91fd431d51', 'Red Hat, Inc. (release key 2)'],
  ['5054e4a45a6340b3', 'Red Hat, Inc. (auxiliary key 3)'],
  ['fcd355b305707a62', 'Red Hat, Inc. (release key 4)'],
  ['1ac4971355a34a82', 'Red Hat release signing key (insights-core list)'],
  ['e1a4bd708a828aad', 'Red Hat release signing key (insights-core list)'],
  ['f76f66c3d4082792', 'Red Hat release signing key (insights-core list)'],
  ['5326810137017186', 'Red Hat, Inc. (release key) — RHEL 5'],
  ['45689c882fa658e0', 'Red Hat, Inc. (auxiliary key)'],
  ['219180cddb42a60e', 'Red Hat, Inc. (legacy key)'],
  ['7514f77d8366b0d9', 'Red Hat release signing key (insights-core list)'],
  ['08dd962c1c711042', 'Red Hat release signing key (insights-core list)'],
]);

/**
 * The name of `keyId` (16 hex digits, any case; a full fingerprint also matches by either end) in `keys`
 * (default: the Red Hat release keys), or undefined.
 */
export function signingKeyName(keyId: string, keys: ReadonlyMap<string, string> = RED_HAT_RELEASE_KEY_IDS): string | undefined {
  const k = keyId.toLowerCase();
  if (k.length === 16) return keys.get(k);
  // A fingerprint: v4 key ids are its last 8 bytes, v6 key ids its first 8.
  if (k.length >= 40) return keys.get(k.slice(-16)) ?? keys.get(k.slice(0, 16));
  return undefined;
}
