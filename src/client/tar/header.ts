/**
 * ustar headers, with pax extended headers for what ustar cannot hold (long names, huge sizes). That is
 * all OCI and Docker archives need. https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06
 */
import { ClientError } from '../errors.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarHeader {
  name: string;
  size: number;
  type: EntryType;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  linkname?: string;
  /**
   * Pax records of the entry other than those folded into the fields above (e.g. `SCHILY.xattr.security.capability`,
   * which preflight's HasModifiedFiles looks at). Read only; the writer does not emit them.
   */
  pax?: ReadonlyMap<string, string>;
}

const TYPE_FLAGS: Record<EntryType, string> = { file: '0', directory: '5', symlink: '2', hardlink: '1', other: '0' };

// --- encoding ------------------------------------------------------------------------------------------

function writeString(block: Buffer, s: string, offset: number, length: number): void {
  block.write(s, offset, length, 'utf8');
}

/** Octal, zero-padded to `length - 1` digits and NUL-terminated, as Go's archive/tar writes USTAR numbers. */
function writeOctal(block: Buffer, n: number, offset: number, length: number): void {
  writeString(block, `${n.toString(8).padStart(length - 1, '0')}\0`, offset, length);
}

function fitsOctal(n: number, length: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 8 ** (length - 1);
}

function ustarBlock(h: TarHeader, name: string, prefix: string, typeFlag: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, name, 0, 100);
  writeOctal(block, h.mode & 0o7777, 100, 8);
  writeOctal(block, h.uid, 108, 8);
  writeOctal(block, h.gid, 116, 8);
  writeOctal(block, size, 124, 12);
  writeOctal(block, Math.max(0, Math.floor(h.mtime)), 136, 12);
  block.fill(0x20, 148, 156);
  writeString(block, typeFlag, 156, 1);
  if (h.linkname && Buffer.byteLength(h.linkname) <= 100) writeString(block, h.linkname, 157, 100);
  writeString(block, 'ustar\x0000', 257, 8);
  writeString(block, h.uname ?? '', 265, 32);
  writeString(block, h.gname ?? '', 297, 32);
  writeOctal(block, 0, 329, 8);
  writeOctal(block, 0, 337, 8);
  writeString(block, prefix, 345, 155);
  let sum = 0;
  for (const b of block) sum += b;
  // Six octal digits, NUL, space: the checksum form Go and GNU tar write.
  writeString(block, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** Splits a long path into ustar prefix (≤155 bytes) and name (≤100 bytes), or undefined if it cannot. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  // The length prefix counts its own digits.
  let total = len + String(len).length;
  if (String(total).length !== String(len).length) total = len + String(total).length;
  len = total;
  return `${len}${body}`;
}

/** Pads `n` bytes of data to a whole number of blocks. */
export function padding(n: number): Buffer {
  const rest = n % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) for `h`: one ustar block, preceded by a pax header and its data when ustar cannot hold the entry. */
export function encodeHeader(h: TarHeader): Buffer {
  const typeFlag = TYPE_FLAGS[h.type];
  const size = h.type === 'file' ? h.size : 0;
  const split = splitUstarName(h.name);
  const records: string[] = [];
  if (!split || !/^[\x20-\x7e]*$/.test(h.name)) records.push(paxRecord('path', h.name));
  if (h.linkname !== undefined && (Buffer.byteLength(h.linkname) > 100 || !/^[\x20-\x7e]*$/.test(h.linkname))) records.push(paxRecord('linkpath', h.linkname));
  if (!fitsOctal(size, 12)) records.push(paxRecord('size', String(size)));
  const ustarName = split && records.length === 0 ? split : { prefix: '', name: h.name.slice(-100).replace(/[^\x20-\x7e]/g, '_') };
  const main = ustarBlock(h, ustarName.name, ustarName.prefix, typeFlag, fitsOctal(size, 12) ? size : 0);
  if (records.length === 0) return main;
  const data = Buffer.from(records.join(''));
  const base = h.name.split('/').filter(Boolean).pop() ?? 'entry';
  const paxHeader = ustarBlock({ ...h, type: 'file', linkname: undefined }, `PaxHeaders.0/${base}`.slice(0, 100), '', 'x', data.length);
  return Buffer.concat([paxHeader, data, padding(data.length), main]);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

// --- decoding ------------------------------------------------------------------------------------------

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number, where: string): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the top bit as a marker.
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const s = readString(block, offset, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new ClientError('ARCHIVE_INVALID', `${where}: bad tar number ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/** What a raw header block says, before pax / GNU long-name records are applied. */
export interface RawHeader extends TarHeader {
  /** The raw type flag ('x', 'g', 'L', 'K', '0', ...). */
  flag: string;
}

/** Decodes one header block; undefined for a zero block (end of archive). Throws `ARCHIVE_INVALID` on a bad checksum. */
export function decodeHeader(block: Buffer, where: string): RawHeader | undefined {
  if (block.every((b) => b === 0)) return undefined;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  const stored = readNumber(block, 148, 8, where);
  if (stored !== sum) throw new ClientError('ARCHIVE_INVALID', `${where}: tar header checksum mismatch (not a tar archive?)`);
  const flag = String.fromCharCode(block[156] ?? 0x30);
  const magic = readString(block, 257, 6);
  const prefix = magic.startsWith('ustar') ? readString(block, 345, 155) : '';
  const name = readString(block, 0, 100);
  const type: EntryType =
    flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : 'other';
  const h: RawHeader = {
    flag,
    name: prefix ? `${prefix}/${name}` : name,
    size: readNumber(block, 124, 12, where),
    type,
    mode: readNumber(block, 100, 8, where),
    mtime: readNumber(block, 136, 12, where),
    uid: readNumber(block, 108, 8, where),
    gid: readNumber(block, 116, 8, where),
  };
  const linkname = readString(block, 157, 100);
  if (linkname) h.linkname = linkname;
  const uname = readString(block, 265, 32);
  if (uname) h.uname = uname;
  const gname = readString(block, 297, 32);
  if (gname) h.gname = gname;
  return h;
}

/** Parses pax records (`len key=value\n`...). */
export function parsePax(data: Buffer, where: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const len = parseInt(data.subarray(i, space).toString('ascii'), 10);
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > data.length) throw new ClientError('ARCHIVE_INVALID', `${where}: bad pax record`);
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Applies pending pax / GNU long-name overrides to the next real header. */
export function applyOverrides(h: RawHeader, pax: Map<string, string> | undefined, longName: string | undefined, longLink: string | undefined): TarHeader {
  const out: TarHeader = { ...h };
  delete (out as Partial<RawHeader>).flag;
  if (longName !== undefined) out.name = longName;
  if (longLink !== undefined) out.linkname = longLink;
  if (pax) {
    const path = pax.get('path');
    if (path !== undefined) out.name = path;
    const link = pax.get('linkpath');
    if (link !== undefined) out.linkname = link;
    const size = pax.get('size');
    if (size !== undefined && /^\d+$/.test(size)) out.size = Number(size);
    const rest = new Map([...pax].filter(([k]) => k !== 'path' && k !== 'linkpath' && k !== 'size'));
    if (rest.size > 0) out.pax = rest;
  }
  return out;
}

/** `./a//b/` → `a/b`: member names as the archive formats compare them. */
export function cleanName(name: string): string {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts.join('/');
}
