import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { digestOf, type Digest } from './digest.js';
import { parseManifest } from './manifest.js';
import {
  DOCKER_CONFIG,
  DOCKER_FOREIGN_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  EMPTY_DESCRIPTOR,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  OCI_MANIFEST,
  isManifestMediaType,
  isNonDistributable,
  MANIFEST_MEDIA_TYPES,
} from './media-types.js';
import { EMPTY_GZIP_LAYER, signSchema1 } from './schema1.js';

const enc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
const desc = (mediaType: string, content: string, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: digestOf(content),
  size: Buffer.byteLength(content),
  ...extra,
});

const config = desc(OCI_CONFIG, '{"architecture":"amd64","os":"linux"}');
const layer1 = desc(OCI_LAYER_GZIP, 'layer one');
const layer2 = desc(OCI_LAYER_GZIP, 'layer two');
const image = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer1, layer2] };

describe('media types', () => {
  test('six manifest types', () => {
    assert.equal(MANIFEST_MEDIA_TYPES.length, 6);
    for (const t of [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_LIST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED]) {
      assert.ok(isManifestMediaType(t), t);
    }
    assert.equal(isManifestMediaType(OCI_CONFIG), false);
    assert.equal(isManifestMediaType('application/json'), false);
  });

  test('non-distributable types', () => {
    assert.ok(isNonDistributable(DOCKER_FOREIGN_LAYER));
    assert.ok(isNonDistributable(OCI_LAYER_NONDISTRIBUTABLE_GZIP));
    assert.equal(isNonDistributable(OCI_LAYER_GZIP), false);
  });

  test('the empty descriptor describes {}', () => {
    assert.equal(EMPTY_DESCRIPTOR.digest, digestOf('{}'));
    assert.equal(Buffer.from(EMPTY_DESCRIPTOR.data ?? '', 'base64').toString(), '{}');
  });
});

