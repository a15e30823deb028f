/**
 * HasNoProhibitedLabels (openshift-preflight internal/policy/container/has_prohibited_labels.go): the labels
 * `name`, `vendor` and `maintainer` must not break the Red Hat trademark rule (trademark.ts). A missing label
 * is an empty string, which does not.
 */
import { CERT_DOCUMENTATION_URL, verdict, type Check } from '../check.js';
import { violatesRedHatTrademark } from '../trademark.js';

export const TRADEMARK_LABELS = ['name', 'vendor', 'maintainer'] as const;

export const hasNoProhibitedLabels: Check = {
  name: 'HasNoProhibitedLabels',
  level: 'good',
  description: 'Checking if the labels (name, vendor, maintainer) violate Red Hat trademark.',
  // preflight's text names the Go type here, not the check.
  help: 'Check HasNoProhibitedLabelsCheck encountered an error. Please review the preflight.log file for more information.',
  suggestion: 'Ensure the name, vendor, and maintainer label on your image do not violate the Red Hat trademark.',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-no-prohibited-labels.md',
  async validate(s) {
    const labels = await s.labels();
    const bad = TRADEMARK_LABELS.filter((l) => violatesRedHatTrademark(labels[l] ?? ''));
    return bad.length === 0
      ? verdict(true, 'name, vendor and maintainer respect the Red Hat trademark')
      : verdict(false, ...bad.map((l) => `label ${l}=${JSON.stringify(labels[l])} violates the Red Hat trademark`));
  },
};
