// Blob pushes: monolithic, POST then PUT, chunked, streamed, status, cancel, and what happens on bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { digestOf } from '../content/digest.js';
import { paths } from '../storage/paths.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushBlob, randomBlob } from '../testing/fixtures.js';

let reg: TestRegistry;
before(async () => (reg = await startTestRegistry()));
after(() => reg.close());

async function startSession(repo: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('range'), '0-0');
  const location = res.headers.get('location');
  assert.match(location ?? '', new RegExp(`^/v2/${repo}/blobs/uploads/[0-9a-f-]{36}$`));
  assert.equal(res.headers.get('docker-upload-uuid'), location!.split('/').pop());
  return `${reg.url}${location}`;
}

async function assertBlob(repo: string, blob: { bytes: Buffer; digest: string }): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${blob.digest}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-content-digest'), blob.digest);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), blob.bytes);
}

async function assertNoBlob(repo: string, digest: string): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(res.status, 404);
  assert.equal(await reg.deps.store.getBlob(digest as never), undefined);
  await assert.rejects(reg.deps.driver.stat(paths.blobData(digest as never)), { code: 'PATH_NOT_FOUND' });
}

describe('blob upload', () => {
  it('monolithic POST ?digest= answers 201 with Location and Docker-Content-Digest (end-4b)', async () => {
    const blob = randomBlob(5000);
    const res = await fetch(`${reg.url}/v2/mono/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body: new Uint8Array(blob.bytes) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mono/blobs/${blob.digest}`);
    assert.equal(res.headers.get('docker-content-digest'), blob.digest);
    await assertBlob('mono', blob);
  });

  it('POST then PUT with the whole body (end-4a, end-6)', async () => {
    const blob = randomBlob(70_000);
    const location = await startSession('postput');
    const res = await fetch(`${location}?digest=${blob.digest}`, { method: 'PUT', body: new Uint8Array(blob.bytes) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/postput/blobs/${blob.digest}`);
    await assertBlob('postput', blob);
    const status = await fetch(location);
    assert.equal((await errorOf(status)).code, 'BLOB_UPLOAD_UNKNOWN', 'the session ends with the PUT');
  });

  it('chunked PATCH with Content-Range, status GET, then closing PUT with the last chunk (end-5, end-13)', async () => {
    const blob = randomBlob(30_000);
    const location = await startSession('chunked');
    const c1 = await fetch(location, {
      method: 'PATCH',
      body: new Uint8Array(blob.bytes.subarray(0, 10_000)),
      headers: { 'Content-Range': '0-9999', 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(c1.status, 202);
    assert.equal(c1.headers.get('range'), '0-9999');
    const c2 = await fetch(`${reg.url}${c1.headers.get('location')}`, {
      method: 'PATCH',
      body: new Uint8Array(blob.bytes.subarray(10_000, 20_000)),
      headers: { 'Content-Range': '10000-19999' },
    });
    assert.equal(c2.status, 202);
    assert.equal(c2.headers.get('range'), '0-19999');
    const status = await fetch(location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-19999');
    assert.equal(status.headers.get('location'), new URL(location).pathname);
    const put = await fetch(`${location}?digest=${blob.digest}`, {
      method: 'PUT',
      body: new Uint8Array(blob.bytes.subarray(20_000)),
      headers: { 'Content-Range': '20000-29999' },
    });
    assert.equal(put.status, 201);
    await assertBlob('chunked', blob);
  });

  it('answers an out-of-order chunk with 416, the current Range and Location, and keeps the upload', async () => {
    const blob = randomBlob(2000);
    const location = await startSession('ooo');
    await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(0, 1000)), headers: { 'Content-Range': '0-999' } });
    const bad = await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(1500)), headers: { 'Content-Range': '1500-1999' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('range'), '0-999');
    assert.equal(bad.headers.get('location'), new URL(location).pathname);
    assert.equal((await errorOf(bad)).code, 'RANGE_INVALID');
    const again = await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(1000)), headers: { 'Content-Range': '1000-1999' } });
    assert.equal(again.status, 202);
    const put = await fetch(`${location}?digest=${blob.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    await assertBlob('ooo', blob);
  });

  it('streams a PATCH without Content-Range (chunked transfer encoding), then closes with an empty PUT', async () => {
    const blob = randomBlob(3 * 1024 * 1024);
    const location = await startSession('streamed');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < blob.bytes.length; i += 65536) controller.enqueue(new Uint8Array(blob.bytes.subarray(i, i + 65536)));
        controller.close();
      },
    });
    const patch = await fetch(location, { method: 'PATCH', body, duplex: 'half' } as RequestInit);
    assert.equal(patch.status, 202);
    assert.equal(patch.headers.get('range'), `0-${blob.bytes.length - 1}`);
    const put = await fetch(`${location}?digest=${blob.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    await assertBlob('streamed', blob);
  });

  it('cancels an upload with DELETE (end-14) and forgets it', async () => {
    const location = await startSession('cancel');
    await fetch(location, { method: 'PATCH', body: 'abc' });
    const id = location.split('/').pop()!;
    const del = await fetch(location, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await errorOf(await fetch(location))).code, 'BLOB_UPLOAD_UNKNOWN');
    await assert.rejects(reg.deps.driver.stat(paths.uploadData(id)), { code: 'PATH_NOT_FOUND' });
    assert.equal((await errorOf(await fetch(location, { method: 'DELETE' }))).code, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('accepts a 0-byte blob', async () => {
    const blob = randomBlob(0);
    await pushBlob(reg.url, 'empty', blob);
    const res = await fetch(`${reg.url}/v2/empty/blobs/${blob.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  it('accepts sha512 content, monolithic and chunked', async () => {
    const blob = randomBlob(10_000, 'application/octet-stream', 'sha512');
    await pushBlob(reg.url, 'sha512', blob);
    await assertBlob('sha512', blob);
    const other = randomBlob(10_000, 'application/octet-stream', 'sha512');
    const location = await startSession('sha512');
    await fetch(location, { method: 'PATCH', body: new Uint8Array(other.bytes), headers: { 'Content-Range': '0-9999' } });
    const put = await fetch(`${location}?digest=${other.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    await assertBlob('sha512', other);
  });

  it('refuses a digest mismatch with DIGEST_INVALID and stores nothing (monolithic)', async () => {
    const blob = randomBlob(4096);
    const wrong = digestOf('something else');
    const res = await fetch(`${reg.url}/v2/bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: new Uint8Array(blob.bytes) });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'DIGEST_INVALID' });
    await assertNoBlob('bad', wrong);
    await assertNoBlob('bad', blob.digest);
  });

  it('refuses a digest mismatch on the closing PUT, stores nothing and ends the session', async () => {
    const blob = randomBlob(4096);
    const wrong = digestOf('other');
    const location = await startSession('bad2');
    await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes) });
    const id = location.split('/').pop()!;
    const res = await fetch(`${location}?digest=${wrong}`, { method: 'PUT' });
    assert.deepEqual(await errorOf(res), { status: 400, code: 'DIGEST_INVALID' });
    await assertNoBlob('bad2', wrong);
    await assertNoBlob('bad2', blob.digest);
    await assert.rejects(reg.deps.driver.stat(paths.uploadData(id)), { code: 'PATH_NOT_FOUND' });
    assert.equal(await reg.deps.store.getUpload('bad2', id), undefined);
  });

  it('refuses malformed digests and ranges with 400, never 500', async () => {
    for (const d of ['sha256:xyz', 'md5:abc', 'nope', 'sha256:' + 'A'.repeat(64)]) {
      const res = await fetch(`${reg.url}/v2/x/blobs/uploads/?digest=${encodeURIComponent(d)}`, { method: 'POST', body: 'a' });
      assert.deepEqual(await errorOf(res), { status: 400, code: 'DIGEST_INVALID' }, d);
    }
    const location = await startSession('x');
    const put = await fetch(location, { method: 'PUT' });
    assert.deepEqual(await errorOf(put), { status: 400, code: 'DIGEST_INVALID' });
    const badRange = await fetch(location, { method: 'PATCH', body: 'abc', headers: { 'Content-Range': 'garbage' } });
    assert.deepEqual(await errorOf(badRange), { status: 400, code: 'BLOB_UPLOAD_INVALID' });
    const mismatch = await fetch(location, { method: 'PATCH', body: 'abc', headers: { 'Content-Range': '0-9' } });
    assert.deepEqual(await errorOf(mismatch), { status: 400, code: 'BLOB_UPLOAD_INVALID' });
    assert.equal((await fetch(location)).headers.get('range'), '0-0', 'nothing was appended');
  });

  it('refuses a body longer than Content-Length says... and unknown upload ids', async () => {
    const unknown = await fetch(`${reg.url}/v2/x/blobs/uploads/00000000-0000-0000-0000-000000000000`, { method: 'PATCH', body: 'a' });
    assert.deepEqual(await errorOf(unknown), { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' });
    const junk = await fetch(`${reg.url}/v2/x/blobs/uploads/..%2F..%2Fetc`, { method: 'GET' });
    assert.equal(junk.status, 404);
    const location = await startSession('other-repo');
    const wrongRepo = await fetch(location.replace('/other-repo/', '/x/'));
    assert.deepEqual(await errorOf(wrongRepo), { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' }, 'a session belongs to its repository');
  });

  it('keeps a session usable after the client disconnects in the middle of a chunk', async () => {
    const blob = randomBlob(200_000);
    const location = await startSession('disconnect');
    await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(0, 100_000)), headers: { 'Content-Range': '0-99999' } });
    // Announce 100,000 bytes, send 30,000, then drop the connection.
    await new Promise<void>((resolve) => {
      const u = new URL(location);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PATCH', headers: { 'Content-Range': '100000-199999', 'Content-Length': 100000 } });
      req.on('error', () => resolve());
      req.write(blob.bytes.subarray(100_000, 130_000), () => setTimeout(() => { req.destroy(); resolve(); }, 50));
    });
    // The server notices asynchronously; poll until the session is unlocked and back at 100,000 bytes.
    let range = '';
    for (let i = 0; i < 50 && range !== '0-99999'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      range = (await fetch(location)).headers.get('range') ?? '';
    }
    assert.equal(range, '0-99999');
    const rest = await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(100_000)), headers: { 'Content-Range': '100000-199999' } });
    assert.equal(rest.status, 202);
    const put = await fetch(`${location}?digest=${blob.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    await assertBlob('disconnect', blob);
  });

  it('two clients pushing the same blob at once both succeed and it is stored once', async () => {
    const blob = randomBlob(1024 * 1024);
    const results = await Promise.all(
      ['same-a', 'same-b', 'same-a', 'same-b'].map((repo) =>
        fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body: new Uint8Array(blob.bytes) }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201]);
    await assertBlob('same-a', blob);
    await assertBlob('same-b', blob);
    const stored = [];
    for await (const f of reg.deps.driver.walk('/blobs')) if (f.path === paths.blobData(blob.digest)) stored.push(f);
    assert.equal(stored.length, 1);
  });
});
