/**
 * The OCI image layout, read and written (image-spec v1.1.1 image-layout.md):
 *
 *   <root>/oci-layout             {"imageLayoutVersion":"1.0.0"}
 *   <root>/index.json             the entry points; `org.opencontainers.image.ref.name` names them
 *   <root>/blobs/<alg>/<hex>      every blob and manifest, by digest
 *
 * Reading goes through `LayoutFiles`, so the same code reads a directory (oci:) and a tar of one
 * (oci-archive:, from the archive's member index without extracting it).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../../content/descriptor.js';
import { digestAlgorithm, digestHex, digestOf, parseDigest, type Digest } from '../../../content/digest.js';
import { ClientError } from '../../errors.js';
import { Created, exists, isDirectory, isNotFound, readSmall, writeAtomic, writeVerified } from '../../internal/files.js';
import type { LayoutReference } from '../../internal/layout-ref.js';
import { manifestMediaType } from '../../internal/media.js';
import type { ImageDestination, ImageSource, RawManifest, SourceOptions } from '../../transport.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
/** Byte for byte what skopeo writes (note the space). */
export const OCI_LAYOUT_FILE = '{"imageLayoutVersion": "1.0.0"}';

/** The relative path of a blob in a layout. */
export function blobPath(digest: Digest): string {
  const d = parseDigest(digest);
  return `blobs/${digestAlgorithm(d)}/${digestHex(d)}`;
}

/** Read access to the files of a layout, wherever they are. */
export interface LayoutFiles {
  /** For messages: the directory or archive path. */
  readonly where: string;
  /** The whole (small) file, or undefined when it does not exist. */
  read(name: string): Promise<Buffer | undefined>;
  /** The file's bytes from `offset`, or undefined when it does not exist. */
  open(name: string, offset: number, signal?: AbortSignal): Promise<Readable | undefined>;
}

export function directoryFiles(root: string): LayoutFiles {
  return {
    where: root,
    read: (name) => readSmall(join(root, name)),
    async open(name, offset, signal) {
      const path = join(root, name);
      try {
        if (!(await stat(path)).isFile()) return undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      return createReadStream(path, { start: offset, signal });
    },
  };
}

interface IndexJson {
  [key: string]: unknown;
  manifests: Descriptor[];
}

function parseIndexJson(bytes: Buffer, where: string): IndexJson {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ClientError('LAYOUT_INVALID', `${where}/index.json is not valid JSON`, undefined, { cause });
  }
  const o = json as IndexJson | null;
  if (typeof o !== 'object' || o === null || (o.manifests !== null && o.manifests !== undefined && !Array.isArray(o.manifests))) {
    throw new ClientError('LAYOUT_INVALID', `${where}/index.json is not an OCI index`);
  }
  return { ...o, manifests: o.manifests ?? [] };
}

