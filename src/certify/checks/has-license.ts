/**
 * HasLicense (openshift-preflight internal/policy/container/has_license.go, rules as tooling.md §4.2 gives
 * them): `/licenses` must exist and be a directory (a symbolic link to a directory is followed, inside the
 * image); it is walked recursively (links to directories below it are not descended into, as WalkDir does);
 * every regular file counts, links to regular files count with the target's size; broken links and relative
 * links that climb above the image root (`../../../x`) do not.
 * PASS iff at least one file was found and at least one is not empty. A missing `/licenses` fails; it is
 * not an error.
 */
import { CERT_DOCUMENTATION_URL, helpMessage, verdict, type Check } from '../check.js';
import { cleanPath, resolve, type FileTree } from '../filesystem.js';

export const LICENSE_PATH = '/licenses';

/** Regular files under `dir` (already resolved), with their sizes, links resolved. */
function licenseFiles(tree: FileTree, dir: string): Array<{ path: string; size: number }> {
  const out: Array<{ path: string; size: number }> = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const name of tree.children(d).sort()) {
      const p = cleanPath(`${d}/${name}`);
      const e = tree.lstat(p);
      if (!e) continue;
      if (e.type === 'directory') stack.push(p);
      else if (e.type === 'file') out.push({ path: p, size: e.size });
      else if (e.type === 'symlink' || e.type === 'hardlink') {
        const t = resolve(tree, p, true, true);
        if (t?.type === 'file') out.push({ path: p, size: t.size });
      }
    }
  }
  return out;
}

export const hasLicense: Check = {
  name: 'HasLicense',
  level: 'best',
  description: 'Checking if terms and conditions applicable to the software including open source licensing information are present. The license must be at /licenses',
  help: helpMessage('HasLicense'),
  suggestion: 'Create a directory named /licenses and include all relevant licensing and/or terms and conditions as text file(s) in that directory.',
  knowledgebaseURL: CERT_DOCUMENTATION_URL,
  checkURL: CERT_DOCUMENTATION_URL,
  policyPage: 'docs/policy/has-license.md',
  async validate(s) {
    const tree = await s.tree();
    const dir = resolve(tree, LICENSE_PATH, true, true);
    if (!dir) return verdict(false, `${LICENSE_PATH} does not exist (or is a broken link)`);
    if (dir.type !== 'directory') return verdict(false, `${LICENSE_PATH} is not a directory`);
    const files = licenseFiles(tree, dir.path);
    if (files.length === 0) return verdict(false, `${LICENSE_PATH} holds no files`);
    const nonEmpty = files.filter((f) => f.size > 0);
    if (nonEmpty.length === 0) return verdict(false, `every file in ${LICENSE_PATH} is empty: ${files.map((f) => f.path).join(', ')}`);
    return verdict(true, `${files.length} license file(s): ${files.map((f) => `${f.path} (${f.size} bytes)`).join(', ')}`);
  },
};
