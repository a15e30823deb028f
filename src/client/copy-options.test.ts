// copyImage options: multi-arch modes, platform overrides, skipping blobs the destination has, progress
// events, a pinned destination digest, concurrency and abort.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage, type ProgressEvent } from './copy.js';
import { copyRefs, digestOfRef, makeSourceLayout, openDestination, openSource, snapshot, tempDir, validateRef, type SourceLayout } from './conformance.js';
import { isClientError } from './errors.js';
import { systemPlatform } from './platform.js';

describe('copyImage options', () => {
  let root: string;
  let src: SourceLayout;
  before(async () => {
    root = await tempDir('berth-copy-');
    src = await makeSourceLayout(join(root, 'source'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("multiArch 'system' picks the running platform", async (t) => {
    const sys = systemPlatform();
    if (sys.os !== 'linux' || (sys.architecture !== 'amd64' && sys.architecture !== 'arm64')) return t.skip(`no fixture image for ${sys.os}/${sys.architecture}`);
    const res = await copyRefs(`oci:${src.dir}:multi`, `oci:${join(root, 'sys')}:x`);
    assert.equal(res.digest, src.index.images[sys.architecture === 'amd64' ? 0 : 1]!.digest);
    assert.equal(res.manifests, 1);
  });

  it('an unknown platform is PLATFORM_UNKNOWN and names what the index has', async () => {
    await assert.rejects(copyRefs(`oci:${src.dir}:multi`, `oci:${join(root, 's390x')}:x`, { platform: { architecture: 's390x' } }), (e) => isClientError(e, 'PLATFORM_UNKNOWN') && e.message.includes('linux/arm64/v8'));
  });

  it("multiArch 'index-only' copies the index and no child", async () => {
    const dest = join(root, 'index-only');
    const res = await copyRefs(`oci:${src.dir}:multi`, `oci:${dest}:x`, { multiArch: 'index-only', preserveDigests: true });
    assert.equal(res.digest, src.index.digest);
    assert.equal(res.manifests, 1);
    assert.deepEqual(res.blobs, { copied: 0, skipped: 0 });
    const files = [...(await snapshot(dest)).keys()].filter((k) => k.startsWith('blobs/sha256/') && !k.endsWith('/'));
    assert.deepEqual(files, [`blobs/sha256/${src.index.digest.slice(7)}`]);
  });

  it('skips blobs the destination has, and reports progress', async () => {
    const dest = `oci:${join(root, 'skip')}:x`;
    await copyRefs(`oci:${src.dir}:img`, dest);
    const events: ProgressEvent[] = [];
    const res = await copyRefs(`oci:${src.dir}:img`, dest, { onProgress: (e) => events.push(e) });
    assert.deepEqual(res.blobs, { copied: 0, skipped: 4 });
    assert.equal(events.filter((e) => e.kind === 'blob-skipped').length, 4);
    assert.deepEqual(events.at(-1), { kind: 'manifest', digest: src.image.digest, bytes: src.image.manifest.length, total: src.image.manifest.length });

    const fresh: ProgressEvent[] = [];
    await copyRefs(`oci:${src.dir}:img`, `oci:${join(root, 'progress')}:x`, { onProgress: (e) => fresh.push(e), concurrency: 1 });
    for (const layer of src.image.layers) {
      const mine = fresh.filter((e) => e.digest === layer.digest);
      assert.equal(mine[0]!.kind, 'blob-start');
      assert.equal(mine.at(-1)!.kind, 'blob-done');
      const last = mine.filter((e) => e.kind === 'blob-progress').at(-1)!;
      assert.equal(last.bytes, layer.bytes.length);
      assert.equal(last.total, layer.bytes.length);
    }
  });

  it('destinationDigest: refused when the result would differ, and nothing is written', async () => {
    const dest = join(root, 'pinned');
    await assert.rejects(
      copyRefs(`oci:${src.dir}:img`, `oci:${dest}:x`, { destinationDigest: src.docker.digest }),
      (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED'),
    );
    assert.deepEqual(await snapshot(dest), new Map());
    const res = await copyRefs(`oci:${src.dir}:img`, `oci:${dest}:x`, { destinationDigest: src.image.digest });
    assert.equal(res.digest, src.image.digest);
  });

  it('a Docker v2 image into docker-archive with preserveDigests: refused once its layers turn out compressed', async () => {
    const dest = join(root, 'docker.tar');
    await assert.rejects(copyRefs(`oci:${src.dir}:docker`, `docker-archive:${dest}`, { preserveDigests: true }), (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED'));
    assert.deepEqual(await snapshot(dest), new Map());
    assert.deepEqual([...(await snapshot(root)).keys()].filter((k) => k.includes('.berth-staging-')), []);
  });

  it('an aborted copy rejects and leaves nothing behind', async () => {
    const dest = join(root, 'aborted');
    const ac = new AbortController();
    const s = await openSource(`oci:${src.dir}:img`);
    const d = await openDestination(`oci:${dest}:x`);
    try {
      await assert.rejects(
        copyImage(s, d, { signal: ac.signal, onProgress: (e) => e.kind === 'blob-start' && ac.abort(new Error('stop')) }),
        (e) => e instanceof Error,
      );
    } finally {
      await d.close();
      await s.close();
    }
    assert.deepEqual(await snapshot(dest), new Map());
  });

  it('copies into an existing layout keep its other entries, and replace the same name', async () => {
    const layout = join(root, 'shared');
    await copyRefs(`oci:${src.dir}:img`, `oci:${layout}:a`);
    await copyRefs(`oci:${src.dir}:docker`, `oci:${layout}:b`);
    await copyRefs(`oci:${src.dir}:docker`, `oci:${layout}:a`);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    assert.deepEqual(
      index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]),
      [['b', src.docker.digest], ['a', src.docker.digest]],
    );
    assert.equal(await digestOfRef(`oci:${layout}:a`), src.docker.digest);
    await validateRef(`oci:${layout}:b`);
  });
});
