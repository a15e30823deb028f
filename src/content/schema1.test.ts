import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { digestHex, digestOf, type Digest } from './digest.js';
import { parseManifest, type ParsedManifest } from './manifest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST_V2, DOCKER_SCHEMA1_SIGNED, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from './media-types.js';
import {
  EMPTY_GZIP_LAYER,
  EMPTY_GZIP_LAYER_BYTES,
  convertToSchema1,
  libtrustKeyId,
  signSchema1,
  verifySchema1,
  type Schema1Manifest,
} from './schema1.js';

// Captured from distribution 2.8.2 (docker-registry) and skopeo 1.9.3; see the live test below for how.
/** A Docker v2 manifest pushed by skopeo, converted to schema 1 and signed by distribution on GET by tag. */
const REGISTRY_CONVERTED = "{\n   \"schemaVersion\": 1,\n   \"name\": \"test/img\",\n   \"tag\": \"s2\",\n   \"architecture\": \"amd64\",\n   \"fsLayers\": [\n      {\n         \"blobSum\": \"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4\"\n      },\n      {\n         \"blobSum\": \"sha256:56d79beb4705b183fae8ab389387c4db23de081d743feda0c4a6e0117d281d40\"\n      }\n   ],\n   \"history\": [\n      {\n         \"v1Compatibility\": \"{\\\"architecture\\\":\\\"amd64\\\",\\\"config\\\":{\\\"Cmd\\\":[\\\"/bin/sh\\\"]},\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"id\\\":\\\"b8b3bfedb0de507469bbb7eb810e36687835a1e689888dcb2fceeb56c46b6d34\\\",\\\"os\\\":\\\"linux\\\",\\\"parent\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"throwaway\\\":true}\"\n      },\n      {\n         \"v1Compatibility\": \"{\\\"id\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"container_config\\\":{\\\"Cmd\\\":[\\\"ADD hello \\\\u003cx\\\\u003e \\\\u0026 y\\\"]}}\"\n      }\n   ],\n   \"signatures\": [\n      {\n         \"header\": {\n            \"jwk\": {\n               \"crv\": \"P-256\",\n               \"kid\": \"BCFS:LG2S:Z54J:K6KP:WGCG:47RU:N4SQ:MZJU:FUE3:GYAK:7AGP:SLWU\",\n               \"kty\": \"EC\",\n               \"x\": \"Z6WAHYqQJaLqfRhpI7NHXyae9K9I3M6b1_YTeSWV9yY\",\n               \"y\": \"KGgqdOJNPUmjoZLUAtRKs8478TktcWiDOr3XmlF_kc0\"\n            },\n            \"alg\": \"ES256\"\n         },\n         \"signature\": \"ldWUoUjkDK3T83cqgVc7RmZydLwhvkpxDaIXjsAl_ic9NHyYAs-nflNt55UWnaNGcZuwHthrWc_QzAQ4D69dAA\",\n         \"protected\": \"eyJmb3JtYXRMZW5ndGgiOjkzOCwiZm9ybWF0VGFpbCI6IkNuMCIsInRpbWUiOiIyMDI2LTExLTIyVDA3OjQ0OjQ3WiJ9\"\n      }\n   ]\n}";
const REGISTRY_CONVERTED_DIGEST = 'sha256:7d4354febd8828567473f15e0ede81af0d0d9df084d3c0af7ce09c263309ba21';
/** A schema 1 manifest skopeo pushed (--format v2s1), as distribution serves it: compact JSON, tail "}". */
const REGISTRY_COMPACT = "{\"name\":\"test/img\",\"tag\":\"s1\",\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":\"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4\"},{\"blobSum\":\"sha256:56d79beb4705b183fae8ab389387c4db23de081d743feda0c4a6e0117d281d40\"}],\"history\":[{\"v1Compatibility\":\"{\\\"architecture\\\":\\\"amd64\\\",\\\"config\\\":{\\\"Cmd\\\":[\\\"/bin/sh\\\"]},\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"id\\\":\\\"b8b3bfedb0de507469bbb7eb810e36687835a1e689888dcb2fceeb56c46b6d34\\\",\\\"os\\\":\\\"linux\\\",\\\"parent\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"throwaway\\\":true}\"},{\"v1Compatibility\":\"{\\\"id\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"container_config\\\":{\\\"Cmd\\\":[\\\"ADD hello \\\\u003cx\\\\u003e \\\\u0026 y\\\"]}}\"}],\"schemaVersion\":1,\"signatures\":[{\"header\":{\"jwk\":{\"crv\":\"P-256\",\"kid\":\"BCFS:LG2S:Z54J:K6KP:WGCG:47RU:N4SQ:MZJU:FUE3:GYAK:7AGP:SLWU\",\"kty\":\"EC\",\"x\":\"Z6WAHYqQJaLqfRhpI7NHXyae9K9I3M6b1_YTeSWV9yY\",\"y\":\"KGgqdOJNPUmjoZLUAtRKs8478TktcWiDOr3XmlF_kc0\"},\"alg\":\"ES256\"},\"signature\":\"nncZKgRCx1uGDiSVQXCjO_mC7SVxbRJgjfYJ0E3uCq37PO5qQoWQ2Dnxm-FSxIACkFs6lSE1M5Cf2fuJdHFHng\",\"protected\":\"eyJmb3JtYXRMZW5ndGgiOjgwMCwiZm9ybWF0VGFpbCI6ImZRIiwidGltZSI6IjIwMjYtMTEtMjJUMDc6NDQ6NDdaIn0\"}]}";
const REGISTRY_COMPACT_DIGEST = 'sha256:ec21aae32ee4a33c392eafabc1d3836444c447ac1939e29dfdc95c397797e890';
/** skopeo copy --format v2s1 oci:… dir:…: signed by skopeo's ephemeral libtrust key; dir: leaves name and tag empty. */
const SKOPEO_DIR = "{\"name\":\"\",\"tag\":\"\",\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":\"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4\"},{\"blobSum\":\"sha256:56d79beb4705b183fae8ab389387c4db23de081d743feda0c4a6e0117d281d40\"}],\"history\":[{\"v1Compatibility\":\"{\\\"architecture\\\":\\\"amd64\\\",\\\"config\\\":{\\\"Cmd\\\":[\\\"/bin/sh\\\"]},\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"id\\\":\\\"b8b3bfedb0de507469bbb7eb810e36687835a1e689888dcb2fceeb56c46b6d34\\\",\\\"os\\\":\\\"linux\\\",\\\"parent\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"throwaway\\\":true}\"},{\"v1Compatibility\":\"{\\\"id\\\":\\\"b1f8baf9d645971bbbe52cef1d6101787d2a58934be855aab1165f15fa5937a2\\\",\\\"created\\\":\\\"2024-01-02T03:04:05.123Z\\\",\\\"container_config\\\":{\\\"Cmd\\\":[\\\"ADD hello \\\\u003cx\\\\u003e \\\\u0026 y\\\"]}}\"}],\"schemaVersion\":1,\"signatures\":[{\"header\":{\"jwk\":{\"crv\":\"P-256\",\"kid\":\"74Z7:UL57:AZ55:GNCJ:PE4P:XIVP:C34R:QJDG:4XJX:7IXJ:6HFX:MCWH\",\"kty\":\"EC\",\"x\":\"ZcKTDyjrCcYvKr-tot_j4wFKcIj-juG3snrRCeOefOE\",\"y\":\"4uNwiwmZ_ZeXBuDlIazdDlSABaHXttQPA2IuUacOv9A\"},\"alg\":\"ES256\"},\"signature\":\"tO2vqyhbLFv7oP8C-dVWrmhDwklE8Qo-59RYhQBYxL3jJws8STtCcdRHPGBFBxlBri-nDwDNdtkTEk7bn-NhEQ\",\"protected\":\"eyJmb3JtYXRMZW5ndGgiOjc5MCwiZm9ybWF0VGFpbCI6ImZRIiwidGltZSI6IjIwMjYtMTEtMjJUMDc6NDQ6MzBaIn0\"}]}";
/** The config and layer REGISTRY_CONVERTED was made from. */
const SOURCE_CONFIG = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05.123Z\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:36ecf17df5707fa926420288627177892c98e08203ade79a48837c95a5e4b17f\"]},\"history\":[{\"created\":\"2024-01-02T03:04:05.123Z\",\"created_by\":\"ADD hello <x> & y\"},{\"created\":\"2024-01-02T03:04:06Z\",\"created_by\":\"CMD [\\\"/bin/sh\\\"]\",\"empty_layer\":true}]}";
const SOURCE_LAYER = {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:56d79beb4705b183fae8ab389387c4db23de081d743feda0c4a6e0117d281d40","size":191} as const;
const SOURCE_LAYER_DIGEST = SOURCE_LAYER.digest as Digest;

const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const hasRegistry = spawnSync('docker-registry', ['--version']).status === 0;

const p256 = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const fromB64url = (s: string): string => Buffer.from(s, 'base64url').toString('utf8');

const sample: Schema1Manifest = {
  schemaVersion: 1,
  name: 'library/app',
  tag: 'latest',
  architecture: 'amd64',
  fsLayers: [{ blobSum: digestOf('top') }, { blobSum: EMPTY_GZIP_LAYER }],
  history: [{ v1Compatibility: '{"id":"b","parent":"a","cmd":"a <b> & c"}' }, { v1Compatibility: '{"id":"a"}' }],
};
/** Go's json.MarshalIndent(m, "", "   "): JSON.stringify's layout plus HTML escaping. */
const goPretty = (v: unknown): string =>
  JSON.stringify(v, null, 3).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

interface Sig {
  header: Record<string, unknown>;
  signature: string;
  protected: string;
}
const signaturesOf = (bytes: Uint8Array): Sig[] => (JSON.parse(text(bytes)) as { signatures: Sig[] }).signatures;
/** Re-assembles a pretty JWS from a "\n}"-tailed payload and arbitrary signature objects, as libtrust lays it out. */
const assemble = (payload: string, sigs: unknown): Uint8Array =>
  Buffer.from(`${payload.slice(0, -2)},\n   "signatures": ${JSON.stringify(sigs, null, 3).replace(/\n/g, '\n   ')}\n}`);

describe('libtrustKeyId', () => {
  test('matches the kid libtrust wrote for a real key', () => {
    const jwk = (signaturesOf(Buffer.from(REGISTRY_CONVERTED))[0]?.header['jwk'] ?? {}) as Record<string, string>;
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk['x'], y: jwk['y'] }, format: 'jwk' });
    assert.equal(libtrustKeyId(key), 'BCFS:LG2S:Z54J:K6KP:WGCG:47RU:N4SQ:MZJU:FUE3:GYAK:7AGP:SLWU');
  });

  test('has 12 groups of 4 base32 characters and accepts a private key', () => {
    const k = p256();
    const id = libtrustKeyId(k);
    assert.match(id, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    assert.equal(id, libtrustKeyId(createPublicKey(k)));
  });
});

