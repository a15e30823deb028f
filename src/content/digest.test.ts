import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createDigester, digestAlgorithm, digestHex, digestOf, isDigest, parseDigest } from './digest.js';

const SHA256_EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA512_EMPTY = `sha512:${createHash('sha512').digest('hex')}`;

describe('parseDigest', () => {
  test('accepts sha256 and sha512', () => {
    assert.equal(parseDigest(SHA256_EMPTY), SHA256_EMPTY);
    assert.equal(parseDigest(SHA512_EMPTY), SHA512_EMPTY);
    assert.equal(digestAlgorithm(parseDigest(SHA512_EMPTY)), 'sha512');
    assert.equal(digestHex(parseDigest(SHA256_EMPTY)), SHA256_EMPTY.slice(7));
  });

  const bad: [string, string][] = [
    ['upper-case hex', SHA256_EMPTY.toUpperCase().replace('SHA256', 'sha256')],
    ['too short', SHA256_EMPTY.slice(0, -1)],
    ['too long', `${SHA256_EMPTY}0`],
    ['sha512 length for sha256', `sha256:${SHA512_EMPTY.slice(7)}`],
    ['unknown algorithm', `md5:${'0'.repeat(32)}`],
    ['empty', ''],
    ['no algorithm', SHA256_EMPTY.slice(7)],
    ['garbage', 'not a digest'],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
  ];
  for (const [name, s] of bad) {
    test(`refuses ${name} with DIGEST_INVALID`, () => {
      assert.throws(() => parseDigest(s), { code: 'DIGEST_INVALID' });
      assert.equal(isDigest(s), false);
    });
  }
});

describe('digestOf', () => {
  test('hashes bytes and strings', () => {
    assert.equal(digestOf(new Uint8Array()), SHA256_EMPTY);
    assert.equal(digestOf(''), SHA256_EMPTY);
    assert.equal(digestOf('', 'sha512'), SHA512_EMPTY);
    assert.equal(digestOf('{}'), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});

describe('createDigester', () => {
  test('incremental updates equal one-shot digest', () => {
    const d = createDigester();
    d.update(Buffer.from('hello '));
    d.update(Buffer.from('world'));
    assert.equal(d.digest(), digestOf('hello world'));
    // digest() does not finalise: more data can follow.
    d.update(Buffer.from('!'));
    assert.equal(d.digest(), digestOf('hello world!'));
  });

  test('copy is independent of the original', () => {
    const d = createDigester('sha512');
    d.update(Buffer.from('ab'));
    const c = d.copy();
    c.update(Buffer.from('c'));
    d.update(Buffer.from('d'));
    assert.equal(c.digest(), digestOf('abc', 'sha512'));
    assert.equal(d.digest(), digestOf('abd', 'sha512'));
    assert.equal(c.algorithm, 'sha512');
  });
});
