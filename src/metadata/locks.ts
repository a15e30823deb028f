/**
 * Mutual exclusion by key, provided by the metadata store because it is what every node shares. Pushing a
 * blob and collecting it as garbage take the same key (the digest), so GC never deletes the bytes of a blob
 * that a push is committing at the same moment; an upload session is locked while a chunk is appended; and
 * only one node runs GC at a time.
 *
 * `InProcessLocker` covers one process (the embedded default). A store shared by several nodes provides one
 * that works across them (PostgreSQL advisory locks).
 */
export interface Locker {
  /** Runs `fn` while holding the lock on `key`, waiting for it as long as it takes. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` only if the lock on `key` is free right now; otherwise returns `{ acquired: false }` at once. */
  tryWithLock<T>(key: string, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }>;
}

export class InProcessLocker implements Locker {
  readonly #tails = new Map<string, Promise<void>>();

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Only the last waiter removes the entry, so the map never grows with finished keys.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  async tryWithLock<T>(key: string, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }> {
    if (this.#tails.has(key)) return { acquired: false };
    return { acquired: true, value: await this.withLock(key, fn) };
  }
}
