// validateImage catches each kind of broken image, and accepts src/testing's random fixtures (whose "layers"
// are random bytes with diff_id = digest) as well as real gzip ones.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { digestHex, digestOf, type Digest } from '../content/digest.js';
import { indexOf, randomImage } from '../testing/fixtures.js';
import { openSource, tempDir } from './conformance.js';
import { isClientError, type ClientErrorCode } from './errors.js';
import { realImage, writeLayout, type FixtureImage } from './fixtures.js';
import { validateImage } from './validate.js';

async function validateLayout(dir: string, tag: string) {
  const s = await openSource(`oci:${dir}:${tag}`);
  try {
    return await validateImage(s);
  } finally {
    await s.close();
  }
}

/** An image whose config is replaced by `config` (the manifest is rebuilt to match). */
function withConfig(img: FixtureImage, config: unknown): FixtureImage {
  const bytes = Buffer.from(JSON.stringify(config));
  const c = { ...img.config, bytes, digest: digestOf(bytes) };
  const d = (b: { mediaType: string; digest: Digest; bytes: Buffer }) => ({ mediaType: b.mediaType, digest: b.digest, size: b.bytes.length });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: img.mediaType, config: d(c), layers: img.layers.map(d) }));
  return { ...img, config: c, manifest, digest: digestOf(manifest) };
}

describe('validateImage', () => {
  let root: string;
  let n = 0;
  const layout = () => join(root, `l${++n}`);
  before(async () => {
    root = await tempDir('berth-validate-');
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function rejects(dir: string, code: ClientErrorCode, pattern: RegExp) {
    await assert.rejects(validateLayout(dir, 'x'), (e) => isClientError(e, code) && pattern.test(e.message));
  }

  it('accepts random fixtures (OCI and Docker, and an index of them)', async () => {
    const dir = layout();
    const a = randomImage({ layers: 2 });
    const b = randomImage({ layers: 1, format: 'docker' });
    const ix = indexOf([a, b]);
    await writeLayout(dir, { a, b, ix: { ...ix, images: [a, b] } });
    assert.deepEqual(await validateLayout(dir, 'a'), { manifests: 1, blobs: 3, bytes: a.config.bytes.length + 2048 });
    await validateLayout(dir, 'b');
    assert.equal((await validateLayout(dir, 'ix')).manifests, 3);
  });

  it('a layer whose bytes do not match: DIGEST_MISMATCH', async () => {
    const dir = layout();
    const img = realImage();
    await writeLayout(dir, { x: img });
    const l = img.layers[0]!;
    const bad = Buffer.from(l.bytes);
    bad[20]! ^= 1;
    await writeFile(join(dir, 'blobs/sha256', digestHex(l.digest)), bad);
    await rejects(dir, 'DIGEST_MISMATCH', /layer 0/);
  });

  it('a truncated layer: SIZE_MISMATCH', async () => {
    const dir = layout();
    const img = realImage();
    await writeLayout(dir, { x: img });
    await writeFile(join(dir, 'blobs/sha256', digestHex(img.layers[1]!.digest)), img.layers[1]!.bytes.subarray(1));
    await rejects(dir, 'SIZE_MISMATCH', /layer 1/);
  });

  it("a gzip layer whose uncompressed digest is not the diff_id: DIGEST_MISMATCH", async () => {
    const dir = layout();
    const img = realImage({ layers: 2 });
    const cfg = JSON.parse(img.config.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] } };
    cfg.rootfs.diff_ids[1] = digestOf(gzipSync(Buffer.from('other')));
    await writeLayout(dir, { x: withConfig(img, cfg) });
    await rejects(dir, 'DIGEST_MISMATCH', /diff_id/);
  });

  it('a config without one diff_id per layer: MANIFEST_INVALID', async () => {
    const dir = layout();
    const img = realImage({ layers: 2 });
    const cfg = JSON.parse(img.config.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] } };
    cfg.rootfs.diff_ids.pop();
    await writeLayout(dir, { x: withConfig(img, cfg) });
    await rejects(dir, 'MANIFEST_INVALID', /1 diff_ids for 2 layers/);
  });

  it('a missing blob: BLOB_UNKNOWN', async () => {
    const dir = layout();
    const img = realImage();
    await writeLayout(dir, { x: img });
    await rm(join(dir, 'blobs/sha256', digestHex(img.config.digest)));
    await rejects(dir, 'BLOB_UNKNOWN', /is not in/);
  });

  it('manifest bytes that are not what index.json names: DIGEST_MISMATCH', async () => {
    const dir = layout();
    const img = realImage();
    await writeLayout(dir, { x: img });
    await writeFile(join(dir, 'blobs/sha256', digestHex(img.digest)), Buffer.from(img.manifest.toString('utf8').replace('"schemaVersion":2', '"schemaVersion": 2')));
    await rejects(dir, 'DIGEST_MISMATCH', /manifest/);
  });
});
