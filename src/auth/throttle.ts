export interface ThrottleSettings {
  /** Failures allowed before the first lock. */
  freeAttempts: number;
  /** The first lock; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 300_000 };

/**
 * Failed-login throttling, per account and per client address. After `freeAttempts` failures in a row a key is
 * locked for a delay that doubles with each further failure, up to `maxDelayMs`; a success clears the account.
 * While locked, credentials are not even checked, so a locked account is no password oracle.
 *
 * The state lives in this process. Behind a load balancer every node keeps its own, so an attacker gets at
 * most `nodes × freeAttempts` free tries before every node locks.
 */
export class LoginThrottle {
  readonly #entries = new Map<string, { failures: number; lockedUntil: number; last: number }>();

  constructor(private readonly opts: ThrottleSettings & { now?: () => number } = DEFAULT_THROTTLE) {}

  #now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Milliseconds until any of `keys` may try again; 0 when none is locked. */
  retryAfter(keys: readonly string[]): number {
    const now = this.#now();
    return Math.max(0, ...keys.map((k) => (this.#entries.get(k)?.lockedUntil ?? 0) - now));
  }

  failure(keys: readonly string[]): void {
    const now = this.#now();
    for (const key of keys) {
      const e = this.#entries.get(key) ?? { failures: 0, lockedUntil: 0, last: now };
      e.failures += 1;
      e.last = now;
      const over = e.failures - this.opts.freeAttempts;
      if (over >= 0) e.lockedUntil = now + Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over, 30));
      this.#entries.set(key, e);
    }
    this.#sweep(now);
  }

  success(keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  /** Forgets keys idle for longer than the longest lock, so the map cannot grow without bound. */
  #sweep(now: number): void {
    if (this.#entries.size < 10_000) return;
    for (const [k, e] of this.#entries) if (now - e.last > this.opts.maxDelayMs && e.lockedUntil < now) this.#entries.delete(k);
  }
}
