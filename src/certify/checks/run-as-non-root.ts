/**
 * RunAsNonRoot (openshift-preflight internal/policy/container/runs_as_nonroot.go): `config.User` must be set
 * and must not be exactly `0` or `root`. The compare is exact, as preflight's: `0:0`, `root:root` and ` 0` pass.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';

export const runAsNonRoot: Check = {
  name: 'RunAsNonRoot',
  level: 'best',
  description:
    'Checking if container runs as the root user because a container that does not specify a non-root user will fail the automatic certification, and will be subject to a manual review before the container can be approved for publication',
  help: helpMessage('RunAsNonRoot'),
  suggestion: 'Indicate a specific USER in the dockerfile or containerfile',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/run-as-non-root.md',
  async validate(s) {
    const user = await s.user();
    if (user === '') return verdict(false, 'no USER is set: the container runs as root');
    if (user === '0' || user === 'root') return verdict(false, `USER ${user} is root`);
    return verdict(true, `USER ${user}`);
  },
};
