import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { it } from 'node:test';
import { FsDriver } from './driver.js';

/**
 * MEMORY BOUND TEST. Guards against a driver that buffers a blob: a 256 MiB write through `FsDriver` must
 * grow the process RSS by well under the blob size. Runs in its own file (its own process under
 * `node --test`), so other tests' garbage does not blur the measurement. The bound (64 MiB) is generous:
 * the pipeline holds a few 1 MiB chunks, the rest is allocator slack.
 */
it('a 256 MiB write and read through FsDriver keep RSS growth under 64 MiB', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-rss-'));
  const driver = new FsDriver({ root });
  try {
    const size = 256 * 1024 * 1024;
    const chunk = 1024 * 1024;
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };

    const written = createHash('sha256');
    let left = size;
    const source = new Readable({
      highWaterMark: chunk,
      read() {
        sample();
        if (left === 0) {
          this.push(null);
          return;
        }
        const buf = randomFillSync(Buffer.allocUnsafe(chunk));
        left -= buf.length;
        written.update(buf);
        this.push(buf);
      },
    });
    const w = await driver.writer('/blobs/big/data');
    try {
      await pipeline(source, w);
      await w.commit();
    } finally {
      await w.cancel();
    }
    sample();

    const read = createHash('sha256');
    await pipeline(
      await driver.reader('/blobs/big/data'),
      new Writable({
        write(c: Buffer, _enc, cb) {
          read.update(c);
          sample();
          cb();
        },
      }),
    );
    assert.equal(read.digest('hex'), written.digest('hex'));

    const growth = peak - rssBefore;
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    await driver.close();
    await rm(root, { recursive: true, force: true });
  }
});
