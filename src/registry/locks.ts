/**
 * Mutual exclusion by key. Pushing a blob and collecting it as garbage take the same key (the digest), so
 * GC never deletes the bytes of a blob that a push is committing at the same moment.
 *
 * `InProcessLocker` covers one process; a shared implementation (PostgreSQL advisory locks) replaces it when
 * several nodes share the storage.
 */
export interface Locker {
  /** Runs `fn` while holding the lock on `key`; waiters run in arrival order. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
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
}
