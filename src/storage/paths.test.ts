import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDigest } from '../content/digest.js';
import { paths } from './paths.js';
import { validatePath } from './validate-path.js';

const sha256 = parseDigest(`sha256:${'ab12'.repeat(16)}`);
const sha512 = parseDigest(`sha512:${'0f'.repeat(64)}`);

describe('paths', () => {
  it('puts blob data under /blobs/<algorithm>/<first two hex>/<hex>/data', () => {
    assert.equal(paths.blobData(sha256), `/blobs/sha256/ab/${'ab12'.repeat(16)}/data`);
    assert.equal(paths.blobData(sha512), `/blobs/sha512/0f/${'0f'.repeat(64)}/data`);
  });

  it('puts upload data under /uploads/<id>/data', () => {
    assert.equal(paths.uploadData('3f2a-upload'), '/uploads/3f2a-upload/data');
    assert.equal(paths.upload('3f2a-upload'), '/uploads/3f2a-upload');
  });

  it('nests every key below its root prefix', () => {
    assert.ok(paths.blobData(sha256).startsWith(`${paths.blobsRoot}/`));
    assert.ok(paths.uploadData('x').startsWith(`${paths.upload('x')}/`));
    assert.ok(paths.upload('x').startsWith(`${paths.uploadsRoot}/`));
  });

  it('gives different digests different keys', () => {
    const other = parseDigest(`sha256:${'ab13'.repeat(16)}`);
    assert.notEqual(paths.blobData(sha256), paths.blobData(other));
  });

  it('produces paths every driver accepts', () => {
    for (const p of [
      paths.blobData(sha256),
      paths.blobData(sha512),
      paths.blobsRoot,
      paths.uploadData('0b5c7a1e-5d0c-4f6e-9a51-1d1f1c7e2b3a'),
      paths.upload('0b5c7a1e-5d0c-4f6e-9a51-1d1f1c7e2b3a'),
      paths.uploadsRoot,
    ]) {
      assert.doesNotThrow(() => validatePath('test', p), p);
    }
  });
});
