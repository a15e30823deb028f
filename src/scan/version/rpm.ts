/**
 * RPM version comparison, byte for byte as rpm's `rpmvercmp` (rpm-software-management/rpm `rpmio/rpmvercmp.cc`)
 * and `rpmverCmp`/`rpmverParse` (`lib/rpmver.c`), which `rpm.vercmp()` in rpm's Lua uses. See
 * shared/reference/tooling.md §5.5.
 *
 * - Separators (anything not alphanumeric, `~` or `^`) only split segments: `1.0 == 1_0`.
 * - `~` sorts before everything, even the end of the string: `1.0~rc1 < 1.0`.
 * - `^` sorts after the end of the string but before any other segment: `1.0 < 1.0^git1 < 1.0.1`.
 * - A numeric segment beats an alphabetic one; numbers compare by value (any length), letters by ASCII.
 */

export interface Evr {
  /** Missing epoch compares as 0. */
  epoch?: number | string | undefined;
  version: string;
  /** When only one side has a release (even an empty one), that side is newer, as `rpm.vercmp()` answers. */
  release?: string | undefined;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TILDE = 0x7e;
const CARET = 0x5e;

/** `rpmvercmp(a, b)`: -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const s1 = Buffer.from(a, 'utf8');
  const s2 = Buffer.from(b, 'utf8');
  // A C string ends at its first NUL; index past the end reads as 0.
  const at = (s: Buffer, i: number) => (i < s.length ? s[i]! : 0);
  let one = 0;
  let two = 0;
  while (at(s1, one) || at(s2, two)) {
    while (at(s1, one) && !isDigit(at(s1, one)) && !isAlpha(at(s1, one)) && at(s1, one) !== TILDE && at(s1, one) !== CARET) one++;
    while (at(s2, two) && !isDigit(at(s2, two)) && !isAlpha(at(s2, two)) && at(s2, two) !== TILDE && at(s2, two) !== CARET) two++;

    // Tilde sorts before everything else.
    if (at(s1, one) === TILDE || at(s2, two) === TILDE) {
      if (at(s1, one) !== TILDE) return 1;
      if (at(s2, two) !== TILDE) return -1;
      one++;
      two++;
      continue;
    }
    // Caret is like tilde, except that the side whose string ended is the older one.
    if (at(s1, one) === CARET || at(s2, two) === CARET) {
      if (!at(s1, one)) return -1;
      if (!at(s2, two)) return 1;
      if (at(s1, one) !== CARET) return 1;
      if (at(s2, two) !== CARET) return -1;
      one++;
      two++;
      continue;
    }
    if (!(at(s1, one) && at(s2, two))) break;

    let e1 = one;
    let e2 = two;
    const isnum = isDigit(at(s1, e1));
    const kind = isnum ? isDigit : isAlpha;
    while (at(s1, e1) && kind(at(s1, e1))) e1++;
    while (at(s2, e2) && kind(at(s2, e2))) e2++;
    // The other side has no segment of the same kind: numeric segments are newer than alphabetic ones.
    if (two === e2) return isnum ? 1 : -1;
    if (isnum) {
      while (one < e1 && at(s1, one) === 0x30) one++;
      while (two < e2 && at(s2, two) === 0x30) two++;
      if (e1 - one > e2 - two) return 1;
      if (e2 - two > e1 - one) return -1;
    }
    const rc = Buffer.compare(s1.subarray(one, e1), s2.subarray(two, e2));
    if (rc) return rc < 0 ? -1 : 1;
    one = e1;
    two = e2;
  }
  if (!at(s1, one) && !at(s2, two)) return 0;
  return !at(s1, one) ? -1 : 1;
}

/**
 * Splits `[E:]V[-R]` as rpm's `parseEVR`: the epoch is a leading run of digits ended by `:` (an empty one is
 * `0`), the release is what follows the last `-` after it.
 */
export function parseEvr(evr: string): Evr {
  let i = 0;
  while (i < evr.length && isDigit(evr.charCodeAt(i))) i++;
  let epoch: string | undefined;
  let rest = evr;
  if (evr[i] === ':') {
    epoch = evr.slice(0, i) || '0';
    rest = evr.slice(i + 1);
  }
  // rpm looks for the last '-' from the end of the epoch digits, so a ':' inside the epoch part never splits.
  const dash = rest.lastIndexOf('-');
  if (dash === -1) return { epoch, version: rest };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/**
 * Epoch (missing = 0), then version, then release. A release present on one side only makes that side newer
 * (`rpm.vercmp("1.0", "1.0-1")` is -1, as is `rpm.vercmp("1.0", "1.0-~")`); rpm's dependency ranges treat a
 * missing release as a wildcard instead, which never matters here: installed packages and advisories' fixed
 * versions always carry one.
 */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const rc = rpmvercmp(a.epoch === undefined ? '0' : String(a.epoch), b.epoch === undefined ? '0' : String(b.epoch));
  if (rc) return rc;
  const rv = rpmvercmp(a.version, b.version);
  if (rv) return rv;
  if (a.release !== undefined && b.release !== undefined) return rpmvercmp(a.release, b.release);
  if (a.release !== undefined) return 1;
  if (b.release !== undefined) return -1;
  return 0;
}

/** Compares two `[E:]V[-R]` strings as `rpm.vercmp()` does. */
export function compareRpmVersions(a: string, b: string): -1 | 0 | 1 {
  return compareEvr(parseEvr(a), parseEvr(b));
}
