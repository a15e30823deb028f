/**
 * Layer compression, recognised by magic bytes rather than by media type: docker-archive layers are plain
 * tars behind a `tar.gzip` media type, and fixtures may be anything.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ClientError } from '../errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionOf(head: Uint8Array): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * Reads up to `n` bytes from the front of `stream` and puts them back, so the stream is whole again.
 * Resolves with fewer bytes only when the stream is shorter.
 */
export function peek(stream: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onReadable = () => {
      const b = stream.read(n) as Buffer | null;
      if (b === null) return;
      cleanup();
      stream.unshift(b);
      resolve(b);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.alloc(0));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // A stream destroyed without an error (an aborted read) emits neither 'end' nor 'error': without this the
    // promise would never settle, and nothing would keep the process waiting for it.
    const onClose = () => {
      cleanup();
      reject(stream.errored ?? new ClientError('NETWORK_ERROR', 'the stream closed before its first bytes arrived'));
    };
    if (stream.destroyed) return onClose();
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * The uncompressed bytes of `stream` (gzip is inflated, anything unrecognised passes through).
 * zstd throws `UNSUPPORTED_FORMAT`: Node 20's zlib has no zstd.
 */
export async function decompressed(stream: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const compression = compressionOf(await peek(stream, 4));
  if (compression === 'none') return { stream, compression };
  if (compression === 'zstd') {
    stream.destroy();
    throw new ClientError('UNSUPPORTED_FORMAT', 'zstd-compressed layers are not supported (Node 20 has no zstd)');
  }
  const out = new PassThrough();
  pipeline(stream, createGunzip(), out).catch((err: unknown) => out.destroy(err as Error));
  return { stream: out, compression };
}
