import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3TestServer } from '../../testing/s3.js';
import { S3Driver, type S3DriverOptions } from './driver.js';

/**
 * A chunked blob upload is a series of append writers, each possibly on another node, sharing nothing but
 * the bucket. If the old content were lost, duplicated or reordered between writers (a wrong part order,
 * a copied part under 5 MiB, a cancel that leaks), the blob's digest would not match. Runs once with
 * server-side part copies and once against a server without `UploadPartCopy` (the streaming fallback).
 */
const MiB = 1024 * 1024;

for (const uploadPartCopy of [true, false]) {
  describe(`S3Driver append writers (${uploadPartCopy ? 'UploadPartCopy' : 'no UploadPartCopy: old bytes streamed'})`, () => {
    let server: S3TestServer | undefined;
    const s3 = async (): Promise<S3TestServer> => (server ??= await startS3Server({ uploadPartCopy }));
    after(async () => server?.close());

    async function nodes(n: number, extra: Partial<S3DriverOptions> = {}): Promise<{ drivers: S3Driver[]; uploadsLeft: () => Promise<string[]> }> {
      const srv = await s3();
      const bucket = await srv.createBucket();
      const common = {
        bucket,
        endpoint: srv.endpoint,
        region: srv.region,
        forcePathStyle: true,
        accessKeyId: srv.accessKeyId,
        secretAccessKey: srv.secretAccessKey,
        partSize: 5 * MiB,
        ...extra,
      };
      const drivers = Array.from({ length: n }, () => new S3Driver(common));
      const uploadsLeft = async (): Promise<string[]> => {
        const out = await drivers[0]!.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        return (out.Uploads ?? []).map((u) => u.Key ?? '');
      };
      return { drivers, uploadsLeft };
    }

    it('sequential appends through alternating drivers produce the exact concatenation', { timeout: 60_000 }, async () => {
      const { drivers, uploadsLeft } = await nodes(2);
      const path = '/uploads/u1/data';
      // Below and above 5 MiB, crossing part boundaries, and an empty chunk.
      const sizes = [1 * MiB, 3 * MiB + 5, 0, 6 * MiB, 100 * 1024, 11 * MiB + 3, 2 * MiB, 5 * MiB];
      const whole = createHash('sha256');
      let total = 0;
      try {
        for (const [i, size] of sizes.entries()) {
          const driver = drivers[i % drivers.length]!;
          const chunk = randomBytes(size);
          const w = await driver.writer(path, { append: true });
          try {
            assert.equal(w.size, total, `writer ${i} starts at the committed size`);
            await pipeline(Readable.from(pieces(chunk, 256 * 1024)), w);
            await w.commit();
          } finally {
            await w.cancel();
          }
          whole.update(chunk);
          total += size;
          assert.equal(w.size, total);
          assert.equal((await drivers[(i + 1) % drivers.length]!.stat(path)).size, total);

          if (i === 4) {
            // A failed PATCH in the middle: its bytes must vanish and the next append continue after the old end.
            const doomed = await drivers[1]!.writer(path, { append: true });
            await pipeline(Readable.from(pieces(randomBytes(7 * MiB), MiB)), doomed).catch(() => undefined);
            await doomed.cancel();
            assert.equal((await drivers[0]!.stat(path)).size, total);
          }
        }
        const read = createHash('sha256');
        await pipeline(await drivers[0]!.reader(path), async function* (src: AsyncIterable<Buffer>) {
          for await (const c of src) read.update(c);
        });
        assert.equal(read.digest('hex'), whole.digest('hex'));
        assert.deepEqual(await uploadsLeft(), []);
      } finally {
        for (const d of drivers) await d.close();
      }
    });

    it('copies in parts above the copy threshold, for move and for append', { timeout: 60_000 }, async () => {
      const { drivers, uploadsLeft } = await nodes(1, { multipartCopyThreshold: 6 * MiB, copyPartSize: 10 * MiB });
      const driver = drivers[0]!;
      try {
        const base = randomBytes(13 * MiB + 1); // two copied parts of 6.5 MiB (the server refuses parts under 5 MiB)
        if (uploadPartCopy) {
          await driver.putContent('/big/src', base);
          await driver.move('/big/src', '/big/dest');
        } else {
          // A move above the copy threshold needs UploadPartCopy; only the append can fall back.
          await driver.putContent('/big/dest', base);
        }
        assert.ok((await driver.getContent('/big/dest')).equals(base));
        const tail = randomBytes(MiB);
        const w = await driver.writer('/big/dest', { append: true });
        w.end(tail);
        await w.commit();
        assert.ok((await driver.getContent('/big/dest')).equals(Buffer.concat([base, tail])));
        assert.deepEqual(await driver.list('/big'), ['/big/dest']);
        assert.deepEqual(await uploadsLeft(), []);
      } finally {
        await driver.close();
      }
    });

    it('close() aborts the multipart uploads of writers nobody finished', async () => {
      const { drivers, uploadsLeft } = await nodes(1);
      const driver = drivers[0]!;
      const w = await driver.writer('/f');
      await new Promise<void>((resolve, reject) => w.write(randomBytes(11 * MiB), (err) => (err ? reject(err) : resolve())));
      assert.deepEqual(await uploadsLeft(), ['f'], 'parts went out while writing');
      const checker = new S3Client({ endpoint: (await s3()).endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      try {
        await driver.close();
        const out = await checker.send(new ListMultipartUploadsCommand({ Bucket: driver.bucket }));
        assert.deepEqual(out.Uploads ?? [], []);
        await assert.rejects(w.commit());
      } finally {
        checker.destroy();
      }
    });
  });
}

function* pieces(buf: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}
