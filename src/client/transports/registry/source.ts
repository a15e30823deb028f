/**
 * ImageSource over the registry API: manifests by tag or digest (Accept: all six manifest types; what comes
 * back is checked against the digest asked for), blobs streamed, and resumed with `Range` when the connection
 * drops part way. Mirrors from registries.conf are tried in order before the primary location; the first that
 * has the top manifest serves the rest of the image.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
 */
import type { IncomingMessage } from 'node:http';
import { finished, Readable } from 'node:stream';
import type { Descriptor } from '../../../content/descriptor.js';
import { digestAlgorithm, digestOf, isDigest, type Digest } from '../../../content/digest.js';
import { DOCKER_SCHEMA1_SIGNED, MANIFEST_MEDIA_TYPES, isManifestMediaType } from '../../../content/media-types.js';
import { ClientError, isClientError, type ClientErrorCode } from '../../errors.js';
import { MAX_SMALL_JSON } from '../../internal/files.js';
import { manifestMediaType } from '../../internal/media.js';
import type { ImageSource, RawManifest, SourceOptions } from '../../transport.js';
import { backoffDelay, isRetryableNetworkError, sleep } from './http.js';
import type { DockerReference } from './reference.js';
import type { Endpointed } from './session.js';

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

export class RegistrySource implements ImageSource {
  private chosen: Endpointed | undefined;

  constructor(
    readonly reference: DockerReference,
    private readonly endpoints: Endpointed[],
  ) {}

