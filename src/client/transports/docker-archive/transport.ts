/**
 * `docker-archive:PATH[:NAME[:TAG]|@N]`: a `docker save` tarball (see format.ts). Reading serves members from
 * their byte ranges in the tar; writing stages uncompressed layers next to PATH and writes the archive over
 * PATH on commit(). Layers are stored decompressed, so writing from gzip layers changes every layer digest
 * and therefore the manifest digest; putManifest() reports the manifest as it will be read back.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../../../content/descriptor.js';
import { digestHex, digestOf, isDigest, type Digest } from '../../../content/digest.js';
import { parseManifest } from '../../../content/manifest.js';
import { DOCKER_MANIFEST_V2 } from '../../../content/media-types.js';
import { ClientError } from '../../errors.js';
import { openArchive, writeArchive, type OpenArchive } from '../../internal/archive-file.js';
import { compressionOf, decompressed, peek } from '../../internal/compression.js';
import { parseNamedTagged, formatNamedTagged, type NamedTagged } from '../../internal/docker-ref.js';
import { MAX_SMALL_JSON, isDirectory, readSmall } from '../../internal/files.js';
import { hasher, verifier } from '../../internal/verify.js';
import { openMember, resolveMember, type TarMember } from '../../tar/reader.js';
import type { ImageDestination, ImageReference, ImageSource, RawManifest, SourceOptions, Transport } from '../../transport.js';
import { archiveManifest, diffIDsOf, type ArchiveManifestEntry } from './format.js';

export class DockerArchiveReference implements ImageReference {
  readonly transport = 'docker-archive';
  constructor(
    readonly path: string,
    readonly named?: NamedTagged,
    readonly sourceIndex?: number,
  ) {}
  toString(): string {
    const tail = this.named ? `:${formatNamedTagged(this.named)}` : this.sourceIndex !== undefined ? `:@${this.sourceIndex}` : '';
    return `docker-archive:${this.path}${tail}`;
  }
}

function parseReference(rest: string): DockerArchiveReference {
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const ref = colon === -1 ? '' : rest.slice(colon + 1);
  if (path === '') throw new ClientError('REFERENCE_INVALID', `invalid docker-archive: reference ${JSON.stringify(rest)}: the path is empty`);
  if (ref === '') return new DockerArchiveReference(path);
  if (ref.startsWith('@')) {
    if (!/^@\d{1,9}$/.test(ref)) throw new ClientError('REFERENCE_INVALID', `invalid docker-archive: source index ${JSON.stringify(ref)}`);
    return new DockerArchiveReference(path, undefined, Number(ref.slice(1)));
  }
  return new DockerArchiveReference(path, parseNamedTagged(ref, 'docker-archive:'));
}

async function readMember(file: string, m: TarMember, where: string): Promise<Buffer> {
  if (m.size > MAX_SMALL_JSON) throw new ClientError('ARCHIVE_INVALID', `${where} is ${m.size} bytes`);
  const chunks: Buffer[] = [];
  for await (const c of openMember(file, m) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function skip(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (left >= chunk.length) {
        left -= chunk.length;
        cb();
      } else {
        const out = chunk.subarray(left);
        left = 0;
        cb(null, out);
      }
    },
  });
}

interface ArchivedLayer {
  member: TarMember;
  compressed: boolean;
  size: number;
}

class DockerArchiveSource implements ImageSource {
  private constructor(
    readonly reference: DockerArchiveReference,
    private readonly archive: OpenArchive,
    private readonly manifest: RawManifest,
    private readonly config: { digest: Digest; member: TarMember },
    private readonly layers: Map<Digest, ArchivedLayer>,
  ) {}

  static async open(ref: DockerArchiveReference): Promise<DockerArchiveSource> {
    const archive = await openArchive(ref.path, 'docker-archive');
    const where = `docker-archive:${ref.path}`;
    try {
      const file = archive.file;
      const find = (name: string, what: string) => {
        const m = resolveMember(archive.members, name);
        if (!m) throw new ClientError('ARCHIVE_INVALID', `${where}: ${what} ${JSON.stringify(name)} is not in the archive`);
        return m;
      };
      let entries: ArchiveManifestEntry[];
      try {
        entries = JSON.parse((await readMember(file, find('manifest.json', 'file'), `${where}/manifest.json`)).toString('utf8')) as ArchiveManifestEntry[];
        if (!Array.isArray(entries)) throw new Error('not an array');
      } catch (cause) {
        if (cause instanceof ClientError) throw cause;
        throw new ClientError('ARCHIVE_INVALID', `${where}: manifest.json is not a docker save manifest`, undefined, { cause });
      }
      const entry = selectEntry(entries, ref, where);
      const configBytes = await readMember(file, find(entry.Config, 'config'), `${where}/${entry.Config}`);
      const configDigest = digestOf(configBytes);
      const diffIDs = diffIDsOf(configBytes, `${where}/${entry.Config}`);
      if (!Array.isArray(entry.Layers) || diffIDs.length !== entry.Layers.length) {
        throw new ClientError('ARCHIVE_INVALID', `${where}: ${entry.Layers?.length ?? 0} layers but the config has ${diffIDs.length} diff_ids`);
      }
      const layers = new Map<Digest, ArchivedLayer>();
      const descs: Array<{ size: number; digest: Digest }> = [];
      for (const [i, name] of entry.Layers.entries()) {
        const diffID = diffIDs[i]!;
        if (!isDigest(diffID)) throw new ClientError('ARCHIVE_INVALID', `${where}: bad diff_id ${JSON.stringify(diffID)}`);
        let layer = layers.get(diffID);
        if (!layer) {
          const member = find(name, 'layer');
          const head = openMember(file, member, 0);
          const compressed = compressionOf(await peek(head, 4)) !== 'none';
          head.destroy();
          // A compressed member (some docker versions) is served decompressed, as its diff_id names the tar.
          let size = member.size;
          if (compressed) {
            const h = hasher();
            await pipeline((await decompressed(openMember(file, member))).stream, h, new Transform({ transform: (_c, _e, cb) => cb() }));
            size = h.size;
          }
          layer = { member, compressed, size };
          layers.set(diffID, layer);
        }
        descs.push({ size: layer.size, digest: diffID });
      }
      const manifest = archiveManifest({ size: configBytes.length, digest: configDigest }, descs);
      return new DockerArchiveSource(ref, archive, manifest, { digest: configDigest, member: find(entry.Config, 'config') }, layers);
    } catch (err) {
      await archive.close();
      throw err;
    }
  }

  // getManifest implements ImageSource.
  async getManifest(digest?: Digest): Promise<RawManifest> {
    if (digest !== undefined && digest !== this.manifest.digest) {
      throw new ClientError('MANIFEST_UNKNOWN', `manifest ${digest} is not in docker-archive:${this.reference.path}`);
    }
    return this.manifest;
  }

  // getBlob implements ImageSource.
  async getBlob(desc: Descriptor, opts: SourceOptions & { offset?: number } = {}): Promise<Readable> {
    const offset = opts.offset ?? 0;
    if (desc.digest === this.config.digest) return openMember(this.archive.file, this.config.member, offset, opts.signal);
    const layer = this.layers.get(desc.digest);
    if (!layer) throw new ClientError('BLOB_UNKNOWN', `blob ${desc.digest} is not in docker-archive:${this.reference.path}`);
    if (!layer.compressed) return openMember(this.archive.file, layer.member, offset, opts.signal);
    const { stream } = await decompressed(openMember(this.archive.file, layer.member, 0, opts.signal));
    if (offset === 0) return stream;
    const out = skip(offset);
    pipeline(stream, out).catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  async close(): Promise<void> {
    await this.archive.close();
  }
}

function selectEntry(entries: ArchiveManifestEntry[], ref: DockerArchiveReference, where: string): ArchiveManifestEntry {
  if (ref.named) {
    const want = formatNamedTagged(ref.named);
    const found = entries.find((e) => (e.RepoTags ?? []).some((t) => {
      try {
        return formatNamedTagged(parseNamedTagged(t, where)) === want;
      } catch {
        return false;
      }
    }));
    if (!found) throw new ClientError('MANIFEST_UNKNOWN', `${where}: no image tagged ${want}`);
    return found;
  }
  if (ref.sourceIndex !== undefined) {
    const found = entries[ref.sourceIndex];
    if (!found) throw new ClientError('MANIFEST_UNKNOWN', `${where}: no image @${ref.sourceIndex} (it has ${entries.length})`);
    return found;
  }
  if (entries.length !== 1) throw new ClientError('MANIFEST_UNKNOWN', `${where} holds ${entries.length} images; name one with :NAME:TAG or :@N`);
  return entries[0]!;
}

interface StagedBlob {
  file: string;
  /** Digest and size of the bytes as staged (decompressed). */
  digest: Digest;
  size: number;
}

