import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A real S3-compatible server on loopback for tests: s3rver 3.7 (in-process, files in a temp directory),
 * spoken to over HTTP through the AWS SDK exactly as production speaks to S3.
 *
 * s3rver 3.7 lacks or breaks some operations a registry needs, so this module adds them on top of its
 * own on-disk store (each added handler runs before s3rver's router, without signature checks):
 *
 * - `ListObjectsV2`: s3rver drops common prefixes whose objects sit two or more folders below the prefix,
 *   orders keys by directory walk rather than by key, and answers 500 to every continuation token (its
 *   DES cipher is gone from OpenSSL 3). Replaced by a listing that sorts keys as S3 does.
 * - `ListMultipartUploads` (501 in s3rver), `AbortMultipartUpload` (405 in s3rver): added, so tests can
 *   check that no multipart upload leaks.
 * - `UploadPartCopy` (501 in s3rver): added, unless `uploadPartCopy: false` keeps s3rver's 501 so a test
 *   can exercise a driver's fallback.
 *
 * - `PutObject` and `CompleteMultipartUpload` write the object file in place, so two concurrent writers
 *   to one key can leave a mix of both; S3 replaces objects atomically. Now written aside and renamed.
 *
 * - `CompleteMultipartUpload` accepts parts of any size; S3 refuses (EntityTooSmall) parts under 5 MiB
 *   but the last, and parts that were never uploaded (InvalidPart). Now checked.
 *
 * Still missing: `ListParts`, object versioning, conditional GET (`If-Match` is ignored), and s3rver does
 * not check presigned URL signatures.
 */
const require = createRequire(import.meta.url);

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Creates a bucket (a random `berth-test-…` name by default) and returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

export interface S3TestServerOptions {
  /** Serve `UploadPartCopy` (default true). False answers 501 NotImplemented, like stock s3rver. */
  uploadPartCopy?: boolean;
}

/**
 * Starts s3rver on 127.0.0.1, port 0, with a fresh temp directory, silent.
 *
 * @example
 * const s3 = await startS3Server();
 * after(() => s3.close());
 * const driver = new S3Driver({ bucket: await s3.createBucket(), endpoint: s3.endpoint, forcePathStyle: true,
 *   region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
 */
export async function startS3Server(opts: S3TestServerOptions = {}): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'berth-s3-'));
  const S3rver = require('s3rver') as S3rverConstructor;
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  // Koa composes `middleware` when the server starts listening, so handlers put in front here run before
  // s3rver's router (index 3: after its logger, its XML body encoder and its mount interop).
  server.middleware.splice(3, 0, compatMiddleware(server.store, directory, opts.uploadPartCopy ?? true));
  makePutAtomic(server.store);
  checkPartSizes(server.store, directory);
  let address: { port: number };
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async createBucket(name = `berth-test-${randomBytes(6).toString('hex')}`) {
      await server.store.putBucket(name);
      return name;
    },
    async close() {
      try {
        await server.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

// --- the parts of s3rver (CommonJS, untyped) used here ------------------------------------------------

interface S3rverConstructor {
  new (opts: { address: string; port: number; directory: string; silent: boolean }): S3rverInstance;
}

interface S3rverInstance {
  middleware: Middleware[];
  store: S3rverStore;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

interface S3rverStore {
  putBucket(name: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ size: number; md5: string }>;
  getBucket(name: string): Promise<unknown>;
  getMetadata(bucket: string, key: string): Promise<Record<string, string | number>>;
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: unknown;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

// --- compatibility handlers ----------------------------------------------------------------------------

/** s3rver's file naming: object `a/b` is `<bucket>/a/b._S3rver_object`; uploads live in `._S3rver_uploads`. */
const OBJECT_SUFFIX = '._S3rver_object';
const UPLOADS_DIR = '._S3rver_uploads';
const MIN_PART_SIZE = 5 * 1024 * 1024;

function compatMiddleware(store: S3rverStore, root: string, uploadPartCopy: boolean): Middleware {
  const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;

  return async (ctx, next) => {
    // Path-style only; the SDK sends bucket operations as `/<bucket>/` and object operations as `/<bucket>/<key>`.
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
    if (!m) return next();
    const bucket = decodeURIComponent(m[1]!);
    const key = m[2] ? m[2].split('/').map(decodeURIComponent).join('/') : undefined;
    const q = ctx.query;
    let handler: (() => Promise<void>) | undefined;
    if (key === undefined && ctx.method === 'GET' && q['list-type'] === '2') {
      handler = () => listObjectsV2(ctx, store, root, bucket, S3Error);
    } else if (key === undefined && ctx.method === 'GET' && 'uploads' in q) {
      handler = () => listMultipartUploads(ctx, root, bucket);
    } else if (key !== undefined && ctx.method === 'DELETE' && typeof q['uploadId'] === 'string') {
      handler = () => abortMultipartUpload(ctx, root, bucket, key, q['uploadId'] as string, S3Error);
    } else if (uploadPartCopy && key !== undefined && ctx.method === 'PUT' && typeof q['uploadId'] === 'string' && 'x-amz-copy-source' in ctx.headers) {
      handler = () => uploadPartCopyHandler(ctx, store, root, bucket, key, S3Error);
    }
    if (!handler) return next();
    if (!(await store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    await handler();
  };
}

/** Replaces s3rver's in-place object write with write-aside-then-rename, as S3 swaps objects atomically. */
function makePutAtomic(store: S3rverStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const tmp = `${objectPath}.${randomBytes(8).toString('hex')}.tmp`;
    const md5 = createHash('md5');
    let size = 0;
    const counting = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : (object.content as Readable);
    try {
      await pipeline(source, counting, createWriteStream(tmp));
      await rename(tmp, objectPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html: the size and ETag checks. */
function checkPartSizes(store: S3rverStore, root: string): void {
  const S3Error = require('s3rver/lib/models/error') as S3ErrorConstructor;
  const complete = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const dir = join(root, bucket, UPLOADS_DIR, uploadId);
    for (const [i, part] of parts.entries()) {
      if (i > 0 && part.number <= parts[i - 1]!.number) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order.');
      const file = join(dir, String(part.number));
      const [info, md5] = await Promise.all([stat(file).catch(() => undefined), readFile(`${file}.md5`, 'utf8').catch(() => undefined)]);
      if (!info || md5 !== part.etag) {
        throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found.', { PartNumber: part.number, ETag: part.etag });
      }
      if (i < parts.length - 1 && info.size < MIN_PART_SIZE) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: info.size,
          MinSizeAllowed: MIN_PART_SIZE,
          PartNumber: part.number,
        });
      }
    }
    return complete(bucket, uploadId, parts);
  };
}

/** Every key in `bucket` that starts with `prefix`, sorted as S3 sorts (by UTF-8 bytes; ASCII here). */
async function keysWithPrefix(root: string, bucket: string, prefix: string): Promise<string[]> {
  const slash = prefix.lastIndexOf('/');
  const dirPart = slash === -1 ? '' : prefix.slice(0, slash + 1);
  const keys: string[] = [];
  async function walk(dir: string, keyPrefix: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (keyPrefix === '' && e.name === UPLOADS_DIR) continue;
        await walk(join(dir, e.name), `${keyPrefix}${e.name}/`);
      } else if (e.name.endsWith(OBJECT_SUFFIX)) {
        const key = keyPrefix + e.name.slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  }
  await walk(join(root, bucket, ...dirPart.split('/').filter(Boolean)), dirPart);
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
async function listObjectsV2(ctx: KoaContext, store: S3rverStore, root: string, bucket: string, S3Error: S3ErrorConstructor): Promise<void> {
  const q = ctx.query;
  const prefix = str(q['prefix']);
  const delimiter = str(q['delimiter']);
  const maxKeys = q['max-keys'] === undefined ? 1000 : Math.min(1000, Number(q['max-keys']));
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Error('InvalidArgument', 'Invalid max-keys');
  const token = str(q['continuation-token']);
  let after = str(q['start-after']);
  if (token) {
    try {
      after = Buffer.from(token, 'base64url').toString('utf8');
    } catch {
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
    }
  }

  const contents: { Key: string; LastModified: string; ETag: string; Size: number; StorageClass: string }[] = [];
  const commonPrefixes: { Prefix: string }[] = [];
  let last = '';
  let truncated = false;
  for (const key of await keysWithPrefix(root, bucket, prefix)) {
    if (after && key <= after) continue;
    let entry = key;
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) entry = key.slice(0, at + delimiter.length);
    }
    // A page that ended on a common prefix resumes after every key below it.
    if (after && entry !== key && after.startsWith(entry)) continue;
    if (entry === last) continue;
    if (contents.length + commonPrefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (entry !== key) {
      commonPrefixes.push({ Prefix: entry });
    } else {
      let meta;
      try {
        meta = await store.getMetadata(bucket, key);
      } catch {
        continue; // deleted while listing
      }
      contents.push({
        Key: key,
        LastModified: new Date(String(meta['last-modified'])).toISOString(),
        ETag: String(meta['etag']),
        Size: Number(meta['content-length']),
        StorageClass: 'STANDARD',
      });
    }
    last = entry;
  }
  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Name: bucket,
      Prefix: prefix,
      ...(token ? { ContinuationToken: token } : {}),
      ...(truncated ? { NextContinuationToken: Buffer.from(last).toString('base64url') } : {}),
      KeyCount: contents.length + commonPrefixes.length,
      MaxKeys: maxKeys,
      ...(delimiter ? { Delimiter: delimiter } : {}),
      IsTruncated: truncated,
      Contents: contents,
      CommonPrefixes: commonPrefixes,
    },
  };
}

async function uploadDirs(root: string, bucket: string): Promise<{ id: string; key: string; initiated: Date }[]> {
  const base = join(root, bucket, UPLOADS_DIR);
  let ids: string[];
  try {
    ids = await readdir(base);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out = [];
  for (const id of ids) {
    try {
      const key = await readFile(join(base, id, 'key'), 'utf8');
      out.push({ id, key, initiated: (await stat(join(base, id))).mtime });
    } catch {
      // completed or aborted meanwhile
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1));
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html (no pagination: tests). */
async function listMultipartUploads(ctx: KoaContext, root: string, bucket: string): Promise<void> {
  const prefix = str(ctx.query['prefix']);
  const uploads = (await uploadDirs(root, bucket)).filter((u) => u.key.startsWith(prefix));
  ctx.body = {
    ListMultipartUploadsResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Bucket: bucket,
      KeyMarker: '',
      UploadIdMarker: '',
      Prefix: prefix,
      MaxUploads: 1000,
      IsTruncated: false,
      Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.id, Initiated: u.initiated.toISOString(), StorageClass: 'STANDARD' })),
    },
  };
}

async function uploadDir(root: string, bucket: string, key: string, uploadId: string, S3Error: S3ErrorConstructor): Promise<string> {
  if (!/^[0-9a-f]+$/.test(uploadId)) throw noSuchUpload(S3Error, uploadId);
  const dir = join(root, bucket, UPLOADS_DIR, uploadId);
  const stored = await readFile(join(dir, 'key'), 'utf8').catch(() => undefined);
  if (stored !== key) throw noSuchUpload(S3Error, uploadId);
  return dir;
}

function noSuchUpload(S3Error: S3ErrorConstructor, uploadId: string): Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html */
async function abortMultipartUpload(
  ctx: KoaContext,
  root: string,
  bucket: string,
  key: string,
  uploadId: string,
  S3Error: S3ErrorConstructor,
): Promise<void> {
  await rm(await uploadDir(root, bucket, key, uploadId, S3Error), { recursive: true, force: true });
  ctx.status = 204;
  ctx.body = null;
}

/** https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html */
async function uploadPartCopyHandler(
  ctx: KoaContext,
  store: S3rverStore,
  root: string,
  bucket: string,
  key: string,
  S3Error: S3ErrorConstructor,
): Promise<void> {
  const partNumber = Number(ctx.query['partNumber']);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  }
  const dir = await uploadDir(root, bucket, key, str(ctx.query['uploadId']), S3Error);
  const source = decodeURIComponent(str(ctx.headers['x-amz-copy-source']).split('?')[0]!).replace(/^\//, '');
  const slash = source.indexOf('/');
  const srcBucket = source.slice(0, slash);
  const srcKey = source.slice(slash + 1);
  let meta;
  try {
    meta = await store.getMetadata(srcBucket, srcKey);
  } catch {
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: srcKey });
  }
  const ifMatch = str(ctx.headers['x-amz-copy-source-if-match']);
  if (ifMatch && ifMatch.replace(/"/g, '') !== String(meta['etag']).replace(/"/g, '')) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'x-amz-copy-source-If-Match',
    });
  }
  const size = Number(meta['content-length']);
  let start = 0;
  let end = size - 1;
  const range = str(ctx.headers['x-amz-copy-source-range']);
  if (range) {
    const r = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!r || Number(r[1]) > Number(r[2]) || Number(r[2]) >= size) {
      throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range, ActualObjectSize: size });
    }
    start = Number(r[1]);
    end = Number(r[2]);
  }
  const objectFile = join(root, srcBucket, ...srcKey.split('/').slice(0, -1), srcKey.split('/').pop()! + OBJECT_SUFFIX);
  const partFile = join(dir, String(partNumber));
  const md5 = createHash('md5');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  if (end >= start) {
    await pipeline(createReadStream(objectFile, { start, end }), hashing, createWriteStream(partFile));
  } else {
    await writeFile(partFile, Buffer.alloc(0));
  }
  const etag = md5.digest('hex');
  await writeFile(`${partFile}.md5`, etag);
  ctx.body = { CopyPartResult: { LastModified: new Date().toISOString(), ETag: JSON.stringify(etag) } };
}

function str(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
