// The lazy views: an index resolves to a platform's image, layers decompress, zstd is refused by code.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../content/digest.js';
import { OCI_LAYER_ZSTD } from '../content/media-types.js';
import { makeSourceLayout, openSource, tempDir, type SourceLayout } from './conformance.js';
import { isClientError } from './errors.js';
import { writeLayout, type FixtureImage } from './fixtures.js';
import { openImage, openIndex } from './image.js';
import { resolvePlatform } from './platform.js';

describe('image views', () => {
  let root: string;
  let src: SourceLayout;
  before(async () => {
    root = await tempDir('berth-image-');
    src = await makeSourceLayout(join(root, 'source'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('openIndex lists children and opens each image', async () => {
    const s = await openSource(`oci:${src.dir}:multi`);
    try {
      const ix = await openIndex(s);
      assert.equal(ix.digest, src.index.digest);
      assert.equal(ix.children().length, 2);
      const arm = await ix.image(src.index.images[1]!.digest);
      assert.deepEqual(arm.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
      assert.equal((await arm.config()).architecture, 'arm64');
      const img = await openImage(s, { platform: { os: 'linux', architecture: 'arm64' } });
      assert.equal(img.digest, src.index.images[1]!.digest);
    } finally {
      await s.close();
    }
  });

  it('resolvePlatform: arm64 without a variant matches v8; a missing variant is PLATFORM_UNKNOWN', () => {
    const d = (architecture: string, variant?: string) => ({ mediaType: 'x/y', digest: digestOf(architecture + (variant ?? '')), size: 1, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
    const children = [d('amd64'), d('arm64'), d('arm', 'v6'), d('arm', 'v7')];
    assert.equal(resolvePlatform(children, { os: 'linux', architecture: 'arm64', variant: 'v8' }), children[1]);
    assert.equal(resolvePlatform(children, { os: 'linux', architecture: 'arm', variant: 'v7' }), children[3]);
    assert.equal(resolvePlatform(children, { os: 'linux', architecture: 'arm' }), children[2]);
    assert.throws(() => resolvePlatform(children, { os: 'linux', architecture: 'arm', variant: 'v5' }), (e) => isClientError(e, 'PLATFORM_UNKNOWN'));
    assert.throws(() => resolvePlatform(children, { os: 'windows', architecture: 'amd64' }), (e) => isClientError(e, 'PLATFORM_UNKNOWN'));
  });

  it('a zstd layer: compressed() streams, uncompressed() is UNSUPPORTED_FORMAT', async () => {
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(60, 1)]);
    const layer = { bytes: zstd, digest: digestOf(zstd), mediaType: OCI_LAYER_ZSTD };
    const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [digestOf('x')] } }));
    const c = { bytes: config, digest: digestOf(config), mediaType: 'application/vnd.oci.image.config.v1+json' };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: c.mediaType, digest: c.digest, size: config.length }, layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: zstd.length }] }));
    const img: FixtureImage = { config: c, layers: [layer], diffIDs: [], manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest) };
    const dir = join(root, 'zstd');
    await writeLayout(dir, { z: img });
    const s = await openSource(`oci:${dir}`);
    try {
      const [l] = (await openImage(s)).layers();
      const chunks: Buffer[] = [];
      for await (const chunk of await l!.compressed()) chunks.push(chunk as Buffer);
      assert.deepEqual(Buffer.concat(chunks), zstd);
      await assert.rejects(l!.uncompressed(), (e) => isClientError(e, 'UNSUPPORTED_FORMAT'));
    } finally {
      await s.close();
    }
  });
});
