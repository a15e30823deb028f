/**
 * Runs the test S3 server (`startS3Server()` from src/testing/s3.ts, s3rver on loopback) in a process of
 * its own for the `scaleout` phase, so that the S3 server and the bench's own HTTP client do not share one
 * event loop. Prints one JSON line (endpoint, credentials, bucket) when ready; stops on SIGTERM/SIGINT.
 *
 *   node dist/bench/s3-child.js
 */
import { startS3Server } from '../testing/s3.js';

const s3 = await startS3Server();
const bucket = await s3.createBucket();
process.stdout.write(
  `${JSON.stringify({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket })}\n`,
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void s3.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Also stop when the parent goes away (its end of stdin closes).
process.stdin.on('end', stop);
process.stdin.resume();
