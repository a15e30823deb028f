// skopeo inspect against Berth: the JSON summary (name, digest, tags, platform, labels, layers) and --config.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import {
  TOOL_TEST_TIMEOUT,
  buildUmociImage,
  hasSkopeo,
  hasUmoci,
  hostOf,
  layoutDescriptor,
  makeSandbox,
  parseJson,
  readLayoutBlob,
  sampleLayers,
  type JsonImageConfig,
  type JsonManifest,
  type Sandbox,
} from './tools.js';

interface InspectOutput {
  Name: string;
  Digest: string;
  RepoTags: string[];
  Architecture: string;
  Os: string;
  Labels: Record<string, string> | null;
  Layers: string[];
  Created: string;
}

describe('skopeo inspect docker://Berth', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let digest: string;
  let manifest: JsonManifest;
  let config: Buffer;
  let host: string;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
    const layout = sb.path('layout');
    await buildUmociImage(sb, {
      layout,
      tag: 'v1',
      layers: sampleLayers(),
      config: { user: '1001', labels: { a: 'b' }, entrypoint: '/bin/app', os: 'linux', architecture: 'amd64' },
    });
    digest = (await layoutDescriptor(layout, 'v1')).digest;
    manifest = parseJson<JsonManifest>(await readLayoutBlob(layout, digest));
    config = await readLayoutBlob(layout, manifest.config.digest);
    for (const tag of ['v1', 'latest', 'stable']) await sb.copy(`oci:${layout}:v1`, `docker://${host}/ns/app:${tag}`);
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  it('reports name, digest, tags, platform, labels and layers', async () => {
    const out = parseJson<InspectOutput>(await sb.inspect(`docker://${host}/ns/app:v1`));
    assert.equal(out.Name, `${host}/ns/app`);
    assert.equal(out.Digest, digest);
    assert.deepEqual([...out.RepoTags].sort(), ['latest', 'stable', 'v1']);
    assert.equal(out.Architecture, 'amd64');
    assert.equal(out.Os, 'linux');
    assert.deepEqual(out.Labels, { a: 'b' });
    assert.deepEqual(out.Layers, manifest.layers.map((l) => l.digest));
    assert.equal(out.Created, parseJson<{ created: string }>(config).created);
  });

  it('inspects by digest with the same result', async () => {
    const out = parseJson<InspectOutput>(await sb.inspect(`docker://${host}/ns/app@${digest}`));
    assert.equal(out.Digest, digest);
    assert.deepEqual(out.Layers, manifest.layers.map((l) => l.digest));
  });

  it('--config shows the image config: user 1001 and the entrypoint', async () => {
    const out = parseJson<JsonImageConfig>(await sb.inspect(`docker://${host}/ns/app:v1`, ['--config']));
    assert.equal(out.config?.User, '1001');
    assert.deepEqual(out.config?.Entrypoint, ['/bin/app']);
    assert.deepEqual(out.config?.Labels, { a: 'b' });
    assert.equal(out.rootfs.diff_ids.length, 3);
    // --config --raw is the config blob byte for byte
    const raw = await sb.inspect(`docker://${host}/ns/app:v1`, ['--config', '--raw']);
    assert.equal(raw, config.toString('utf8'));
  });

  it('fails cleanly for a tag that does not exist', async () => {
    const stderr = await sb.skopeoFails(['inspect', '--retry-times', '0', '--tls-verify=false', `docker://${host}/ns/app:missing`]);
    assert.match(stderr, /manifest unknown/i);
  });
});