describe('parseManifest: image manifests', () => {
  test('OCI image manifest', () => {
    const bytes = enc(image);
    const m = parseManifest(bytes, OCI_MANIFEST);
    assert.equal(m.kind, 'image');
    assert.equal(m.mediaType, OCI_MANIFEST);
    assert.equal(m.payload, bytes);
    assert.equal(m.schemaVersion, 2);
    assert.deepEqual(m.config, config);
    assert.deepEqual(m.layers, [layer1, layer2]);
    assert.deepEqual(m.manifests, []);
    assert.deepEqual(m.blobs, [config.digest, layer1.digest, layer2.digest]);
    assert.deepEqual(m.children, []);
    assert.equal(m.referrerArtifactType, OCI_CONFIG);
    assert.equal(m.subject, undefined);
  });

  test('blobs are de-duplicated in order of first appearance', () => {
    const m = parseManifest(enc({ ...image, layers: [layer1, layer2, layer1] }));
    assert.deepEqual(m.blobs, [config.digest, layer1.digest, layer2.digest]);
    assert.equal(m.layers.length, 3);
  });

  test('Docker v2 manifest', () => {
    const m = parseManifest(
      enc({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST_V2,
        config: { ...config, mediaType: DOCKER_CONFIG },
        layers: [{ ...layer1, mediaType: DOCKER_LAYER_GZIP }],
      }),
      `${DOCKER_MANIFEST_V2}; charset=utf-8`,
    );
    assert.equal(m.mediaType, DOCKER_MANIFEST_V2);
    assert.equal(m.kind, 'image');
    assert.equal(m.referrerArtifactType, DOCKER_CONFIG);
  });

  test('Docker v2 manifest must declare its mediaType', () => {
    const { mediaType: _, ...bare } = { ...image, config: { ...config, mediaType: DOCKER_CONFIG } };
    assert.throws(() => parseManifest(enc(bare), DOCKER_MANIFEST_V2), { code: 'MANIFEST_INVALID' });
  });

  test('manifest with zero layers', () => {
    const m = parseManifest(enc({ ...image, layers: [] }));
    assert.deepEqual(m.layers, []);
    assert.deepEqual(m.blobs, [config.digest]);
  });

  test('missing or null layers count as none (Go nil slices)', () => {
    const { layers: _, ...noLayers } = image;
    assert.deepEqual(parseManifest(enc(noLayers)).layers, []);
    assert.deepEqual(parseManifest(enc({ ...image, layers: null })).layers, []);
  });

  test('Helm chart', () => {
    const chartConfig = desc('application/vnd.cncf.helm.config.v1+json', '{"name":"mychart","version":"0.1.0"}');
    const chart = desc('application/vnd.cncf.helm.chart.content.v1.tar+gzip', 'chart tgz', {
      annotations: { 'org.opencontainers.image.title': 'mychart-0.1.0.tgz' },
    });
    const m = parseManifest(
      enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: chartConfig, layers: [chart], annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' } }),
      OCI_MANIFEST,
    );
    assert.equal(m.referrerArtifactType, 'application/vnd.cncf.helm.config.v1+json');
    assert.deepEqual(m.blobs, [chartConfig.digest, chart.digest]);
    assert.deepEqual(m.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
  });

  test('cosign signature manifest', () => {
    const sigConfig = desc('application/vnd.oci.image.config.v1+json', '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}');
    const payload = desc('application/vnd.dev.cosign.simplesigning.v1+json', '{"critical":{}}', {
      annotations: {
        'dev.cosignproject.cosign/signature': 'MEUCIQ==',
        'dev.sigstore.cosign/bundle': '{"SignedEntryTimestamp":"x"}',
      },
    });
    const m = parseManifest(enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: sigConfig, layers: [payload] }));
    assert.equal(m.layers[0]?.annotations?.['dev.cosignproject.cosign/signature'], 'MEUCIQ==');
    assert.deepEqual(m.blobs, [sigConfig.digest, payload.digest]);
  });

  test('artifact with empty config and artifactType', () => {
    const sbom = desc('application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    const m = parseManifest(
      enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sbom', config: EMPTY_DESCRIPTOR, layers: [sbom] }),
    );
    assert.equal(m.artifactType, 'application/vnd.example.sbom');
    assert.equal(m.referrerArtifactType, 'application/vnd.example.sbom');
    assert.deepEqual(m.config, EMPTY_DESCRIPTOR);
    assert.deepEqual(m.blobs, [EMPTY_DESCRIPTOR.digest, sbom.digest]);
  });

  test('empty config without artifactType is accepted (registries do)', () => {
    const m = parseManifest(enc({ schemaVersion: 2, config: { ...EMPTY_DESCRIPTOR }, layers: [] }));
    assert.equal(m.referrerArtifactType, OCI_EMPTY);
  });

  test('manifest with subject', () => {
    const subject = desc(OCI_MANIFEST, 'the image');
    const m = parseManifest(enc({ ...image, artifactType: 'application/vnd.example.sig', subject }));
    assert.deepEqual(m.subject, subject);
    // The subject is a weak reference: it need not exist, so it is neither a blob nor a child.
    assert.ok(!m.blobs.includes(subject.digest));
    assert.deepEqual(m.children, []);
  });

  test('non-distributable layers with urls are not required blobs', () => {
    const foreign = desc(DOCKER_FOREIGN_LAYER, 'windows base', { urls: ['https://mcr.microsoft.com/v2/x/blobs/sha256:1'] });
    const ociForeign = desc(OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'oci foreign', { urls: ['https://example.com/l'] });
    const pushedForeign = desc(DOCKER_FOREIGN_LAYER, 'pushed anyway');
    const withUrls = desc(OCI_LAYER_GZIP, 'ordinary with urls', { urls: ['https://example.com/m'] });
    const m = parseManifest(enc({ ...image, layers: [foreign, ociForeign, pushedForeign, withUrls, layer1] }));
    assert.deepEqual(m.blobs, [config.digest, pushedForeign.digest, withUrls.digest, layer1.digest]);
    assert.equal(m.layers.length, 5);
  });
});

