import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FileWriter } from './driver.js';
import { DriverError } from './errors.js';

type State = 'open' | 'committing' | 'committed' | 'failed' | 'cancelled';

export interface TwoPhaseWriterOptions {
  driverName: string;
  path: string;
  /** Bytes already in the file (append mode), counted by `size`. */
  initialSize: number;
  /**
   * Aborting destroys the writer with the signal's reason (an 'error' event, as `addAbortSignal` does, so
   * a `pipeline` into the writer rejects) and cancels it; `commit()` then rejects with the reason.
   */
  signal?: AbortSignal | undefined;
  /**
   * Discard automatically when the stream is destroyed before it finished (a failed `pipeline`). True for
   * writers whose bytes can never be used without `commit()` (temp files); append writers keep their bytes
   * until `cancel()`, because the caller may want to resume an upload.
   */
  discardOnDestroy: boolean;
  /** Lets the driver wait for background discards in `close()`. */
  track?: (p: Promise<void>) => void;
}

/**
 * The commit/cancel state machine shared by every driver's `FileWriter`; a driver supplies only the I/O
 * steps. Implements `FileWriter` from `driver.ts`:
 *
 * - `commit()` ends the stream, waits for the last write and flush, then `publish()`es. Calling it again
 *   returns the same promise. After cancel, abort or a stream error it rejects (with the stream's error).
 * - `cancel()` destroys the stream, waits until handles are released, then `discard()`s. It is idempotent,
 *   and a no-op after a successful commit, so it is safe in `finally`.
 */
export abstract class TwoPhaseWriter extends Writable implements FileWriter {
  readonly #driverName: string;
  readonly #path: string;
  readonly #discardOnDestroy: boolean;
  readonly #track: ((p: Promise<void>) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  #size: number;
  #state: State = 'open';
  #commitP: Promise<void> | undefined;
  #cancelP: Promise<void> | undefined;

  constructor(opts: TwoPhaseWriterOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.#driverName = opts.driverName;
    this.#path = opts.path;
    this.#size = opts.initialSize;
    this.#discardOnDestroy = opts.discardOnDestroy;
    this.#track = opts.track;
    this.#signal = opts.signal;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Appends the chunks to the pending content, in order. */
  protected abstract writeChunks(chunks: Buffer[]): Promise<void>;
  /** Called once after the last write: flush (fsync) and release handles. */
  protected abstract flush(): Promise<void>;
  /** Makes the content visible at the path (rename a temp file). */
  protected abstract publish(): Promise<void>;
  /** Releases handles without publishing. Idempotent; may run after `flush`. */
  protected abstract release(): Promise<void>;
  /** Undoes everything this writer did; runs after `release`. Must tolerate running after a partial `publish`. */
  protected abstract discard(): Promise<void>;

  get size(): number {
    return this.#size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeChunks([chunk]).then(() => {
      this.#size += chunk.length;
      callback();
    }, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this.writeChunks(buffers).then(() => {
      for (const b of buffers) this.#size += b.length;
      callback();
    }, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.flush().then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.release().then(
      () => callback(err),
      (releaseErr: Error) => callback(err ?? releaseErr),
    );
    // Destroyed mid-stream (source error in a pipeline, consumer gave up): nobody can commit a half-written
    // temp file, so drop it now instead of leaking it until someone remembers to cancel.
    if (this.#discardOnDestroy && !this.writableFinished && this.#state === 'open') {
      this.#trackDiscard(this.cancel());
    }
  }

  commit(): Promise<void> {
    this.#commitP ??= this.#commit();
    return this.#commitP;
  }

  async cancel(): Promise<void> {
    if (this.#commitP) await this.#commitP.catch(() => undefined);
    if (this.#state === 'committed') return;
    this.#cancelP ??= this.#cancel();
    return this.#cancelP;
  }

  async #commit(): Promise<void> {
    if (this.#state !== 'open') {
      throw this.errored ?? new DriverError('DRIVER_FAILURE', this.#driverName, this.#path, 'writer was cancelled');
    }
    this.#state = 'committing';
    try {
      if (this.errored) throw this.errored;
      if (!this.writableEnded) this.end();
      await finished(this);
      await this.publish();
      this.#state = 'committed';
      this.#detachSignal();
    } catch (err) {
      this.#state = 'failed';
      if (this.#discardOnDestroy) this.#trackDiscard(this.cancel());
      throw this.errored ?? err;
    }
  }

  async #cancel(): Promise<void> {
    this.#state = 'cancelled';
    this.#detachSignal();
    if (!this.destroyed) this.destroy();
    await this.release();
    await this.discard();
  }

  readonly #onAbort = (): void => {
    if (this.#state !== 'open') return;
    this.destroy(this.#signal?.reason instanceof Error ? this.#signal.reason : new Error(String(this.#signal?.reason)));
    this.#trackDiscard(this.cancel());
  };

  #detachSignal(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #trackDiscard(p: Promise<void>): void {
    // A background discard has no caller to report to; a later cancel() returns the same promise.
    const quiet = p.catch(() => undefined);
    this.#track?.(quiet);
  }
}
