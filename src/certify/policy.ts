/**
 * The container policies and the checks each runs, in preflight's order (openshift-preflight
 * internal/policy `InitializeContainerChecks`). `root` is the root exception (privileged access documented
 * and declared in the certification project); the `scratch-*` policies are for images built FROM scratch,
 * which have no RPM database and no UBI base.
 */
import type { Check } from './check.js';
import { CertifyError } from './errors.js';
import { basedOnUbi } from './checks/based-on-ubi.js';
import { hasLicense } from './checks/has-license.js';
import { hasModifiedFiles } from './checks/has-modified-files.js';
import { hasNoProhibitedLabels } from './checks/has-no-prohibited-labels.js';
import { hasNoProhibitedPackages } from './checks/has-no-prohibited-packages.js';
import { hasProhibitedContainerName } from './checks/has-prohibited-container-name.js';
import { hasRequiredLabel } from './checks/has-required-label.js';
import { hasUniqueTag } from './checks/has-unique-tag.js';
import { layerCountAcceptable } from './checks/layer-count-acceptable.js';
import { runAsNonRoot } from './checks/run-as-non-root.js';

export const POLICY_NAMES = ['container', 'root', 'scratch-nonroot', 'scratch-root'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const POLICIES: Record<PolicyName, readonly Check[]> = {
  container: [
    hasLicense,
    hasUniqueTag,
    layerCountAcceptable,
    hasNoProhibitedPackages,
    hasRequiredLabel,
    hasNoProhibitedLabels,
    runAsNonRoot,
    hasModifiedFiles,
    basedOnUbi,
    hasProhibitedContainerName,
  ],
  root: [hasLicense, hasUniqueTag, layerCountAcceptable, hasNoProhibitedPackages, hasRequiredLabel, hasNoProhibitedLabels, hasModifiedFiles, basedOnUbi, hasProhibitedContainerName],
  'scratch-nonroot': [hasLicense, hasUniqueTag, layerCountAcceptable, hasRequiredLabel, hasNoProhibitedLabels, runAsNonRoot, hasProhibitedContainerName],
  'scratch-root': [hasLicense, hasUniqueTag, layerCountAcceptable, hasRequiredLabel, hasNoProhibitedLabels, hasProhibitedContainerName],
};

export function parsePolicy(s: string): PolicyName {
  if ((POLICY_NAMES as readonly string[]).includes(s)) return s as PolicyName;
  throw new CertifyError('POLICY_UNKNOWN', `unknown policy ${JSON.stringify(s)} (known: ${POLICY_NAMES.join(', ')})`);
}

export function checksFor(policy: PolicyName): readonly Check[] {
  return POLICIES[policy];
}