describe('EMPTY_GZIP_LAYER', () => {
  test('is the digest of a gzipped 1024-byte empty tar', () => {
    assert.equal(digestOf(EMPTY_GZIP_LAYER_BYTES), EMPTY_GZIP_LAYER);
    assert.deepEqual(gunzipSync(EMPTY_GZIP_LAYER_BYTES), Buffer.alloc(1024));
  });
});

describe('verifySchema1: real manifests', () => {
  test('distribution-signed pretty manifest verifies; payload digest is Docker-Content-Digest', () => {
    const r = verifySchema1(Buffer.from(REGISTRY_CONVERTED));
    assert.equal(r.signed, true);
    assert.equal(digestOf(r.payload), REGISTRY_CONVERTED_DIGEST);
    assert.equal(r.manifest.name, 'test/img');
    assert.equal(r.manifest.tag, 's2');
    assert.deepEqual(r.manifest.fsLayers.map((l) => l.blobSum), [EMPTY_GZIP_LAYER, SOURCE_LAYER_DIGEST]);
  });

  test('compact manifest (formatTail "}") verifies', () => {
    const r = verifySchema1(Buffer.from(REGISTRY_COMPACT));
    assert.equal(digestOf(r.payload), REGISTRY_COMPACT_DIGEST);
    assert.ok(text(r.payload).endsWith('"schemaVersion":1}'));
  });

  test('skopeo-signed manifest with the empty name skopeo writes into dir: verifies; tampering does not', () => {
    assert.equal(verifySchema1(Buffer.from(SKOPEO_DIR)).manifest.name, '');
    const tampered = SKOPEO_DIR.replace('"architecture":"amd64"', '"architecture":"arm64"');
    assert.throws(() => verifySchema1(Buffer.from(tampered)), { code: 'MANIFEST_INVALID' });
  });

  test('libtrust lays out the pretty signature exactly as signSchema1 does', () => {
    const r = verifySchema1(Buffer.from(REGISTRY_CONVERTED));
    assert.equal(text(assemble(text(r.payload), signaturesOf(Buffer.from(REGISTRY_CONVERTED)))), REGISTRY_CONVERTED);
  });

  test('parseManifest reports the canonical payload and its digest for a real manifest', () => {
    const m = parseManifest(Buffer.from(REGISTRY_CONVERTED), DOCKER_SCHEMA1_SIGNED);
    assert.equal(digestOf(m.payload), REGISTRY_CONVERTED_DIGEST);
    assert.deepEqual(m.blobs, [EMPTY_GZIP_LAYER, SOURCE_LAYER_DIGEST]);
  });
});

