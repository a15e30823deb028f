import type { Readable } from 'node:stream';

/**
 * Destroys `stream` with the signal's reason when `signal` aborts, and drops the listener once the stream
 * closes (so a long-lived signal does not collect listeners). Used by every driver's `reader`.
 */
export function destroyOnAbort(stream: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const onAbort = (): void => {
    stream.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
}
