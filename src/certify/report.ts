import { goJson } from '../content/go-json.js';
/**
 * Results as people and tools read them:
 * - `formatJson`: preflight's results.json (openshift-preflight internal/formatters/util.go `UserResponse`,
 *   `json.MarshalIndent(v, "", "    ")`): `passed` entries carry name, elapsed_time, description; `failed` and
 *   `warning` entries add help, suggestion, knowledgebase_url, check_url; `errors` entries add help only. Empty
 *   strings are omitted (`omitempty`), `warning` is omitted when empty, `certification_hash` is omitted.
 * - `formatJunit`: preflight's JUnit XML (internal/formatters/junitxml.go), byte for byte in layout.
 * - `formatText`: a readable report that says why each check decided and links our policy guide.
 */
import { inRunOrder, type CheckOutcome, type Results } from './engine.js';

export interface TestLibrary {
  name: string;
  version: string;
  commit: string;
}

export interface CheckExecutionInfo {
  name?: string;
  elapsed_time: number;
  description?: string;
  help?: string;
  suggestion?: string;
  knowledgebase_url?: string;
  check_url?: string;
}

export interface UserResponse {
  image: string;
  passed: boolean;
  certification_hash?: string;
  test_library: TestLibrary;
  results: {
    passed: CheckExecutionInfo[];
    failed: CheckExecutionInfo[];
    errors: CheckExecutionInfo[];
    warning?: CheckExecutionInfo[];
  };
}

/** Go's `omitempty` for strings: the key is left out when the value is empty. */
function info(o: CheckOutcome, fields: { help?: boolean; fix?: boolean }): CheckExecutionInfo {
  const c = o.check;
  // Key order is Go's field order: name, elapsed_time, description, help, suggestion, knowledgebase_url, check_url.
  const out: CheckExecutionInfo = c.name ? { name: c.name, elapsed_time: o.elapsedMs } : { elapsed_time: o.elapsedMs };
  if (c.description) out.description = c.description;
  if (fields.help && c.help) out.help = c.help;
  if (fields.fix && c.suggestion) out.suggestion = c.suggestion;
  if (fields.fix && c.knowledgebaseURL) out.knowledgebase_url = c.knowledgebaseURL;
  if (fields.fix && c.checkURL) out.check_url = c.checkURL;
  return out;
}

/** The results.json object, keys in preflight's order. */
export function userResponse(r: Results, library: TestLibrary): UserResponse {
  const results: UserResponse['results'] = {
    passed: r.passedChecks.map((o) => info(o, {})),
    failed: r.failed.map((o) => info(o, { help: true, fix: true })),
    errors: r.errors.map((o) => info(o, { help: true })),
  };
  if (r.warned.length > 0) results.warning = r.warned.map((o) => info(o, { help: true, fix: true }));
  return { image: r.image, passed: r.passed, test_library: { name: library.name, version: library.version, commit: library.commit }, results };
}

/** Go's `json.MarshalIndent(v, "", "    ")`, as preflight writes results.json. */
export function goMarshalIndent(value: unknown): string {
  return goJson(value, 4);
}

/** results.json text for one platform, or an array of them (one per platform) for a multi-arch run. */
export function formatJson(results: Results | Results[], library: TestLibrary): string {
  const v = Array.isArray(results) ? results.map((r) => userResponse(r, library)) : userResponse(results, library);
  return `${goMarshalIndent(v)}\n`;
}

// --- JUnit ------------------------------------------------------------------------------------------------

/** Go encoding/xml EscapeText, used for attribute values and character data alike. */
function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\t\n\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' })[c]!);
}

/** Go `fmt.Sprintf("%f", d.Seconds())`. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}

/** Go's `time.Duration.String()` for a whole number of milliseconds: `0s`, `12ms`, `1.5s`, `2m3.004s`. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const secs = `${Math.floor(s)}${ms % 1000 ? `.${String(ms % 1000).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
  return h > 0 ? `${h}h${m}m${secs}` : m > 0 ? `${m}m${secs}` : secs;
}

/**
 * preflight's JUnit XML: one suite "Red Hat Certification"; passed cases carry the description as text,
 * failed and errored cases a `<failure message="Failed">`, warned ones a `<warning message="Warn">`, each with
 * "<help>: Suggested Fix: <suggestion>". Berth appends the policy guide page to that text.
 */
export function formatJunit(results: Results | Results[]): string {
  const all = Array.isArray(results) ? results : [results];
  const suites: string[] = [];
  for (const r of all) {
    const cases: string[] = [];
    let total = 0;
    for (const o of r.passedChecks) {
      cases.push(`\t\t<testcase classname="${xmlEscape(r.image)}" name="${xmlEscape(o.check.name)}" time="${seconds(o.elapsedMs)}">${xmlEscape(o.check.description)}</testcase>`);
      total += o.elapsedMs;
    }
    const withFix = (o: CheckOutcome, tag: 'failure' | 'warning', message: string) => {
      const text = `${o.check.help}: Suggested Fix: ${o.check.suggestion} (${o.check.policyPage})`;
      cases.push(
        `\t\t<testcase classname="${xmlEscape(r.image)}" name="${xmlEscape(o.check.name)}" time="${goDuration(o.elapsedMs)}">\n\t\t\t<${tag} message="${message}" type="">${xmlEscape(text)}</${tag}>\n\t\t</testcase>`,
      );
      total += o.elapsedMs;
    };
    for (const o of [...r.errors, ...r.failed]) withFix(o, 'failure', 'Failed');
    for (const o of r.warned) withFix(o, 'warning', 'Warn');
    const tests = r.errors.length + r.failed.length + r.passedChecks.length + r.warned.length;
    suites.push(
      `\t<testsuite tests="${tests}" failures="${r.errors.length + r.failed.length}" warnings="${r.warned.length}" time="${seconds(total)}" name="Red Hat Certification">\n${cases.join('\n')}\n\t</testsuite>`,
    );
  }
  return `<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}

// --- text -------------------------------------------------------------------------------------------------

/**
 * A report for people: the verdict per check with the reason, and for each failure or error the fix and the
 * policy guide page (`docsBase` + page; default the page path inside the Berth repository).
 */
export function formatText(results: Results | Results[], opts: { policy: string; docsBase?: string; platformOf?: (r: Results) => string | undefined } = { policy: 'container' }): string {
  const all = Array.isArray(results) ? results : [results];
  const lines: string[] = [];
  const base = opts.docsBase ?? '';
  for (const r of all) {
    const platform = opts.platformOf?.(r);
    lines.push(`${r.image}${platform ? ` (${platform})` : ''}: ${r.passed ? 'PASSED' : 'FAILED'} (policy ${opts.policy})`);
    const row = (status: string, o: CheckOutcome) => {
      lines.push(`  ${status.padEnd(7)} ${o.check.name.padEnd(27)} ${o.details[0] ?? ''}`);
      for (const d of o.details.slice(1)) lines.push(`  ${''.padEnd(7)} ${''.padEnd(27)} ${d}`);
      if (status !== 'PASSED') {
        if (o.check.suggestion) lines.push(`  ${''.padEnd(35)} fix: ${o.check.suggestion}`);
        lines.push(`  ${''.padEnd(35)} see: ${base}${o.check.policyPage}`);
      }
    };
    // The order the checks ran in, whatever their outcome.
    for (const [status, o] of inRunOrder(r)) row(status.toUpperCase(), o);
    lines.push(`  ${r.passedChecks.length} passed, ${r.failed.length} failed, ${r.errors.length} errors${r.warned.length ? `, ${r.warned.length} warnings` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
