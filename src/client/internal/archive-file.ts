/** Opening a tar archive for random access, and writing one atomically. */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ClientError } from '../errors.js';
import { indexTar, type TarMember } from '../tar/reader.js';
import { TarWriter } from '../tar/writer.js';
import { isNotFound, tempNameFor } from './files.js';

export interface OpenArchive {
  /** A seekable file holding the archive: PATH itself, or a temporary copy of a pipe. */
  file: string;
  members: Map<string, TarMember>;
  close(): Promise<void>;
}

/**
 * Indexes the archive at `path`. A regular file is read in place; anything else (a pipe, /dev/stdin) is
 * streamed once into a temporary file first, as containers/image does. `ARCHIVE_INVALID` names the path.
 */
export async function openArchive(path: string, transport: string): Promise<OpenArchive> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    if (isNotFound(err)) throw new ClientError('ARCHIVE_INVALID', `${transport}: ${path}: no such file`, undefined, { cause: err });
    throw err;
  }
  let file = path;
  let tmp: string | undefined;
  if (!s.isFile()) {
    if (s.isDirectory()) throw new ClientError('ARCHIVE_INVALID', `${transport}: ${path} is a directory, not a tar archive`);
    tmp = await mkdtemp(join(tmpdir(), 'berth-archive-'));
    file = join(tmp, 'archive.tar');
    await pipeline(createReadStream(path), createWriteStream(file));
  }
  const cleanup = async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
  try {
    return { file, members: await indexTar(file), close: cleanup };
  } catch (err) {
    await cleanup();
    if (err instanceof ClientError) throw new ClientError(err.code, `${transport}: ${path}: ${err.message}`, undefined, { cause: err });
    throw err;
  }
}

/**
 * Writes a tar to `path` through a temp file next to it, renamed into place only when complete, so a
 * failure leaves PATH as it was.
 */
export async function writeArchive(path: string, fill: (tar: TarWriter) => Promise<void>): Promise<void> {
  const tmp = tempNameFor(`${path}-${randomBytes(2).toString('hex')}`);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  const done = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  try {
    const tar = new TarWriter(out);
    await fill(tar);
    await tar.finish();
    await done;
    await rename(tmp, path);
  } catch (err) {
    out.destroy();
    await done.catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
