/**
 * `dir:PATH`: skopeo's directory format (containers/image directory/), byte for byte:
 *
 *   <path>/version                     "Directory Transport Version: 1.1\n"
 *   <path>/manifest.json               the manifest the reference names (an index with --all)
 *   <path>/<hex>.manifest.json         each child manifest of an index
 *   <path>/<hex>                       each blob, named by the hex of its digest alone
 *
 * Writing replaces what the directory held, as skopeo does, but only at commit(): blobs and manifests go to a
 * staging directory inside PATH first, so a failed copy leaves PATH as it was.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../../content/descriptor.js';
import { digestAlgorithm, digestHex, digestOf, parseDigest, type Digest } from '../../../content/digest.js';
import { ClientError } from '../../errors.js';
import { Created, exists, isDirectory, isNotFound, readSmall, writeAtomic, writeVerified } from '../../internal/files.js';
import { DOCKER_SCHEMA1_SIGNED } from '../../../content/media-types.js';
import { manifestDigest, manifestMediaType } from '../../internal/media.js';
import type { ImageDestination, ImageReference, ImageSource, RawManifest, SourceOptions, Transport } from '../../transport.js';

export const DIR_VERSION = 'Directory Transport Version: 1.1\n';

export class DirReference implements ImageReference {
  readonly transport = 'dir';
  constructor(readonly path: string) {}
  toString(): string {
    return `dir:${this.path}`;
  }
}

/** A manifest's digest: of its bytes, or for signed schema 1 of its payload (what registries name it by). */
function digestOfManifest(bytes: Uint8Array, where: string): Digest {
  return manifestMediaType(bytes, where) === DOCKER_SCHEMA1_SIGNED ? manifestDigest(bytes) : digestOf(bytes);
}

function blobName(digest: Digest): string {
  return digestHex(parseDigest(digest));
}

function manifestName(digest: Digest | undefined): string {
  return digest === undefined ? 'manifest.json' : `${blobName(digest)}.manifest.json`;
}

class DirSource implements ImageSource {
  constructor(
    readonly reference: DirReference,
    private readonly topDigest: Digest,
  ) {}

  static async open(ref: DirReference): Promise<DirSource> {
    if (!(await isDirectory(ref.path))) throw new ClientError('LAYOUT_INVALID', `${ref.path} is not a dir: image: no such directory`);
    const version = await readSmall(join(ref.path, 'version'), 1024);
    if (version && !version.toString('utf8').startsWith('Directory Transport Version: 1.')) {
      throw new ClientError('LAYOUT_INVALID', `${ref.path}/version: unsupported ${JSON.stringify(version.toString('utf8').trim())}`);
    }
    const top = await readSmall(join(ref.path, 'manifest.json'));
    if (!top) throw new ClientError('LAYOUT_INVALID', `${ref.path} is not a dir: image: no manifest.json`);
    return new DirSource(ref, digestOfManifest(top, `${ref.path}/manifest.json`));
  }

  // getManifest implements ImageSource.
  async getManifest(digest?: Digest): Promise<RawManifest> {
    const path = this.reference.path;
    let bytes = await readSmall(join(path, manifestName(digest)));
    // A single image copied with --multi-arch system has no <hex>.manifest.json: the top is the one asked for.
    if (!bytes && digest === this.topDigest) bytes = await readSmall(join(path, 'manifest.json'));
    if (!bytes) throw new ClientError('MANIFEST_UNKNOWN', `manifest ${digest ?? ''} is not in ${path}`.replace('  ', ' '));
    const where = `${path}/${manifestName(digest)}`;
    return { bytes, mediaType: manifestMediaType(bytes, where), digest: digest ?? digestOfManifest(bytes, where) };
  }

