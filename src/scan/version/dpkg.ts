/**
 * Debian version comparison as dpkg's `lib/dpkg/version.c` (`verrevcmp`, `dpkg_version_compare`) and parsing
 * as `lib/dpkg/parsehelp.c` `parseversion` (Debian Policy §5.6.12; shared/reference/tooling.md §5.5).
 *
 * `[epoch:]upstream[-revision]`: the epoch is a number before the first `:`, the revision what follows the
 * last `-`. Parts compare by alternating non-digit runs (`~` < end < letters < everything else) and digit
 * runs (by value, any length). So `1.0~rc1 < 1.0 < 1.0+b1 < 1.0.1`.
 */
import { ScanError } from '../errors.js';

export interface DebVersion {
  epoch: number;
  upstream: string;
  /** '' when the version has no `-`. */
  revision: string;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function order(c: number): number {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1;
  if (c) return c + 256;
  return 0;
}

function verrevcmp(a: string, b: string): number {
  // Bytes as dpkg sees them: each character's low byte (latin1), 0 past the end. No buffers: matching compares
  // millions of versions in a re-grade.
  const la = a.length;
  const lb = b.length;
  const at = (s: string, len: number, i: number) => (i < len ? s.charCodeAt(i) & 0xff : 0);
  let i = 0;
  let j = 0;
  while (at(a, la, i) || at(b, lb, j)) {
    let firstDiff = 0;
    while ((at(a, la, i) && !isDigit(at(a, la, i))) || (at(b, lb, j) && !isDigit(at(b, lb, j)))) {
      const ac = order(at(a, la, i));
      const bc = order(at(b, lb, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, la, i) === 0x30) i++;
    while (at(b, lb, j) === 0x30) j++;
    while (isDigit(at(a, la, i)) && isDigit(at(b, lb, j))) {
      if (!firstDiff) firstDiff = at(a, la, i) - at(b, lb, j);
      i++;
      j++;
    }
    if (isDigit(at(a, la, i))) return 1;
    if (isDigit(at(b, lb, j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

const INT_MAX = 2147483647;

/**
 * Parses a Debian version. Throws `VERSION_INVALID` where dpkg refuses the string (empty, embedded blanks,
 * bad epoch, empty upstream or revision); accepts what dpkg only warns about (an upstream that does not start
 * with a digit, unusual characters), as `dpkg --compare-versions` does.
 */
export function parseDebVersion(input: string): DebVersion {
  const s = input.trim();
  if (s === '') throw new ScanError('VERSION_INVALID', 'version string is empty');
  if (/\s/.test(s)) throw new ScanError('VERSION_INVALID', `version ${JSON.stringify(input)} has embedded spaces`);
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon !== -1) {
    const e = s.slice(0, colon);
    if (e === '') throw new ScanError('VERSION_INVALID', `epoch in version ${JSON.stringify(input)} is empty`);
    if (!/^\d+$/.test(e)) throw new ScanError('VERSION_INVALID', `epoch in version ${JSON.stringify(input)} is not number`);
    const n = Number(e);
    if (n > INT_MAX) throw new ScanError('VERSION_INVALID', `epoch in version ${JSON.stringify(input)} is too big`);
    epoch = n;
    rest = s.slice(colon + 1);
    if (rest === '') throw new ScanError('VERSION_INVALID', `nothing after colon in version number ${JSON.stringify(input)}`);
  }
  const dash = rest.lastIndexOf('-');
  let upstream = rest;
  let revision = '';
  if (dash !== -1) {
    upstream = rest.slice(0, dash);
    revision = rest.slice(dash + 1);
    if (revision === '') throw new ScanError('VERSION_INVALID', `revision number is empty in ${JSON.stringify(input)}`);
  }
  if (upstream === '') throw new ScanError('VERSION_INVALID', `version number is empty in ${JSON.stringify(input)}`);
  return { epoch, upstream, revision };
}

/** dpkg's comparison of two parsed versions: negative, 0 or positive (normalised to -1/0/1). */
export function compareDebParsed(a: DebVersion, b: DebVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  const rc = verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
  return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}

/** Compares two Debian version strings as `dpkg --compare-versions` does. */
export function compareDebVersions(a: string, b: string): -1 | 0 | 1 {
  return compareDebParsed(parseDebVersion(a), parseDebVersion(b));
}
