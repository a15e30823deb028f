import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import { startS3Server } from '../../testing/s3.js';
import { S3Driver } from './driver.js';

// urlFor is what lets the registry redirect a blob GET to the bucket; the URL must fetch the exact bytes
// with no credentials but the ones signed into it.
const s3 = await startS3Server();
after(() => s3.close());

it('urlFor presigns a GET that returns the bytes', async () => {
  const driver = new S3Driver({
    bucket: await s3.createBucket(),
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    rootDirectory: 'registry/v2',
  });
  try {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await driver.putContent('/blobs/sha256/ab/abcd/data', data);
    const url = await driver.urlFor('/blobs/sha256/ab/abcd/data', { expiresInSeconds: 60 });
    assert.ok(url);
    const parsed = new URL(url);
    assert.equal(parsed.pathname, `/${driver.bucket}/registry/v2/blobs/sha256/ab/abcd/data`);
    assert.equal(parsed.searchParams.get('X-Amz-Expires'), '60');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));

    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20)));

    const missing = await fetch((await driver.urlFor('/blobs/none'))!);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    await assert.rejects(driver.urlFor('relative'), { code: 'INVALID_PATH' });
  } finally {
    await driver.delete('/');
    await driver.close();
  }
});
