import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isTag, parseRepositoryName, parseTag } from './reference.js';

describe('parseRepositoryName', () => {
  for (const ok of ['a', 'library/ubuntu', 'a.b_c__d-e---f/g0/h', 'x'.repeat(255), 'foo/bar-baz.qux/9']) {
    test(`accepts ${ok.slice(0, 40)}`, () => assert.equal(parseRepositoryName(ok), ok));
  }
  const bad = [
    '', 'A', 'Library/ubuntu', '/a', 'a/', 'a//b', '-a', 'a-', 'a.', '.a', 'a..b', 'a___b', 'a._b', 'a_-b', 'a:b',
    'a b', 'a/B', 'x'.repeat(256), 'é',
  ];
  for (const s of bad) {
    test(`refuses ${JSON.stringify(s.slice(0, 40))} with NAME_INVALID`, () => {
      assert.throws(() => parseRepositoryName(s), { code: 'NAME_INVALID' });
    });
  }

  test('adversarial 10,000-character inputs finish quickly', () => {
    const inputs = ['a-'.repeat(5000), `${'a'.repeat(9999)}!`, `${'a_'.repeat(4999)}__`, `${'a/'.repeat(4999)}a-`];
    const start = performance.now();
    for (const s of inputs) assert.throws(() => parseRepositoryName(s), { code: 'NAME_INVALID' });
    assert.ok(performance.now() - start < 50, 'name parsing must be linear');
  });

  test('the scanner agrees with the spec regex on short inputs', () => {
    const re = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
    const alphabet = ['a', '0', '.', '_', '-', '/', 'A'];
    const all = (n: number): string[] => (n === 0 ? [''] : all(n - 1).flatMap((p) => alphabet.map((c) => p + c)));
    for (let n = 1; n <= 5; n++) {
      for (const s of all(n)) {
        let ok = true;
        try {
          parseRepositoryName(s);
        } catch {
          ok = false;
        }
        assert.equal(ok, re.test(s), s);
      }
    }
  });
});

describe('parseTag', () => {
  for (const ok of ['latest', 'v1.2.3', '_x', '0', 'A-b_c.d', 'a'.repeat(128)]) {
    test(`accepts ${ok.slice(0, 40)}`, () => {
      assert.equal(parseTag(ok), ok);
      assert.equal(isTag(ok), true);
    });
  }
  for (const s of ['', '.x', '-x', 'a'.repeat(129), 'a/b', 'a:b', 'sha256:abc', 'a b', 'é']) {
    test(`refuses ${JSON.stringify(s.slice(0, 40))} with TAG_INVALID`, () => {
      assert.throws(() => parseTag(s), { code: 'TAG_INVALID' });
      assert.equal(isTag(s), false);
    });
  }
  test('adversarial 10,000-character tag finishes quickly', () => {
    const start = performance.now();
    assert.equal(isTag(`${'a'.repeat(10000)}!`), false);
    assert.ok(performance.now() - start < 50);
  });
});
