// writeVerified: blobs larger than one write batch (1 MiB) land byte for byte, in any chunking; a wrong size,
// a wrong digest, a failing source and an abort all reject with nothing left behind (no file, no temp file).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../../content/digest.js';
import { isClientError } from '../errors.js';
import { writeVerified } from './files.js';

const MiB = 1024 * 1024;

/** `bytes` as a stream of chunks whose sizes cycle through `sizes`. */
function chunked(bytes: Buffer, sizes: number[]): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = sizes[i % sizes.length]!;
        yield bytes.subarray(at, at + n);
        at += n;
      }
    })(),
    { objectMode: false },
  );
}

describe('writeVerified', () => {
  let dir: string;
  const blob = randomBytes(5 * MiB + 12345);
  const desc = { digest: digestOf(blob), size: blob.length };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-files-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const chunkings: Array<[string, number[]]> = [
    ['64 KiB network-sized chunks', [65536]],
    ['many tiny chunks (more than one writev holds)', [1, 7, 100, 900]],
    ['chunks larger than a batch', [3 * MiB, 17]],
    ['one chunk', [blob.length]],
  ];
  for (const [label, sizes] of chunkings) {
    it(`writes the bytes exactly: ${label}`, async () => {
      const path = join(dir, `ok-${sizes.join('-')}`);
      await writeVerified(path, desc, chunked(blob, sizes));
      assert.ok((await readFile(path)).equals(blob));
    });
  }

  it('writes an empty blob', async () => {
    const empty = Buffer.alloc(0);
    const path = join(dir, 'empty');
    await writeVerified(path, { digest: digestOf(empty), size: 0 }, Readable.from([empty]));
    assert.equal((await readFile(path)).length, 0);
    const none = join(dir, 'empty-no-chunks');
    await writeVerified(none, { digest: digestOf(empty), size: 0 }, Readable.from([], { objectMode: false }));
    assert.equal((await readFile(none)).length, 0);
  });

  const failures: Array<[string, () => Promise<void>, (e: unknown) => boolean]> = [
    ['too many bytes: SIZE_MISMATCH', () => writeVerified(join(dir, 'bad'), { ...desc, size: desc.size - 1 }, chunked(blob, [65536])), (e) => isClientError(e, 'SIZE_MISMATCH')],
    ['too few bytes: SIZE_MISMATCH', () => writeVerified(join(dir, 'bad'), { ...desc, size: desc.size + 1 }, chunked(blob, [65536])), (e) => isClientError(e, 'SIZE_MISMATCH')],
    [
      'one byte changed after the first batch: DIGEST_MISMATCH',
      () => {
        const bad = Buffer.from(blob);
        bad[3 * MiB] = bad[3 * MiB]! ^ 1;
        return writeVerified(join(dir, 'bad'), desc, chunked(bad, [65536]));
      },
      (e) => isClientError(e, 'DIGEST_MISMATCH'),
    ],
    [
      'the source fails after 2 MiB: its error',
      () => {
        const src = new Readable({ read() {} });
        src.push(blob.subarray(0, 2 * MiB));
        setImmediate(() => src.destroy(new Error('source broke')));
        return writeVerified(join(dir, 'bad'), desc, src);
      },
      (e) => (e as Error).message === 'source broke',
    ],
    [
      'aborted after 2 MiB: AbortError',
      () => {
        const ac = new AbortController();
        const src = new Readable({ read() {} });
        src.push(blob.subarray(0, 2 * MiB));
        setImmediate(() => ac.abort());
        return writeVerified(join(dir, 'bad'), desc, src, ac.signal);
      },
      (e) => (e as Error).name === 'AbortError',
    ],
  ];
  for (const [label, run, check] of failures) {
    it(`rejects, leaving nothing behind: ${label}`, async () => {
      const files = async () => (await readdir(dir)).filter((n) => !n.startsWith('ok-') && !n.startsWith('empty'));
      await assert.rejects(run(), check);
      assert.deepEqual(await files(), []);
    });
  }
});
