// skopeo list-tags against Berth: 150 tags in one page, and through Berth's n/last pagination with Link headers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';
import { TOOL_TEST_TIMEOUT, hasSkopeo, hostOf, makeSandbox, parseJson, startPagingProxy, type Sandbox } from './tools.js';

interface ListTagsOutput {
  Repository: string;
  Tags: string[];
}

describe('skopeo list-tags docker://Berth', { skip: !hasSkopeo && 'skopeo is not installed', timeout: TOOL_TEST_TIMEOUT }, () => {
  let reg: TestRegistry;
  let sb: Sandbox;
  const tags: string[] = [];

  before(async () => {
    [reg, sb] = await Promise.all([startTestRegistry({ driver: 'fs' }), makeSandbox()]);
    const img = randomImage({ layers: 1, size: 512 });
    await pushImage(reg.url, 'ns/app', img, 'latest');
    tags.push('latest', 'v1', 'v1.0', 'v1.0.1', 'A_upper', '0-leading', 'x'.repeat(128));
    for (let i = 0; i < 143; i++) tags.push(`build-${String(i).padStart(4, '0')}`);
    for (const tag of tags.slice(1)) await pushManifest(reg.url, 'ns/app', tag, img.manifest, img.mediaType);
    // another repository's tags must not leak in
    await pushImage(reg.url, 'ns/other', randomImage({ layers: 1, size: 64 }), 'other-only');
  });
  after(async () => {
    await reg?.close();
    await sb?.close();
  });

  const expected = () => [...tags].sort();

  it('lists all 150 tags in lexical order', async () => {
    assert.equal(tags.length, 150);
    const out = parseJson<ListTagsOutput>(await sb.skopeo(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${hostOf(reg.url)}/ns/app`]));
    assert.equal(out.Repository, `${hostOf(reg.url)}/ns/app`);
    assert.deepEqual(out.Tags, expected());
  });

  it('follows Berth\'s Link headers page by page when the registry paginates', async () => {
    const proxy = await startPagingProxy(reg.url, 40);
    try {
      const out = parseJson<ListTagsOutput>(await sb.skopeo(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${hostOf(proxy.url)}/ns/app`]));
      assert.deepEqual(out.Tags, expected());
      const pages = proxy.requests.filter((r) => r.startsWith('/v2/ns/app/tags/list'));
      assert.equal(pages.length, 4, pages.join('\n')); // 40 + 40 + 40 + 30
      assert.ok(pages.slice(1).every((p) => /[?&]last=/.test(p)), pages.join('\n'));
    } finally {
      await proxy.close();
    }
  });

  it('fails with an error for a repository that does not exist', async () => {
    const stderr = await sb.skopeoFails(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${hostOf(reg.url)}/ns/missing`]);
    // skopeo 1.9 reports only the status of a failed tag list; the body is NAME_UNKNOWN.
    assert.match(stderr, /404/);
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/ns/missing/tags/list`)), { status: 404, code: 'NAME_UNKNOWN' });
  });
});
