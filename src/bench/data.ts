/**
 * Deterministic, memory-light blob content for the benchmark.
 *
 * Bytes come from AES-128-CTR over zeros, keyed by a seed string. CTR mode lets any byte range be
 * produced on its own (the counter is the 16-byte block index), so a chunked upload can generate
 * chunk N without generating chunks 0..N-1, and nothing larger than one chunk is ever held.
 * AES-NI makes this several GB/s, which keeps the load generator light on a 2-core machine.
 */
import { createCipheriv, createHash } from 'node:crypto';

/** A blob identified by how to regenerate it. Same seed and size → same bytes → same digest. */
export interface BlobSpec {
  readonly seed: string;
  readonly size: number;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

const PIECE = 1 * MiB;
const ZEROS = Buffer.alloc(PIECE);

function keyFor(seed: string): Buffer {
  return createHash('sha256').update(`berth-bench:${seed}`).digest().subarray(0, 16);
}

function ivForBlock(block: number): Buffer {
  const iv = Buffer.alloc(16);
  // Block indexes stay far below 2^53, so writing the low 64 bits is enough.
  iv.writeBigUInt64BE(BigInt(block), 8);
  return iv;
}

/**
 * Yields the bytes [start, end) of the blob in pieces of at most 1 MiB.
 * Each yielded Buffer is freshly allocated, so consumers may keep it.
 */
export function* blobBytes(spec: BlobSpec, start = 0, end = spec.size): Generator<Buffer> {
  if (start < 0 || end > spec.size || start > end) throw new RangeError(`bad range ${start}-${end} of ${spec.size}`);
  const firstBlock = Math.floor(start / 16);
  const cipher = createCipheriv('aes-128-ctr', keyFor(spec.seed), ivForBlock(firstBlock));
  let pos = firstBlock * 16; // absolute offset of the next byte the cipher produces
  while (pos < end) {
    const n = Math.min(PIECE, end - pos);
    const out = cipher.update(n === PIECE ? ZEROS : ZEROS.subarray(0, n));
    const skip = pos < start ? start - pos : 0;
    pos += n;
    if (skip >= out.length) continue;
    yield skip > 0 ? out.subarray(skip) : out;
  }
}

/** Whole small blob in memory (only for blobs of a few KiB, such as configs and the 4 KiB blobs). */
export function smallBlob(spec: BlobSpec): Buffer {
  if (spec.size > 16 * MiB) throw new RangeError(`smallBlob refuses ${spec.size} bytes`);
  return Buffer.concat([...blobBytes(spec)]);
}

export function sha256Digest(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

const digestCache = new Map<string, string>();

/** Digest of a generated blob, computed by streaming it once (and cached for the process). */
export function blobDigest(spec: BlobSpec): string {
  const key = `${spec.seed}/${spec.size}`;
  const hit = digestCache.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  for (const piece of blobBytes(spec)) h.update(piece);
  const d = `sha256:${h.digest('hex')}`;
  digestCache.set(key, d);
  return d;
}

export function formatBytes(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} B`;
}
