// Berth and skopeo, copying the same image to the same kind of store, write the same bytes: every file of a
// dir:, index.json of an oci: layout, and manifest.json, config and layer members (headers included) of a
// docker-archive.
import assert from 'node:assert/strict';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyRefs, makeSourceLayout, snapshot, tempDir, type SourceLayout } from './conformance.js';
import { hasSkopeo, makeTools, type Tools } from './skopeo-sandbox.js';
import { indexTar } from './tar/reader.js';

describe('Berth writes what skopeo writes, byte for byte', { skip: !hasSkopeo && 'skopeo is not installed' }, () => {
  let root: string;
  let src: SourceLayout;
  let tools: Tools;
  before(async () => {
    root = await tempDir('berth-bytes-');
    src = await makeSourceLayout(join(root, 'source'));
    tools = await makeTools(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('dir: every file, for an image and for an index (--all)', async () => {
    for (const [tag, all] of [['img', false], ['multi', true]] as const) {
      await tools.skopeo(['copy', ...(all ? ['--all'] : []), `oci:${src.dir}:${tag}`, `dir:${join(root, `skopeo-${tag}`)}`]);
      await copyRefs(`oci:${src.dir}:${tag}`, `dir:${join(root, `berth-${tag}`)}`, { multiArch: all ? 'all' : 'system' });
      assert.deepEqual(await snapshot(join(root, `berth-${tag}`)), await snapshot(join(root, `skopeo-${tag}`)));
    }
  });

  it('oci: index.json and every blob', async () => {
    for (const [tag, all] of [['img', false], ['multi', true]] as const) {
      await tools.skopeo(['copy', ...(all ? ['--all'] : []), `oci:${src.dir}:${tag}`, `oci:${join(root, `skopeo-layout-${tag}`)}:t`]);
      await copyRefs(`oci:${src.dir}:${tag}`, `oci:${join(root, `berth-layout-${tag}`)}:t`, { multiArch: all ? 'all' : 'system' });
      assert.deepEqual(await snapshot(join(root, `berth-layout-${tag}`)), await snapshot(join(root, `skopeo-layout-${tag}`)));
    }
  });

  it('docker-archive: manifest.json, the config and the layer members, headers included', async () => {
    const sk = join(root, 'skopeo.tar');
    const ours = join(root, 'berth.tar');
    await tools.skopeo(['copy', `oci:${src.dir}:img`, `docker-archive:${sk}:example.com/berth/img:v1`]);
    await copyRefs(`oci:${src.dir}:img`, `docker-archive:${ours}:example.com/berth/img:v1`);
    const [a, b] = [await indexTar(sk), await indexTar(ours)];
    const member = async (file: string, m: { offset: number; size: number }) => {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(512 + m.size);
        await fh.read(buf, 0, buf.length, m.offset - 512);
        return buf;
      } finally {
        await fh.close();
      }
    };
    const manifest = JSON.parse((await member(sk, a.get('manifest.json')!)).subarray(512).toString('utf8')) as Array<{ Config: string; Layers: string[] }>;
    for (const name of ['manifest.json', manifest[0]!.Config, ...manifest[0]!.Layers]) {
      const ma = a.get(name);
      const mb = b.get(name);
      assert.ok(ma && mb, `${name} in both archives`);
      assert.deepEqual(await member(ours, mb), await member(sk, ma), `${name}: header and content`);
    }
  });
});
