// Blob pulls (end-2), Range requests, cross-repository mounts (end-11) and blob deletes (end-10).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf } from '../content/digest.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushBlob, randomBlob } from '../testing/fixtures.js';

let reg: TestRegistry;
before(async () => (reg = await startTestRegistry({ driver: 'fs' })));
after(() => reg.close());

describe('blob pull', () => {
  it('GET and HEAD answer with size, digest and type; HEAD has no body', async () => {
    const blob = randomBlob(12345);
    await pushBlob(reg.url, 'pull', blob);
    const head = await fetch(`${reg.url}/v2/pull/blobs/${blob.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '12345');
    assert.equal(head.headers.get('docker-content-digest'), blob.digest);
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const get = await fetch(`${reg.url}/v2/pull/blobs/${blob.digest}`);
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob.bytes);
  });

  it('serves byte ranges with 206 and Content-Range, and 416 outside the blob', async () => {
    const blob = randomBlob(1000);
    await pushBlob(reg.url, 'range', blob);
    const url = `${reg.url}/v2/range/blobs/${blob.digest}`;
    const part = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 100-199/1000');
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), blob.bytes.subarray(100, 200));
    const open = await fetch(url, { headers: { Range: 'bytes=900-' } });
    assert.equal(open.status, 206);
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), blob.bytes.subarray(900));
    const past = await fetch(url, { headers: { Range: 'bytes=1000-1001' } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */1000');
    await past.body?.cancel();
  });

  it('answers BLOB_UNKNOWN for a blob that is not in the repository, even if another has it', async () => {
    const blob = randomBlob(10);
    await pushBlob(reg.url, 'owner', blob);
    const res = await fetch(`${reg.url}/v2/stranger/blobs/${blob.digest}`);
    assert.deepEqual(await errorOf(res), { status: 404, code: 'BLOB_UNKNOWN' });
    const missing = await fetch(`${reg.url}/v2/owner/blobs/${digestOf('nothing')}`);
    assert.deepEqual(await errorOf(missing), { status: 404, code: 'BLOB_UNKNOWN' });
    const bad = await fetch(`${reg.url}/v2/owner/blobs/sha256:123`);
    assert.deepEqual(await errorOf(bad), { status: 400, code: 'DIGEST_INVALID' });
  });

  it('a client that stops reading mid-blob does not disturb the server', async () => {
    const blob = randomBlob(8 * 1024 * 1024);
    await pushBlob(reg.url, 'drop', blob);
    const ac = new AbortController();
    const res = await fetch(`${reg.url}/v2/drop/blobs/${blob.digest}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const again = await fetch(`${reg.url}/v2/drop/blobs/${blob.digest}`);
    assert.equal(Buffer.from(await again.arrayBuffer()).length, blob.bytes.length);
  });
});

describe('cross-repository mount', () => {
  it('mounts a blob from a repository that has it: 201 and no upload (end-11)', async () => {
    const blob = randomBlob(2048);
    await pushBlob(reg.url, 'src', blob);
    const res = await fetch(`${reg.url}/v2/dst/blobs/uploads/?mount=${blob.digest}&from=src`, { method: 'POST' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/dst/blobs/${blob.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    const get = await fetch(`${reg.url}/v2/dst/blobs/${blob.digest}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob.bytes);
  });

  it('falls back to an upload session (202) when `from` lacks the blob, is missing or is invalid', async () => {
    const blob = randomBlob(10);
    await pushBlob(reg.url, 'has', blob);
    for (const q of [`mount=${blob.digest}&from=nothing-here`, `mount=${blob.digest}`, `mount=${blob.digest}&from=NOT..valid`, `mount=${digestOf('x')}&from=has`]) {
      const res = await fetch(`${reg.url}/v2/dst2/blobs/uploads/?${q}`, { method: 'POST' });
      assert.equal(res.status, 202, q);
      assert.match(res.headers.get('location') ?? '', /^\/v2\/dst2\/blobs\/uploads\//);
    }
    assert.equal((await fetch(`${reg.url}/v2/dst2/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
  });

  it('refuses a malformed mount digest with DIGEST_INVALID', async () => {
    const res = await fetch(`${reg.url}/v2/dst3/blobs/uploads/?mount=sha256:nope&from=src`, { method: 'POST' });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'DIGEST_INVALID' });
  });
});

describe('blob delete', () => {
  it('unlinks a blob from one repository only (end-10)', async () => {
    const blob = randomBlob(100);
    await pushBlob(reg.url, 'del-a', blob);
    await pushBlob(reg.url, 'del-b', blob);
    const del = await fetch(`${reg.url}/v2/del-a/blobs/${blob.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal((await fetch(`${reg.url}/v2/del-a/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(`${reg.url}/v2/del-b/blobs/${blob.digest}`, { method: 'HEAD' })).status, 200);
    const again = await fetch(`${reg.url}/v2/del-a/blobs/${blob.digest}`, { method: 'DELETE' });
    assert.deepEqual(await errorOf(again), { status: 404, code: 'BLOB_UNKNOWN' });
  });
});
