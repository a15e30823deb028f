/**
 * BasedOnUbi (openshift-preflight internal/policy/container/base_on_ubi.go), offline. preflight passes when
 * Red Hat's catalog (Pyxis) knows a certified image on registry.access.redhat.com whose uncompressed top
 * layer is one of this image's diffIDs (the empty layer's diffID left out). Berth decides from, in order:
 *
 * 1. the table of UBI / RHHI top-layer diffIDs (ubi-layers.ts, or the user's file);
 * 2. the final `/etc/os-release` (else `/usr/lib/os-release`) saying `ID="rhel"`;
 * 3. packages in the RPM database signed with a Red Hat release key (redhat-keys.ts).
 *
 * The first that holds decides and the details say which; when none holds the check fails with what was found.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { parseOsRelease } from '../../scan/inventory/os-release.js';
import { signingKeyName } from '../redhat-keys.js';

/** The diffID of an empty tar (two zero blocks), which preflight leaves out of the query. */
export const EMPTY_LAYER_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export const basedOnUbi: Check = {
  name: 'BasedOnUbi',
  level: 'best',
  description: "Checking if the container's base image is based upon the Red Hat Universal Base Image (UBI) or Red Hat Hardened Images (RHHI)",
  help: helpMessage('BasedOnUbi'),
  suggestion: 'Change the FROM directive in your Dockerfile or Containerfile, for the latest list of images and details refer to: https://catalog.redhat.com/software/base-images',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/based-on-ubi.md',
  async validate(s) {
    const ids = (await s.diffIDs()).filter((d) => d !== EMPTY_LAYER_DIFF_ID);
    for (const id of ids) {
      const known = s.baseData.layers.get(id);
      if (known) return verdict(true, `evidence: top-layer diffID — ${id} is the top layer of ${known.image || `a ${known.kind} image`}`);
    }
    const found: string[] = [`no diffID of the image is a known UBI/RHHI top layer (${s.baseData.layers.size} known)`];
    const tree = await s.tree();
    const text = (await tree.readFile('/etc/os-release', 1024 * 1024)) ?? (await tree.readFile('/usr/lib/os-release', 1024 * 1024));
    const id = text ? parseOsRelease(text.toString('utf8')).fields['ID'] : undefined;
    if (id === 'rhel') return verdict(true, 'evidence: os-release — /etc/os-release says ID="rhel"', found[0]!);
    found.push(text ? `os-release ID is ${JSON.stringify(id ?? '')}` : 'no os-release file');
    const db = await s.rpmDatabase();
    if (db) {
      const keys = s.baseData.signingKeys;
      const signed = db.packages.filter((p) => p.signatureKeyId !== undefined && signingKeyName(p.signatureKeyId, keys) !== undefined);
      if (signed.length > 0) {
        const names = [...new Set(signed.map((p) => `${p.signatureKeyId!.toLowerCase()} (${signingKeyName(p.signatureKeyId!, keys)})`))];
        return verdict(true, `evidence: RPM signatures — ${signed.length} of ${db.packages.length} packages in ${db.path} are signed with ${names.join(', ')}`, ...found);
      }
      found.push(`none of the ${db.packages.length} packages in ${db.path} is signed with a Red Hat release key`);
    } else {
      found.push('no RPM database');
    }
    return verdict(false, ...found);
  },
};
