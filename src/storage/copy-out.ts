import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * What a driver's reader may also offer: copying its range into `out` with a few buffers it reuses, instead
 * of a new buffer per read. Serving a large blob then leaves no garbage behind: Node frees read buffers only
 * when V8 collects, and a 512 MiB pull used to set off a full collection every 32 MiB.
 */
export interface RangeCopier {
  /**
   * Writes the reader's range into `out` and ends it. `out` must be done with a chunk once that chunk's write
   * callback has run, as sockets and files are. Call it instead of reading the stream, not after; the
   * stream is destroyed when the copy ends, either way.
   */
  copyTo(out: Writable): Promise<void>;
}

/** Sends a driver reader into `out` and ends it: through the reader's `copyTo` when it has one, else pipeline. */
export function copyOut(stream: Readable, out: Writable): Promise<void> {
  const copier = stream as Readable & Partial<RangeCopier>;
  return typeof copier.copyTo === 'function' ? copier.copyTo(out) : pipeline(stream, out);
}
