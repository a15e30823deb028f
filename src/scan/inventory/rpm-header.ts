/**
 * The RPM header blob, as the three rpmdb formats store it (shared/reference/tooling.md §5.3; rpm
 * `lib/header.c` `headerImport`): no lead and no `8e ad e8 01` magic, just
 *
 *     int32 il | int32 dl | il × { int32 tag, uint32 type, int32 offset, uint32 count } | dl bytes of data
 *
 * all big-endian. The region tags (61–63) frame the immutable part and are skipped; every other entry is
 * decoded by its type. `rpmPackageFromHeader` turns a header into the package fields the scanner and the
 * certification checks use, file list included.
 */
import { ScanError } from '../errors.js';

export const RPM_TYPE = { NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

export const RPMTAG = {
  HEADERIMAGE: 61,
  HEADERSIGNATURES: 62,
  HEADERIMMUTABLE: 63,
  HEADERI18NTABLE: 100,
  PGP: 259,
  RSAHEADER: 268,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  INSTALLTIME: 1008,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  SOURCERPM: 1044,
  PROVIDENAME: 1047,
  REQUIRENAME: 1049,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTALGO: 5011,
  MODULARITYLABEL: 5096,
} as const;

/** RPMFILE_* flags (rpm `rpmfiles.h`). */
export const RPMFILE = { CONFIG: 1 << 0, DOC: 1 << 1, MISSINGOK: 1 << 3, NOREPLACE: 1 << 4, GHOST: 1 << 6, LICENSE: 1 << 7, README: 1 << 8, ARTIFACT: 1 << 12 } as const;

export type RpmTagValue = string | string[] | number[] | bigint[] | Buffer;

/** A decoded header: tag → value. Numbers are arrays (an INT32 tag with count 1 is a one-element array). */
export type RpmHeader = Map<number, RpmTagValue>;

/** Largest header rpm itself accepts (`headerImport`: `hdrchkData`), 256 MiB. */
const MAX_DATA = 256 * 1024 * 1024;
const MAX_INDEX = 0x10000;
const ALIGN: Record<number, number> = { [RPM_TYPE.INT16]: 2, [RPM_TYPE.INT32]: 4, [RPM_TYPE.INT64]: 8 };

function bad(msg: string): never {
  throw new ScanError('RPM_HEADER_INVALID', `rpm header: ${msg}`);
}

/** Decodes a header blob; `RPM_HEADER_INVALID` for anything that does not fit the layout. */
export function parseRpmHeader(blob: Buffer): RpmHeader {
  if (blob.length < 8) bad(`${blob.length} bytes is too short`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il < 1 || il > MAX_INDEX) bad(`index count ${il} out of range`);
  if (dl > MAX_DATA) bad(`data length ${dl} out of range`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) bad(`needs ${dataStart + dl} bytes, has ${blob.length}`);
  const data = blob.subarray(dataStart, dataStart + dl);
  const out: RpmHeader = new Map();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = blob.readInt32BE(e);
    const type = blob.readUInt32BE(e + 4);
    const offset = blob.readInt32BE(e + 8);
    const count = blob.readUInt32BE(e + 12);
    if (tag >= RPMTAG.HEADERIMAGE && tag <= RPMTAG.HEADERIMMUTABLE) continue;
    if (offset < 0 || offset > dl) bad(`tag ${tag}: offset ${offset} outside the data (${dl} bytes)`);
    if (count < 1 || count > dl + 1) bad(`tag ${tag}: count ${count} out of range`);
    const align = ALIGN[type];
    if (align && offset % align !== 0) bad(`tag ${tag}: offset ${offset} not aligned to ${align}`);
    out.set(tag, decodeValue(data, tag, type, offset, count));
  }
  return out;
}

function decodeValue(data: Buffer, tag: number, type: number, offset: number, count: number): RpmTagValue {
  const need = (n: number) => {
    if (offset + n > data.length) bad(`tag ${tag}: ${n} bytes at ${offset} run past the data`);
  };
  switch (type) {
    case RPM_TYPE.NULL:
      return [];
    case RPM_TYPE.CHAR:
    case RPM_TYPE.INT8:
    case RPM_TYPE.BIN:
      need(count);
      return Buffer.from(data.subarray(offset, offset + count));
    case RPM_TYPE.INT16: {
      need(count * 2);
      return Array.from({ length: count }, (_, i) => data.readUInt16BE(offset + i * 2));
    }
    case RPM_TYPE.INT32: {
      need(count * 4);
      return Array.from({ length: count }, (_, i) => data.readUInt32BE(offset + i * 4));
    }
    case RPM_TYPE.INT64: {
      need(count * 8);
      return Array.from({ length: count }, (_, i) => data.readBigUInt64BE(offset + i * 8));
    }
    case RPM_TYPE.STRING:
    case RPM_TYPE.STRING_ARRAY:
    case RPM_TYPE.I18NSTRING: {
      if (type === RPM_TYPE.STRING && count !== 1) bad(`tag ${tag}: STRING with count ${count}`);
      const strings: string[] = [];
      let at = offset;
      for (let i = 0; i < count; i++) {
        const end = data.indexOf(0, at);
        if (end === -1) bad(`tag ${tag}: string ${i} is not NUL-terminated`);
        strings.push(data.toString('utf8', at, end));
        at = end + 1;
      }
      return type === RPM_TYPE.STRING ? strings[0]! : strings;
    }
    default:
      return bad(`tag ${tag}: unknown type ${type}`);
  }
}

