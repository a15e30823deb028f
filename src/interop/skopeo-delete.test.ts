// skopeo delete against Berth: by digest, and by tag (which skopeo resolves to the digest and deletes the manifest).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushImage, pushManifest, randomImage, type ImageFixture } from '../testing/fixtures.js';
import { TOOL_TEST_TIMEOUT, fetchManifest, hasSkopeo, hostOf, makeSandbox, parseJson, sha256, type Sandbox } from './tools.js';

describe('skopeo delete docker://Berth', { skip: !hasSkopeo && 'skopeo is not installed', timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  let host: string;

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    host = hostOf(reg.url);
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  const del = (ref: string) => sb.skopeo(['delete', '--retry-times', '0', '--tls-verify=false', ref]);
  const inspectFails = (ref: string) => sb.skopeoFails(['inspect', '--retry-times', '0', '--tls-verify=false', '--raw', ref]);

  async function pushTagged(repo: string, tags: string[], format: 'oci' | 'docker' = 'oci'): Promise<ImageFixture> {
    const img = randomImage({ layers: 2, size: 2048, format });
    await pushImage(reg.url, repo, img, tags[0]);
    for (const t of tags.slice(1)) await pushManifest(reg.url, repo, t, img.manifest, img.mediaType);
    return img;
  }

  it('deletes by digest: the manifest and every tag on it are gone, other images stay', async () => {
    const gone = await pushTagged('ns/app', ['v1', 'v1-alias']);
    const kept = await pushTagged('ns/app', ['v2']);
    assert.equal(sha256(await sb.inspect(`docker://${host}/ns/app@${gone.digest}`, ['--raw'])), gone.digest);

    await del(`docker://${host}/ns/app@${gone.digest}`);

    for (const ref of [`@${gone.digest}`, ':v1', ':v1-alias']) {
      assert.match(await inspectFails(`docker://${host}/ns/app${ref}`), /manifest unknown/i, ref);
    }
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/ns/app/manifests/${gone.digest}`)), { status: 404, code: 'MANIFEST_UNKNOWN' });
    const stillThere = await fetchManifest(reg.url, 'ns/app', 'v2');
    assert.equal(stillThere.digest, kept.digest);
    const tags = parseJson<{ Tags: string[] }>(await sb.skopeo(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${host}/ns/app`]));
    assert.deepEqual(tags.Tags, ['v2']);
  });

  for (const format of ['oci', 'docker'] as const) {
    it(`deletes by tag (${format} manifest): skopeo resolves the tag to its digest and deletes the manifest`, async () => {
      const repo = `ns/bytag-${format}`;
      const img = await pushTagged(repo, ['v1', 'other'], format);
      await del(`docker://${host}/${repo}:v1`);
      for (const ref of [`@${img.digest}`, ':v1', ':other']) {
        assert.match(await inspectFails(`docker://${host}/${repo}${ref}`), /manifest unknown/i, ref);
      }
    });
  }

  it('fails for a digest that is not there', async () => {
    const img = randomImage();
    await pushTagged('ns/absent', ['v1']);
    const stderr = await sb.skopeoFails(['delete', '--retry-times', '0', '--tls-verify=false', `docker://${host}/ns/absent@${img.digest}`]);
    // skopeo fetches the manifest before the DELETE, gets 404 and says so in its own words
    assert.match(stderr, /may not exist|manifest unknown/i);
  });
});
