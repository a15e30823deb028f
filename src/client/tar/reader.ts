/**
 * Reading tar archives: `indexTar` walks the headers of a seekable file (skipping data with seeks, so a
 * multi-GiB archive costs a few reads) and records where each member's bytes are; `readTar` parses a stream
 * once, for input that cannot seek.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { ClientError } from '../errors.js';
import { BLOCK, applyOverrides, cleanName, decodeHeader, parsePax, type TarHeader } from './header.js';

export interface TarMember extends TarHeader {
  /** Byte offset of the member's data in the archive. */
  offset: number;
}

const MAX_META = 1024 * 1024;

/** Every member of the tar file at `path`, keyed by cleaned name (a later member with the same name wins). */
export async function indexTar(path: string): Promise<Map<string, TarMember>> {
  const fh = await open(path, 'r');
  try {
    const members = new Map<string, TarMember>();
    const block = Buffer.alloc(BLOCK);
    let pos = 0;
    let pax: Map<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    const readAt = async (buf: Buffer, at: number) => {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      return bytesRead;
    };
    for (;;) {
      const n = await readAt(block, pos);
      if (n === 0) break;
      if (n < BLOCK) throw new ClientError('ARCHIVE_INVALID', `${path}: truncated tar header at byte ${pos}`);
      const raw = decodeHeader(block, path);
      if (!raw) break;
      const dataAt = pos + BLOCK;
      const next = dataAt + Math.ceil(raw.size / BLOCK) * BLOCK;
      if (raw.flag === 'x' || raw.flag === 'L' || raw.flag === 'K') {
        if (raw.size > MAX_META) throw new ClientError('ARCHIVE_INVALID', `${path}: oversized tar extension header`);
        const data = Buffer.alloc(raw.size);
        if ((await readAt(data, dataAt)) !== raw.size) throw new ClientError('ARCHIVE_INVALID', `${path}: truncated tar`);
        if (raw.flag === 'x') pax = parsePax(data, path);
        else if (raw.flag === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
        else longLink = data.toString('utf8').replace(/\0+$/, '');
        pos = next;
        continue;
      }
      if (raw.flag !== 'g') {
        const h = applyOverrides(raw, pax, longName, longLink);
        const size = h.type === 'file' ? h.size : 0;
        members.set(cleanName(h.name), { ...h, offset: dataAt });
        pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      } else {
        pos = next;
      }
      pax = longName = longLink = undefined;
    }
    return members;
  } finally {
    await fh.close();
  }
}

/**
 * Resolves `name` through symlinks and hard links inside the archive (docker save writes `<id>/layer.tar`
 * as a symlink to `../<diffid>.tar`) to a regular file member, or undefined.
 */
export function resolveMember(members: Map<string, TarMember>, name: string): TarMember | undefined {
  let current = cleanName(name);
  for (let hops = 0; hops < 16; hops++) {
    const m = members.get(current);
    if (!m) return undefined;
    if (m.type === 'file') return m;
    if (m.type === 'symlink' && m.linkname !== undefined) {
      const dir = current.split('/').slice(0, -1).join('/');
      current = cleanName(m.linkname.startsWith('/') ? m.linkname : `${dir}/${m.linkname}`);
    } else if (m.type === 'hardlink' && m.linkname !== undefined) {
      current = cleanName(m.linkname);
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** The data of `member`, from `offset` bytes into it. */
export function openMember(path: string, member: TarMember, offset = 0, signal?: AbortSignal): Readable {
  if (member.size === 0 || offset >= member.size) return Readable.from([]);
  return createReadStream(path, { start: member.offset + offset, end: member.offset + member.size - 1, signal });
}

export interface StreamEntry extends TarHeader {
  /** The member's data; consume or drain it before asking for the next entry. */
  body: Readable;
}

/**
 * Parses a tar stream once, yielding each entry with a body stream. The iterator waits for the body to be
 * consumed (or resumes it, discarding the data, if the caller moves on without reading).
 */
export async function* readTar(input: Readable, where = 'tar stream'): AsyncGenerator<StreamEntry> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (buf.length < n && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else buf = buf.length === 0 ? r.value : Buffer.concat([buf, r.value]);
    }
    return buf.length >= n;
  };
  const take = (n: number) => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      if (!(await fill(BLOCK))) {
        if (buf.length === 0) return;
        throw new ClientError('ARCHIVE_INVALID', `${where}: truncated tar header`);
      }
      const raw = decodeHeader(Buffer.from(take(BLOCK)), where);
      if (!raw) return;
      const padded = Math.ceil(raw.size / BLOCK) * BLOCK;
      if (raw.flag === 'x' || raw.flag === 'L' || raw.flag === 'K' || raw.flag === 'g') {
        if (raw.size > MAX_META) throw new ClientError('ARCHIVE_INVALID', `${where}: oversized tar extension header`);
        if (!(await fill(padded))) throw new ClientError('ARCHIVE_INVALID', `${where}: truncated tar`);
        const data = Buffer.from(take(padded).subarray(0, raw.size));
        if (raw.flag === 'x') pax = parsePax(data, where);
        else if (raw.flag === 'L') longName = data.toString('utf8').replace(/\0+$/, '');
        else if (raw.flag === 'K') longLink = data.toString('utf8').replace(/\0+$/, '');
        continue;
      }
      const h = applyOverrides(raw, pax, longName, longLink);
      pax = longName = longLink = undefined;
      const size = h.type === 'file' ? h.size : 0;
      const body = new PassThrough();
      // A failure of the archive while this entry is read also fails the iterator (`await pump` below, or the
      // caller's own read of the body). A caller that skips the body never listens to it: without this listener
      // the same error would also be an unhandled 'error' event, which ends the process.
      body.on('error', () => undefined);
      const pump = (async () => {
        let left = size;
        while (left > 0) {
          if (buf.length === 0 && !(await fill(1))) throw new ClientError('ARCHIVE_INVALID', `${where}: truncated data of ${h.name}`);
          const chunk = take(Math.min(left, buf.length));
          left -= chunk.length;
          // A consumer that destroyed the body (it gave up, or was aborted) never drains it: skip the rest of the
          // entry then, instead of waiting for a 'drain' that will not come.
          if (body.destroyed) continue;
          if (!body.write(chunk)) await drainedOrClosed(body);
        }
        if (!body.destroyed) body.end();
        const pad = Math.ceil(size / BLOCK) * BLOCK - size;
        if (pad > 0 && !(await fill(pad))) throw new ClientError('ARCHIVE_INVALID', `${where}: truncated tar`);
        take(pad);
      })();
      pump.catch((err: unknown) => body.destroy(err as Error));
      yield { ...h, body };
      // The caller may not have read the body: let it flow into nowhere so the archive can advance.
      if (!body.readableFlowing) body.resume();
      await pump;
    }
  } finally {
    // A caller that stops early (it broke out of the loop, or its read of a body failed) may leave the pump
    // waiting for more input; `it.return()` would queue behind that read and wait for a source that may never
    // send again. Destroying the input first ends that read (the pump then fails quietly, see above).
    input.destroy();
    await it.return?.();
  }
}

/** Resolves on 'drain', or on 'close' when the reader destroyed the stream instead. */
function drainedOrClosed(stream: PassThrough): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
