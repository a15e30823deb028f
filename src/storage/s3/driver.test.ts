import assert from 'node:assert/strict';
import { after } from 'node:test';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../../testing/s3.js';
import { describeBlobDriver } from '../conformance.js';
import { S3Driver } from './driver.js';

const s3 = await startS3Server();
const inspector = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});
after(async () => {
  inspector.destroy();
  await s3.close();
});

/**
 * An `S3Driver` on its own bucket that, on close, checks what `walk` cannot see: no multipart upload left
 * behind (a leaked upload is invisible but billed until a lifecycle rule removes it).
 */
class CheckedS3Driver extends S3Driver {
  override async close(): Promise<void> {
    await super.close();
    const out = await inspector.send(new ListMultipartUploadsCommand({ Bucket: this.bucket }));
    assert.deepEqual(
      (out.Uploads ?? []).map((u) => u.Key),
      [],
      'S3Driver left multipart uploads behind',
    );
  }
}

describeBlobDriver(
  's3',
  async () =>
    new CheckedS3Driver({
      bucket: await s3.createBucket(),
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    }),
);