describe('parseManifest: indexes', () => {
  const amd = desc(OCI_MANIFEST, 'amd64', { platform: { architecture: 'amd64', os: 'linux' } });
  const arm = desc(OCI_MANIFEST, 'arm64', { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });

  test('OCI index', () => {
    const m = parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [amd, arm, amd] }), OCI_INDEX);
    assert.equal(m.kind, 'index');
    assert.deepEqual(m.children, [amd.digest, arm.digest]);
    assert.equal(m.manifests.length, 3);
    assert.deepEqual(m.blobs, []);
    assert.deepEqual(m.layers, []);
    assert.equal(m.config, undefined);
    assert.equal(m.referrerArtifactType, undefined);
    assert.equal(m.manifests[1]?.platform?.variant, 'v8');
  });

  test('index with subject and artifactType', () => {
    const subject = desc(OCI_INDEX, 'the subject');
    const m = parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX, artifactType: 'application/vnd.example.bundle', subject, manifests: [amd], annotations: { a: 'b' } }));
    assert.deepEqual(m.subject, subject);
    assert.equal(m.artifactType, 'application/vnd.example.bundle');
    assert.equal(m.referrerArtifactType, 'application/vnd.example.bundle');
    assert.deepEqual(m.annotations, { a: 'b' });
  });

  test('nested index', () => {
    const inner = desc(OCI_INDEX, 'inner index');
    const m = parseManifest(enc({ schemaVersion: 2, manifests: [inner, amd] }));
    assert.equal(m.mediaType, OCI_INDEX);
    assert.deepEqual(m.children, [inner.digest, amd.digest]);
  });

  test('empty index', () => {
    assert.deepEqual(parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })).children, []);
  });

  test('Docker manifest list', () => {
    const entry = desc(DOCKER_MANIFEST_V2, 'docker amd64', { platform: { architecture: 'amd64', os: 'linux' } });
    const m = parseManifest(enc({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [entry] }), DOCKER_MANIFEST_LIST);
    assert.equal(m.mediaType, DOCKER_MANIFEST_LIST);
    assert.deepEqual(m.children, [entry.digest]);
  });

  test('Docker manifest list must declare its mediaType', () => {
    assert.throws(() => parseManifest(enc({ schemaVersion: 2, manifests: [amd] }), DOCKER_MANIFEST_LIST), { code: 'MANIFEST_INVALID' });
  });

  test('platform must have architecture and os', () => {
    const bad = desc(OCI_MANIFEST, 'x', { platform: { os: 'linux' } });
    assert.throws(() => parseManifest(enc({ schemaVersion: 2, manifests: [bad] })), { code: 'MANIFEST_INVALID' });
  });

  test('manifests is required for an index type', () => {
    assert.throws(() => parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX })), { code: 'MANIFEST_INVALID' });
    assert.throws(() => parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: {} })), { code: 'MANIFEST_INVALID' });
  });
});

describe('parseManifest: media type resolution', () => {
  test('Content-Type vs mediaType mismatch', () => {
    assert.throws(() => parseManifest(enc(image), OCI_INDEX), { code: 'MANIFEST_INVALID' });
    assert.throws(() => parseManifest(enc(image), DOCKER_MANIFEST_V2), { code: 'MANIFEST_INVALID' });
  });

  test('Content-Type parameters and case are ignored', () => {
    assert.equal(parseManifest(enc(image), `  ${OCI_MANIFEST.toUpperCase()} ; charset=utf-8`).mediaType, OCI_MANIFEST);
  });

  test('a Content-Type that is not a manifest type falls back to the JSON', () => {
    assert.equal(parseManifest(enc(image), 'application/octet-stream').mediaType, OCI_MANIFEST);
    assert.equal(parseManifest(enc(image), 'application/json').mediaType, OCI_MANIFEST);
  });

  test('Content-Type supplies the type when the JSON has none', () => {
    const { mediaType: _, ...bare } = image;
    assert.equal(parseManifest(enc(bare), OCI_MANIFEST).mediaType, OCI_MANIFEST);
    assert.throws(() => parseManifest(enc(bare), OCI_INDEX), { code: 'MANIFEST_INVALID' });
  });

  test('inference without Content-Type or mediaType', () => {
    const { mediaType: _, ...bare } = image;
    assert.equal(parseManifest(enc(bare)).mediaType, OCI_MANIFEST);
    assert.equal(parseManifest(enc({ schemaVersion: 2, manifests: [] })).mediaType, OCI_INDEX);
  });

  const invalid: [string, Uint8Array, string?][] = [
    ['non-JSON bytes', Buffer.from('not json')],
    ['invalid UTF-8', Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ['a JSON array', enc([image])],
    ['a JSON string', enc('manifest')],
    ['an unknown JSON mediaType', enc({ ...image, mediaType: 'application/vnd.example+json' })],
    ['a non-string mediaType', enc({ ...image, mediaType: 1 })],
    ['nothing to infer from', enc({ schemaVersion: 2 })],
    ['schemaVersion 1 with an OCI type', enc({ ...image, schemaVersion: 1 })],
    ['schemaVersion as a string', enc({ ...image, schemaVersion: '2' })],
    ['missing config', enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })],
    ['config not a descriptor', enc({ ...image, config: 'sha256:abc' })],
    ['layers not an array', enc({ ...image, layers: layer1 })],
    ['a bad layer', enc({ ...image, layers: [{ ...layer1, size: -1 }] })],
    ['a bad subject', enc({ ...image, subject: { digest: layer1.digest } })],
    ['a bad artifactType', enc({ ...image, artifactType: 'not a media type' })],
    ['a non-string annotation', enc({ ...image, annotations: { a: 1 } })],
    ['annotations as an array', enc({ ...image, annotations: [] })],
    ['an index with schemaVersion 1', enc({ schemaVersion: 1, mediaType: OCI_INDEX, manifests: [] })],
  ];
  for (const [name, bytes, ct] of invalid) {
    test(`refuses ${name} with MANIFEST_INVALID`, () => {
      assert.throws(() => parseManifest(bytes, ct), { code: 'MANIFEST_INVALID' });
    });
  }

  test('a malformed layer digest is DIGEST_INVALID', () => {
    assert.throws(() => parseManifest(enc({ ...image, layers: [{ ...layer1, digest: 'sha256:nope' }] })), { code: 'DIGEST_INVALID' });
  });
});