export function headerString(h: RpmHeader, tag: number): string | undefined {
  const v = h.get(tag);
  if (typeof v === 'string') return v;
  // I18N strings come as arrays; the first is the C locale.
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export function headerStrings(h: RpmHeader, tag: number): string[] {
  const v = h.get(tag);
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string')) return v as string[];
  return [];
}

export function headerNumbers(h: RpmHeader, tag: number): number[] {
  const v = h.get(tag);
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'number') return v as number[];
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'bigint') return (v as bigint[]).map(Number);
  if (Buffer.isBuffer(v)) return [...v];
  return [];
}

export function headerNumber(h: RpmHeader, tag: number): number | undefined {
  return headerNumbers(h, tag)[0];
}

export interface RpmFile {
  /** Absolute path, `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`. */
  path: string;
  size: number;
  /** st_mode, type bits included (`0o100644` for a regular file). */
  mode: number;
  /** Hex digest in the algorithm of `RpmPackage.fileDigestAlgo`; '' for directories and links. */
  digest: string;
  /** RPMFILE_* bits (config, doc, license, ghost, ...). */
  flags: number;
  user?: string;
  group?: string;
  linkTo?: string;
}

export interface RpmPackage {
  name: string;
  /** Absent when the package has no epoch (which compares as 0). */
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  /** e.g. `openssl-3.0.7-27.el9.src.rpm`; absent for gpg-pubkey entries (`(none)`). */
  sourceRpm?: string;
  sourceName?: string;
  sourceVersion?: string;
  sourceRelease?: string;
  vendor?: string;
  license?: string;
  summary?: string;
  size?: number;
  installTime?: number;
  modularityLabel?: string;
  /** PGPHASHALGO of the file digests: 1 MD5, 2 SHA1, 8 SHA256 (the default when the tag is absent is MD5). */
  fileDigestAlgo: number;
  /** Lowercase hex key id (16 digits) of the header signature (RSAHEADER, else PGP), if signed. */
  signatureKeyId?: string;
  files?: RpmFile[];
}

/**
 * Splits `name-version-release.src.rpm` at its last two dashes (trivy `splitFileName`); undefined for
 * anything that does not look like a source rpm file name.
 */
export function splitSourceRpm(file: string): { name: string; version: string; release: string } | undefined {
  let s = file;
  if (s.endsWith('.rpm')) s = s.slice(0, -4);
  const dot = s.lastIndexOf('.');
  if (dot === -1) return undefined;
  s = s.slice(0, dot);
  const r = s.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = s.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: s.slice(0, v), version: s.slice(v + 1, r), release: s.slice(r + 1) };
}

/** The package fields of a header; `files` adds the file list (larger, only when a caller needs it). */
export function rpmPackageFromHeader(h: RpmHeader, opts: { files?: boolean } = {}): RpmPackage {
  const name = headerString(h, RPMTAG.NAME);
  const version = headerString(h, RPMTAG.VERSION);
  if (name === undefined || version === undefined) bad('no NAME or VERSION tag');
  const pkg: RpmPackage = {
    name,
    version,
    release: headerString(h, RPMTAG.RELEASE) ?? '',
    arch: headerString(h, RPMTAG.ARCH) ?? '',
    fileDigestAlgo: headerNumber(h, RPMTAG.FILEDIGESTALGO) ?? 1,
  };
  const epoch = headerNumber(h, RPMTAG.EPOCH);
  if (epoch !== undefined) pkg.epoch = epoch;
  const src = headerString(h, RPMTAG.SOURCERPM);
  if (src && src !== '(none)') {
    pkg.sourceRpm = src;
    const s = splitSourceRpm(src);
    if (s) {
      pkg.sourceName = s.name;
      pkg.sourceVersion = s.version;
      pkg.sourceRelease = s.release;
    }
  }
  const set = <K extends keyof RpmPackage>(k: K, v: RpmPackage[K] | undefined) => {
    if (v !== undefined) pkg[k] = v;
  };
  set('vendor', headerString(h, RPMTAG.VENDOR));
  set('license', headerString(h, RPMTAG.LICENSE));
  set('summary', headerString(h, RPMTAG.SUMMARY));
  set('size', headerNumber(h, RPMTAG.SIZE));
  set('installTime', headerNumber(h, RPMTAG.INSTALLTIME));
  set('modularityLabel', headerString(h, RPMTAG.MODULARITYLABEL));
  const sig = h.get(RPMTAG.RSAHEADER) ?? h.get(RPMTAG.PGP);
  if (Buffer.isBuffer(sig)) set('signatureKeyId', pgpSignatureKeyId(sig));
  if (opts.files) pkg.files = rpmFiles(h);
  return pkg;
}

