// Tag lists and the catalog (end-8a, end-8b): lexical order, n/last pagination and Link headers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OCI_MANIFEST } from '../content/media-types.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushImage, pushManifest, randomImage } from '../testing/fixtures.js';

let reg: TestRegistry;
const TAGS = ['v1', 'V2', 'a', 'a-b', 'a.b', 'b', '_x', 'latest', '1.0', 'z'];
before(async () => {
  reg = await startTestRegistry();
  const img = randomImage();
  await pushImage(reg.url, 'ns/app', img);
  for (const t of TAGS) await pushManifest(reg.url, 'ns/app', t, img.manifest, OCI_MANIFEST);
  for (const r of ['zeta', 'alpha/one', 'alpha', 'beta']) await pushImage(reg.url, r, img, 'latest');
});
after(() => reg.close());

async function list(path: string) {
  const res = await fetch(`${reg.url}${path}`);
  return { res, body: (await res.json()) as { tags?: string[]; repositories?: string[]; name?: string }, link: res.headers.get('link') };
}

describe('tag list', () => {
  it('lists every tag in byte order', async () => {
    const { body, link } = await list('/v2/ns/app/tags/list');
    assert.deepEqual(body, { name: 'ns/app', tags: [...TAGS].sort() });
    assert.equal(link, null);
  });

  it('pages with n and last, sending Link only while more follow', async () => {
    const sorted = [...TAGS].sort();
    const seen: string[] = [];
    let path: string | null = '/v2/ns/app/tags/list?n=3';
    let pages = 0;
    while (path) {
      const { body, link } = await list(path);
      seen.push(...body.tags!);
      pages++;
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
    }
    assert.deepEqual(seen, sorted);
    assert.equal(pages, 4);
    const exact = await list(`/v2/ns/app/tags/list?n=${sorted.length}`);
    assert.equal(exact.link, null, 'no Link when the page ends exactly at the last tag');
    const afterLast = await list(`/v2/ns/app/tags/list?last=${sorted[7]}`);
    assert.deepEqual(afterLast.body.tags, sorted.slice(8));
    const zero = await list('/v2/ns/app/tags/list?n=0');
    assert.deepEqual(zero.body.tags, []);
    assert.equal(zero.link, null);
  });

  it('answers NAME_UNKNOWN for an unknown repository and PAGINATION_NUMBER_INVALID for a bad n', async () => {
    assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/nope/tags/list`)), { status: 404, code: 'NAME_UNKNOWN' });
    for (const n of ['-1', 'abc', '1e3', '100001']) {
      assert.deepEqual(await errorOf(await fetch(`${reg.url}/v2/ns/app/tags/list?n=${n}`)), { status: 400, code: 'PAGINATION_NUMBER_INVALID' }, n);
    }
  });
});

describe('catalog', () => {
  it('lists repositories in byte order with pagination', async () => {
    const all = await list('/v2/_catalog');
    assert.deepEqual(all.body.repositories, ['alpha', 'alpha/one', 'beta', 'ns/app', 'zeta']);
    const first = await list('/v2/_catalog?n=2');
    assert.deepEqual(first.body.repositories, ['alpha', 'alpha/one']);
    assert.equal(first.link, '</v2/_catalog?n=2&last=alpha%2Fone>; rel="next"');
    const second = await list('/v2/_catalog?n=2&last=alpha%2Fone');
    assert.deepEqual(second.body.repositories, ['beta', 'ns/app']);
  });
});
