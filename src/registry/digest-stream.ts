import { Transform, type TransformCallback } from 'node:stream';
import type { Digester } from '../content/digest.js';
import { RegistryError } from './errors.js';

/**
 * A pass-through that feeds every chunk to a digester and counts bytes, failing the pipeline with
 * `SIZE_INVALID` as soon as more than `maxBytes` arrive. The digest and size are checked before commit;
 * this is the stream half of that check (go-containerregistry `internal/verify`).
 */
export class DigestStream extends Transform {
  bytes = 0;
  constructor(
    readonly digester: Digester,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new RegistryError('SIZE_INVALID', `body is larger than the declared ${this.maxBytes} bytes`));
      return;
    }
    this.digester.update(chunk);
    callback(null, chunk);
  }
}
