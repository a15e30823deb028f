// oci: reading rules: REF selects by ref.name, @N by position, no REF needs exactly one image; a missing or
// malformed layout is LAYOUT_INVALID naming the path.
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOfRef, makeSourceLayout, openSource, tempDir, type SourceLayout } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { realImage, writeLayout } from '../../fixtures.js';

describe('oci: reading', () => {
  let root: string;
  let src: SourceLayout;
  before(async () => {
    root = await tempDir('berth-oci-');
    src = await makeSourceLayout(join(root, 'source'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('by name, by @N, and without REF when there is exactly one image', async () => {
    assert.equal(await digestOfRef(`oci:${src.dir}:docker`), src.docker.digest);
    assert.equal(await digestOfRef(`oci:${src.dir}:@0`), src.image.digest);
    await assert.rejects(openSource(`oci:${src.dir}`), (e) => isClientError(e, 'MANIFEST_UNKNOWN') && e.message.includes('holds 3 images'));
    await assert.rejects(openSource(`oci:${src.dir}:nope`), (e) => isClientError(e, 'MANIFEST_UNKNOWN'));
    await assert.rejects(openSource(`oci:${src.dir}:@9`), (e) => isClientError(e, 'MANIFEST_UNKNOWN'));
    const one = join(root, 'one');
    const img = realImage();
    await writeLayout(one, { only: img });
    assert.equal(await digestOfRef(`oci:${one}`), img.digest);
  });

  it('a missing layout, or one without oci-layout or index.json, is LAYOUT_INVALID naming the path', async () => {
    const missing = join(root, 'missing');
    await assert.rejects(openSource(`oci:${missing}:x`), (e) => isClientError(e, 'LAYOUT_INVALID') && e.message.includes(missing));
    const empty = join(root, 'empty');
    await mkdir(empty);
    await assert.rejects(openSource(`oci:${empty}:x`), (e) => isClientError(e, 'LAYOUT_INVALID') && e.message.includes(empty) && e.message.includes('oci-layout'));
    await writeFile(join(empty, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await assert.rejects(openSource(`oci:${empty}:x`), (e) => isClientError(e, 'LAYOUT_INVALID') && e.message.includes('index.json'));
    await writeFile(join(empty, 'index.json'), 'not json');
    await assert.rejects(openSource(`oci:${empty}:x`), (e) => isClientError(e, 'LAYOUT_INVALID') && e.message.includes('index.json'));
  });

  it('a missing archive is ARCHIVE_INVALID naming the path; a non-tar too', async () => {
    const missing = join(root, 'missing.tar');
    await assert.rejects(openSource(`oci-archive:${missing}`), (e) => isClientError(e, 'ARCHIVE_INVALID') && e.message.includes(missing));
    await assert.rejects(openSource(`docker-archive:${missing}`), (e) => isClientError(e, 'ARCHIVE_INVALID') && e.message.includes(missing));
    const junk = join(root, 'junk.tar');
    await writeFile(junk, Buffer.alloc(1024, 7));
    await assert.rejects(openSource(`oci-archive:${junk}`), (e) => isClientError(e, 'ARCHIVE_INVALID') && e.message.includes(junk));
  });
});
