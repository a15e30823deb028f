import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TwoPhaseWriter } from '../two-phase-writer.js';

/** S3's smallest part, except for the last part of an upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part number. */
export const MAX_PARTS = 10_000;

const EMPTY = Buffer.alloc(0);

/** What the writer needs from its driver: one bucket, one key, and the driver's bookkeeping and error mapping. */
export interface S3WriterContext {
  driverName: string;
  client: S3Client;
  bucket: string;
  /** Bytes per uploaded part (the last part may be smaller). */
  partSize: number;
  /** Records a multipart upload this process started, so `close()` can abort it if nobody finishes it. */
  uploadStarted(key: string, uploadId: string): void;
  uploadEnded(key: string, uploadId: string): void;
  /** Maps an SDK error to a `DriverError` for `path`. */
  mapError(err: unknown, path: string): unknown;
  track: (p: Promise<void>) => void;
}

export interface S3WriterOptions {
  ctx: S3WriterContext;
  path: string;
  key: string;
  signal: AbortSignal | undefined;
  /** Bytes of the object that this writer keeps in front of what is written (append mode). */
  initialSize: number;
}

/**
 * A `FileWriter` (see `driver.ts`) that builds the object in private and makes it visible in one atomic
 * step at commit, so `cancel()` leaves the object exactly as it was.
 *
 * Bytes collect in one buffer of up to `partSize`. An object that never fills it is sent whole with
 * `PutObject` at commit. Once a part fills, a multipart upload starts: each full buffer becomes a part,
 * uploaded while the next one fills, and the writer waits for one upload before it starts the next, so
 * memory stays near two parts whatever the object's size. Commit completes the upload (S3 replaces the
 * object atomically); cancel aborts it.
 *
 * Append writers fill the front of the object first (`prefillCopy`, `prefillBytes`), then take new bytes.
 */
export class S3Writer extends TwoPhaseWriter {
  readonly #ctx: S3WriterContext;
  readonly #path: string;
  readonly #key: string;
  readonly #ac = new AbortController();
  #buf: Buffer = EMPTY;
  #len = 0;
  /** A part buffer whose upload finished, reused for the next part instead of allocating (and leaving garbage). */
  #spare: Buffer | undefined;
  #createP: Promise<string> | undefined;
  #nextPart = 1;
  readonly #parts: CompletedPart[] = [];
  /** The part upload in flight; never rejects (its error goes to `#error`). */
  #inflight: Promise<void> = Promise.resolve();
  #error: unknown;

  constructor(opts: S3WriterOptions) {
    super({
      driverName: opts.ctx.driverName,
      path: opts.path,
      initialSize: opts.initialSize,
      signal: opts.signal,
      // Unlike a file, an unfinished multipart upload can never be resumed by a later writer, so there is
      // nothing to keep: a destroyed writer aborts its upload at once, append or not.
      discardOnDestroy: true,
      track: opts.ctx.track,
    });
    this.#ctx = opts.ctx;
    this.#path = opts.path;
    this.#key = opts.key;
  }

  /** Number of the next part, for a caller that fills parts itself (`UploadPartCopy`). */
  get nextPartNumber(): number {
    return this.#nextPart;
  }

  /** Starts the multipart upload now (append of a large object: its old content is copied as parts). */
  ensureUpload(): Promise<string> {
    // Not abortable: a create that reached the server must be known here, or its upload would leak.
    this.#createP ??= this.#ctx.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.#ctx.bucket, Key: this.#key }))
      .then((out) => {
        if (!out.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
        this.#ctx.uploadStarted(this.#key, out.UploadId);
        return out.UploadId;
      });
    return this.#createP;
  }

  /** Records parts filled by the caller (server-side copies), in order, before any byte is written. */
  addCopiedParts(parts: CompletedPart[]): void {
    for (const p of parts) this.#parts.push(p);
    this.#nextPart += parts.length;
  }

  /** Feeds bytes that precede anything written (old content re-uploaded); not counted by `size`. */
  prefillBytes(chunk: Buffer): Promise<void> {
    return this.#append(chunk);
  }

  protected override async writeChunks(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) await this.#append(c);
  }

