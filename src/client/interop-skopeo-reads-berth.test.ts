// What Berth writes, skopeo reads: `skopeo inspect --raw` returns the manifest Berth stored, and `skopeo copy`
// back out into a layout of its own keeps the digest.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../content/digest.js';
import { copyRefs, makeSourceLayout, openSource, tempDir, type SourceLayout } from './conformance.js';
import { hasSkopeo, makeTools, type Tools } from './skopeo-sandbox.js';

describe('skopeo reads what Berth writes', { skip: !hasSkopeo && 'skopeo is not installed' }, () => {
  let root: string;
  let src: SourceLayout;
  let tools: Tools;
  before(async () => {
    root = await tempDir('berth-interop-');
    src = await makeSourceLayout(join(root, 'source'));
    tools = await makeTools(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function skopeoDigestAfterCopy(ref: string, all: boolean): Promise<string> {
    const out = join(root, `out-${Math.random().toString(16).slice(2)}`);
    await tools.skopeo(['copy', ...(all ? ['--all'] : []), '--preserve-digests', ref, `oci:${out}:x`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    return index.manifests[0]!.digest;
  }

  for (const [name, make] of [
    ['oci', (n: string) => `oci:${join(root, 'layout')}:${n}`],
    ['dir', (n: string) => `dir:${join(root, `dir-${n}`)}`],
    ['oci-archive', (n: string) => `oci-archive:${join(root, `${n}.oci.tar`)}:${n}`],
  ] as const) {
    it(`${name}: an image`, async () => {
      const ref = make('img');
      await copyRefs(`oci:${src.dir}:img`, ref, { preserveDigests: true });
      const raw = await tools.inspectRaw(ref);
      assert.equal(digestOf(raw), src.image.digest);
      assert.equal(await skopeoDigestAfterCopy(ref, false), src.image.digest);
    });

    it(`${name}: an index with every child (--all)`, async () => {
      const ref = make('multi');
      await copyRefs(`oci:${src.dir}:multi`, ref, { multiArch: 'all', preserveDigests: true });
      assert.equal(digestOf(await tools.inspectRaw(ref)), src.index.digest);
      assert.equal(await skopeoDigestAfterCopy(ref, true), src.index.digest);
    });
  }

  it('docker-archive: skopeo reports the same manifest, byte for byte, and the same config and layers', async () => {
    const ref = `docker-archive:${join(root, 'img.docker.tar')}:example.com/berth/img:v1`;
    const res = await copyRefs(`oci:${src.dir}:img`, ref);
    const raw = await tools.inspectRaw(ref);
    const s = await openSource(ref);
    try {
      const ours = await s.getManifest();
      assert.equal(raw.toString('utf8'), ours.bytes.toString('utf8'));
      assert.equal(digestOf(raw), res.digest);
    } finally {
      await s.close();
    }
    const inspect = JSON.parse(await tools.skopeo(['inspect', ref])) as { RepoTags: string[]; Layers: string[] };
    assert.deepEqual(inspect.Layers, src.image.diffIDs);
    // And skopeo can copy it out again with every digest intact.
    assert.equal(await skopeoDigestAfterCopy(ref, false), res.digest);
  });
});
