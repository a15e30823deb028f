/**
 * Semantic versions and constraints as skopeo sync's `images-by-semver` reads them (Masterminds/semver v3,
 * `semver.NewVersion` and `semver.NewConstraint(...).Check`):
 *
 * - versions are lenient: an optional `v`, and the minor and patch may be missing (`v1.2` is 1.2.0);
 *   `-prerelease` and `+metadata` as in semver 2.0 (metadata never counts in comparisons);
 * - constraints: `=`, `!=`, `>`, `<`, `>=` (`=>`), `<=` (`=<`), `~` (`~>`), `^`, wildcards `x`, `X`, `*`,
 *   hyphen ranges `1.2 - 1.4.5`, AND with commas or spaces, OR with `||`;
 * - a prerelease version matches only a constraint that itself names a prerelease (so `>= 1.0` skips
 *   `1.5.0-rc.1`), except for exact `=` and `!=` comparisons.
 *
 * @example
 * parseConstraint('>= 1.2, < 2').check(parseVersion('v1.9.3')!) // true
 */
import { ClientError } from './errors.js';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  original: string;
}

const VERSION_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** The version a tag names, or undefined when it is not one (such tags are skipped, as skopeo skips them). */
export function parseVersion(s: string): Version | undefined {
  const m = VERSION_RE.exec(s);
  if (!m) return undefined;
  const num = (x: string | undefined) => (x === undefined ? 0 : Number(x));
  const [major, minor, patch] = [num(m[1]), num(m[2]), num(m[3])];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split('.') : [];
  // semver 2.0: numeric prerelease identifiers have no leading zeros.
  if (prerelease.some((p) => /^0\d+$/.test(p))) return undefined;
  return { major, minor, patch, prerelease, original: s };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** semver 2.0 precedence: -1, 0 or 1. */
export function compareVersions(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return Math.sign(a[k] - b[k]);
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    if (i >= a.prerelease.length) return -1;
    if (i >= b.prerelease.length) return 1;
    const c = compareIdentifiers(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** One comparison, with how many of the version's parts were given (a wildcard or a missing part ends them). */
interface Term {
  op: string;
  v: Version;
  /** 1: major only (`1`, `1.x`); 2: major.minor; 3: all three. 0: `*`. */
  given: number;
}

export interface Constraint {
  check(v: Version): boolean;
  readonly original: string;
}

const TERM_RE = /^(!=|>=|=>|<=|=<|~>|[=><~^])?\s*(v?(?:\d+|[xX*])(?:\.(?:\d+|[xX*]))?(?:\.(?:\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

function parseTerm(text: string, whole: string): Term {
  const m = TERM_RE.exec(text);
  if (!m) throw new ClientError('CONFIG_INVALID', `improper constraint: ${whole} (at ${JSON.stringify(text)})`);
  const op = { '=>': '>=', '=<': '<=', '~>': '~' }[m[1] ?? ''] ?? m[1] ?? '=';
  const raw = m[2]!.replace(/^v/, '');
  const core = raw.split(/[-+]/)[0]!.split('.');
  let given = 0;
  for (const p of core) {
    if (/^[xX*]$/.test(p)) break;
    given++;
  }
  const numbers = core.map((p) => (/^\d+$/.test(p) ? p : '0'));
  const rest = raw.slice(core.join('.').length);
  const v = parseVersion(`${numbers.join('.')}${given === core.length ? rest : ''}`);
  if (!v) throw new ClientError('CONFIG_INVALID', `improper constraint: ${whole} (at ${JSON.stringify(text)})`);
  return { op, v, given };
}

const cmp = compareVersions;
const at = (major: number, minor = 0, patch = 0): Version => ({ major, minor, patch, prerelease: [], original: '' });

/** The first version past the wildcard range of `t` (`1.2.x` → 1.3.0, `1.x` → 2.0.0). */
function nextAfter(t: Term): Version {
  return t.given <= 1 ? at(t.v.major + 1) : at(t.v.major, t.v.minor + 1);
}

function checkTerm(t: Term, v: Version): boolean {
  const wildcard = t.given < 3;
  if (t.given === 0) return t.op !== '!=' && v.prerelease.length === 0;
  // A prerelease only matches a constraint that names one (Masterminds v3), exact comparisons aside.
  if (v.prerelease.length > 0 && t.v.prerelease.length === 0 && !(t.op === '!=' && !wildcard) && !(t.op === '=' && !wildcard)) return false;
  switch (t.op) {
    case '=':
      return wildcard ? cmp(v, t.v) >= 0 && cmp(v, nextAfter(t)) < 0 : cmp(v, t.v) === 0;
    case '!=':
      return wildcard ? !(cmp(v, t.v) >= 0 && cmp(v, nextAfter(t)) < 0) : cmp(v, t.v) !== 0;
    case '>':
      return wildcard ? cmp(v, nextAfter(t)) >= 0 : cmp(v, t.v) > 0;
    case '>=':
      return cmp(v, t.v) >= 0;
    case '<':
      return cmp(v, t.v) < 0;
    case '<=':
      return wildcard ? cmp(v, nextAfter(t)) < 0 : cmp(v, t.v) <= 0;
    case '~':
      // ~1.2.3 and ~1.2: >= and < next minor; ~1: < next major.
      return cmp(v, t.v) >= 0 && cmp(v, t.given === 1 ? at(t.v.major + 1) : at(t.v.major, t.v.minor + 1)) < 0;
    case '^': {
      if (cmp(v, t.v) < 0) return false;
      if (t.v.major > 0 || t.given === 1) return cmp(v, at(t.v.major + 1)) < 0;
      if (t.v.minor > 0 || t.given === 2) return cmp(v, at(0, t.v.minor + 1)) < 0;
      return cmp(v, at(0, 0, t.v.patch + 1)) < 0;
    }
    default:
      return false;
  }
}

/** Parses a constraint; `CONFIG_INVALID` names the part that is wrong. */
export function parseConstraint(s: string): Constraint {
  const groups = s.split('||').map((g) => {
    // Hyphen ranges become two terms; commas and spaces between terms mean AND.
    const text = g.trim().replace(/(\S+)\s+-\s+(\S+)/g, '>= $1, <= $2');
    const parts = text
      .replace(/(!=|>=|=>|<=|=<|~>|[=><~^])\s+/g, '$1')
      .split(/[\s,]+/)
      .filter(Boolean);
    if (parts.length === 0) throw new ClientError('CONFIG_INVALID', `improper constraint: ${JSON.stringify(s)}`);
    return parts.map((p) => parseTerm(p, JSON.stringify(s)));
  });
  return { original: s, check: (v) => groups.some((terms) => terms.every((t) => checkTerm(t, v))) };
}