class DockerArchiveDestination implements ImageDestination {
  readonly supportedManifestTypes = [DOCKER_MANIFEST_V2] as const;
  private readonly staged = new Map<Digest, StagedBlob>();
  private plan: { manifest: RawManifest; config: StagedBlob; layers: StagedBlob[] } | undefined;
  private counter = 0;

  constructor(
    readonly reference: DockerArchiveReference,
    private readonly staging: string,
    /** RepoTags: the reference's name, then the additional tags, each once. */
    private readonly repoTags: string[],
  ) {}

  static async open(ref: DockerArchiveReference, additionalTags: string[] = []): Promise<DockerArchiveDestination> {
    if (ref.sourceIndex !== undefined) throw new ClientError('REFERENCE_INVALID', `${String(ref)}: @N selects an image to read`);
    const extra = additionalTags.map((t) => formatNamedTagged(parseNamedTagged(t, '--additional-tag')));
    const repoTags = [...new Set([...(ref.named ? [formatNamedTagged(ref.named)] : []), ...extra])];
    if (await isDirectory(ref.path)) throw new ClientError('ARCHIVE_INVALID', `docker-archive: ${ref.path} is a directory`);
    const parent = dirname(ref.path) || '.';
    if (!(await isDirectory(parent))) throw new ClientError('ARCHIVE_INVALID', `docker-archive: ${parent}: no such directory`);
    // Staged next to PATH rather than in /tmp: layers can be large, and this is where they are going anyway.
    const staging = join(parent, `.berth-staging-${randomBytes(6).toString('hex')}`);
    await mkdir(staging);
    return new DockerArchiveDestination(ref, staging, repoTags);
  }

