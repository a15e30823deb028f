/**
 * HasUniqueTag (openshift-preflight internal/policy/container/has_unique_tag.go): the image must have a tag
 * other than `latest`. For a digest reference or the tag `latest` the registry's tag list is read (first
 * page of 10); otherwise the tags are just the one given. PASS iff more than one tag, or exactly one that is
 * not `latest` (compared case-insensitively). A digest reference with an empty tag list is an error: there
 * is no tag to assert. On disk (oci:, dir:, docker-archive:) there is no tag list: the tag the reference
 * names is the only one, and a reference with none is an error too (see naming.ts).
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { CertifyError } from '../errors.js';

export const hasUniqueTag: Check = {
  name: 'HasUniqueTag',
  level: 'best',
  description: "Checking if container has a tag other than 'latest', so that the image can be uniquely identified.",
  help: helpMessage('HasUniqueTag'),
  suggestion: 'Add a tag to your image. Consider using Semantic Versioning. https://semver.org/',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-unique-tag.md',
  async validate(s) {
    const { naming } = s;
    const where = naming.registry ? `${naming.registry}/${naming.repository}` : naming.display;
    const byDigest = naming.digest !== undefined && naming.tag === undefined;
    let tags: string[] = [];
    let from = 'the reference';
    // preflight compares the identifier with "latest" exactly here; the final rule lower-cases.
    if (byDigest || naming.tag === 'latest') {
      const listed = s.listTags();
      if (listed) {
        tags = await listed;
        from = `the registry's tag list (first page): ${tags.length === 0 ? 'empty' : tags.join(', ')}`;
      }
    }
    if (tags.length === 0) {
      if (byDigest) throw new CertifyError('TAG_UNKNOWN', `no tags found for ${where}: cannot assert tag from digest`);
      if (naming.tag === undefined) throw new CertifyError('TAG_UNKNOWN', `${where}: a ${naming.transport}: reference names no tag, so there is no tag to assert`);
      tags = [naming.tag];
    }
    const passed = tags.length > 1 || (tags.length === 1 && tags[0]!.toLowerCase() !== 'latest');
    return verdict(passed, `tags from ${from}: ${tags.join(', ')}`);
  },
};
