import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { S3Driver } from './driver.js';

/**
 * MEMORY BOUND TEST. Guards against an S3 writer or reader that buffers a blob: a 256 MiB write and read
 * through `S3Driver` (default 16 MiB parts) must grow the process RSS by far less than the blob. The writer
 * holds at most two parts (one uploading, one filling); the bound leaves room for that, the SDK's and
 * the sockets' buffers, and garbage not yet collected. The S3 server runs in a child process, so only the
 * driver's side is measured. Runs in its own file, hence its own process.
 */
it('a 256 MiB write and read through S3Driver keep RSS growth under 96 MiB', { timeout: 120_000 }, async () => {
  const s3 = await startServerProcess();
  const driver = new S3Driver({
    bucket: await s3.createBucket(),
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  try {
    const size = 256 * 1024 * 1024;
    const chunk = 1024 * 1024;
    // Warm up the SDK and the server (first-request allocations are not the blob's).
    await driver.putContent('/warm', Buffer.alloc(1024));
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const timer = setInterval(sample, 20);

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
    assert.equal((await driver.stat('/blobs/big/data')).size, size);

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
    clearInterval(timer);
    assert.equal(read.digest('hex'), written.digest('hex'));

    const growth = peak - rssBefore;
    assert.ok(growth < 96 * 1024 * 1024, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    await driver.delete('/').catch(() => undefined);
    await driver.close();
    await s3.close();
  }
});

interface ServerProcess {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  createBucket(): Promise<string>;
  close(): Promise<void>;
}

/** `startS3Server()` in a child process, with one bucket made up front. */
async function startServerProcess(): Promise<ServerProcess> {
  const helper = new URL('../../testing/s3.js', import.meta.url).href;
  const script = `
    const { startS3Server } = await import(${JSON.stringify(helper)});
    const s3 = await startS3Server();
    const bucket = await s3.createBucket();
    console.log(JSON.stringify({ endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket }));
    process.stdin.resume();
    process.stdin.on('end', async () => { await s3.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => { throw new Error('S3 server process exited'); })])) as [string];
  lines.close();
  const info = JSON.parse(line) as { endpoint: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  return {
    ...info,
    createBucket: async () => info.bucket,
    async close() {
      child.stdin!.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