  // hasBlob implements ImageDestination: the archive is written from scratch, so only what this copy staged.
  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.staged.has(desc.digest);
  }

  // putBlob implements ImageDestination: verifies the bytes as given, stores them decompressed.
  async putBlob(desc: Descriptor, stream: Readable, opts: SourceOptions = {}): Promise<void> {
    const file = join(this.staging, `blob-${++this.counter}`);
    const check = verifier(desc);
    const verified = pipeline(stream, check, { signal: opts.signal });
    const h = hasher();
    try {
      const { stream: plain } = await decompressed(check);
      await Promise.all([verified, pipeline(plain, h, createWriteStream(file), { signal: opts.signal })]);
    } catch (err) {
      stream.destroy();
      check.destroy();
      await verified.catch(() => undefined);
      await rm(file, { force: true });
      throw err;
    }
    this.staged.set(desc.digest, { file, digest: h.digest(), size: h.size });
  }

  // putManifest implements ImageDestination: resolves to the manifest the archive will be read back with.
  async putManifest(m: RawManifest, opts: { top: boolean }): Promise<RawManifest> {
    if (!opts.top) throw new ClientError('UNSUPPORTED_FORMAT', 'docker-archive stores one image, not an index');
    const parsed = parseManifest(m.bytes, m.mediaType);
    if (parsed.kind !== 'image' || !parsed.config) throw new ClientError('UNSUPPORTED_FORMAT', `docker-archive cannot store a ${m.mediaType}`);
    const need = (d: Digest) => {
      const s = this.staged.get(d);
      if (!s) throw new ClientError('BLOB_UNKNOWN', `blob ${d} was not written to docker-archive:${this.reference.path}`);
      return s;
    };
    const config = need(parsed.config.digest);
    const layers = parsed.layers.map((l) => need(l.digest));
    const configBytes = await readSmall(config.file);
    const diffIDs = diffIDsOf(configBytes ?? Buffer.alloc(0), `config ${parsed.config.digest}`);
    if (diffIDs.length !== layers.length || diffIDs.some((d, i) => d !== layers[i]!.digest)) {
      throw new ClientError('DIGEST_MISMATCH', `config ${parsed.config.digest}: rootfs.diff_ids do not match the layers' uncompressed digests`, {
        diffIDs,
        layers: layers.map((l) => l.digest),
      });
    }
    const manifest = archiveManifest(config, layers);
    this.plan = { manifest, config, layers };
    return manifest;
  }

  // commit implements ImageDestination.
  async commit(): Promise<void> {
    const plan = this.plan;
    if (!plan) throw new ClientError('MANIFEST_UNKNOWN', `commit to docker-archive:${this.reference.path} before its manifest was written`);
    // The member headers skopeo writes: mode 0444, uid/gid 0, mtime 0, no user names.
    const opts = { mode: 0o444 };
    const layerNames = plan.layers.map((l) => `${digestHex(l.digest)}.tar`);
    const configName = `${digestHex(plan.config.digest)}.json`;
    const entry: ArchiveManifestEntry = {
      Config: configName,
      RepoTags: this.repoTags,
      Layers: layerNames,
    };
    await writeArchive(this.reference.path, async (tar) => {
      const written = new Set<string>();
      for (const [i, l] of plan.layers.entries()) {
        const name = layerNames[i]!;
        if (written.has(name)) continue;
        written.add(name);
        await tar.addFile(name, l.size, createReadStream(l.file), opts);
      }
      await tar.addFile(configName, plan.config.size, createReadStream(plan.config.file), opts);
      await tar.addFile('manifest.json', Buffer.byteLength(JSON.stringify([entry])), Buffer.from(JSON.stringify([entry])), opts);
    });
  }

  async close(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}

function asRef(ref: ImageReference): DockerArchiveReference {
  if (!(ref instanceof DockerArchiveReference)) throw new ClientError('REFERENCE_INVALID', `${String(ref)} is not a docker-archive: reference`);
  return ref;
}

export const dockerArchiveTransport = {
  name: 'docker-archive',
  parseReference,
  newSource: (ref) => DockerArchiveSource.open(asRef(ref)),
  newDestination: (ref, opts) => DockerArchiveDestination.open(asRef(ref), opts?.additionalTags),
} satisfies Transport;
