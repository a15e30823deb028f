import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseDescriptor } from './descriptor.js';
import { digestOf } from './digest.js';
import { EMPTY_DESCRIPTOR, OCI_LAYER_GZIP } from './media-types.js';

const D = digestOf('layer');
const base = { mediaType: OCI_LAYER_GZIP, digest: D, size: 5 };

describe('parseDescriptor', () => {
  test('returns the known fields and drops unknown ones', () => {
    const d = parseDescriptor(
      {
        ...base,
        urls: ['https://example.com/layer'],
        annotations: { 'org.opencontainers.image.title': 'x' },
        artifactType: 'application/vnd.example+json',
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.version': '1', 'os.features': ['a'], features: ['b'] },
        unknown: 1,
      },
      'layers[0]',
    );
    assert.deepEqual(d, {
      ...base,
      urls: ['https://example.com/layer'],
      annotations: { 'org.opencontainers.image.title': 'x' },
      artifactType: 'application/vnd.example+json',
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.version': '1', 'os.features': ['a'], features: ['b'] },
    });
  });

  test('accepts any RFC 6838 media type and size 0', () => {
    const d = parseDescriptor({ ...base, mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', size: 0 }, 'x');
    assert.equal(d.size, 0);
  });

  test('null optional fields count as absent', () => {
    assert.deepEqual(parseDescriptor({ ...base, annotations: null, urls: null }, 'x'), base);
  });

  test('the OCI empty descriptor with its data is valid', () => {
    assert.deepEqual(parseDescriptor({ ...EMPTY_DESCRIPTOR }, 'config'), EMPTY_DESCRIPTOR);
  });

  test('data matching size and digest is kept', () => {
    const content = Buffer.from('hello');
    const d = parseDescriptor({ ...base, digest: digestOf(content), size: 5, data: content.toString('base64') }, 'config');
    assert.equal(d.data, 'aGVsbG8=');
  });

  test('a malformed digest is DIGEST_INVALID and names the descriptor', () => {
    assert.throws(() => parseDescriptor({ ...base, digest: 'sha256:xyz' }, 'layers[2]'), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal((err as { code?: string }).code, 'DIGEST_INVALID');
      assert.match(err.message, /layers\[2\]\.digest/);
      return true;
    });
  });

  const invalid: [string, unknown][] = [
    ['a non-object', 'sha256:abc'],
    ['null', null],
    ['an array', [base]],
    ['a missing mediaType', { digest: D, size: 5 }],
    ['a non-string mediaType', { ...base, mediaType: 5 }],
    ['a mediaType without subtype', { ...base, mediaType: 'application' }],
    ['a mediaType with parameters', { ...base, mediaType: 'application/json; charset=utf-8' }],
    ['a missing digest', { mediaType: OCI_LAYER_GZIP, size: 5 }],
    ['a numeric digest', { ...base, digest: 5 }],
    ['a missing size', { mediaType: OCI_LAYER_GZIP, digest: D }],
    ['a string size', { ...base, size: '5' }],
    ['a negative size', { ...base, size: -1 }],
    ['a fractional size', { ...base, size: 1.5 }],
    ['an unsafe size', { ...base, size: 2 ** 53 }],
    ['urls not an array', { ...base, urls: 'https://x' }],
    ['a non-string url', { ...base, urls: [1] }],
    ['an unparseable url', { ...base, urls: ['not a url'] }],
    ['annotations not an object', { ...base, annotations: ['a'] }],
    ['a non-string annotation', { ...base, annotations: { a: 1 } }],
    ['a non-string data', { ...base, data: 1 }],
    ['data that is not base64', { ...base, data: 'a*b=' }],
    ['data of the wrong length', { ...base, data: Buffer.from('hell').toString('base64') }],
    ['data with the wrong content', { ...base, digest: digestOf('hello'), data: Buffer.from('jello').toString('base64') }],
    ['a bad artifactType', { ...base, artifactType: 'nope' }],
    ['a non-object platform', { ...base, platform: 'linux/amd64' }],
    ['a platform without os', { ...base, platform: { architecture: 'amd64' } }],
    ['a platform without architecture', { ...base, platform: { os: 'linux' } }],
    ['a non-string variant', { ...base, platform: { architecture: 'arm', os: 'linux', variant: 7 } }],
    ['bad os.features', { ...base, platform: { architecture: 'arm', os: 'linux', 'os.features': 'x' } }],
  ];
  for (const [name, value] of invalid) {
    test(`refuses ${name} with MANIFEST_INVALID`, () => {
      assert.throws(() => parseDescriptor(value, 'layers[0]'), { code: 'MANIFEST_INVALID' });
    });
  }

  test('messages name where the problem is', () => {
    assert.throws(() => parseDescriptor({ ...base, size: -1 }, 'layers[7]'), /layers\[7\]\.size/);
  });
});
