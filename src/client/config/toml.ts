/**
 * The subset of TOML v1.0 that containers configuration files use (registries.conf, registries.conf.d):
 * `# comments`, `key = value` with bare or quoted keys (dotted keys too), `[table]`, `[[array.of.tables]]`
 * (a nested `[[registry.mirror]]` appends to the last `[[registry]]`), basic and literal strings, booleans,
 * integers, and arrays (over several lines, trailing comma allowed). Multi-line strings, floats, dates and
 * inline tables are refused with a clear error rather than misread.
 * https://toml.io/en/v1.0.0
 */

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlError extends Error {
  override name = 'TomlError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses `text`; throws TomlError naming the line for anything outside the subset or malformed. */
export function parseToml(text: string): TomlTable {
  return new Parser(text).document();
}

const BARE_KEY = /[A-Za-z0-9_-]/;

class Parser {
  private i = 0;
  private line = 1;
  private readonly root: TomlTable = Object.create(null) as TomlTable;
  /** Tables created by a header or as a parent of one; a second `[x]` header for the same table is an error. */
  private readonly defined = new Set<TomlTable>();
  /** Arrays created by `[[...]]` headers (a plain `key = [...]` array cannot be extended by a header). */
  private readonly tableArrays = new Set<TomlValue[]>();

  constructor(private readonly s: string) {}

  document(): TomlTable {
    let current = this.root;
    for (;;) {
      this.skipBlankAndComments();
      if (this.i >= this.s.length) return this.root;
      const c = this.s[this.i];
      if (c === '[') {
        current = this.header();
      } else {
        this.keyValue(current);
      }
      this.endOfLine();
    }
  }

  private fail(message: string): never {
    throw new TomlError(message, this.line);
  }

  private skipSpaces(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  private skipComment(): void {
    if (this.s[this.i] === '#') while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
  }

  /** Whitespace, newlines and comments (between statements and inside arrays). */
  private skipBlankAndComments(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      if (this.s[this.i] === '\r' && this.s[this.i + 1] === '\n') this.i++;
      if (this.s[this.i] === '\n') {
        this.i++;
        this.line++;
        continue;
      }
      return;
    }
  }

  private endOfLine(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.i >= this.s.length) return;
    if (this.s[this.i] === '\r' && this.s[this.i + 1] === '\n') this.i++;
    if (this.s[this.i] !== '\n') this.fail(`expected the end of the line, found ${JSON.stringify(this.s[this.i])}`);
    this.i++;
    this.line++;
  }

  private header(): TomlTable {
    const isArray = this.s.startsWith('[[', this.i);
    this.i += isArray ? 2 : 1;
    this.skipSpaces();
    const path = this.keyPath();
    this.skipSpaces();
    const close = isArray ? ']]' : ']';
    if (!this.s.startsWith(close, this.i)) this.fail(`expected ${close} to close the table header`);
    this.i += close.length;

    let t = this.root;
    for (const k of path.slice(0, -1)) t = this.descend(t, k);
    const last = path[path.length - 1]!;
    const existing = t[last];
    if (isArray) {
      const entry = Object.create(null) as TomlTable;
      if (existing === undefined) {
        const arr: TomlValue[] = [entry];
        this.tableArrays.add(arr);
        t[last] = arr;
      } else if (Array.isArray(existing) && this.tableArrays.has(existing)) {
        existing.push(entry);
      } else {
        this.fail(`[[${path.join('.')}]]: ${last} is already defined as something other than an array of tables`);
      }
      this.defined.add(entry);
      return entry;
    }
    if (existing === undefined) {
      const table = Object.create(null) as TomlTable;
      t[last] = table;
      this.defined.add(table);
      return table;
    }
    if (isTable(existing) && !this.defined.has(existing)) {
      this.defined.add(existing);
      return existing;
    }
    this.fail(`[${path.join('.')}] is defined twice`);
  }

  /** The table at key `k` of `t` (creating it), or the last table of an array of tables. */
  private descend(t: TomlTable, k: string): TomlTable {
    const v = t[k];
    if (v === undefined) {
      const created = Object.create(null) as TomlTable;
      t[k] = created;
      return created;
    }
    if (Array.isArray(v)) {
      if (!this.tableArrays.has(v)) this.fail(`${k} is an array, not a table`);
      return v[v.length - 1] as TomlTable;
    }
    if (isTable(v)) return v;
    this.fail(`${k} is a value, not a table`);
  }

  private keyPath(): string[] {
    const path = [this.key()];
    for (;;) {
      this.skipSpaces();
      if (this.s[this.i] !== '.') return path;
      this.i++;
      this.skipSpaces();
      path.push(this.key());
    }
  }

  private key(): string {
    const c = this.s[this.i];
    if (c === '"') return this.basicString();
    if (c === "'") return this.literalString();
    const start = this.i;
    while (this.i < this.s.length && BARE_KEY.test(this.s[this.i]!)) this.i++;
    if (this.i === start) this.fail(`expected a key, found ${JSON.stringify(this.s[this.i] ?? 'end of file')}`);
    return this.s.slice(start, this.i);
  }

  private keyValue(table: TomlTable): void {
    const path = this.keyPath();
    this.skipSpaces();
    if (this.s[this.i] !== '=') this.fail(`expected = after key ${path.join('.')}`);
    this.i++;
    this.skipSpaces();
    const value = this.value();
    let t = table;
    for (const k of path.slice(0, -1)) t = this.descend(t, k);
    const last = path[path.length - 1]!;
    if (last in t) this.fail(`key ${path.join('.')} is defined twice`);
    t[last] = value;
  }

  private value(): TomlValue {
    const c = this.s[this.i];
    if (c === '"') {
      if (this.s.startsWith('"""', this.i)) this.fail('multi-line strings are not supported');
      return this.basicString();
    }
    if (c === "'") {
      if (this.s.startsWith("'''", this.i)) this.fail('multi-line strings are not supported');
      return this.literalString();
    }
    if (c === '[') return this.array();
    if (c === '{') this.fail('inline tables are not supported');
    const m = /^(true|false|[+-]?(?:0|[1-9](?:_?[0-9])*))(?=[\s#,\]]|$)/.exec(this.s.slice(this.i, this.i + 64));
    if (!m) this.fail(`unsupported or malformed value starting ${JSON.stringify(this.s.slice(this.i, this.i + 20))}`);
    this.i += m[1]!.length;
    if (m[1] === 'true') return true;
    if (m[1] === 'false') return false;
    return Number(m[1]!.replace(/_/g, ''));
  }

  private array(): TomlValue[] {
    this.i++;
    const out: TomlValue[] = [];
    for (;;) {
      this.skipBlankAndComments();
      if (this.s[this.i] === ']') {
        this.i++;
        return out;
      }
      if (this.i >= this.s.length) this.fail('unterminated array');
      out.push(this.value());
      this.skipBlankAndComments();
      if (this.i >= this.s.length) this.fail('unterminated array');
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== ']') this.fail(`expected , or ] in array, found ${JSON.stringify(this.s[this.i] ?? 'end of file')}`);
    }
  }

  private literalString(): string {
    const end = this.s.indexOf("'", this.i + 1);
    const nl = this.s.indexOf('\n', this.i + 1);
    if (end === -1 || (nl !== -1 && nl < end)) this.fail('unterminated string');
    const v = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return v;
  }

  private basicString(): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      this.i++;
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      switch (e) {
        case '"':
        case '\\':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 't':
          out += '\t';
          break;
        case 'n':
          out += '\n';
          break;
        case 'f':
          out += '\f';
          break;
        case 'r':
          out += '\r';
          break;
        case 'u':
        case 'U': {
          const len = e === 'u' ? 4 : 8;
          const hex = this.s.slice(this.i, this.i + len);
          if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) this.fail(`invalid \\${e} escape`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`invalid code point \\${e}${hex}`);
          out += String.fromCodePoint(cp);
          this.i += len;
          break;
        }
        default:
          this.fail(`invalid escape \\${e ?? ''}`);
      }
    }
  }
}

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
