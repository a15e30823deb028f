/** Reading small blobs (configs) whole, verified, with a cap. */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../content/descriptor.js';
import { ClientError } from '../errors.js';
import { MAX_SMALL_JSON } from './files.js';
import { verifier } from './verify.js';

/** The blob's bytes, checked against `desc`; `MANIFEST_INVALID` when it is larger than `cap`. */
export async function readVerified(stream: Readable, desc: Descriptor, what: string, cap = MAX_SMALL_JSON): Promise<Buffer> {
  if (desc.size > cap) {
    stream.destroy();
    throw new ClientError('MANIFEST_INVALID', `${what} is ${desc.size} bytes, more than the ${cap} read whole`);
  }
  const check = verifier(desc, what);
  const chunks: Buffer[] = [];
  stream.on('error', (err) => check.destroy(err));
  for await (const c of stream.pipe(check) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
