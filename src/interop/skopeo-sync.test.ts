// skopeo sync from a Berth repository to dir: and to another namespace on the same Berth server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import {
  TOOL_TEST_TIMEOUT,
  buildUmociImage,
  checkBlobs,
  fetchBlob,
  fetchManifest,
  hasSkopeo,
  hasUmoci,
  hostOf,
  layoutDescriptor,
  makeSandbox,
  manifestDigestOf,
  parseJson,
  readDirBlob,
  readLayoutBlob,
  sampleLayers,
  type JsonManifest,
  type Sandbox,
} from './tools.js';

describe('skopeo sync from Berth', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;
  const images = new Map<string, { digest: string; manifest: JsonManifest }>();

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
    const layout = sb.path('layout');
    await buildUmociImage(sb, { layout, tag: 'v1', layers: sampleLayers(), config: { labels: { a: 'b' } } });
    // v2: same layers, a different config (so a different manifest)
    await sb.umoci(['config', '--image', `${layout}:v1`, '--tag', 'v2', '--config.label', 'c=d']);
    for (const tag of ['v1', 'v2']) {
      const { digest } = await layoutDescriptor(layout, tag);
      images.set(tag, { digest, manifest: parseJson<JsonManifest>(await readLayoutBlob(layout, digest)) });
      await sb.copy(`oci:${layout}:${tag}`, `docker://${host}/ns/app:${tag}`);
    }
    assert.notEqual(images.get('v1')!.digest, images.get('v2')!.digest);
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  const sync = (extra: string[]) => sb.skopeo(['sync', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra]);

  it('--src docker --dest dir: every tag of the repository, digests preserved', async () => {
    const out = sb.path('sync-dir');
    await sync(['--src', 'docker', '--dest', 'dir', `${host}/ns/app`, out]);
    // skopeo names each image directory after the last path component and the tag
    assert.deepEqual((await readdir(out)).sort(), ['app:v1', 'app:v2']);
    for (const [tag, img] of images) {
      const dir = join(out, `app:${tag}`);
      assert.equal(await manifestDigestOf(sb, join(dir, 'manifest.json')), img.digest);
      await checkBlobs(img.manifest, (d) => readDirBlob(dir, d));
    }
  });

  it('--src docker --dest dir --scoped with a single tag', async () => {
    const out = sb.path('sync-scoped');
    await sync(['--src', 'docker', '--dest', 'dir', '--scoped', `${host}/ns/app:v2`, out]);
    const dir = join(out, host, 'ns', 'app:v2');
    assert.equal(await manifestDigestOf(sb, join(dir, 'manifest.json')), images.get('v2')!.digest);
  });

  it('--src docker --dest docker into another namespace on the same server, digests preserved', async () => {
    await sync(['--src', 'docker', '--dest', 'docker', `${host}/ns/app`, `${host}/mirror`]);
    for (const [tag, img] of images) {
      const m = await fetchManifest(reg.url, 'mirror/app', tag);
      assert.equal(m.status, 200, `mirror/app:${tag}`);
      assert.equal(m.digest, img.digest);
      await checkBlobs(img.manifest, (d) => fetchBlob(reg.url, 'mirror/app', d));
    }
    const tags = parseJson<{ Tags: string[] }>(await sb.skopeo(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${host}/mirror/app`]));
    assert.deepEqual(tags.Tags, ['v1', 'v2']);
    const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories, ['mirror/app', 'ns/app']);
  });

  it('a second sync to docker is a no-op that leaves the digests unchanged', async () => {
    await sync(['--src', 'docker', '--dest', 'docker', `${host}/ns/app`, `${host}/mirror`]);
    for (const [tag, img] of images) assert.equal((await fetchManifest(reg.url, 'mirror/app', tag)).digest, img.digest);
  });
});
