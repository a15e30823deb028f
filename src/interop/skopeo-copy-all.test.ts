// skopeo copy --all of a two-platform OCI index (children built with umoci): oci: → Berth → oci:/dir:,
// the index and both children keep their digests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
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
  sha256,
  tagInLayout,
  writeLayoutBlob,
  type JsonDescriptor,
  type JsonImageConfig,
  type JsonIndex,
  type JsonManifest,
  type Sandbox,
} from './tools.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];

describe('skopeo copy --all of a multi-arch OCI index', { skip: (!hasSkopeo && 'skopeo is not installed') || (!hasUmoci && 'umoci is not installed'), timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let layout: string;
  let index: { digest: string; bytes: Buffer };
  let children: Array<{ desc: JsonDescriptor; manifest: JsonManifest }>;
  let remote: string;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    layout = sb.path('layout');
    children = [];
    for (const [i, platform] of PLATFORMS.entries()) {
      // Each platform gets its own layers (a real multi-arch image shares little between platforms).
      const layers = sampleLayers().slice(0, 2);
      await buildUmociImage(sb, { layout, tag: platform.architecture, layers, init: i === 0, config: { ...platform, labels: { arch: platform.architecture } } });
      const desc = await layoutDescriptor(layout, platform.architecture);
      const manifest = parseJson<JsonManifest>(await readLayoutBlob(layout, desc.digest));
      const config = parseJson<JsonImageConfig>(await readLayoutBlob(layout, manifest.config.digest));
      assert.equal(config.architecture, platform.architecture);
      children.push({ desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, platform }, manifest });
    }
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => c.desc) }));
    const desc = await writeLayoutBlob(layout, bytes, OCI_INDEX);
    await tagInLayout(layout, 'multi', desc);
    index = { digest: desc.digest, bytes };
    remote = `docker://${hostOf(reg.url)}/ns/multi:latest`;
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  it('pushes the index and both children; Berth serves each by its digest', async () => {
    await sb.copy(`oci:${layout}:multi`, remote, ['--all']);
    const top = await fetchManifest(reg.url, 'ns/multi', 'latest');
    assert.equal(top.status, 200);
    assert.equal(top.mediaType, OCI_INDEX);
    assert.equal(top.digest, index.digest);
    assert.deepEqual(top.body, index.bytes);
    assert.equal(sha256(await sb.inspect(remote, ['--raw'])), index.digest);
    for (const c of children) {
      const child = await fetchManifest(reg.url, 'ns/multi', c.desc.digest);
      assert.equal(child.status, 200);
      assert.equal(child.digest, c.desc.digest);
      assert.equal(sha256(child.body), c.desc.digest);
      await checkBlobs(c.manifest, (d) => fetchBlob(reg.url, 'ns/multi', d));
    }
  });

  it('skopeo picks each platform from the index the registry serves', async () => {
    for (const c of children) {
      const arch = c.desc.platform!.architecture;
      const out = parseJson<{ Digest: string; Architecture: string; Layers: string[]; Labels: Record<string, string> }>(
        await sb.inspect(remote, ['--override-arch', arch, '--override-os', 'linux']),
      );
      // skopeo reports the digest of the manifest the reference names (the index), and the chosen image's details.
      assert.equal(out.Digest, index.digest);
      assert.equal(out.Architecture, arch);
      assert.equal(out.Labels['arch'], arch);
      assert.deepEqual(out.Layers, c.manifest.layers.map((l) => l.digest));
    }
  });

  it('pulls back with --all to an OCI layout: index and children digests preserved', async () => {
    const out = sb.path('out-oci');
    await sb.copy(remote, `oci:${out}:multi`, ['--all']);
    const desc = await layoutDescriptor(out, 'multi');
    assert.equal(desc.digest, index.digest);
    assert.equal(desc.mediaType, OCI_INDEX);
    assert.deepEqual(await readLayoutBlob(out, desc.digest), index.bytes);
    for (const c of children) {
      assert.equal(sha256(await readLayoutBlob(out, c.desc.digest)), c.desc.digest);
      await checkBlobs(c.manifest, (d) => readLayoutBlob(out, d));
    }
  });

  it('pulls back with --all to dir: index and children digests preserved', async () => {
    const out = sb.path('out-dir');
    await sb.copy(remote, `dir:${out}`, ['--all']);
    assert.deepEqual(await readFile(join(out, 'manifest.json')), index.bytes);
    assert.equal(await manifestDigestOf(sb, join(out, 'manifest.json')), index.digest);
    const files = await readdir(out);
    for (const c of children) {
      // dir: stores instance manifests as <hex>.manifest.json
      const name = `${c.desc.digest.slice('sha256:'.length)}.manifest.json`;
      assert.ok(files.includes(name), `${name} in ${files.join(', ')}`);
      assert.equal(sha256(await readFile(join(out, name))), c.desc.digest);
      await checkBlobs(c.manifest, (d) => readDirBlob(out, d));
    }
    const roundTrip = parseJson<JsonIndex>(await readFile(join(out, 'manifest.json')));
    assert.deepEqual(roundTrip.manifests.map((m) => m.platform), PLATFORMS);
  });
});
