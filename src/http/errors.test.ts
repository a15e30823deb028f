// The code → status table is complete, documented, and used for every error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, RegistryError } from '../registry/errors.js';
import { ContentError } from '../content/errors.js';
import { DriverError } from '../storage/errors.js';
import { STATUS, classify } from './errors.js';

describe('error codes', () => {
  it('every code has a status, and docs/errors.md lists each with the same status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
    assert.deepEqual([...rows.keys()].sort(), [...ERROR_CODES].sort());
    for (const code of ERROR_CODES) assert.equal(rows.get(code), STATUS[code], code);
  });

  it('classifies lower-layer errors once, and anything else as UNKNOWN', () => {
    assert.equal(classify(new ContentError('TAG_INVALID', 'x')).code, 'MANIFEST_INVALID');
    assert.equal(classify(new ContentError('DIGEST_INVALID', 'x')).code, 'DIGEST_INVALID');
    assert.equal(classify(new DriverError('INVALID_OFFSET', 'memory', '/a')).code, 'RANGE_INVALID');
    assert.equal(classify(new DriverError('PATH_NOT_FOUND', 'memory', '/a')).code, 'UNKNOWN');
    assert.equal(classify(new TypeError('boom')).code, 'UNKNOWN');
    const e = new RegistryError('DENIED');
    assert.equal(classify(e), e);
  });
});
