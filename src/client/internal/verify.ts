/**
 * Digest and size checks on streams (go-containerregistry internal/verify): the bytes are hashed and counted
 * as they flow, too many bytes fail at once, and a wrong digest or short stream fails at the end, before the
 * consumer commits anything.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createDigester, digestAlgorithm, type Digest } from '../../content/digest.js';
import { ClientError } from '../errors.js';

export interface Expected {
  digest: Digest;
  /** -1 when unknown (schema 1 manifests record no sizes): then only the digest is checked. */
  size: number;
}

/**
 * The running check behind `verifier` (and the verified file writer): `update` returns the error as soon as
 * there are too many bytes, `end` the error (if any) once all bytes are in.
 */
export class Check {
  private readonly digester: ReturnType<typeof createDigester>;
  private seen = 0;
  constructor(
    readonly expected: Expected,
    readonly what = `blob ${expected.digest}`,
  ) {
    this.digester = createDigester(digestAlgorithm(expected.digest));
  }

  update(chunk: Buffer): ClientError | undefined {
    this.seen += chunk.length;
    if (this.expected.size >= 0 && this.seen > this.expected.size) {
      return new ClientError('SIZE_MISMATCH', `${this.what}: more than the ${this.expected.size} bytes its descriptor names`);
    }
    this.digester.update(chunk);
    return undefined;
  }

  end(): ClientError | undefined {
    const { expected, what } = this;
    if (expected.size >= 0 && this.seen !== expected.size) {
      return new ClientError('SIZE_MISMATCH', `${what}: ${this.seen} bytes, its descriptor names ${expected.size}`);
    }
    const got = this.digester.digest();
    if (got !== expected.digest) return new ClientError('DIGEST_MISMATCH', `${what}: content has digest ${got}`, { expected: expected.digest, got });
    return undefined;
  }
}

/** A pass-through that throws `SIZE_MISMATCH` / `DIGEST_MISMATCH` (as a stream error) when the bytes do not match. */
export function verifier(expected: Expected, what = `blob ${expected.digest}`): Transform {
  const check = new Check(expected, what);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const err = check.update(chunk);
      if (err) cb(err);
      else cb(null, chunk);
    },
    flush(cb) {
      cb(check.end());
    },
  });
}

/** A pass-through that hashes and counts; read `digest()` and `size` after the stream ends. */
export function hasher(algorithm: 'sha256' | 'sha512' = 'sha256'): Transform & { digest(): Digest; readonly size: number } {
  const digester = createDigester(algorithm);
  let size = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      digester.update(chunk);
      cb(null, chunk);
    },
  });
  // defineProperty, not Object.assign: assign would copy the getter's value once, not the getter.
  Object.defineProperty(t, 'size', { get: () => size });
  return Object.assign(t, { digest: () => digester.digest() }) as Transform & { digest(): Digest; readonly size: number };
}

/** Throws `DIGEST_MISMATCH` unless `bytes` (held in memory: a manifest or config) have `digest`. */
export function checkBytes(bytes: Uint8Array, expected: Expected, what: string, got: Digest): void {
  if (bytes.length !== expected.size) {
    throw new ClientError('SIZE_MISMATCH', `${what}: ${bytes.length} bytes, its descriptor names ${expected.size}`);
  }
  if (got !== expected.digest) {
    throw new ClientError('DIGEST_MISMATCH', `${what}: content has digest ${got}`, { expected: expected.digest, got });
  }
}
