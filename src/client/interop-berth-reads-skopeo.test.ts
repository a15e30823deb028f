// What skopeo and umoci write, Berth reads: every layout and archive passes validateImage, and Berth sees the
// same manifest bytes skopeo reports with `inspect --raw`.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../content/digest.js';
import { digestOfRef, makeSourceLayout, openSource, tempDir, validateRef, type SourceLayout } from './conformance.js';
import { openImage } from './image.js';
import { hasSkopeo, hasUmoci, makeTools, type Tools } from './skopeo-sandbox.js';

describe('Berth reads what skopeo writes', { skip: !hasSkopeo && 'skopeo is not installed' }, () => {
  let root: string;
  let src: SourceLayout;
  let tools: Tools;
  before(async () => {
    root = await tempDir('berth-interop-');
    src = await makeSourceLayout(join(root, 'source'));
    tools = await makeTools(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function sameAsSkopeo(ref: string): Promise<Buffer> {
    const raw = await tools.inspectRaw(ref);
    const s = await openSource(ref);
    try {
      const ours = await s.getManifest();
      assert.deepEqual(ours.bytes, raw);
      assert.equal(ours.digest, digestOf(raw));
    } finally {
      await s.close();
    }
    await validateRef(ref);
    return raw;
  }

  for (const [name, make] of [
    ['oci', (n: string) => `oci:${join(root, 'sk-layout')}:${n}`],
    ['dir', (n: string) => `dir:${join(root, `sk-dir-${n}`)}`],
    ['oci-archive', (n: string) => `oci-archive:${join(root, `sk-${n}.oci.tar`)}:${n}`],
  ] as const) {
    it(`${name}: an image`, async () => {
      const ref = make('img');
      await tools.skopeo(['copy', '--preserve-digests', `oci:${src.dir}:img`, ref]);
      await sameAsSkopeo(ref);
      assert.equal(await digestOfRef(ref), src.image.digest);
    });

    it(`${name}: an index with every child (--all)`, async () => {
      const ref = make('multi');
      await tools.skopeo(['copy', '--all', '--preserve-digests', `oci:${src.dir}:multi`, ref]);
      await sameAsSkopeo(ref);
      assert.equal(await digestOfRef(ref), src.index.digest);
    });
  }

  it('docker-archive: the synthesised manifest is byte for byte the one skopeo reports', async () => {
    const ref = `docker-archive:${join(root, 'sk.docker.tar')}:example.com/berth/img:v1`;
    await tools.skopeo(['copy', `oci:${src.dir}:img`, ref]);
    await sameAsSkopeo(ref);
    // Without a name (one image in the archive) and by @0 as well.
    await sameAsSkopeo(`docker-archive:${join(root, 'sk.docker.tar')}`);
    const s = await openSource(`docker-archive:${join(root, 'sk.docker.tar')}:@0`);
    try {
      const img = await openImage(s);
      assert.equal(img.layers().length, 3);
      assert.deepEqual(img.layers().map((l) => l.descriptor.digest), src.image.diffIDs);
    } finally {
      await s.close();
    }
  });

  it('umoci: a layout built with umoci init/new/repack/config', { skip: !hasUmoci && 'umoci is not installed' }, async () => {
    const layout = join(root, 'umoci');
    await tools.umoci(['init', '--layout', layout]);
    await tools.umoci(['new', '--image', `${layout}:v1`]);
    const bundle = join(root, 'bundle');
    await tools.umoci(['unpack', '--rootless', '--image', `${layout}:v1`, bundle]);
    await mkdir(join(bundle, 'rootfs', 'app'), { recursive: true });
    await writeFile(join(bundle, 'rootfs', 'app', 'hello.txt'), 'hello from umoci\n');
    await tools.umoci(['repack', '--image', `${layout}:v1`, bundle]);
    await tools.umoci(['config', '--image', `${layout}:v1`, '--config.user', '1000', '--config.label', 'org.example=yes']);
    const ref = `oci:${layout}:v1`;
    await sameAsSkopeo(ref);
    const s = await openSource(ref);
    try {
      const img = await openImage(s);
      const cfg = await img.config();
      assert.equal((cfg.config as { User?: string }).User, '1000');
    } finally {
      await s.close();
    }
  });
});
