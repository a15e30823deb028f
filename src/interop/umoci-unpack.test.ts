// umoci reads what Berth serves: skopeo pulls from Berth into an OCI layout, umoci unpacks it, the files are intact.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import {
  TOOL_TEST_TIMEOUT,
  buildUmociImage,
  flatten,
  hasSkopeo,
  hasUmoci,
  hostOf,
  makeSandbox,
  parseJson,
  sampleLayers,
  type Sandbox,
} from './tools.js';

interface RuntimeSpec {
  process: { user: { uid: number }; args: string[] };
}

describe('umoci unpacks images pulled from Berth', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;
  let files: Map<string, Buffer>;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
    const layers = sampleLayers();
    files = flatten(layers);
    const layout = sb.path('layout');
    await buildUmociImage(sb, { layout, tag: 'v1', layers, config: { user: '1001', entrypoint: '/bin/app' } });
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/app:v1`);
    await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/app:docker`, ['--format', 'v2s2']);
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  for (const tag of ['v1', 'docker']) {
    it(`unpacks ns/app:${tag} with every file byte for byte and the config applied`, async () => {
      const pulled = sb.path(`pulled-${tag}`);
      await sb.copy(`docker://${host}/ns/app:${tag}`, `oci:${pulled}:v1`);
      const bundle = sb.path(`bundle-${tag}`);
      await sb.umoci(['unpack', '--rootless', '--image', `${pulled}:v1`, bundle]);
      assert.equal(files.size, 5);
      for (const [p, bytes] of files) assert.deepEqual(await readFile(join(bundle, 'rootfs', p)), bytes, p);
      // the third layer overwrote etc/app.conf
      assert.equal((await readFile(join(bundle, 'rootfs', 'etc/app.conf'))).toString(), 'mode=second\n');
      const spec = parseJson<RuntimeSpec>(await readFile(join(bundle, 'config.json')));
      assert.equal(spec.process.user.uid, 1001);
      assert.deepEqual(spec.process.args, ['/bin/app']);
    });
  }
});
