import { setMaxListeners } from 'node:events';

/**
 * Runs `fn` over `items` with at most `limit` in flight. The first failure stops new work, aborts the
 * signal handed to the others, waits for them to settle and is rethrown.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const ac = new AbortController();
  // Every stream in flight listens on this signal (pipeline, createReadStream); they remove themselves when done.
  setMaxListeners(0, ac.signal);
  const onAbort = () => ac.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { err: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        signal?.throwIfAborted();
        await fn(item, ac.signal);
      } catch (err) {
        if (!failure) failure = { err };
        ac.abort(err);
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.err;
}