/** The file list of a header; `RPM_HEADER_INVALID` when its parallel arrays disagree. */
export function rpmFiles(h: RpmHeader): RpmFile[] {
  const base = headerStrings(h, RPMTAG.BASENAMES);
  if (base.length === 0) return [];
  const dirs = headerStrings(h, RPMTAG.DIRNAMES);
  const idx = headerNumbers(h, RPMTAG.DIRINDEXES);
  const sizes = headerNumbers(h, RPMTAG.FILESIZES);
  const modes = headerNumbers(h, RPMTAG.FILEMODES);
  const digests = headerStrings(h, RPMTAG.FILEDIGESTS);
  const flags = headerNumbers(h, RPMTAG.FILEFLAGS);
  const users = headerStrings(h, RPMTAG.FILEUSERNAME);
  const groups = headerStrings(h, RPMTAG.FILEGROUPNAME);
  const links = headerStrings(h, RPMTAG.FILELINKTOS);
  if (idx.length !== base.length) bad(`${base.length} BASENAMES but ${idx.length} DIRINDEXES`);
  for (const [n, arr] of [['FILESIZES', sizes], ['FILEMODES', modes], ['FILEDIGESTS', digests], ['FILEFLAGS', flags]] as const) {
    if (arr.length !== 0 && arr.length !== base.length) bad(`${base.length} BASENAMES but ${arr.length} ${n}`);
  }
  return base.map((b, i) => {
    const dir = dirs[idx[i]!];
    if (dir === undefined) bad(`DIRINDEXES[${i}] = ${idx[i]} outside ${dirs.length} DIRNAMES`);
    const f: RpmFile = { path: dir + b, size: sizes[i] ?? 0, mode: modes[i] ?? 0, digest: digests[i] ?? '', flags: flags[i] ?? 0 };
    if (users[i] !== undefined) f.user = users[i];
    if (groups[i] !== undefined) f.group = groups[i];
    if (links[i]) f.linkTo = links[i];
    return f;
  });
}

/**
 * The issuer key id of an OpenPGP signature packet (RFC 4880 §5.2): v3 carries it in the packet, v4/v5 in an
 * issuer (16) or issuer-fingerprint (33) subpacket. Undefined when the packet has neither.
 */
export function pgpSignatureKeyId(pkt: Buffer): string | undefined {
  if (pkt.length < 2) return undefined;
  const b0 = pkt[0]!;
  if (!(b0 & 0x80)) return undefined;
  let tag: number;
  let at: number;
  if (b0 & 0x40) {
    tag = b0 & 0x3f;
    const l0 = pkt[1]!;
    at = l0 < 192 ? 2 : l0 < 224 ? 3 : l0 === 255 ? 6 : 2;
  } else {
    tag = (b0 >> 2) & 0x0f;
    at = 1 + [1, 2, 4, 0][b0 & 3]!;
  }
  if (tag !== 2) return undefined;
  const body = pkt.subarray(at);
  const version = body[0];
  if (version === 3) return body.length >= 15 ? body.toString('hex', 7, 15) : undefined;
  if (version !== 4 && version !== 5 && version !== 6) return undefined;
  // v4: version, sigtype, pubkey algo, hash algo, hashed subpackets (u16 length), unhashed (u16 length).
  let fromFingerprint: string | undefined;
  let p = 4;
  for (let area = 0; area < 2 && p + 2 <= body.length; area++) {
    const len = version === 4 ? body.readUInt16BE(p) : body.length >= p + 4 ? body.readUInt32BE(p) : 0;
    p += version === 4 ? 2 : 4;
    const end = Math.min(body.length, p + len);
    while (p < end) {
      const o = body[p]!;
      let sublen: number;
      if (o < 192) {
        sublen = o;
        p += 1;
      } else if (o < 255) {
        sublen = ((o - 192) << 8) + body[p + 1]! + 192;
        p += 2;
      } else {
        sublen = body.readUInt32BE(p + 1);
        p += 5;
      }
      const type = body[p]! & 0x7f;
      const data = body.subarray(p + 1, p + sublen);
      if (type === 16 && data.length === 8) return data.toString('hex');
      if (type === 33 && data.length >= 9) fromFingerprint = data[0] === 4 ? data.toString('hex', data.length - 8) : data.toString('hex', 1, 9);
      p += sublen;
    }
    p = end;
  }
  return fromFingerprint;
}
