/**
 * `oci-archive:PATH[:REF]`: a tar of an OCI image layout. Reading indexes the tar's members once and serves
 * blobs straight from their byte ranges (no extraction); writing builds a layout in a temporary directory and
 * tars it over PATH on commit(), replacing PATH completely, as skopeo does.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ClientError } from '../../errors.js';
import { openArchive, writeArchive } from '../../internal/archive-file.js';
import { LayoutReference, parseLayoutReference } from '../../internal/layout-ref.js';
import { openMember, resolveMember, type TarMember } from '../../tar/reader.js';
import type { ImageDestination, ImageReference, Transport } from '../../transport.js';
import { LayoutDestination, LayoutSource, type LayoutFiles } from '../oci/layout.js';
import { MAX_SMALL_JSON, isDirectory } from '../../internal/files.js';

function asRef(ref: ImageReference): LayoutReference {
  if (!(ref instanceof LayoutReference) || ref.transport !== 'oci-archive') {
    throw new ClientError('REFERENCE_INVALID', `${String(ref)} is not an oci-archive: reference`);
  }
  return ref;
}

function archiveFiles(where: string, file: string, members: Map<string, TarMember>): LayoutFiles {
  const find = (name: string) => resolveMember(members, name);
  return {
    where,
    async read(name) {
      const m = find(name);
      if (!m) return undefined;
      if (m.size > MAX_SMALL_JSON) throw new ClientError('MANIFEST_INVALID', `${where}: ${name} is ${m.size} bytes`);
      const chunks: Buffer[] = [];
      for await (const c of openMember(file, m) as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks);
    },
    async open(name, offset, signal) {
      const m = find(name);
      return m ? openMember(file, m, offset, signal) : undefined;
    },
  };
}

/** Wraps a layout destination in a temp dir; commit() tars it to PATH. */
class ArchiveDestination implements ImageDestination {
  constructor(
    readonly reference: LayoutReference,
    private readonly tmp: string,
    private readonly layout: LayoutDestination,
  ) {}
  hasBlob: LayoutDestination['hasBlob'] = (d) => this.layout.hasBlob(d);
  putBlob: LayoutDestination['putBlob'] = (d, s, o) => this.layout.putBlob(d, s, o);
  putManifest: LayoutDestination['putManifest'] = (m, o) => this.layout.putManifest(m, o);

  // commit implements ImageDestination.
  async commit(): Promise<void> {
    await this.layout.commit();
    const root = join(this.tmp, 'layout');
    const mtime = Math.floor(Date.now() / 1000);
    await writeArchive(this.reference.path, async (tar) => {
      const walk = async (rel: string): Promise<void> => {
        for (const e of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
          const name = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) {
            await tar.addDirectory(name, { mtime, uname: 'root', gname: 'root' });
            await walk(name);
          } else {
            const { size } = await stat(join(root, name));
            await tar.addFile(name, size, createReadStream(join(root, name)), { mtime, uname: 'root', gname: 'root' });
          }
        }
      };
      await walk('');
    });
  }

  async close(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
  }
}

export const ociArchiveTransport = {
  name: 'oci-archive',
  parseReference: (rest) => parseLayoutReference('oci-archive', rest),
  async newSource(ref) {
    const r = asRef(ref);
    const archive = await openArchive(r.path, 'oci-archive');
    try {
      return await LayoutSource.open(r, archiveFiles(`oci-archive:${r.path}`, archive.file, archive.members), archive.close);
    } catch (err) {
      await archive.close();
      throw err;
    }
  },
  async newDestination(ref) {
    const r = asRef(ref);
    if (r.sourceIndex !== undefined) throw new ClientError('REFERENCE_INVALID', `${String(r)}: @N selects an image to read; name the image to write`);
    if (await isDirectory(r.path)) throw new ClientError('ARCHIVE_INVALID', `oci-archive: ${r.path} is a directory`);
    if (!(await isDirectory(dirname(r.path) || '.'))) throw new ClientError('ARCHIVE_INVALID', `oci-archive: ${dirname(r.path)}: no such directory`);
    const tmp = await mkdtemp(join(tmpdir(), 'berth-oci-archive-'));
    const layoutRef = new LayoutReference('oci', join(tmp, 'layout'), r.refName);
    return new ArchiveDestination(r, tmp, await LayoutDestination.open(layoutRef, layoutRef.path));
  },
} satisfies Transport;
