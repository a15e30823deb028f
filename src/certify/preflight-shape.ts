/**
 * A validator for preflight's results.json (openshift-preflight internal/formatters/util.go `UserResponse`,
 * tooling.md §4.3): the keys, their order, their types and the omitempty rules. Returns the problems found
 * (empty: the document has preflight's shape). Tests use it on everything `formatJson` prints; tools that
 * read Berth's results can use it to check a file before they trust it.
 */
const TOP = ['image', 'passed', 'certification_hash', 'test_library', 'results'];
const LIBRARY = ['name', 'version', 'commit'];
const RESULTS = ['passed', 'failed', 'errors', 'warning'];
const ENTRY_KEYS: Record<string, string[]> = {
  passed: ['name', 'elapsed_time', 'description'],
  failed: ['name', 'elapsed_time', 'description', 'help', 'suggestion', 'knowledgebase_url', 'check_url'],
  warning: ['name', 'elapsed_time', 'description', 'help', 'suggestion', 'knowledgebase_url', 'check_url'],
  errors: ['name', 'elapsed_time', 'description', 'help'],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys must be a subsequence of `order` (Go writes struct fields in declaration order). */
function checkKeys(where: string, v: Record<string, unknown>, order: string[], required: string[], problems: string[]): void {
  let at = -1;
  for (const k of Object.keys(v)) {
    const i = order.indexOf(k);
    if (i === -1) problems.push(`${where}: unexpected key ${JSON.stringify(k)}`);
    else if (i < at) problems.push(`${where}: key ${JSON.stringify(k)} out of order`);
    else at = i;
  }
  for (const k of required) if (!(k in v)) problems.push(`${where}: missing key ${JSON.stringify(k)}`);
}

export function preflightShapeProblems(doc: unknown): string[] {
  const p: string[] = [];
  if (!isObject(doc)) return ['document: not a JSON object'];
  checkKeys('document', doc, TOP, ['image', 'passed', 'test_library', 'results'], p);
  if (typeof doc['image'] !== 'string') p.push('image: not a string');
  if (typeof doc['passed'] !== 'boolean') p.push('passed: not a boolean');
  if ('certification_hash' in doc && (typeof doc['certification_hash'] !== 'string' || doc['certification_hash'] === '')) p.push('certification_hash: omitempty, so a non-empty string when present');
  const lib = doc['test_library'];
  if (!isObject(lib)) p.push('test_library: not an object');
  else {
    checkKeys('test_library', lib, LIBRARY, LIBRARY, p);
    for (const k of LIBRARY) if (typeof lib[k] !== 'string') p.push(`test_library.${k}: not a string`);
  }
  const res = doc['results'];
  if (!isObject(res)) return [...p, 'results: not an object'];
  checkKeys('results', res, RESULTS, ['passed', 'failed', 'errors'], p);
  for (const list of RESULTS) {
    const entries = res[list];
    if (entries === undefined) continue;
    if (!Array.isArray(entries)) {
      p.push(`results.${list}: not an array`);
      continue;
    }
    if (list === 'warning' && entries.length === 0) p.push('results.warning: omitempty, so absent when empty');
    entries.forEach((e, i) => {
      const where = `results.${list}[${i}]`;
      if (!isObject(e)) return p.push(`${where}: not an object`);
      checkKeys(where, e, ENTRY_KEYS[list]!, ['elapsed_time'], p);
      if (typeof e['elapsed_time'] !== 'number' || !Number.isFinite(e['elapsed_time']) || e['elapsed_time'] < 0) p.push(`${where}.elapsed_time: not a non-negative number`);
      for (const [k, v] of Object.entries(e)) if (k !== 'elapsed_time' && (typeof v !== 'string' || v === '')) p.push(`${where}.${k}: omitempty, so a non-empty string when present`);
      return undefined;
    });
  }
  const failed = Array.isArray(res['failed']) ? res['failed'].length : 0;
  const errors = Array.isArray(res['errors']) ? res['errors'].length : 0;
  if (typeof doc['passed'] === 'boolean' && doc['passed'] !== (failed === 0 && errors === 0)) p.push('passed: must be true exactly when nothing failed and nothing errored');
  return p;
}