describe('signSchema1', () => {
  test('verifySchema1(signSchema1(m)).payload is the unsigned pretty JSON with Go escaping', () => {
    const signed = signSchema1(sample, p256());
    const r = verifySchema1(signed);
    assert.equal(r.signed, true);
    assert.equal(text(r.payload), goPretty(sample));
    assert.ok(text(r.payload).includes('a \\u003cb\\u003e \\u0026 c'));
    assert.deepEqual(r.manifest, sample);
  });

  test('header, protected header and layout follow libtrust', () => {
    const key = p256();
    const now = new Date('2024-05-06T07:08:09.999Z');
    const signed = signSchema1(sample, key, now);
    const [sig, ...rest] = signaturesOf(signed);
    assert.ok(sig);
    assert.equal(rest.length, 0);
    assert.deepEqual(Object.keys(sig), ['header', 'signature', 'protected']);
    assert.deepEqual(Object.keys(sig.header), ['jwk', 'alg']);
    assert.equal(sig.header['alg'], 'ES256');
    const jwk = sig.header['jwk'] as Record<string, string>;
    assert.deepEqual(Object.keys(jwk), ['crv', 'kid', 'kty', 'x', 'y']);
    assert.equal(jwk['crv'], 'P-256');
    assert.equal(jwk['kty'], 'EC');
    assert.equal(jwk['kid'], libtrustKeyId(key));
    const payload = goPretty(sample);
    assert.equal(
      fromB64url(sig.protected),
      `{"formatLength":${Buffer.byteLength(payload) - 2},"formatTail":"Cn0","time":"2024-05-06T07:08:09Z"}`,
    );
    assert.equal(Buffer.from(sig.signature, 'base64url').length, 64);
    assert.equal(text(signed), text(assemble(payload, [sig])));
  });

  test('P-384, P-521 and RSA keys sign ES384, ES512 and RS256', () => {
    const keys: [KeyObject, string][] = [
      [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ES384'],
      [generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, 'ES512'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'],
    ];
    for (const [key, alg] of keys) {
      const signed = signSchema1(sample, key);
      assert.equal(signaturesOf(signed)[0]?.header['alg'], alg);
      assert.equal(text(verifySchema1(signed).payload), goPretty(sample));
    }
  });

  test('refuses keys libtrust cannot use with UNSUPPORTED', () => {
    assert.throws(() => signSchema1(sample, generateKeyPairSync('ed25519').privateKey), { code: 'UNSUPPORTED' });
    assert.throws(() => signSchema1(sample, generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), { code: 'UNSUPPORTED' });
    assert.throws(() => signSchema1(sample, createPublicKey(p256())), { code: 'UNSUPPORTED' });
  });

  test('validates the manifest it signs', () => {
    assert.throws(() => signSchema1({ ...sample, fsLayers: [] }, p256()), { code: 'MANIFEST_INVALID' });
  });
});

describe('verifySchema1: tampering', () => {
  const signed = signSchema1(sample, p256());
  const [sig] = signaturesOf(signed);
  assert.ok(sig);
  const formatLength = Buffer.byteLength(goPretty(sample)) - 2;

  test('changing any byte of the signed payload fails with MANIFEST_INVALID', () => {
    for (let i = 0; i < formatLength; i++) {
      const copy = Buffer.from(signed);
      copy[i] = (copy[i] as number) ^ 0x01;
      assert.throws(() => verifySchema1(copy), { code: 'MANIFEST_INVALID' }, `byte ${i}`);
    }
  });

  test('changing any character of the signature or protected header fails with MANIFEST_INVALID', () => {
    for (const field of ['signature', 'protected'] as const) {
      const value = sig[field];
      for (let i = 0; i < value.length; i++) {
        const c = value[i] === 'A' ? 'B' : 'A';
        const forged = { ...sig, [field]: value.slice(0, i) + c + value.slice(i + 1) };
        assert.throws(() => verifySchema1(assemble(goPretty(sample), [forged])), { code: 'MANIFEST_INVALID' }, `${field}[${i}]`);
      }
    }
  });

  test('a signature by another key under this jwk fails', () => {
    const other = signaturesOf(signSchema1(sample, p256()))[0];
    assert.ok(other);
    assert.throws(() => verifySchema1(assemble(goPretty(sample), [{ ...sig, signature: other.signature }])), { code: 'MANIFEST_INVALID' });
  });
});

describe('verifySchema1: several signatures', () => {
  const a = signaturesOf(signSchema1(sample, p256()))[0];
  const b = signaturesOf(signSchema1(sample, p256()))[0];
  assert.ok(a && b);

  test('all valid: verifies', () => {
    assert.equal(text(verifySchema1(assemble(goPretty(sample), [a, b])).payload), goPretty(sample));
  });

  test('one invalid: fails', () => {
    const bad = { ...b, signature: a.signature };
    assert.throws(() => verifySchema1(assemble(goPretty(sample), [a, bad])), { code: 'MANIFEST_INVALID' });
  });

  test('conflicting formatLength: fails', () => {
    const protectedHeader = JSON.parse(fromB64url(b.protected)) as Record<string, unknown>;
    const conflicting = { ...b, protected: b64url(JSON.stringify({ ...protectedHeader, formatLength: 3 })) };
    assert.throws(() => verifySchema1(assemble(goPretty(sample), [a, conflicting])), { code: 'MANIFEST_INVALID' });
  });
});

describe('verifySchema1: malformed signatures', () => {
  const signed = signSchema1(sample, p256());
  const [sig] = signaturesOf(signed);
  assert.ok(sig);
  const payload = goPretty(sample);
  const jwk = sig.header['jwk'] as Record<string, string>;
  const withProtected = (h: unknown) => ({ ...sig, protected: b64url(JSON.stringify(h)) });
  const cases: [string, unknown][] = [
    ['signatures not an array', { sig }],
    ['no signatures', []],
    ['a signature that is not an object', ['x']],
    ['no header', [{ signature: sig.signature, protected: sig.protected }]],
    ['no protected header', [{ header: sig.header, signature: sig.signature }]],
    ['a padded signature', [{ ...sig, signature: `${sig.signature}==` }]],
    ['a base64 (not url) protected header', [{ ...sig, protected: `${sig.protected}+` }]],
    ['a protected header that is not JSON', [{ ...sig, protected: b64url('nope') }]],
    ['no formatLength', [withProtected({ formatTail: 'Cn0' })]],
    ['a negative formatLength', [withProtected({ formatLength: -1, formatTail: 'Cn0' })]],
    ['a formatLength past the end', [withProtected({ formatLength: 1e6, formatTail: 'Cn0' })]],
    ['no formatTail', [withProtected({ formatLength: 10 })]],
    ['no alg', [{ ...sig, header: { jwk } }]],
    ['an alg that does not fit the curve', [{ ...sig, header: { jwk, alg: 'ES384' } }]],
    ['an RSA alg with an EC key', [{ ...sig, header: { jwk, alg: 'RS256' } }]],
    ['no key', [{ ...sig, header: { alg: 'ES256' } }]],
    ['an unsupported kty', [{ ...sig, header: { jwk: { ...jwk, kty: 'OKP' }, alg: 'ES256' } }]],
    ['a jwk without x', [{ ...sig, header: { jwk: { ...jwk, x: undefined }, alg: 'ES256' } }]],
    ['a point not on the curve', [{ ...sig, header: { jwk: { ...jwk, x: jwk['y'] }, alg: 'ES256' } }]],
    ['a kid that does not match the key', [{ ...sig, header: { jwk: { ...jwk, kid: 'AAAA:BBBB' }, alg: 'ES256' } }]],
    ['an x5c that is not a certificate', [{ ...sig, header: { x5c: ['bm90IGEgY2VydA=='], alg: 'ES256' } }]],
    ['an x5c entry that is not a string', [{ ...sig, header: { x5c: [1], alg: 'ES256' } }]],
  ];
  for (const [name, sigs] of cases) {
    test(`refuses ${name} with MANIFEST_INVALID`, () => {
      assert.throws(() => verifySchema1(assemble(payload, sigs)), { code: 'MANIFEST_INVALID' });
    });
  }

  test('a signature without kid still verifies (kid is optional in libtrust)', () => {
    const { kid: _, ...noKid } = jwk;
    assert.equal(verifySchema1(assemble(payload, [{ ...sig, header: { jwk: noKid, alg: 'ES256' } }])).signed, true);
  });
});

describe('verifySchema1: manifest shape', () => {
  const enc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  test('an unsigned manifest is returned as is', () => {
    const bytes = enc(sample);
    const r = verifySchema1(bytes);
    assert.equal(r.signed, false);
    assert.equal(r.payload, bytes);
    assert.deepEqual(r.manifest, sample);
  });

  test('an empty tag is allowed (conversion of a pull by digest)', () => {
    assert.equal(verifySchema1(enc({ ...sample, tag: '' })).manifest.tag, '');
  });

  const invalid: [string, unknown][] = [
    ['bytes that are not an object', []],
    ['schemaVersion 2', { ...sample, schemaVersion: 2 }],
    ['no name', { ...sample, name: undefined }],
    ['no tag', { ...sample, tag: undefined }],
    ['no architecture', { ...sample, architecture: undefined }],
    ['empty fsLayers', { ...sample, fsLayers: [], history: [] }],
    ['fsLayers not an array', { ...sample, fsLayers: {} }],
    ['a fsLayer that is not an object', { ...sample, fsLayers: ['x', 'y'] }],
    ['a fsLayer without blobSum', { ...sample, fsLayers: [{}, {}] }],
    ['history shorter than fsLayers', { ...sample, history: sample.history.slice(1) }],
    ['history entry not an object', { ...sample, history: ['a', 'b'] }],
    ['a non-string v1Compatibility', { ...sample, history: [{ v1Compatibility: {} }, { v1Compatibility: '{}' }] }],
  ];
  for (const [name, value] of invalid) {
    test(`refuses ${name} with MANIFEST_INVALID`, () => {
      assert.throws(() => verifySchema1(enc(value)), { code: 'MANIFEST_INVALID' });
    });
  }
  test('a bad blobSum is DIGEST_INVALID, a bad name NAME_INVALID, a bad tag TAG_INVALID', () => {
    assert.throws(() => verifySchema1(enc({ ...sample, fsLayers: [{ blobSum: 'sha256:x' }, { blobSum: EMPTY_GZIP_LAYER }] })), { code: 'DIGEST_INVALID' });
    assert.throws(() => verifySchema1(enc({ ...sample, name: 'UPPER' })), { code: 'NAME_INVALID' });
    assert.throws(() => verifySchema1(enc({ ...sample, tag: 'bad/tag' })), { code: 'TAG_INVALID' });
  });
});

// ---------------------------------------------------------------------------------------------------------
// convertToSchema1

function imageOf(configText: string, layers: Digest[], mediaType = OCI_MANIFEST): { manifest: ParsedManifest; config: Uint8Array } {
  const config = Buffer.from(configText);
  const docker = mediaType === DOCKER_MANIFEST_V2;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: digestOf(config), size: config.length },
      layers: layers.map((digest) => ({ mediaType: docker ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP, digest, size: 1 })),
    }),
  );
  return { manifest: parseManifest(bytes), config };
}

