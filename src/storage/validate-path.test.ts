import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriverError } from './errors.js';
import { isValidPathSegment, validatePath } from './validate-path.js';

describe('validatePath', () => {
  it('accepts absolute paths of [A-Za-z0-9._-] segments', () => {
    for (const p of ['/a', '/a/b/c', '/A.b_c-d/0', '/.hidden', '/a/..b', '/a/b..', '/...']) {
      assert.doesNotThrow(() => validatePath('test', p), p);
    }
  });

  it('refuses malformed paths with INVALID_PATH', () => {
    for (const p of ['', 'a', 'a/b', '/a/', '//a', '/a//b', '/.', '/..', '/a/../b', '/a/./b', '/a b', '/a~', '/é', '/a\nb']) {
      assert.throws(
        () => validatePath('test', p),
        (err: unknown) => err instanceof DriverError && err.code === 'INVALID_PATH' && err.driverName === 'test' && err.path === p,
        JSON.stringify(p),
      );
    }
  });

  it('accepts the root only when allowed', () => {
    assert.throws(() => validatePath('test', '/'), DriverError);
    assert.doesNotThrow(() => validatePath('test', '/', { allowRoot: true }));
  });

  it('isValidPathSegment rejects . and .. and characters outside the alphabet', () => {
    assert.equal(isValidPathSegment('a.b'), true);
    assert.equal(isValidPathSegment('.'), false);
    assert.equal(isValidPathSegment('..'), false);
    assert.equal(isValidPathSegment(''), false);
    assert.equal(isValidPathSegment('~tmp'), false);
  });
});
