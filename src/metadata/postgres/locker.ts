import pg from 'pg';
import { InProcessLocker, type Locker } from '../locks.js';

export interface PostgresLockerOptions {
  url: string;
  /** Prefix of every key, so stores in different schemas of one database don't share locks. */
  namespace?: string;
  /** Connections kept open for lock holders. Default 4. More are opened (and closed after use) on demand. */
  poolSize?: number;
}

/**
 * `Locker` across every node on one PostgreSQL database, with session advisory locks on
 * `hashtextextended(key, 0)`. A lock lives as long as its session, so a node that dies releases its locks.
 *
 * Sizing: a holder keeps one connection for as long as it holds the lock, and the registry nests locks (an
 * upload's lock, then its blob's), so a bounded pool could fill with holders that each wait for a second
 * connection. Hence:
 * - lock connections never come from the store's pool, so holders waiting on store queries can't starve it;
 * - within this process, callers for one key queue in memory first (`InProcessLocker`), so a busy key holds
 *   one connection, not one per waiter;
 * - when the `poolSize` kept connections are all in use, a lock gets a connection of its own, closed after
 *   release, instead of waiting for one. Connections in use are therefore bounded by the distinct keys held
 *   or awaited at once, not by a number that nesting could exhaust.
 *
 * @example
 * const locker = new PostgresLocker({ url })
 * await locker.withLock(`blob:${digest}`, () => commit())
 */
export class PostgresLocker implements Locker {
  readonly #pool: pg.Pool;
  readonly #max: number;
  readonly #url: string;
  readonly #namespace: string;
  readonly #local = new InProcessLocker();
  /** Sessions where a lock or unlock query failed: never reused, since they may still hold a lock. */
  readonly #broken = new WeakSet<pg.ClientBase>();

  constructor(opts: PostgresLockerOptions) {
    this.#url = opts.url;
    this.#max = Math.max(1, Math.trunc(opts.poolSize ?? 4));
    this.#namespace = opts.namespace ?? '';
    this.#pool = new pg.Pool({ connectionString: opts.url, max: this.#max });
    // An idle connection that breaks is dropped by the pool; nothing holds a lock on it.
    this.#pool.on('error', () => {});
  }

  /** Implements `Locker.withLock`: waits as long as it takes for the lock. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.withLock(key, () =>
      this.#session(async (client) => {
        await this.#query(client, 'SELECT pg_advisory_lock(hashtextextended($1, 0))', key);
        return this.#holding(client, key, fn);
      }),
    );
  }

  /** Implements `Locker.tryWithLock`: gives up at once when another session (or caller here) holds the key. */
  async tryWithLock<T>(key: string, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }> {
    const local = await this.#local.tryWithLock(key, () =>
      this.#session(async (client): Promise<{ acquired: true; value: T } | { acquired: false }> => {
        const ok = await this.#query(client, 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', key);
        if (!ok) return { acquired: false };
        return { acquired: true, value: await this.#holding(client, key, fn) };
      }),
    );
    return local.acquired ? local.value : local;
  }

  /** Closes the kept connections. Locks still held are released when their holders finish. */
  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** Runs a lock function on `key` and returns its boolean result (undefined for void functions). */
  async #query(client: pg.ClientBase, text: string, key: string): Promise<boolean | undefined> {
    const name = this.#namespace ? `${this.#namespace}:${key}` : key;
    try {
      const r = await client.query<{ ok?: boolean }>(text, [name]);
      return r.rows[0]?.ok;
    } catch (err) {
      this.#broken.add(client);
      throw err;
    }
  }

  /** Runs `fn` with the lock held on `client`'s session, then unlocks. */
  async #holding<T>(client: pg.ClientBase, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      // If this fails the session is broken; `#session` then destroys it, which releases the lock too.
      await this.#query(client, 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', key);
    }
  }

  /** A session for one lock: a kept one when free, otherwise one opened for this lock alone. */
  async #session<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (this.#pool.totalCount < this.#max || this.#pool.idleCount > 0) {
      const client = await this.#pool.connect();
      try {
        return await fn(client);
      } finally {
        // Destroying a broken session (release with an error) ends it, which releases whatever it holds.
        client.release(this.#broken.has(client) ? new Error('advisory lock session failed') : undefined);
      }
    }
    const client = new pg.Client({ connectionString: this.#url });
    client.on('error', () => {});
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
}