  // getBlob implements ImageSource.
  async getBlob(desc: Descriptor, opts: SourceOptions & { offset?: number } = {}): Promise<Readable> {
    const file = join(this.reference.path, blobName(desc.digest));
    try {
      if (!(await stat(file)).isFile()) throw new ClientError('BLOB_UNKNOWN', `blob ${desc.digest} is not in ${this.reference.path}`);
    } catch (err) {
      if (isNotFound(err)) throw new ClientError('BLOB_UNKNOWN', `blob ${desc.digest} is not in ${this.reference.path}`);
      throw err;
    }
    return createReadStream(file, { start: opts.offset ?? 0, signal: opts.signal });
  }

  async close(): Promise<void> {}
}

class DirDestination implements ImageDestination {
  private readonly created = new Created();
  private readonly staged = new Set<string>();
  private top = false;
  private committed = false;

  private constructor(
    readonly reference: DirReference,
    private readonly staging: string,
  ) {}

  static async open(ref: DirReference): Promise<DirDestination> {
    const path = ref.path;
    if (await exists(path)) {
      if (!(await isDirectory(path))) throw new ClientError('LAYOUT_INVALID', `${path} exists and is not a directory`);
      const entries = (await readdir(path)).filter((e) => !e.startsWith('.berth-staging-'));
      // skopeo refuses to empty a directory that is not its own format.
      if (entries.length > 0 && !entries.includes('version')) {
        throw new ClientError('LAYOUT_INVALID', `refusing to overwrite ${path}: it is not empty and not a dir: image (no version file)`);
      }
    }
    const dest = new DirDestination(ref, join(path, `.berth-staging-${randomBytes(6).toString('hex')}`));
    await dest.created.mkdirs(dest.staging);
    return dest;
  }

  // hasBlob implements ImageDestination: only what this copy already staged (the old contents are replaced).
  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.staged.has(blobName(desc.digest));
  }

  // putBlob implements ImageDestination.
  async putBlob(desc: Descriptor, stream: Readable, opts: SourceOptions = {}): Promise<void> {
    const name = blobName(desc.digest);
    await writeVerified(join(this.staging, name), desc, stream, opts.signal);
    this.staged.add(name);
  }

  // putManifest implements ImageDestination.
  async putManifest(m: RawManifest, opts: { top: boolean }): Promise<void> {
    const got = m.mediaType === DOCKER_SCHEMA1_SIGNED ? manifestDigest(m.bytes) : digestOf(m.bytes, digestAlgorithm(m.digest));
    if (got !== m.digest) throw new ClientError('DIGEST_MISMATCH', `manifest ${m.digest}: content has digest ${got}`);
    const name = manifestName(opts.top ? undefined : m.digest);
    await writeAtomic(join(this.staging, name), m.bytes);
    this.staged.add(name);
    if (opts.top) this.top = true;
  }

  // commit implements ImageDestination: the old image goes, the staged one moves in.
  async commit(): Promise<void> {
    if (!this.top) throw new ClientError('MANIFEST_UNKNOWN', `commit to ${this.reference.path} before its manifest was written`);
    await writeAtomic(join(this.staging, 'version'), Buffer.from(DIR_VERSION));
    const path = this.reference.path;
    for (const e of await readdir(path)) {
      if (join(path, e) !== this.staging) await rm(join(path, e), { recursive: true, force: true });
    }
    for (const e of await readdir(this.staging)) await rename(join(this.staging, e), join(path, e));
    await rm(this.staging, { recursive: true, force: true });
    this.committed = true;
    this.created.forget();
  }

  async close(): Promise<void> {
    if (this.committed) return;
    await rm(this.staging, { recursive: true, force: true });
    await this.created.undo();
  }
}

function asRef(ref: ImageReference): DirReference {
  if (!(ref instanceof DirReference)) throw new ClientError('REFERENCE_INVALID', `${String(ref)} is not a dir: reference`);
  return ref;
}

export const dirTransport = {
  name: 'dir',
  parseReference(rest) {
    if (rest === '') throw new ClientError('REFERENCE_INVALID', 'invalid dir: reference: the path is empty');
    return new DirReference(rest);
  },
  newSource: (ref) => DirSource.open(asRef(ref)),
  newDestination: (ref) => DirDestination.open(asRef(ref)),
} satisfies Transport;
