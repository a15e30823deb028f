// Chunked blob pushes (RegistryOptions.chunkSize, berth copy --dest-chunk-size): PATCHes with Content-Range,
// and a chunk that broke off after the registry had committed part of it resumes from the registry's own
// count (GET on the upload → Range), not from the start of the chunk and not from the start of the blob.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOfRef, tempDir, validateRef } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { realImage, writeLayout, type FixtureImage } from '../../fixtures.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { startProxy } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';

const CHUNK = 64 * 1024;

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** Sends `body` as a PATCH of `range.start`.. to the registry itself; resolves with its status. */
function patchUpstream(target: string, req: IncomingMessage, body: Buffer, start: number): Promise<number> {
  const t = new URL(target);
  return new Promise((resolve, reject) => {
    const up = request(
      { host: t.hostname, port: t.port, method: 'PATCH', path: req.url, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'content-range': `${start}-${start + body.length - 1}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    up.on('error', reject);
    up.end(body);
  });
}

describe('registry transport: chunked uploads', () => {
  let registry: TestRegistry;
  let root: string;
  let img: FixtureImage;
  let layout: string;
  before(async () => {
    registry = await startTestRegistry();
    root = await tempDir('berth-chunked-');
    img = realImage({ layers: 2, size: 300 * 1024 });
    layout = join(root, 'source');
    await writeLayout(layout, { img });
  });
  after(async () => {
    await registry.close();
    await rm(root, { recursive: true, force: true });
  });

  it('monolithic by default; with a chunk size, PATCHes of that size with Content-Range', async () => {
    const ranges: string[] = [];
    const proxy = await startProxy(registry.url, (req) => {
      if (req.method === 'PATCH') ranges.push(String(req.headers['content-range']));
      return false;
    });
    try {
      const plain = testTransport();
      await pushWith(plain, `oci:${layout}:img`, `docker://${proxy.host}/chunked/mono:v1`);
      plain.close();
      assert.equal(ranges.length, 0);

      const t = testTransport({ chunkSize: CHUNK });
      const res = await pushWith(t, `oci:${layout}:img`, `docker://${proxy.host}/chunked/app:v1`);
      t.close();
      assert.equal(res.digest, img.digest);
      const largest = Math.max(...img.layers.map((l) => l.bytes.length));
      assert.ok(ranges.length >= 2 * Math.floor(largest / CHUNK), ranges.join(' '));
      assert.ok(ranges.includes(`0-${CHUNK - 1}`) && ranges.includes(`${CHUNK}-${2 * CHUNK - 1}`), ranges.join(' '));
      const out = `oci:${join(root, 'back')}:x`;
      await pullWith(testTransport(), `docker://${new URL(registry.url).host}/chunked/app:v1`, out, { preserveDigests: true });
      assert.equal(await digestOfRef(out), img.digest);
      await validateRef(out);
    } finally {
      await proxy.close();
    }
  });

  it('a chunk cut off after the registry committed half of it resumes from the registry\'s Range', async () => {
    let patches = 0;
    const statusQueries: string[] = [];
    const resent: string[] = [];
    let cutAt = -1;
    const proxy = await startProxy(registry.url, async (req, res) => {
      if (req.method === 'GET' && req.url?.includes('/blobs/uploads/')) statusQueries.push(req.url);
      if (req.method !== 'PATCH') return false;
      patches++;
      if (patches === 3) {
        // Half the chunk reaches the registry, then the client's connection drops before any answer.
        const body = await readAll(req);
        const start = Number(String(req.headers['content-range']).split('-')[0]);
        cutAt = start + body.length / 2;
        assert.equal(await patchUpstream(registry.url, req, body.subarray(0, body.length / 2), start), 202);
        res.socket?.destroy();
        return true;
      }
      if (patches === 4) resent.push(String(req.headers['content-range']));
      return false;
    });
    try {
      const t = testTransport({ chunkSize: CHUNK });
      const res = await pushWith(t, `oci:${layout}:img`, `docker://${proxy.host}/chunked/resumed:v1`, { concurrency: 1 });
      t.close();
      assert.equal(res.digest, img.digest);
      assert.equal(statusQueries.length, 1);
      // Resent from the middle of the cut chunk (half of it had arrived), not from its start.
      assert.ok(cutAt > 0 && cutAt % CHUNK === CHUNK / 2, String(cutAt));
      assert.match(resent[0]!, new RegExp(`^${cutAt}-`));
      const out = `oci:${join(root, 'resumed')}:x`;
      await pullWith(testTransport(), `docker://${new URL(registry.url).host}/chunked/resumed:v1`, out, { preserveDigests: true });
      await validateRef(out);
    } finally {
      await proxy.close();
    }
  });

  it('a 503 on a chunk is retried from where the upload stands', async () => {
    let patches = 0;
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.method === 'PATCH' && ++patches === 2) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}');
        return true;
      }
      return false;
    });
    try {
      const t = testTransport({ chunkSize: CHUNK });
      const res = await pushWith(t, `oci:${layout}:img`, `docker://${proxy.host}/chunked/busy:v1`);
      t.close();
      assert.equal(res.digest, img.digest);
    } finally {
      await proxy.close();
    }
  });

  it('a registry that keeps failing chunks: the error after the retries, and the upload is cancelled', async () => {
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.method === 'PATCH') {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"broken disk"}]}');
        return true;
      }
      return false;
    });
    try {
      const t = testTransport({ chunkSize: CHUNK });
      await assert.rejects(pushWith(t, `oci:${layout}:img`, `docker://${proxy.host}/chunked/broken:v1`), (e) => isClientError(e) && /broken disk/.test(e.message));
      t.close();
      assert.ok(proxy.log.some((l) => l.startsWith('DELETE ') && l.includes('/blobs/uploads/')), proxy.log.join('\n'));
    } finally {
      await proxy.close();
    }
  });

  it('a chunk size that is not a positive whole number is OPTION_INVALID', async () => {
    const t = testTransport({ chunkSize: 0 });
    await assert.rejects(pushWith(t, `oci:${layout}:img`, `docker://${new URL(registry.url).host}/chunked/zero:v1`), (e) => isClientError(e, 'OPTION_INVALID'));
    t.close();
  });
});
