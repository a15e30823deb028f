/**
 * Alpine apk version comparison (apk-tools `src/version.c`, as knqyf263/go-apk-version ports it; see
 * shared/reference/tooling.md §5.5).
 *
 * A version is a token stream: digits separated by `.`, an optional lowercase letter after digits
 * (`1.2a > 1.2`), suffixes `_alpha < _beta < _pre < _rc < _b` (pre-releases, below the plain version) and
 * `_cvs < _svn < _git < _hg < _p` (above it), each with optional digits, then `-r<N>`. A `.` component that
 * starts with `0` compares as a fraction (its leading zeros weigh negative). When every token so far is
 * equal, the longer version wins unless it continues with a pre-release suffix.
 *
 * Numbers compare by value at any length (apk-tools' C `int` would overflow on very long digit runs). One
 * deliberate difference: after a zero component (`1.0`) a suffix or letter is read as such, so `1.0_rc1 < 1.0`
 * like `1.2_rc1 < 1.2` (apk-tools 2.x reads the suffix as an empty digit run and ranks `1.0_rc1` above `1.0`).
 */

const enum Token {
  Invalid = -1,
  DigitOrZero = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  RevisionNo = 5,
  End = 6,
}

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc', 'b'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

/** A token value: bigint so that long digit runs (dates, hashes) compare by value. */
type Value = bigint;

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  get done() {
    return this.pos >= this.s.length;
  }

  /** Classifies the separator at the cursor (consuming it) and checks the token order is allowed. */
  next(type: Token): Token {
    let n: Token = Token.Invalid;
    const c = this.s[this.pos];
    if (c === undefined) n = Token.End;
    else if ((type === Token.Digit || type === Token.DigitOrZero) && isLower(c)) n = Token.Letter;
    else if (type === Token.Letter && isDigit(c)) n = Token.Digit;
    else if (type === Token.Suffix && isDigit(c)) n = Token.SuffixNo;
    else {
      if (c === '.') n = Token.DigitOrZero;
      else if (c === '_') n = Token.Suffix;
      else if (c === '-') {
        if (this.s[this.pos + 1] === 'r') {
          n = Token.RevisionNo;
          this.pos++;
        }
      }
      this.pos++;
    }
    if (n < type) {
      const allowed = (n === Token.DigitOrZero && type === Token.Digit) || (n === Token.Suffix && type === Token.SuffixNo) || (n === Token.Digit && type === Token.Letter);
      if (!allowed) n = Token.Invalid;
    }
    return n;
  }

  /** Reads the token of `type` at the cursor: its value and the type of the token after it. */
  get(type: Token): { value: Value; type: Token } {
    if (this.done) return { value: 0n, type: Token.End };
    let value: Value = 0n;
    let nt: Token = Token.Invalid;
    const s = this.s;
    switch (type) {
      case Token.DigitOrZero:
      case Token.Digit:
      case Token.SuffixNo:
      case Token.RevisionNo: {
        if (type === Token.DigitOrZero && s[this.pos] === '0') {
          // Leading zeros: 1.02 < 1.1 but 1.02 > 1.0: compare as a fraction, each zero weighs -1.
          let zeros = 0;
          while (s[this.pos] === '0') {
            zeros++;
            this.pos++;
          }
          value = BigInt(-zeros);
          // Digits after the zeros are the next token. apk-tools also forces that next token to be a digit
          // run when none follows, which makes `1.0_rc1` newer than `1.0`; the separator decides here instead.
          if (isDigit(s[this.pos])) nt = Token.Digit;
          else if (!this.done) return { value, type: this.next(Token.Digit) };
          break;
        }
        const start = this.pos;
        while (isDigit(s[this.pos])) this.pos++;
        value = start === this.pos ? 0n : BigInt(s.slice(start, this.pos));
        break;
      }
      case Token.Letter:
        value = BigInt(s.charCodeAt(this.pos));
        this.pos++;
        break;
      case Token.Suffix: {
        const pre = PRE_SUFFIXES.findIndex((p) => s.startsWith(p, this.pos));
        if (pre !== -1) {
          value = BigInt(pre - PRE_SUFFIXES.length);
          this.pos += PRE_SUFFIXES[pre]!.length;
          break;
        }
        const post = POST_SUFFIXES.findIndex((p) => s.startsWith(p, this.pos));
        if (post !== -1) {
          value = BigInt(post);
          this.pos += POST_SUFFIXES[post]!.length;
          break;
        }
        return { value: -1n, type: Token.Invalid };
      }
      default:
        return { value: -1n, type: Token.Invalid };
    }
    if (this.done) return { value, type: Token.End };
    if (nt !== Token.Invalid) return { value, type: nt };
    return { value, type: this.next(type) };
  }
}

/** True when the whole string follows apk's version grammar. */
export function isValidApkVersion(v: string): boolean {
  const c = new Cursor(v);
  let t: Token = Token.Digit;
  while (t !== Token.End && t !== Token.Invalid) t = c.get(t).type;
  return t === Token.End && v.length > 0;
}

/** Compares two apk versions: -1, 0 or 1. Invalid versions still sort (as apk does), token by token. */
export function compareApkVersions(a: string, b: string): -1 | 0 | 1 {
  const ca = new Cursor(a);
  const cb = new Cursor(b);
  let at: Token = Token.Digit;
  let bt: Token = Token.Digit;
  let av: Value = 0n;
  let bv: Value = 0n;
  while (at === bt && at !== Token.End && at !== Token.Invalid && av === bv) {
    ({ value: av, type: at } = ca.get(at));
    ({ value: bv, type: bt } = cb.get(bt));
  }
  if (av < bv) return -1;
  if (av > bv) return 1;
  if (at === bt) return 0;
  // Equal so far: the version that goes on is newer, unless what follows is a pre-release suffix.
  if (at === Token.Suffix && ca.get(at).value < 0n) return -1;
  if (bt === Token.Suffix && cb.get(bt).value < 0n) return 1;
  if (at > bt) return -1;
  if (at < bt) return 1;
  return 0;
}
