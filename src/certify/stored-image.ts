/**
 * Certifying an image the registry holds, straight from its own storage: no HTTP round trip, no credentials.
 * `app/` implements `StoredContent` over the registry's metadata and blob storage (certify may not import
 * them); this module turns it into the client library's `ImageSource`, so every check reads the image exactly
 * as it reads one pulled from any other transport, digests verified as bytes flow.
 *
 * @example
 * const run = await certifyStored(content, { repo: 'acme/app', tag: '1.0', digest }, { policy: 'container', listTags })
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../content/descriptor.js';
import type { Digest } from '../content/digest.js';
import { ClientError } from '../client/errors.js';
import type { ImageReference, ImageSource, RawManifest, SourceOptions } from '../client/transport.js';
import { certifySource, type CertifyRun, type CertifySourceOptions } from './certify.js';
import type { ImageNaming } from './naming.js';

/** Read access to what one repository of the registry holds. */
export interface StoredContent {
  /** The manifest's bytes and media type, or undefined when the repository does not hold it. */
  manifest(digest: Digest, signal?: AbortSignal): Promise<{ bytes: Buffer; mediaType: string } | undefined>;
  /** The blob's bytes from `offset`, or undefined when the repository does not hold it. The caller consumes or destroys the stream. */
  blob(digest: Digest, offset: number, signal?: AbortSignal): Promise<Readable | undefined>;
}

export interface StoredImage {
  repo: string;
  /** The tag being certified (what HasUniqueTag judges); undefined certifies the digest alone. */
  tag?: string;
  digest: Digest;
  /** The registry's name for reports (`registry.example.com`); reports say `repo:tag` without it. */
  host?: string;
}

/** How reports and the name checks see a stored image, as `namingOf` sees a `docker://` reference. */
export function storedNaming(img: StoredImage): ImageNaming {
  const name = img.host ? `${img.host}/${img.repo}` : img.repo;
  const parts = img.repo.split('/');
  return {
    transport: 'docker',
    ...(img.host ? { registry: img.host } : {}),
    repository: img.repo,
    containerName: parts[parts.length - 1]!,
    ...(img.tag !== undefined ? { tag: img.tag } : {}),
    digest: img.digest,
    display: img.tag !== undefined ? `${name}:${img.tag}` : `${name}@${img.digest}`,
  };
}

class StoredSource implements ImageSource {
  readonly reference: ImageReference;

  constructor(
    private readonly content: StoredContent,
    private readonly img: StoredImage,
  ) {
    const display = storedNaming(img).display;
    this.reference = { transport: 'docker', toString: () => `docker://${display}` };
  }

  // getManifest implements ImageSource: the reference names the stored digest, not the tag, so a push that moves
  // the tag during the run does not mix two images.
  async getManifest(digest?: Digest, opts: SourceOptions = {}): Promise<RawManifest> {
    const want = digest ?? this.img.digest;
    const m = await this.content.manifest(want, opts.signal);
    if (!m) throw new ClientError('MANIFEST_UNKNOWN', `manifest ${want} is not in repository ${this.img.repo}`);
    return { bytes: m.bytes, mediaType: m.mediaType, digest: want };
  }

  // getBlob implements ImageSource.
  async getBlob(desc: Descriptor, opts: SourceOptions & { offset?: number } = {}): Promise<Readable> {
    const s = await this.content.blob(desc.digest, opts.offset ?? 0, opts.signal);
    if (!s) throw new ClientError('BLOB_UNKNOWN', `blob ${desc.digest} is not in repository ${this.img.repo}`);
    return s;
  }

  async close(): Promise<void> {}
}

export function storedImageSource(content: StoredContent, img: StoredImage): ImageSource {
  return new StoredSource(content, img);
}

/** Certifies a stored image (every platform of an index) under `opts.policy`. */
export async function certifyStored(content: StoredContent, img: StoredImage, opts: CertifySourceOptions = {}): Promise<CertifyRun> {
  const source = storedImageSource(content, img);
  try {
    return await certifySource(source, storedNaming(img), opts);
  } finally {
    await source.close();
  }
}
