// The three outputs of a certification run: preflight's results.json (shape, key order, omitempty, Go's
// escaping), preflight's JUnit XML, and the text report with its links to the policy guide.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckOutcome, Results } from './engine.js';
import { POLICIES } from './policy.js';
import { preflightShapeProblems } from './preflight-shape.js';
import { formatJson, formatJunit, formatText, goDuration, userResponse } from './report.js';

const library = { name: 'berth certify', version: '9.9.9', commit: 'abc123' };
const [hasLicense, hasUniqueTag, layerCount, prohibitedPackages, requiredLabel] = POLICIES.container;

function outcome(i: number, elapsedMs: number, details: string[] = []): CheckOutcome {
  return { check: POLICIES.container[i]!, index: i, elapsedMs, details };
}

const mixed: Results = {
  image: 'quay.io/example/app:1.0',
  passed: false,
  passedChecks: [outcome(0, 12)],
  failed: [outcome(2, 0, ['41 layers'])],
  errors: [outcome(3, 3, ['no RPM database'])],
  warned: [],
};

describe('results.json', () => {
  it('has preflight shape: keys in Go field order, 4-space indent, omitempty, Go HTML escaping', () => {
    const text = formatJson(mixed, library);
    const doc = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(preflightShapeProblems(doc), []);
    assert.deepEqual(Object.keys(doc), ['image', 'passed', 'test_library', 'results']);
    const results = doc['results'] as Record<string, Array<Record<string, unknown>>>;
    // warning is omitempty and empty here
    assert.deepEqual(Object.keys(results), ['passed', 'failed', 'errors']);
    assert.deepEqual(results['passed']![0], { name: 'HasLicense', elapsed_time: 12, description: hasLicense!.description });
    assert.deepEqual(Object.keys(results['failed']![0]!), ['name', 'elapsed_time', 'description', 'help', 'suggestion', 'knowledgebase_url', 'check_url']);
    assert.deepEqual(results['errors']![0], { name: 'HasNoProhibitedPackages', elapsed_time: 3, description: prohibitedPackages!.description, help: prohibitedPackages!.help });
    // json.MarshalIndent(v, "", "    ") escapes & as \u0026: LayerCountAcceptable's suggestion says "&&".
    assert.match(text, /using \\u0026\\u0026 where possible/);
    assert.match(text, /^\{\n {4}"image": "quay.io\/example\/app:1.0",\n {4}"passed": false,\n/);
    assert.ok(text.endsWith('}\n'));
    assert.equal(results['failed']![0]!['suggestion'], layerCount!.suggestion);
  });

  it('lists warnings only when there are some, and empty lists as []', () => {
    const warnCheck = { ...requiredLabel!, level: 'warn' as const };
    const r: Results = { image: 'x', passed: true, passedChecks: [], failed: [], errors: [], warned: [{ check: warnCheck, index: 4, elapsedMs: 1, details: [] }] };
    const doc = JSON.parse(formatJson(r, library)) as { passed: boolean; results: Record<string, unknown[]> };
    assert.deepEqual(preflightShapeProblems(doc), []);
    assert.deepEqual(doc.results['passed'], []);
    assert.equal(doc.results['warning']!.length, 1);
    assert.equal(doc.passed, true);
  });

  it('the shape validator rejects what preflight would never write', () => {
    const doc = userResponse(mixed, library) as unknown as Record<string, unknown>;
    assert.deepEqual(preflightShapeProblems({ ...doc, passed: true }), ['passed: must be true exactly when nothing failed and nothing errored']);
    const bad = JSON.parse(JSON.stringify(doc)) as { results: { passed: Array<Record<string, unknown>>; warning?: unknown[] } };
    bad.results.passed[0]!['help'] = 'x';
    bad.results.warning = [];
    assert.deepEqual(preflightShapeProblems(bad), ['results.passed[0]: unexpected key "help"', 'results.warning: omitempty, so absent when empty']);
  });

  it('a multi-arch run prints an array of preflight documents', () => {
    const doc = JSON.parse(formatJson([mixed, { ...mixed, image: 'b' }], library)) as unknown[];
    assert.equal(doc.length, 2);
    for (const d of doc) assert.deepEqual(preflightShapeProblems(d), []);
  });
});

describe('JUnit XML', () => {
  it('is preflight’s suite: passed cases carry the description, failures and errors a <failure> with the fix', () => {
    const xml = formatJunit(mixed);
    assert.match(xml, /^<testsuites>\n\t<testsuite tests="3" failures="2" warnings="0" time="0.015000" name="Red Hat Certification">\n/);
    assert.match(xml, /<testcase classname="quay.io\/example\/app:1.0" name="HasLicense" time="0.012000">Checking if terms and conditions/);
    // Errors come before failures, as preflight appends r.Failed to r.Errors.
    assert.ok(xml.indexOf('name="HasNoProhibitedPackages"') < xml.indexOf('name="LayerCountAcceptable"'));
    assert.match(xml, /<testcase classname="[^"]+" name="LayerCountAcceptable" time="0s">\n\t\t\t<failure message="Failed" type="">Check LayerCountAcceptable encountered an error\. [^<]*Suggested Fix: [^<]*using &amp;&amp; where possible\. \(docs\/policy\/layer-count-acceptable\.md\)<\/failure>/);
    assert.ok(xml.endsWith('</testsuites>\n'));
  });

  it('formats durations as Go time.Duration.String()', () => {
    assert.deepEqual([0, 3, 999, 1000, 1500, 61_020, 3_600_000 + 120_001].map(goDuration), ['0s', '3ms', '999ms', '1s', '1.5s', '1m1.02s', '1h2m0.001s']);
  });
});

describe('text report', () => {
  it('lists every check in policy order with its reason, and links failures to the policy guide', () => {
    const text = formatText(mixed, { policy: 'container' });
    const lines = text.split('\n');
    assert.equal(lines[0], 'quay.io/example/app:1.0: FAILED (policy container)');
    assert.match(lines[1]!, /^ {2}PASSED +HasLicense/);
    assert.match(text, /FAILED +LayerCountAcceptable +41 layers\n.*fix: Optimize your Dockerfile.*\n.*see: docs\/policy\/layer-count-acceptable\.md/);
    assert.match(text, /ERROR +HasNoProhibitedPackages +no RPM database\n.*fix: .*\n.*see: docs\/policy\/has-no-prohibited-packages\.md/);
    assert.match(text, /1 passed, 1 failed, 1 errors\n$/);
    assert.ok(!text.includes('has-unique-tag.md'), `${hasUniqueTag!.name} did not run here`);
  });
});
