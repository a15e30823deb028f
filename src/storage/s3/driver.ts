import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type CompletedPart,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { destroyOnAbort } from '../destroy-on-abort.js';
import type { BlobDriver, FileInfo, FileWriter, IoOptions, ReadOptions, WriterOptions } from '../driver.js';
import { DriverError, isPathNotFound } from '../errors.js';
import { isValidPathSegment, validatePath } from '../validate-path.js';
import { isNoSuchUpload, MIN_PART_SIZE, S3Writer, type S3WriterContext } from './writer.js';

export interface S3DriverOptions {
  bucket: string;
  /** Default: the SDK's region chain (`AWS_REGION`, profile); `us-east-1` when `endpoint` is set. */
  region?: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:9000`); default: AWS for `region`. */
  endpoint?: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), needed by most S3-compatible servers. Default false. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix for every path: path `/a/b` is key `<rootDirectory>/a/b`. Default: the bucket root. */
  rootDirectory?: string;
  /** Bytes per multipart part, and the most a writer buffers twice over. Default 16 MiB, at least 5 MiB. */
  partSize?: number;
  /** A client to use instead of one built from the options above; the driver does not destroy it. */
  client?: S3Client;
  /** Objects above this size are copied in parts (`move`). Default 5 GiB, S3's `CopyObject` limit. For tests. */
  multipartCopyThreshold?: number;
  /** Largest part of a server-side copy in parts. Default 512 MiB, at least 10 MiB. For tests. */
  copyPartSize?: number;
}

const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const MAX_COPY_OBJECT = 5 * 1024 ** 3;
const DEFAULT_COPY_PART_SIZE = 512 * 1024 * 1024;
/** Part copies in flight at once during a copy in parts. */
const COPY_CONCURRENCY = 4;
/** S3's `DeleteObjects` limit, which is also the largest `ListObjectsV2` page. */
const DELETE_BATCH = 1000;
const DEFAULT_URL_EXPIRY_SECONDS = 20 * 60;

interface Head {
  size: number;
  modTime: Date;
  etag: string | undefined;
}

/**
 * A `BlobDriver` on an S3 bucket (or any S3-compatible server), through the AWS SDK v3, like
 * distribution's `s3-aws` driver. Path `/a/b` is key `a/b` below `rootDirectory`; "directories" are key
 * prefixes, so nothing is left to clean up after a delete or move.
 *
 * - Writers never show partial content: they stream into a multipart upload (or one `PutObject` for
 *   small objects) that commit completes and cancel aborts; see `S3Writer`.
 * - An append writer keeps no state between writers (another node may append the next chunk): it opens a
 *   new multipart upload whose first parts are the old object, copied server-side (`UploadPartCopy`) when
 *   it is at least 5 MiB, or downloaded and sent again in front of the new bytes when smaller (every part
 *   but the last must be 5 MiB or more), or when the server cannot copy parts. Commit replaces the object
 *   with old + new in one step; cancel aborts the upload and the object is untouched. Each append thus
 *   costs a server-side copy of everything before it.
 * - `urlFor` presigns a GET, so the registry can redirect blob downloads to the bucket.
 *
 * The client is built with `requestChecksumCalculation: 'WHEN_REQUIRED'`: the SDK's default extra
 * checksums (CRC32 headers, `aws-chunked` bodies, checksums required at multipart completion) are not
 * understood by many S3-compatible servers. Integrity is the registry's digest check.
 */
export class S3Driver implements BlobDriver {
  readonly name = 's3';
  readonly bucket: string;
  readonly client: S3Client;
  readonly #ownsClient: boolean;
  /** `''` or `<rootDirectory>/`. */
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #copyThreshold: number;
  readonly #copyPartSize: number;
  /** Multipart uploads this driver started and nobody finished yet: uploadId → key. */
  readonly #uploads = new Map<string, string>();
  readonly #pending = new Set<Promise<void>>();
  readonly #writerCtx: S3WriterContext;
  /** Set once the server answered `UploadPartCopy` with NotImplemented: stream old content instead. */
  #partCopyUnsupported = false;
  #closed: Promise<void> | undefined;

  constructor(opts: S3DriverOptions) {
    this.bucket = opts.bucket;
    const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
      throw new RangeError(`s3: partSize must be an integer of at least ${MIN_PART_SIZE} bytes, got ${partSize}`);
    }
    this.#partSize = partSize;
    this.#copyThreshold = Math.min(opts.multipartCopyThreshold ?? MAX_COPY_OBJECT, MAX_COPY_OBJECT);
    // At least twice the smallest part: splitting into near-equal ranges then never makes a part under 5 MiB.
    this.#copyPartSize = Math.max(opts.copyPartSize ?? DEFAULT_COPY_PART_SIZE, 2 * MIN_PART_SIZE);
    const root = (opts.rootDirectory ?? '').replace(/^\/+|\/+$/g, '');
    if (root !== '') validatePath(this.name, `/${root}`);
    this.#prefix = root === '' ? '' : `${root}/`;
    this.#ownsClient = opts.client === undefined;
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? (opts.endpoint ? 'us-east-1' : undefined),
        endpoint: opts.endpoint,
        forcePathStyle: opts.forcePathStyle ?? false,
        credentials:
          opts.accessKeyId && opts.secretAccessKey ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } : undefined,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    this.#writerCtx = {
      driverName: this.name,
      client: this.client,
      bucket: this.bucket,
      partSize: this.#partSize,
      uploadStarted: (key, id) => this.#uploads.set(id, key),
      uploadEnded: (_key, id) => this.#uploads.delete(id),
      mapError: (err, path) => this.#mapError(err, path),
      track: (p) => this.#trackPending(p),
    };
  }

  // stat implements BlobDriver.
  async stat(path: string, opts: IoOptions = {}): Promise<FileInfo> {
    this.#check(path);
    opts.signal?.throwIfAborted();
    const head = await this.#head(path, opts.signal);
    return { path, size: head.size, modTime: head.modTime };
  }

  // reader implements BlobDriver.
  async reader(path: string, opts: ReadOptions = {}): Promise<Readable> {
    this.#check(path);
    const { signal, length } = opts;
    signal?.throwIfAborted();
    const offset = opts.offset ?? 0;
    const badOffset = !Number.isSafeInteger(offset) || offset < 0;
    const badLength = length !== undefined && (!Number.isSafeInteger(length) || length < 0);
    if (badOffset || badLength || length === 0) {
      // Nothing to fetch, but the contract still wants PATH_NOT_FOUND and INVALID_OFFSET from here.
      const { size } = await this.#head(path, signal);
      if (badOffset || offset > size) throw this.#invalidOffset(path, offset);
      if (badLength) throw new DriverError('INVALID_OFFSET', this.name, path, `${this.name}: invalid length ${length}: ${path}`);
      return emptyReadable();
    }
    // One request in the common cases: the status line tells a missing key (404) or a range that starts
    // at or past the end (416); only then does a HEAD tell `offset == size` (empty) from past the end.
    const range = offset === 0 && length === undefined ? undefined : `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(path), Range: range }), { abortSignal: signal })).Body;
    } catch (err) {
      const mapped = this.#mapError(err, path, signal);
      if (!(mapped instanceof DriverError && mapped.code === 'INVALID_OFFSET')) throw mapped;
      const { size } = await this.#head(path, signal);
      if (offset === size) return emptyReadable();
      throw this.#invalidOffset(path, offset);
    }
    return this.#ownStream(body, path, signal);
  }

  // writer implements BlobDriver.
  async writer(path: string, opts: WriterOptions = {}): Promise<FileWriter> {
    this.#check(path);
    const { signal } = opts;
    signal?.throwIfAborted();
    const key = this.#key(path);
    if (!opts.append) return new S3Writer({ ctx: this.#writerCtx, path, key, signal, initialSize: 0 });
    let head: Head | undefined;
    try {
      head = await this.#head(path, signal);
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
    }
    const w = new S3Writer({ ctx: this.#writerCtx, path, key, signal, initialSize: head?.size ?? 0 });
    if (head && head.size > 0) {
      try {
        await this.#prefill(w, path, key, head, signal);
      } catch (err) {
        await w.cancel().catch(() => undefined);
        throw this.#mapError(err, path, signal);
      }
    }
    return w;
  }

  // getContent implements BlobDriver.
  async getContent(path: string, opts: IoOptions = {}): Promise<Buffer> {
    this.#check(path);
    const { signal } = opts;
    signal?.throwIfAborted();
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }), { abortSignal: signal });
      const bytes = await out.Body?.transformToByteArray();
      return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0);
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
  }

  // putContent implements BlobDriver.
  async putContent(path: string, content: Uint8Array, opts: IoOptions = {}): Promise<void> {
    this.#check(path);
    const { signal } = opts;
    signal?.throwIfAborted();
    const body = Buffer.from(content); // the caller may reuse its buffer while the request is in flight
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.#key(path), Body: body, ContentLength: body.length }), {
        abortSignal: signal,
      });
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
  }

  // move implements BlobDriver. S3 has no rename: copy (atomic replace of `dest`), then delete the source.
  async move(source: string, dest: string, opts: IoOptions = {}): Promise<void> {
    this.#check(source);
    this.#check(dest);
    const { signal } = opts;
    signal?.throwIfAborted();
    const head = await this.#head(source, signal);
    if (source === dest) return;
    const srcKey = this.#key(source);
    const dstKey = this.#key(dest);
    try {
      if (head.size <= this.#copyThreshold) {
        await this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key: dstKey, CopySource: this.#copySource(srcKey), CopySourceIfMatch: head.etag }),
          { abortSignal: signal },
        );
      } else {
        await this.#copyInParts(srcKey, dstKey, head, signal);
      }
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: srcKey }), { abortSignal: signal });
    } catch (err) {
      throw this.#mapError(err, source, signal);
    }
  }

  // delete implements BlobDriver.
  async delete(path: string, opts: IoOptions = {}): Promise<void> {
    this.#check(path, true);
    const { signal } = opts;
    signal?.throwIfAborted();
    let found = false;
    try {
      if (path !== '/') {
        // S3 deletes a missing key without complaint, so ask first: the contract wants PATH_NOT_FOUND.
        try {
          await this.#head(path, signal);
          found = true;
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }), { abortSignal: signal });
        } catch (err) {
          if (!isPathNotFound(err)) throw err;
        }
      }
      for await (const page of this.#listPages(this.#dirPrefix(path), undefined, signal)) {
        const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        for (let i = 0; i < objects.length; i += DELETE_BATCH) {
          const batch = objects.slice(i, i + DELETE_BATCH);
          found = true;
          const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }), {
            abortSignal: signal,
          });
          const failed = out.Errors ?? [];
          if (failed.length > 0) {
            const first = failed[0]!;
            throw new DriverError('DRIVER_FAILURE', this.name, path, `${this.name}: could not delete ${failed.length} keys, first ${first.Key}: ${first.Code} ${first.Message}`);
          }
        }
      }
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
    if (!found) throw this.#notFound(path);
  }

  // list implements BlobDriver.
  async list(path: string, opts: IoOptions = {}): Promise<string[]> {
    this.#check(path, true);
    const { signal } = opts;
    signal?.throwIfAborted();
    const prefix = this.#dirPrefix(path);
    const base = path === '/' ? '' : path;
    const children = new Set<string>();
    try {
      for await (const page of this.#listPages(prefix, '/', signal)) {
        for (const o of page.Contents ?? []) {
          const name = o.Key?.slice(prefix.length) ?? '';
          if (isValidPathSegment(name)) children.add(`${base}/${name}`);
        }
        for (const cp of page.CommonPrefixes ?? []) {
          const name = cp.Prefix?.slice(prefix.length, -1) ?? '';
          if (isValidPathSegment(name)) children.add(`${base}/${name}`);
        }
      }
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
    if (children.size === 0 && path !== '/') throw this.#notFound(path);
    // Plain code-unit order, as the other drivers: S3's own order puts `b/` after `b.txt`, not before `b-x`.
    return [...children].sort();
  }

  // walk implements BlobDriver.
  async *walk(path: string, opts: IoOptions = {}): AsyncIterable<FileInfo> {
    this.#check(path, true);
    const { signal } = opts;
    signal?.throwIfAborted();
    // S3 lists in key order, where `a/b-x` < `a/b.txt` < `a/b/c`; a depth-first walk visits `a/b/c` first.
    // So collect, then sort segment by segment. TODO(s3): stream in bounded windows for huge buckets.
    const found: FileInfo[] = [];
    try {
      for await (const page of this.#listPages(this.#dirPrefix(path), undefined, signal)) {
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          const rel = o.Key.slice(this.#prefix.length);
          if (!rel.split('/').every(isValidPathSegment)) continue; // not a key this driver could have written
          found.push({ path: `/${rel}`, size: o.Size ?? 0, modTime: o.LastModified ?? new Date(0) });
        }
      }
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
    found.sort((a, b) => compareDepthFirst(a.path, b.path));
    for (const info of found) {
      signal?.throwIfAborted();
      yield info;
    }
  }

  // urlFor implements BlobDriver: a presigned GET, signed locally (no request is sent).
  async urlFor(path: string, opts: { expiresInSeconds?: number } = {}): Promise<string | undefined> {
    this.#check(path);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }), {
      expiresIn: opts.expiresInSeconds ?? DEFAULT_URL_EXPIRY_SECONDS,
    });
  }

  // close implements BlobDriver. Waits for background discards, then aborts (best effort) every multipart
  // upload this driver started that no writer completed or aborted, so none is left to bill.
  close(): Promise<void> {
    this.#closed ??= (async () => {
      while (this.#pending.size > 0) await Promise.all(this.#pending);
      const left = [...this.#uploads];
      await Promise.allSettled(
        left.map(async ([uploadId, key]) => {
          try {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
          } catch (err) {
            if (!isNoSuchUpload(err)) throw err;
          }
          this.#uploads.delete(uploadId);
        }),
      );
      if (this.#ownsClient) this.client.destroy();
    })();
    return this.#closed;
  }

  /** Puts the old content of `key` in front of the writer: copied server-side, or downloaded and re-sent. */
  async #prefill(w: S3Writer, path: string, key: string, head: Head, signal: AbortSignal | undefined): Promise<void> {
    if (head.size >= MIN_PART_SIZE && !this.#partCopyUnsupported) {
      const uploadId = await w.ensureUpload();
      try {
        w.addCopiedParts(await this.#copyParts(key, key, uploadId, head, w.nextPartNumber, signal));
        return;
      } catch (err) {
        if (!isNotImplemented(err)) throw err;
        // The server cannot copy parts (s3rver): stream the old bytes through the writer instead. Memory
        // stays bounded, as the writer uploads a part each time its buffer fills.
        this.#partCopyUnsupported = true;
      }
    }
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: head.etag }), { abortSignal: signal });
    if (!(out.Body instanceof Readable)) throw new Error('GetObject returned no stream');
    let copied = 0;
    for await (const chunk of out.Body as AsyncIterable<Buffer>) {
      copied += chunk.length;
      await w.prefillBytes(chunk);
    }
    if (copied !== head.size) {
      throw new DriverError('DRIVER_FAILURE', this.name, path, `${this.name}: ${path} changed while appending (${copied} of ${head.size} bytes)`);
    }
  }

  /** Server-side copies `src` into parts `firstPart…` of upload `uploadId`; every part is at least 5 MiB. */
  async #copyParts(srcKey: string, dstKey: string, uploadId: string, head: Head, firstPart: number, signal: AbortSignal | undefined): Promise<CompletedPart[]> {
    // Near-equal ranges: with n ≥ 2 each is over copyPartSize / 2 ≥ 5 MiB, so none is too small.
    const n = Math.max(1, Math.ceil(head.size / this.#copyPartSize));
    const ranges = Array.from({ length: n }, (_, i) => [Math.floor((head.size * i) / n), Math.floor((head.size * (i + 1)) / n) - 1] as const);
    const parts: CompletedPart[] = new Array<CompletedPart>(n);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        const [start, end] = ranges[i]!;
        const out = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: dstKey,
            UploadId: uploadId,
            PartNumber: firstPart + i,
            CopySource: this.#copySource(srcKey),
            CopySourceRange: n === 1 ? undefined : `bytes=${start}-${end}`,
            CopySourceIfMatch: head.etag,
          }),
          { abortSignal: signal },
        );
        parts[i] = { PartNumber: firstPart + i, ETag: out.CopyPartResult?.ETag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, n) }, worker));
    return parts;
  }

  /** `CopyObject` for objects above its 5 GiB limit: one multipart upload of server-side part copies. */
  async #copyInParts(srcKey: string, dstKey: string, head: Head, signal: AbortSignal | undefined): Promise<void> {
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: dstKey }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    this.#uploads.set(uploadId, dstKey);
    try {
      const parts = await this.#copyParts(srcKey, dstKey, uploadId, head, 1, signal);
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: dstKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: signal },
      );
      this.#uploads.delete(uploadId);
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: dstKey, UploadId: uploadId }))
        .then(() => this.#uploads.delete(uploadId))
        .catch(() => undefined); // close() tries again
      throw err;
    }
  }

  async #head(path: string, signal: AbortSignal | undefined): Promise<Head> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }), { abortSignal: signal });
      return { size: out.ContentLength ?? 0, modTime: out.LastModified ?? new Date(0), etag: out.ETag };
    } catch (err) {
      throw this.#mapError(err, path, signal);
    }
  }

  /** Every page of `ListObjectsV2` below `prefix`. */
  async *#listPages(prefix: string, delimiter: string | undefined, signal: AbortSignal | undefined): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }),
        { abortSignal: signal },
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Hands the SDK's body to the caller through a stream of ours, so destroy and abort behave as elsewhere. */
  #ownStream(body: unknown, path: string, signal: AbortSignal | undefined): Readable {
    if (!(body instanceof Readable)) throw new DriverError('DRIVER_FAILURE', this.name, path, `${this.name}: GetObject returned no stream: ${path}`);
    const out = new PassThrough();
    // pipeline destroys `out` with the body's error, and the body (closing its socket) when the caller
    // destroys `out`; the caller sees errors on `out`, so the promise itself has nothing more to say.
    pipeline(body, out).catch(() => undefined);
    destroyOnAbort(out, signal);
    return out;
  }

  #trackPending(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #check(path: string, allowRoot = false): void {
    validatePath(this.name, path, { allowRoot });
  }

  #key(path: string): string {
    return this.#prefix + path.slice(1);
  }

  /** The key prefix of everything below `path`. */
  #dirPrefix(path: string): string {
    return path === '/' ? this.#prefix : `${this.#key(path)}/`;
  }

  #copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  #notFound(path: string): DriverError {
    return new DriverError('PATH_NOT_FOUND', this.name, path);
  }

  #invalidOffset(path: string, offset: number): DriverError {
    return new DriverError('INVALID_OFFSET', this.name, path, `${this.name}: invalid offset ${offset}: ${path}`);
  }

  /**
   * Maps an SDK error to a `DriverError`: a missing key is PATH_NOT_FOUND, an unsatisfiable range
   * INVALID_OFFSET, anything else DRIVER_FAILURE with the cause. An aborted `signal` wins: the contract
   * promises its reason, not the SDK's AbortError.
   */
  #mapError(err: unknown, path: string, signal?: AbortSignal): unknown {
    if (signal?.aborted) return signal.reason;
    if (err instanceof DriverError) return err;
    const name = err instanceof Error ? err.name : '';
    const status = httpStatus(err);
    if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload')) {
      return new DriverError('PATH_NOT_FOUND', this.name, path, undefined, { cause: err });
    }
    if (name === 'InvalidRange' || status === 416) {
      return new DriverError('INVALID_OFFSET', this.name, path, `${this.name}: invalid range: ${path}`, { cause: err });
    }
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new DriverError('DRIVER_FAILURE', this.name, path, `${this.name}: ${detail}: ${path}`, { cause: err });
  }
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && '$metadata' in err) {
    const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
    return meta?.httpStatusCode;
  }
  return undefined;
}

function isNotImplemented(err: unknown): boolean {
  return (err instanceof Error && err.name === 'NotImplemented') || httpStatus(err) === 501;
}

/**
 * Orders paths as a depth-first walk with sorted siblings visits them: segment by segment, so `/a/b/c`
 * comes before `/a/b-x` even though `-` sorts before `/` in a plain string comparison.
 */
function compareDepthFirst(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}

function emptyReadable(): Readable {
  return new Readable({
    read() {
      this.push(null);
    },
  });
}