  /** Tries each endpoint in turn; the first that answers serves from then on. MANIFEST_UNKNOWN etc. from the last. */
  private async onEndpoints<T>(fn: (e: Endpointed) => Promise<T>): Promise<T> {
    if (this.chosen) return fn(this.chosen);
    let last: unknown;
    for (const e of this.endpoints) {
      try {
        const out = await fn(e);
        this.chosen = e;
        return out;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  // getManifest implements ImageSource.
  async getManifest(digest?: Digest, opts: SourceOptions = {}): Promise<RawManifest> {
    const ref = digest ?? this.reference.manifestReference;
    return this.onEndpoints((e) => fetchManifest(e, ref, opts.signal));
  }

  // getBlob implements ImageSource.
  async getBlob(desc: Descriptor, opts: SourceOptions & { offset?: number } = {}): Promise<Readable> {
    return this.onEndpoints((e) => openBlob(e, desc, opts.offset ?? 0, opts.signal));
  }

  async close(): Promise<void> {
    // Connections belong to the transport's session and are shared; nothing is held per source.
  }
}

/** GET a manifest (tag or digest) and check it: the digest asked for, or the registry's Docker-Content-Digest. */
export async function fetchManifest(e: Endpointed, ref: string, signal?: AbortSignal): Promise<RawManifest> {
  const what = `GET manifest ${ref} of ${e.client.registry}/${e.repository}`;
  const res = await e.client.expect({ method: 'GET', path: `/v2/${e.repository}/manifests/${ref}`, scopes: [`repository:${e.repository}:pull`], headers: { accept: MANIFEST_ACCEPT }, signal }, [200], what, 'MANIFEST_UNKNOWN');
  const bytes = await readCapped(res.body, MAX_SMALL_JSON, what);
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const mediaType = isManifestMediaType(contentType) ? contentType : manifestMediaType(bytes, what);
  const header = res.headers['docker-content-digest'];
  const served = typeof header === 'string' && isDigest(header) ? header : undefined;
  let digest: Digest;
  if (isDigest(ref)) {
    digest = digestOf(bytes, digestAlgorithm(ref));
    // A signed schema 1 manifest is named by the digest of its payload without the signatures.
    if (digest !== ref && !(mediaType === DOCKER_SCHEMA1_SIGNED && served === ref)) {
      throw new ClientError('DIGEST_MISMATCH', `${what}: the registry sent content with digest ${digest}`, { expected: ref, got: digest });
    }
    if (digest !== ref) digest = ref;
  } else {
    digest = digestOf(bytes, served ? digestAlgorithm(served) : 'sha256');
    if (served && served !== digest) {
      if (mediaType === DOCKER_SCHEMA1_SIGNED) digest = served;
      else throw new ClientError('DIGEST_MISMATCH', `${what}: Docker-Content-Digest says ${served}, the content has ${digest}`, { expected: served, got: digest });
    }
  }
  return { bytes, mediaType, digest };
}

/** A response body read whole, refused (`code`) past `cap` bytes declared or sent. */
export async function readCapped(res: IncomingMessage, cap: number, what: string, code: ClientErrorCode = 'MANIFEST_INVALID'): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    res.destroy();
    throw new ClientError(code, `${what}: ${declared} bytes, more than the ${cap} read whole`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > cap) {
      res.destroy();
      throw new ClientError(code, `${what}: more than the ${cap} bytes read whole`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Opens a blob at `offset`: a 206 continues there; a 200 (no range support) is skipped forward. */
async function requestBlob(e: Endpointed, desc: Descriptor, offset: number, signal?: AbortSignal): Promise<IncomingMessage> {
  const what = `GET blob ${desc.digest} of ${e.client.registry}/${e.repository}`;
  const res = await e.client.expect(
    { method: 'GET', path: `/v2/${e.repository}/blobs/${desc.digest}`, scopes: [`repository:${e.repository}:pull`], headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal },
    [200, 206],
    what,
    'BLOB_UNKNOWN',
  );
  if (offset > 0 && res.status === 200) return skipBytes(res.body, offset);
  return res.body;
}

/** Drops the first `n` bytes of a response that ignored our Range. */
function skipBytes(res: IncomingMessage, n: number): IncomingMessage {
  let left = n;
  const out = Readable.from(
    (async function* () {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (left >= chunk.length) {
          left -= chunk.length;
          continue;
        }
        yield left > 0 ? chunk.subarray(left) : chunk;
        left = 0;
      }
    })(),
    { objectMode: false },
  );
  return out as unknown as IncomingMessage;
}

/**
 * The blob as one stream that survives dropped connections: when the body breaks off (reset, premature close)
 * before `desc.size` bytes, it asks again with `Range: bytes=<received>-` (with backoff), up to the retry
 * policy's attempts. Backpressure holds: the response is paused while BLOB_BUFFER bytes wait for the consumer.
 */
export async function openBlob(e: Endpointed, desc: Descriptor, offset: number, signal?: AbortSignal): Promise<Readable> {
  const first = await requestBlob(e, desc, offset, signal);
  return new BlobBody(e, desc, first, offset, signal);
}

/** Bytes of a blob read ahead of the consumer: a large buffer pauses the socket less often. */
const BLOB_BUFFER = 1024 * 1024;

/**
 * The body of openBlob. Response chunks are pushed straight through ('data' events, no async iteration: this
 * is the hot path of every pull), and a response that ends or fails early is replaced by a ranged one.
 */
class BlobBody extends Readable {
  private res: IncomingMessage;
  private pos: number;
  private resumes = 0;
  private readonly total: number | undefined;

  constructor(
    private readonly e: Endpointed,
    private readonly desc: Descriptor,
    first: IncomingMessage,
    offset: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    super({ highWaterMark: BLOB_BUFFER });
    this.pos = offset;
    this.total = desc.size >= 0 ? desc.size : undefined;
    this.res = first;
    this.attach(first);
  }

  private attach(res: IncomingMessage): void {
    res.on('data', (chunk: Buffer) => {
      if (this.res !== res || this.destroyed) return;
      this.pos += chunk.length;
      if (!this.push(chunk)) res.pause();
    });
    finished(res, (err) => {
      if (this.res !== res || this.destroyed) return;
      if (!err && (this.total === undefined || this.pos >= this.total)) {
        this.push(null);
        return;
      }
      this.recover(err ?? Object.assign(new Error(`the connection closed after ${this.pos} of ${this.total} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  }

  private recover(err: unknown): void {
    const { e, signal } = this;
    this.res.destroy();
    if (isClientError(err) || signal?.aborted || !isRetryableNetworkError(err)) {
      this.destroy(err as Error);
      return;
    }
    if (++this.resumes >= Math.max(1, e.client.settings.retry.attempts)) {
      this.destroy(e.client.networkError(err, this.resumes));
      return;
    }
    sleep(backoffDelay(e.client.settings.retry, this.resumes), signal)
      .then(() => requestBlob(e, this.desc, this.pos, signal))
      .then(
        (res) => {
          if (this.destroyed) {
            res.destroy();
            return;
          }
          this.res = res;
          this.attach(res);
        },
        (err: unknown) => this.destroy(err as Error),
      );
  }

  override _read(): void {
    this.res.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.res.destroy();
    cb(err);
  }
}