  protected override async flush(): Promise<void> {
    this.#throwIfFailed();
    if (this.#createP && this.#len > 0) await this.#emitPart();
    await this.#inflight;
    this.#throwIfFailed();
  }

  protected override async publish(): Promise<void> {
    const { client, bucket } = this.#ctx;
    try {
      if (this.#createP) {
        const uploadId = await this.#createP;
        const parts = [...this.#parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: this.#key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        this.#ctx.uploadEnded(this.#key, uploadId);
      } else {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: this.#key, Body: this.#buf.subarray(0, this.#len), ContentLength: this.#len }));
      }
    } catch (err) {
      throw this.#ctx.mapError(err, this.#path);
    } finally {
      this.#buf = EMPTY;
      this.#spare = undefined;
      this.#len = 0;
    }
  }

  protected override async release(): Promise<void> {
    // After a normal flush nothing is in flight; after destroy this stops a part upload mid-body.
    if (!this.writableFinished) this.#ac.abort();
    await this.#inflight;
  }

  protected override async discard(): Promise<void> {
    this.#spare = undefined;
    this.#buf = EMPTY;
    this.#len = 0;
    if (!this.#createP) return;
    const uploadId = await this.#createP.catch(() => undefined);
    if (uploadId === undefined) return;
    try {
      await this.#ctx.client.send(new AbortMultipartUploadCommand({ Bucket: this.#ctx.bucket, Key: this.#key, UploadId: uploadId }));
    } catch (err) {
      // Gone already: completed by a publish that failed late, or aborted by close().
      if (!isNoSuchUpload(err)) throw this.#ctx.mapError(err, this.#path);
    }
    this.#ctx.uploadEnded(this.#key, uploadId);
  }

  async #append(chunk: Buffer): Promise<void> {
    const { partSize } = this.#ctx;
    let off = 0;
    while (off < chunk.length) {
      this.#throwIfFailed();
      const n = Math.min(chunk.length - off, partSize - this.#len);
      this.#reserve(this.#len + n);
      chunk.copy(this.#buf, this.#len, off, off + n);
      this.#len += n;
      off += n;
      if (this.#len === partSize) await this.#emitPart();
    }
  }

  /** Grows the buffer to hold `need` bytes: by doubling while the object may stay small, else a whole part. */
  #reserve(need: number): void {
    if (this.#buf.length >= need) return;
    const { partSize } = this.#ctx;
    let next: Buffer;
    if (this.#createP) {
      next = this.#spare ?? Buffer.allocUnsafe(partSize);
      this.#spare = undefined;
    } else {
      next = Buffer.allocUnsafe(Math.min(partSize, Math.max(need, this.#buf.length * 2, 64 * 1024)));
    }
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  /** Hands the buffer to a part upload, once the previous part upload has finished. */
  async #emitPart(): Promise<void> {
    const full = this.#buf;
    const body = full.subarray(0, this.#len);
    this.#buf = EMPTY;
    this.#len = 0;
    await this.#inflight;
    this.#throwIfFailed();
    const partNumber = this.#nextPart++;
    if (partNumber > MAX_PARTS) {
      throw this.#ctx.mapError(new Error(`object needs more than ${MAX_PARTS} parts of ${this.#ctx.partSize} bytes; raise partSize`), this.#path);
    }
    this.#inflight = this.#uploadPart(partNumber, body).then(
      () => {
        // The SDK is done with the body once the part's response is in (retries happen inside send()).
        if (full.length === this.#ctx.partSize) this.#spare = full;
      },
      (err: unknown) => {
        this.#error ??= err;
      },
    );
  }

  async #uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const uploadId = await this.ensureUpload();
    const out = await this.#ctx.client.send(
      new UploadPartCommand({ Bucket: this.#ctx.bucket, Key: this.#key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
      { abortSignal: this.#ac.signal },
    );
    this.#parts.push({ PartNumber: partNumber, ETag: out.ETag });
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#ctx.mapError(this.#error, this.#path);
  }
}

export function isNoSuchUpload(err: unknown): boolean {
  return err instanceof Error && (err.name === 'NoSuchUpload' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);
}
