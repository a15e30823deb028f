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

/** A pass-through that throws `SIZE_MISMATCH` / `DIGEST_MISMATCH` (as a stream error) when the bytes do not match. */
export function verifier(expected: Expected, what = `blob ${expected.digest}`): Transform {
  const digester = createDigester(digestAlgorithm(expected.digest));
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (expected.size >= 0 && seen > expected.size) {
        cb(new ClientError('SIZE_MISMATCH', `${what}: more than the ${expected.size} bytes its descriptor names`));
        return;
      }
      digester.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (expected.size >= 0 && seen !== expected.size) {
        cb(new ClientError('SIZE_MISMATCH', `${what}: ${seen} bytes, its descriptor names ${expected.size}`));
        return;
      }
      const got = digester.digest();
      if (got !== expected.digest) {
        cb(new ClientError('DIGEST_MISMATCH', `${what}: content has digest ${got}`, { expected: expected.digest, got }));
        return;
      }
      cb();
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
