import { createHash, type Hash } from 'node:crypto';
import { ContentError } from './errors.js';

/**
 * A content digest, `<algorithm>:<encoded>`, validated by `parseDigest`.
 * https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md#digests
 */
export type Digest = string & { readonly __brand: 'Digest' };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export function isDigestAlgorithm(s: string): s is DigestAlgorithm {
  return s === 'sha256' || s === 'sha512';
}

/**
 * Parses and validates a digest string. Registered algorithms (sha256, sha512) must be lower-case hex of the
 * right length; any other algorithm that matches the grammar is refused as `DIGEST_INVALID` too.
 */
export function parseDigest(s: string): Digest {
  const m = DIGEST_RE.exec(s);
  if (!m) throw new ContentError('DIGEST_INVALID', `invalid digest ${JSON.stringify(s.slice(0, 200))}`);
  const [, algorithm, encoded] = m as unknown as [string, string, string];
  if (!isDigestAlgorithm(algorithm)) {
    throw new ContentError('DIGEST_INVALID', `unsupported digest algorithm ${JSON.stringify(algorithm)}`);
  }
  if (encoded.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(encoded)) {
    throw new ContentError('DIGEST_INVALID', `invalid ${algorithm} digest ${JSON.stringify(s.slice(0, 200))}`);
  }
  return s as Digest;
}

/** True when `s` parses as a digest; never throws. */
export function isDigest(s: string): s is Digest {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The digest of bytes held in memory (manifests, configs). Blobs use `createDigester` on the stream. */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** An incremental digester for streams. */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  update(chunk: Uint8Array): void;
  digest(): Digest;
  /** An independent copy of the current state. */
  copy(): Digester;
}

export function createDigester(algorithm: DigestAlgorithm = 'sha256', hash: Hash = createHash(algorithm)): Digester {
  return {
    algorithm,
    update(chunk) {
      hash.update(chunk);
    },
    digest() {
      return `${algorithm}:${hash.copy().digest('hex')}` as Digest;
    },
    copy() {
      return createDigester(algorithm, hash.copy());
    },
  };
}