interface V1 {
  id: string;
  parent?: string;
  created: string;
  throwaway?: boolean;
  container_config?: { Cmd: string[] };
  author?: string;
  comment?: string;
  [k: string]: unknown;
}

describe('convertToSchema1', () => {
  test('reproduces distribution 2.8 byte for byte (canonical payload)', () => {
    const { manifest, config } = imageOf(SOURCE_CONFIG, [SOURCE_LAYER_DIGEST]);
    const out = convertToSchema1({ name: 'test/img', tag: 's2', manifest, config }, p256());
    const mine = verifySchema1(out).payload;
    assert.equal(text(mine), text(verifySchema1(Buffer.from(REGISTRY_CONVERTED)).payload));
    assert.equal(digestOf(mine), REGISTRY_CONVERTED_DIGEST);
    assert.equal(out.length, REGISTRY_CONVERTED.length);
  });

  const layerA = digestOf('layer a');
  const layerB = digestOf('layer b');
  const realistic = `{
    "architecture": "arm64", "os": "linux", "variant": "v8",
    "created": "2024-03-04T05:06:07.500000000Z",
    "author": "ops <ops@example.com>",
    "config": { "Env": ["PATH=/usr/bin"], "Cmd": ["/app", "--ratio", "1.50"], "Labels": { "a&b": "<x>" } },
    "weight": 1.50,
    "rootfs": { "type": "layers", "diff_ids": ["${digestOf('diff a')}", "${digestOf('diff b')}"] },
    "history": [
      { "created": "2024-03-04T05:06:01.120000+00:00", "created_by": "/bin/sh -c #(nop) ADD file:abc in / ", "author": "base" },
      { "created": "2024-03-04T05:06:02Z", "created_by": "/bin/sh -c #(nop)  ENV PATH=/usr/bin", "empty_layer": true },
      { "created": "2024-03-04T05:06:03+02:00", "created_by": "RUN make", "comment": "buildkit.dockerfile.v0" },
      { "created": "2024-03-04T05:06:04Z", "created_by": "CMD [\\"/app\\"]", "empty_layer": true }
    ]
  }`;

  test('realistic image: equal-length top-first arrays, empty layers, parent chain, ids', () => {
    const { manifest, config } = imageOf(realistic, [layerA, layerB], DOCKER_MANIFEST_V2);
    const out = convertToSchema1({ name: 'team/app', tag: '1.0', manifest, config }, p256());
    const { manifest: s1, signed } = verifySchema1(out);
    assert.equal(signed, true);
    assert.equal(s1.name, 'team/app');
    assert.equal(s1.tag, '1.0');
    assert.equal(s1.architecture, 'arm64');
    assert.deepEqual(s1.fsLayers.map((l) => l.blobSum), [EMPTY_GZIP_LAYER, layerB, EMPTY_GZIP_LAYER, layerA]);
    assert.equal(s1.history.length, s1.fsLayers.length);

    const v1 = s1.history.map((h) => JSON.parse(h.v1Compatibility) as V1);
    // Parent chain: each entry's parent is the next (older) entry's id; the base has none.
    for (let i = 0; i < v1.length - 1; i++) assert.equal(v1[i]?.parent, v1[i + 1]?.id, `entry ${i}`);
    assert.equal(v1[3]?.parent, undefined);
    // Ids of non-top entries: sha256(blobSum hex + " " + parent).
    for (let i = 1; i < v1.length; i++) {
      const blob = s1.fsLayers[i]?.blobSum as Digest;
      const expected = createHash('sha256').update(`${digestHex(blob)} ${v1[i]?.parent ?? ''}`).digest('hex');
      assert.equal(v1[i]?.id, expected, `entry ${i}`);
    }
    // Top id: sha256(blobSum hex + " " + parent + " " + config bytes).
    const topExpected = createHash('sha256').update(`${digestHex(EMPTY_GZIP_LAYER)} ${v1[1]?.id} ${realistic}`).digest('hex');
    assert.equal(v1[0]?.id, topExpected);

    assert.deepEqual(v1.map((e) => e.throwaway === true), [true, false, true, false]);
    assert.deepEqual(v1[3]?.container_config, { Cmd: ['/bin/sh -c #(nop) ADD file:abc in / '] });
    assert.equal(v1[3]?.author, 'base');
    assert.equal(v1[1]?.comment, 'buildkit.dockerfile.v0');
    // Times are re-rendered as Go's RFC3339Nano.
    assert.deepEqual(v1.slice(1).map((e) => e.created), ['2024-03-04T05:06:03+02:00', '2024-03-04T05:06:02Z', '2024-03-04T05:06:01.12Z']);

    // The top entry is the config minus rootfs/history, with id/parent/throwaway, keys sorted, text compacted.
    const top = s1.history[0]?.v1Compatibility ?? '';
    assert.equal(v1[0]?.['rootfs'], undefined);
    assert.equal(v1[0]?.['history'], undefined);
    assert.deepEqual(Object.keys(v1[0] ?? {}), ['architecture', 'author', 'config', 'created', 'id', 'os', 'parent', 'throwaway', 'variant', 'weight']);
    assert.ok(top.includes('"weight":1.50'), 'numbers keep their text');
    assert.ok(top.includes('"created":"2024-03-04T05:06:07.500000000Z"'), 'raw values are not re-rendered');
    assert.ok(top.includes('"ops \\u003cops@example.com\\u003e"'), 'HTML characters are escaped');
    assert.ok(top.includes('{"Env":["PATH=/usr/bin"],"Cmd":["/app","--ratio","1.50"],"Labels":{"a\\u0026b":"\\u003cx\\u003e"}}'));

    const parsed = parseManifest(out);
    assert.equal(parsed.kind, 'schema1');
    assert.equal(parsed.mediaType, DOCKER_SCHEMA1_SIGNED);
    assert.deepEqual(parsed.blobs, [EMPTY_GZIP_LAYER, layerB, layerA]);
  });

  test('a config without history gets one synthesised entry per layer', () => {
    const cfg = JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [digestOf('1'), digestOf('2')] } });
    const { manifest, config } = imageOf(cfg, [layerA, layerB]);
    const { manifest: s1 } = verifySchema1(convertToSchema1({ name: 'a/b', tag: 'x', manifest, config }, p256()));
    assert.deepEqual(s1.fsLayers.map((l) => l.blobSum), [layerB, layerA]);
    const base = JSON.parse(s1.history[1]?.v1Compatibility ?? '{}') as V1;
    assert.equal(base.created, '2024-01-01T00:00:00Z');
    assert.deepEqual(base.container_config, { Cmd: [''] });
  });

  test('an empty tag is kept (conversion of a pull by digest)', () => {
    const { manifest, config } = imageOf(SOURCE_CONFIG, [SOURCE_LAYER_DIGEST]);
    assert.equal(verifySchema1(convertToSchema1({ name: 'a', tag: '', manifest, config }, p256())).manifest.tag, '');
  });

  const cfg = (o: Record<string, unknown>): string =>
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('d')] }, history: [{ created_by: 'x' }], ...o });
  const invalid: [string, string, Digest[]?][] = [
    ['diff_ids count differs from layers', cfg({ rootfs: { type: 'layers', diff_ids: [] } })],
    ['rootfs not an object', cfg({ rootfs: 'x' })],
    ['too many non-empty history entries', cfg({ history: [{}, {}] })],
    ['too few non-empty history entries', cfg({ history: [{ empty_layer: true }] })],
    ['history not an array', cfg({ history: {} })],
    ['a history entry that is not an object', cfg({ history: ['x'] })],
    ['a non-boolean empty_layer', cfg({ history: [{ empty_layer: 'no' }] })],
    ['a bad created time', cfg({ history: [{ created: 'yesterday' }] })],
    ['a non-string created_by', cfg({ history: [{ created_by: 1 }] })],
    ['a non-string architecture', cfg({ architecture: 1 })],
    ['no history and no layers', cfg({ rootfs: { type: 'layers', diff_ids: [] }, history: [] }), []],
    ['a config that is not JSON', '{"architecture":'],
  ];
  for (const [name, configText, layers] of invalid) {
    test(`refuses ${name} with MANIFEST_INVALID`, () => {
      const { manifest, config } = imageOf(configText, layers ?? [layerA]);
      assert.throws(() => convertToSchema1({ name: 'a', tag: 'b', manifest, config }, p256()), { code: 'MANIFEST_INVALID' });
    });
  }

  test('refuses a config whose digest does not match, and an index', () => {
    const { manifest } = imageOf(SOURCE_CONFIG, [SOURCE_LAYER_DIGEST]);
    assert.throws(() => convertToSchema1({ name: 'a', tag: 'b', manifest, config: Buffer.from('{}') }, p256()), { code: 'MANIFEST_INVALID' });
    const index = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })));
    assert.throws(() => convertToSchema1({ name: 'a', tag: 'b', manifest: index, config: Buffer.from('{}') }, p256()), { code: 'MANIFEST_INVALID' });
  });

  test('refuses a bad name or tag with NAME_INVALID / TAG_INVALID', () => {
    const { manifest, config } = imageOf(SOURCE_CONFIG, [SOURCE_LAYER_DIGEST]);
    assert.throws(() => convertToSchema1({ name: 'A', tag: 'b', manifest, config }, p256()), { code: 'NAME_INVALID' });
    assert.throws(() => convertToSchema1({ name: 'a', tag: '.b', manifest, config }, p256()), { code: 'TAG_INVALID' });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Live interoperability: skopeo pushes to distribution 2.8 (the last release with schema 1), which signs
// schema 1 on GET. If our verifier or converter drifts from libtrust, this is where it shows.

function tarOf(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

async function writeOciLayout(dir: string): Promise<{ config: Buffer; layer: Digest }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (b: Buffer) => {
    const d = digestOf(b);
    await writeFile(join(dir, 'blobs', 'sha256', digestHex(d)), b);
    return { digest: d, size: b.length };
  };
  const tar = tarOf('hello.txt', randomBytes(100));
  const layer = await put(gzipSync(tar));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05.5Z',
      config: { Cmd: ['/bin/sh'], Env: ['A=<b>&c'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
      history: [
        { created: '2024-01-02T03:04:05Z', created_by: 'ENV A=<b>&c', empty_layer: true },
        { created: '2024-01-02T03:04:05.25Z', created_by: 'ADD hello.txt /', author: 'me' },
        { created: '2024-01-02T03:04:06Z', created_by: 'CMD ["/bin/sh"]', empty_layer: true },
      ],
    }),
  );
  const cfg = await put(config);
  const manifest = await put(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [{ mediaType: OCI_LAYER_GZIP, ...layer }] })),
  );
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
  );
  return { config, layer: layer.digest };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('interoperability with skopeo and distribution 2.8', { skip: !(hasSkopeo && hasRegistry) && 'skopeo or docker-registry not installed' }, () => {
  test('skopeo-signed and registry-converted manifests verify; our conversion matches the registry', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'berth-schema1-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const src = join(root, 'src');
    const { config, layer } = await writeOciLayout(src);
    const port = await freePort();
    await writeFile(
      join(root, 'registry.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(root, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\ncompatibility:\n  schema1:\n    enabled: true\n`,
    );
    const registry = spawn('docker-registry', ['serve', join(root, 'registry.yml')], { stdio: 'ignore' });
    t.after(() => registry.kill());
    const base = `http://127.0.0.1:${port}/v2`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/`)).ok) break;
      } catch {
        if (i > 100) throw new Error('docker-registry did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const copy = (format: string, tag: string) => {
      const r = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--format', format, `oci:${src}:v1`, `docker://127.0.0.1:${port}/test/img:${tag}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    const get = async (tag: string, accept?: string) => {
      const res = await fetch(`${base}/test/img/manifests/${tag}`, accept ? { headers: { accept } } : {});
      assert.equal(res.status, 200);
      return { bytes: new Uint8Array(await res.arrayBuffer()), digest: res.headers.get('docker-content-digest') };
    };

    // 1. skopeo converts to schema 1 and signs it itself.
    copy('v2s1', 's1');
    const s1 = await get('s1', DOCKER_SCHEMA1_SIGNED);
    const v1 = verifySchema1(s1.bytes);
    assert.equal(v1.signed, true);
    assert.equal(digestOf(v1.payload), s1.digest);
    assert.deepEqual(v1.manifest.fsLayers.map((l) => l.blobSum), [EMPTY_GZIP_LAYER, layer, EMPTY_GZIP_LAYER]);
    assert.equal(parseManifest(s1.bytes, DOCKER_SCHEMA1_SIGNED).kind, 'schema1');

    // 2. A Docker v2 manifest, converted by the registry for a client that does not accept schema 2.
    copy('v2s2', 's2');
    const v2 = await get('s2', DOCKER_MANIFEST_V2);
    const converted = await get('s2');
    const theirs = verifySchema1(converted.bytes);
    assert.equal(digestOf(theirs.payload), converted.digest);
    const manifest = parseManifest(v2.bytes, DOCKER_MANIFEST_V2);
    const pushedConfig = Buffer.from(await (await fetch(`${base}/test/img/blobs/${manifest.config?.digest ?? ''}`)).arrayBuffer());
    assert.deepEqual(pushedConfig, config);
    const ours = convertToSchema1({ name: 'test/img', tag: 's2', manifest, config: pushedConfig }, p256());
    assert.equal(text(verifySchema1(ours).payload), text(theirs.payload));
  });
});
