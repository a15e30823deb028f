/**
 * Single blobs by digest, as crane `blob` and oras `blob fetch|push` handle them: a download streams through a
 * digest check (to a file: a temporary file renamed into place only when the digest matched, and removed
 * otherwise), and an upload hashes the file first, skips what the registry has, then streams it up
 * (monolithic PUT, digest and size checked on the way).
 *
 * @example
 * await downloadBlob('docker://localhost:5000/team/app@sha256:…', './layer.tar.gz', { registry: { tlsVerify: false } });
 * const { digest } = await uploadBlob('docker://localhost:5000/team/app', './file.bin', { registry: { tlsVerify: false } });
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestAlgorithm, type Digest } from '../content/digest.js';
import type { RegistryCallOptions } from './catalog.js';
import { ClientError } from './errors.js';
import { tempNameFor } from './internal/files.js';
import { hasher } from './internal/verify.js';
import { registryOf } from './open.js';

const OCTET_STREAM = 'application/octet-stream';

/** A pass-through that fails (DIGEST_MISMATCH, as a stream error) at the end when the bytes do not have `digest`. */
function digestCheck(digest: Digest, what: string): Transform {
  const d = createDigester(digestAlgorithm(digest));
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      d.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const got = d.digest();
      cb(got === digest ? undefined : new ClientError('DIGEST_MISMATCH', `${what}: the registry sent content with digest ${got}`, { expected: digest, got }));
    },
  });
}

/** Streams the blob `docker://HOST/NAME@DIGEST` into `out`; rejects with DIGEST_MISMATCH after the last byte if it is not that blob. */
export async function streamBlob(image: string, out: Writable, opts: RegistryCallOptions = {}): Promise<{ digest: Digest; size: number }> {
  const { ref, transport } = registryOf(image, { registry: opts.registry ?? {} });
  try {
    if (!ref.digest) throw new ClientError('REFERENCE_INVALID', `${image}: blob get needs docker://HOST/NAME@DIGEST`);
    const source = await transport.newSource(ref);
    const body: Readable = await source.getBlob({ mediaType: OCTET_STREAM, digest: ref.digest, size: -1 }, opts.signal ? { signal: opts.signal } : {});
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _e, cb) {
        size += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(body, count, digestCheck(ref.digest, `blob ${ref.digest} of ${ref.name}`), out, opts.signal ? { signal: opts.signal } : {});
    return { digest: ref.digest, size };
  } finally {
    transport.close();
  }
}

/** streamBlob into `file`: written to a temporary file next to it, renamed into place once the digest matched. */
export async function downloadBlob(image: string, file: string, opts: RegistryCallOptions = {}): Promise<{ digest: Digest; size: number; path: string }> {
  const tmp = tempNameFor(file);
  try {
    const r = await streamBlob(image, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), opts);
    await rename(tmp, file);
    return { ...r, path: file };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** The digest and size of a file, read once. */
export async function fileDigest(file: string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<{ digest: Digest; size: number }> {
  const h = hasher(algorithm);
  h.resume();
  await pipeline(createReadStream(file), h);
  return { digest: h.digest(), size: h.size };
}

/**
 * Uploads `file` as a blob of the repository `docker://HOST/NAME` (a tag is ignored; a digest must be the file's).
 * `uploaded` is false when the registry had it already.
 */
export async function uploadBlob(image: string, file: string, opts: RegistryCallOptions & { mediaType?: string } = {}): Promise<{ digest: Digest; size: number; uploaded: boolean }> {
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
  } catch (cause) {
    throw new ClientError('REFERENCE_INVALID', `${file}: ${(cause as Error).message}`, undefined, { cause });
  }
  const { ref, transport } = registryOf(image, { registry: opts.registry ?? {} });
  try {
    const { digest, size } = await fileDigest(file, ref.digest ? digestAlgorithm(ref.digest) : 'sha256');
    if (ref.digest && ref.digest !== digest) throw new ClientError('DIGEST_MISMATCH', `${file} has digest ${digest}, not ${ref.digest}`, { expected: ref.digest, got: digest });
    const desc = { mediaType: opts.mediaType ?? OCTET_STREAM, digest, size };
    const dest = await transport.newDestination(ref.with({}));
    try {
      const sig = opts.signal ? { signal: opts.signal } : {};
      if (await dest.hasBlob(desc, sig)) return { digest, size, uploaded: false };
      // The file is checked again as it streams: if it changed since it was hashed, the upload fails.
      await dest.putBlob(desc, createReadStream(file), sig);
      return { digest, size, uploaded: true };
    } finally {
      await dest.close();
    }
  } finally {
    transport.close();
  }
}