/** Reads oci-layout and index.json; `LAYOUT_INVALID` (naming the path) when they are missing or wrong. */
export async function readIndexJson(files: LayoutFiles): Promise<IndexJson> {
  const marker = await files.read('oci-layout');
  if (!marker) throw new ClientError('LAYOUT_INVALID', `${files.where} is not an OCI image layout: no oci-layout file`);
  let version: unknown;
  try {
    version = (JSON.parse(marker.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (typeof version !== 'string') throw new ClientError('LAYOUT_INVALID', `${files.where}/oci-layout has no imageLayoutVersion`);
  const bytes = await files.read('index.json');
  if (!bytes) throw new ClientError('LAYOUT_INVALID', `${files.where} is not an OCI image layout: no index.json`);
  return parseIndexJson(bytes, files.where);
}

/** The index.json entry `ref` names: by ref name, by `@N`, or the only entry. */
export function selectEntry(index: IndexJson, ref: LayoutReference, where: string): Descriptor {
  const all = index.manifests;
  let found: Descriptor | undefined;
  if (ref.refName !== undefined) {
    const named = all.filter((d) => d.annotations?.[REF_NAME] === ref.refName);
    if (named.length > 1) throw new ClientError('LAYOUT_INVALID', `${where}/index.json has ${named.length} entries named ${ref.refName}`);
    found = named[0];
    if (!found) throw new ClientError('MANIFEST_UNKNOWN', `no image named ${JSON.stringify(ref.refName)} in ${where}`);
  } else if (ref.sourceIndex !== undefined) {
    found = all[ref.sourceIndex];
    if (!found) throw new ClientError('MANIFEST_UNKNOWN', `${where}/index.json has no entry @${ref.sourceIndex} (it has ${all.length})`);
  } else {
    if (all.length !== 1) {
      throw new ClientError('MANIFEST_UNKNOWN', `${where} holds ${all.length} images; name one as ${ref.transport}:${ref.path}:REF`);
    }
    found = all[0]!;
  }
  try {
    parseDigest(String(found.digest));
  } catch (cause) {
    throw new ClientError('LAYOUT_INVALID', `${where}/index.json: bad digest ${JSON.stringify(found.digest)}`, undefined, { cause });
  }
  return found;
}

const MAX_MANIFEST = 4 * 1024 * 1024;

/** ImageSource over a layout (implements ImageSource for oci: and oci-archive:). */
export class LayoutSource implements ImageSource {
  private constructor(
    readonly reference: LayoutReference,
    private readonly files: LayoutFiles,
    private readonly top: Descriptor,
    private readonly onClose: () => Promise<void>,
  ) {}

  static async open(reference: LayoutReference, files: LayoutFiles, onClose: () => Promise<void> = async () => undefined): Promise<LayoutSource> {
    const index = await readIndexJson(files);
    return new LayoutSource(reference, files, selectEntry(index, reference, files.where), onClose);
  }

  // getManifest implements ImageSource.
  async getManifest(digest?: Digest, _opts?: SourceOptions): Promise<RawManifest> {
    const d = digest ?? this.top.digest;
    const bytes = await this.files.read(blobPath(d));
    if (!bytes) throw new ClientError('MANIFEST_UNKNOWN', `manifest ${d} is not in ${this.files.where}`);
    if (bytes.length > MAX_MANIFEST) throw new ClientError('MANIFEST_INVALID', `manifest ${d} is ${bytes.length} bytes`);
    const mediaType = digest === undefined || digest === this.top.digest ? this.top.mediaType : manifestMediaType(bytes, `manifest ${d}`);
    return { bytes, mediaType, digest: d };
  }

  // getBlob implements ImageSource.
  async getBlob(desc: Descriptor, opts: SourceOptions & { offset?: number } = {}): Promise<Readable> {
    const s = await this.files.open(blobPath(desc.digest), opts.offset ?? 0, opts.signal);
    if (!s) throw new ClientError('BLOB_UNKNOWN', `blob ${desc.digest} is not in ${this.files.where}`);
    return s;
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}

/** The index.json entry for a manifest: Go's imgspecv1.Descriptor field order, as skopeo writes it. */
function indexEntry(m: RawManifest, refName: string | undefined): Descriptor {
  const d: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  if (refName !== undefined) d.annotations = { [REF_NAME]: refName };
  return d;
}

/**
 * ImageDestination into a layout directory (created when missing). Blobs are written by temp file + rename
 * after verification; index.json is rewritten (atomically) only by commit(), replacing the entry with the
 * same ref name and keeping the others. close() without commit() removes every file and directory it created.
 */
export class LayoutDestination implements ImageDestination {
  private readonly created = new Created();
  private top: RawManifest | undefined;
  private committed = false;

  constructor(
    readonly reference: LayoutReference,
    private readonly root: string,
    private readonly refName: string | undefined,
  ) {}

  static async open(reference: LayoutReference, root: string): Promise<LayoutDestination> {
    if ((await exists(root)) && !(await isDirectory(root))) {
      throw new ClientError('LAYOUT_INVALID', `${root} exists and is not a directory`);
    }
    if (reference.sourceIndex !== undefined) {
      throw new ClientError('REFERENCE_INVALID', `${String(reference)}: @N selects an image to read; name the image to write`);
    }
    if ((await exists(join(root, 'index.json'))) || (await exists(join(root, 'oci-layout')))) {
      await readIndexJson(directoryFiles(root));
    }
    return new LayoutDestination(reference, root, reference.refName);
  }

  // hasBlob implements ImageDestination.
  async hasBlob(desc: Descriptor): Promise<boolean> {
    try {
      const s = await stat(join(this.root, blobPath(desc.digest)));
      return s.isFile() && s.size === desc.size;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  // putBlob implements ImageDestination.
  async putBlob(desc: Descriptor, stream: Readable, opts: SourceOptions = {}): Promise<void> {
    const path = join(this.root, blobPath(desc.digest));
    try {
      await this.created.mkdirs(join(path, '..'));
    } catch (err) {
      stream.destroy();
      throw err;
    }
    const existed = await exists(path);
    await writeVerified(path, desc, stream, opts.signal);
    if (!existed) this.created.file(path);
  }

  // putManifest implements ImageDestination.
  async putManifest(m: RawManifest, opts: { top: boolean; signal?: AbortSignal }): Promise<void> {
    const path = join(this.root, blobPath(m.digest));
    const got = digestOf(m.bytes, digestAlgorithm(m.digest));
    if (got !== m.digest) throw new ClientError('DIGEST_MISMATCH', `manifest ${m.digest}: content has digest ${got}`);
    await this.created.mkdirs(join(path, '..'));
    if (!(await exists(path))) {
      await writeAtomic(path, m.bytes);
      this.created.file(path);
    }
    if (opts.top) this.top = m;
  }

  // commit implements ImageDestination.
  async commit(): Promise<void> {
    if (!this.top) throw new ClientError('MANIFEST_UNKNOWN', `commit to ${this.root} before its manifest was written`);
    const layoutFile = join(this.root, 'oci-layout');
    if (!(await exists(layoutFile))) {
      await writeAtomic(layoutFile, Buffer.from(OCI_LAYOUT_FILE));
      this.created.file(layoutFile);
    }
    const current = await readSmall(join(this.root, 'index.json'));
    const index: IndexJson = current ? parseIndexJson(current, this.root) : { schemaVersion: 2, manifests: [] };
    const entry = indexEntry(this.top, this.refName);
    const keep = index.manifests.filter((d) =>
      this.refName !== undefined ? d.annotations?.[REF_NAME] !== this.refName : !(d.digest === entry.digest && d.annotations?.[REF_NAME] === undefined),
    );
    index.manifests = [...keep, entry];
    await writeAtomic(join(this.root, 'index.json'), Buffer.from(JSON.stringify(index)));
    this.committed = true;
    this.created.forget();
  }

  async close(): Promise<void> {
    if (!this.committed) await this.created.undo();
  }
}
