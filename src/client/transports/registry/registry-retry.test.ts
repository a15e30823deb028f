// Retries and resumption: 503s and 429s (Retry-After) are retried with backoff, a blob download cut off part
// way resumes with Range where it stopped, and a registry that stays unreachable fails with NETWORK_ERROR
// naming the host. Registry error bodies come back as ClientErrors with the registry's own code kept.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOfRef, tempDir } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { realImage, writeLayout, type FixtureImage } from '../../fixtures.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { RegistryError } from './errors.js';
import { forward, startProxy } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';

describe('registry transport: retries, resumption and errors', () => {
  let registry: TestRegistry;
  let root: string;
  let img: FixtureImage;
  let layout: string;
  const direct = () => testTransport();
  before(async () => {
    registry = await startTestRegistry();
    root = await tempDir('berth-retry-');
    img = realImage({ layers: 2, size: 512 * 1024 });
    layout = join(root, 'source');
    await writeLayout(layout, { img });
    const t = direct();
    await pushWith(t, `oci:${layout}:img`, `docker://${new URL(registry.url).host}/retry/app:v1`);
    t.close();
  });
  after(async () => {
    await registry.close();
    await rm(root, { recursive: true, force: true });
  });

  it('a 503 twice, then success: the manifest GET is retried', async () => {
    let failures = 0;
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.method === 'GET' && req.url?.includes('/manifests/') && failures < 2) {
        failures++;
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'try later' }] }));
        return true;
      }
      return false;
    });
    const t = testTransport();
    try {
      const out = `oci:${join(root, 'flaky')}:x`;
      await pullWith(t, `docker://${proxy.host}/retry/app:v1`, out, { preserveDigests: true });
      assert.equal(await digestOfRef(out), img.digest);
      assert.equal(proxy.log.filter((l) => l === 'GET /v2/retry/app/manifests/v1').length, 3);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  it('a 429 waits for Retry-After', async () => {
    let throttled = false;
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.url?.includes('/manifests/') && !throttled) {
        throttled = true;
        res.writeHead(429, { 'retry-after': '1' }).end();
        return true;
      }
      return false;
    });
    const t = testTransport({ retry: { maxDelayMs: 5000 } });
    try {
      const s = await t.newSource(t.parseReference(`//${proxy.host}/retry/app:v1`));
      const started = Date.now();
      assert.equal((await s.getManifest()).digest, img.digest);
      assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  it('a connection reset part way through a blob resumes with Range and the bytes verify', async () => {
    const big = img.layers[0]!;
    const ranges: Array<string | undefined> = [];
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.method === 'GET' && req.url?.endsWith(`/blobs/${big.digest}`)) {
        ranges.push(req.headers.range);
        if (ranges.length === 1) {
          forward(registry.url, req, res, '', { cutAfter: 100_000 });
          return true;
        }
      }
      return false;
    });
    const t = testTransport();
    try {
      const out = `oci:${join(root, 'resumed')}:x`;
      await pullWith(t, `docker://${proxy.host}/retry/app:v1`, out, { preserveDigests: true });
      assert.equal(await digestOfRef(out), img.digest);
      assert.equal(ranges.length, 2);
      assert.equal(ranges[0], undefined);
      assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
      assert.ok(Number(/=(\d+)-/.exec(ranges[1]!)![1]) >= 100_000 - 65536, `resumed at ${ranges[1]}`);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  it('an unreachable registry is NETWORK_ERROR after the retries, naming the host', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const t = testTransport({ retry: { attempts: 3 } });
    try {
      await assert.rejects(pullWith(t, `docker://127.0.0.1:${port}/retry/app:v1`, `oci:${join(root, 'never')}:x`), (e) => {
        assert.ok(isClientError(e, 'NETWORK_ERROR'), String(e));
        assert.match(e.message, new RegExp(`cannot reach registry 127\\.0\\.0\\.1:${port} .*after 3 attempts.*ECONNREFUSED`));
        return true;
      });
    } finally {
      t.close();
    }
  });

  it('a 503 that never stops is a REGISTRY_ERROR with the status and code, after the retries', async () => {
    const proxy = await startProxy(registry.url, (req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'down for maintenance' }] }));
        return true;
      }
      return false;
    });
    const t = testTransport();
    try {
      const s = await t.newSource(t.parseReference(`//${proxy.host}/retry/app:v1`));
      await assert.rejects(s.getManifest(), (e) => e instanceof RegistryError && e.code === 'REGISTRY_ERROR' && e.status === 503 && e.registryCode === 'UNAVAILABLE' && e.message.includes('down for maintenance'));
      assert.equal(proxy.log.filter((l) => l.includes('/manifests/')).length, 3);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  it('error bodies keep the registry code: MANIFEST_UNKNOWN, BLOB_UNKNOWN', async () => {
    const t = direct();
    try {
      const s = await t.newSource(t.parseReference(`//${new URL(registry.url).host}/retry/app:nope`));
      await assert.rejects(s.getManifest(), (e) => e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN' && e.status === 404 && e.registryCode !== undefined);
      const missing = { mediaType: 'application/octet-stream', digest: `sha256:${'0'.repeat(64)}` as never, size: 1 };
      const s2 = await t.newSource(t.parseReference(`//${new URL(registry.url).host}/retry/app:v1`));
      await assert.rejects(s2.getBlob(missing), (e) => isClientError(e, 'BLOB_UNKNOWN'));
    } finally {
      t.close();
    }
  });
});
