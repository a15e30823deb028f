/**
 * Writing tar archives to a Writable with backpressure: each `add*` call resolves once its bytes were
 * accepted, so a multi-GiB layer streams through without being held in memory.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { ClientError } from '../errors.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader } from './header.js';

export type EntryOptions = Partial<Omit<TarHeader, 'name' | 'size' | 'type' | 'linkname'>>;

export class TarWriter {
  constructor(private readonly out: Writable) {}

  private async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    if (this.out.destroyed) throw new Error('tar output was destroyed');
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  private header(h: Omit<TarHeader, 'mode' | 'mtime' | 'uid' | 'gid'> & EntryOptions): Buffer {
    return encodeHeader({ mode: h.type === 'directory' ? 0o755 : 0o644, mtime: 0, uid: 0, gid: 0, ...h });
  }

  /** A regular file of `size` bytes from a Buffer or a stream; a stream of another length fails the archive. */
  async addFile(name: string, size: number, body: Buffer | Readable, opts: EntryOptions = {}): Promise<void> {
    await this.write(this.header({ ...opts, name, size, type: 'file' }));
    let seen = 0;
    if (Buffer.isBuffer(body)) {
      seen = body.length;
      await this.write(body);
    } else {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        seen += chunk.length;
        if (seen > size) break;
        await this.write(chunk);
      }
    }
    if (seen !== size) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw new ClientError('SIZE_MISMATCH', `tar member ${name}: ${seen} bytes, expected ${size}`);
    }
    await this.write(padding(size));
  }

  async addDirectory(name: string, opts: EntryOptions = {}): Promise<void> {
    await this.write(this.header({ ...opts, name: name.endsWith('/') ? name : `${name}/`, size: 0, type: 'directory' }));
  }

  async addSymlink(name: string, target: string, opts: EntryOptions = {}): Promise<void> {
    await this.write(this.header({ ...opts, name, size: 0, type: 'symlink', linkname: target }));
  }

  /** Writes the end-of-archive blocks and ends the output; resolves when it has finished. */
  async finish(): Promise<void> {
    await this.write(END_OF_ARCHIVE);
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
  }
}

/** A whole archive in memory, for small content (tests, generated layers). */
export function tarBuffer(entries: Array<{ name: string; body?: Buffer; type?: 'file' | 'directory' | 'symlink'; linkname?: string } & EntryOptions>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = e.body ?? Buffer.alloc(0);
    const size = type === 'file' ? body.length : 0;
    const h: TarHeader = { mode: type === 'directory' ? 0o755 : 0o644, mtime: 0, uid: 0, gid: 0, ...e, name: e.name, size, type };
    if (e.linkname !== undefined) h.linkname = e.linkname;
    parts.push(encodeHeader(h));
    if (size > 0) parts.push(body, padding(size));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
