/**
 * HasProhibitedContainerName (openshift-preflight internal/policy/container/has_prohibited_container_name.go):
 * the last component of the repository (`quay.io/ns/<container-name>`) must not break the Red Hat trademark
 * rule. For images on disk the container name comes from naming.ts.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { violatesRedHatTrademark } from '../trademark.js';

export const hasProhibitedContainerName: Check = {
  name: 'HasProhibitedContainerName',
  level: 'good',
  description: 'Checking if the container-name violates Red Hat trademark.',
  help: helpMessage('HasProhibitedContainerName'),
  suggestion: 'Update container-name ie (quay.io/repo-name/container-name) to not violate Red Hat trademark.',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-prohibited-container-name.md',
  async validate(s) {
    const name = s.naming.containerName;
    return violatesRedHatTrademark(name)
      ? verdict(false, `container name ${JSON.stringify(name)} violates the Red Hat trademark`)
      : verdict(true, `container name ${JSON.stringify(name)}`);
  },
};
