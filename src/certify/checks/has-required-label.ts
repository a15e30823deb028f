/**
 * HasRequiredLabel (openshift-preflight internal/policy/container/has_required_labels.go): the config's
 * labels `name, vendor, version, release, summary, description, maintainer` must each be present and not empty.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';

export const REQUIRED_LABELS = ['name', 'vendor', 'version', 'release', 'summary', 'description', 'maintainer'] as const;

export const hasRequiredLabel: Check = {
  name: 'HasRequiredLabel',
  level: 'good',
  description: 'Checking if the required labels (name, vendor, version, release, summary, description, maintainer) are present in the container metadata',
  help: helpMessage('HasRequiredLabel'),
  suggestion: 'Add the following labels to your Dockerfile or Containerfile: name, vendor, version, release, summary, description, maintainer.',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-required-label.md',
  async validate(s) {
    const labels = await s.labels();
    const missing = REQUIRED_LABELS.filter((l) => (labels[l] ?? '') === '');
    return missing.length === 0 ? verdict(true, 'all required labels are set') : verdict(false, `missing or empty labels: ${missing.join(', ')}`);
  },
};
