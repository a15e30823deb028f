import { createDigester, type Digester } from '../content/digest.js';

/**
 * Running sha256 state of unfinished uploads, so the closing PUT need not read the bytes back.
 *
 * The state lives in this process only. When it is missing or stale (a restart, another node took a
 * chunk, the client asked for sha512), the upload is hashed again from storage at commit, so losing it
 * costs time, never correctness.
 */
export class UploadHashes {
  readonly #states = new Map<string, { size: number; digester: Digester }>();

  /** A digester positioned at `size` bytes of upload `id`, or undefined if this process cannot vouch for it. */
  take(id: string, size: number): Digester | undefined {
    const s = this.#states.get(id);
    if (!s) return size === 0 ? createDigester('sha256') : undefined;
    return s.size === size ? s.digester : undefined;
  }

  put(id: string, size: number, digester: Digester): void {
    this.#states.set(id, { size, digester });
  }

  forget(id: string): void {
    this.#states.delete(id);
  }
}