describe('parseManifest: schema 1', () => {
  const blob = (s: string): Digest => digestOf(s);
  const unsigned = {
    schemaVersion: 1,
    name: 'library/app',
    tag: 'v1',
    architecture: 'amd64',
    fsLayers: [{ blobSum: blob('top') }, { blobSum: EMPTY_GZIP_LAYER }, { blobSum: EMPTY_GZIP_LAYER }, { blobSum: blob('base') }],
    history: [{ v1Compatibility: '{"id":"d"}' }, { v1Compatibility: '{"id":"c"}' }, { v1Compatibility: '{"id":"b"}' }, { v1Compatibility: '{"id":"a"}' }],
  };

  test('unsigned schema 1 is inferred and its payload is the bytes', () => {
    const bytes = enc(unsigned);
    const m = parseManifest(bytes);
    assert.equal(m.kind, 'schema1');
    assert.equal(m.mediaType, DOCKER_SCHEMA1);
    assert.equal(m.schemaVersion, 1);
    assert.equal(m.payload, bytes);
    assert.deepEqual(m.blobs, [blob('top'), EMPTY_GZIP_LAYER, blob('base')]);
    assert.deepEqual(m.layers.map((l) => [l.mediaType, l.digest, l.size]), m.blobs.map((d) => [DOCKER_LAYER_GZIP, d, 0]));
    assert.deepEqual(m.children, []);
    assert.equal(m.referrerArtifactType, undefined);
  });

  test('old Docker pushes schema 1 as application/json', () => {
    assert.equal(parseManifest(enc(unsigned), 'application/json').kind, 'schema1');
  });

  test('signed schema 1: payload is the canonical form, type is prettyjws', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = signSchema1({ ...unsigned, schemaVersion: 1 }, privateKey);
    for (const ct of [undefined, 'application/json', DOCKER_SCHEMA1_SIGNED]) {
      const m = parseManifest(signed, ct);
      assert.equal(m.mediaType, DOCKER_SCHEMA1_SIGNED);
      assert.equal(Buffer.from(m.payload).toString(), JSON.stringify(unsigned, null, 3));
    }
  });

  test('prettyjws without signatures is refused', () => {
    assert.throws(() => parseManifest(enc(unsigned), DOCKER_SCHEMA1_SIGNED), { code: 'MANIFEST_INVALID' });
  });

  test('a bad schema 1 tag is TAG_INVALID, a bad name NAME_INVALID', () => {
    assert.throws(() => parseManifest(enc({ ...unsigned, tag: '-bad' })), { code: 'TAG_INVALID' });
    assert.throws(() => parseManifest(enc({ ...unsigned, name: 'Bad' })), { code: 'NAME_INVALID' });
  });
});
