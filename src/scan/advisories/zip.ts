/**
 * A small zip reader (PKWARE APPNOTE.TXT §4.3) for OSV ecosystem exports (`all.zip`): the central directory is
 * read from the end of the file and each member is read at its offset and inflated on its own, so a large
 * export is never held whole. Stored (0) and deflated (8) members only; zip64 and encryption are refused.
 */
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { ScanError } from '../errors.js';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipMember {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** Largest member inflated into memory (one OSV record is a few KiB; this is generous). */
const MAX_MEMBER = 64 * 1024 * 1024;

/**
 * Yields each member's name and content, in central-directory order.
 */
export async function* readZip(path: string): AsyncGenerator<{ name: string; content: Buffer }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at === -1) throw new ScanError('ZIP_INVALID', `${path}: no end of central directory record (not a zip file)`);
    const count = tail.readUInt16LE(at + 10);
    const cdSize = tail.readUInt32LE(at + 12);
    const cdOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new ScanError('UNSUPPORTED_FORMAT', `${path}: zip64 archives are not supported`);
    if (cdOffset + cdSize > size) throw new ScanError('ZIP_INVALID', `${path}: central directory outside the file`);
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const members: ZipMember[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new ScanError('ZIP_INVALID', `${path}: bad central directory entry ${i}`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const compressedSize = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
      if (flags & 1) throw new ScanError('UNSUPPORTED_FORMAT', `${path}: ${name} is encrypted`);
      if (compressedSize === 0xffffffff || uncompressed === 0xffffffff || localOffset === 0xffffffff) throw new ScanError('UNSUPPORTED_FORMAT', `${path}: zip64 members are not supported`);
      members.push({ name, method, compressedSize, size: uncompressed, localOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    for (const m of members) {
      if (m.name.endsWith('/')) continue;
      if (m.size > MAX_MEMBER) throw new ScanError('ZIP_INVALID', `${path}: ${m.name} is ${m.size} bytes, more than ${MAX_MEMBER}`);
      const lh = Buffer.alloc(30);
      await fh.read(lh, 0, 30, m.localOffset);
      if (lh.readUInt32LE(0) !== LOCAL) throw new ScanError('ZIP_INVALID', `${path}: no local header for ${m.name}`);
      const dataAt = m.localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      if (dataAt + m.compressedSize > size) throw new ScanError('ZIP_INVALID', `${path}: ${m.name} runs past the end of the file`);
      const data = Buffer.alloc(m.compressedSize);
      await fh.read(data, 0, m.compressedSize, dataAt);
      let content: Buffer;
      if (m.method === 0) content = data;
      else if (m.method === 8) {
        try {
          content = inflateRawSync(data, { maxOutputLength: MAX_MEMBER });
        } catch (cause) {
          throw new ScanError('ZIP_INVALID', `${path}: ${m.name} does not inflate`, undefined, { cause });
        }
      } else throw new ScanError('UNSUPPORTED_FORMAT', `${path}: ${m.name} uses compression method ${m.method}`);
      if (content.length !== m.size) throw new ScanError('ZIP_INVALID', `${path}: ${m.name} is ${content.length} bytes, the directory says ${m.size}`);
      yield { name: m.name, content };
    }
  } finally {
    await fh.close();
  }
}
