// Copy across every pair of local transports: digests are preserved everywhere except into docker-archive,
// which stores layers uncompressed: there a digest-preserving copy is refused before anything is written.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyRefs, digestOfRef, makeSourceLayout, snapshot, tempDir, validateRef, type SourceLayout } from './conformance.js';
import { isClientError } from './errors.js';

const KINDS = ['oci', 'dir', 'oci-archive', 'docker-archive'] as const;
type Kind = (typeof KINDS)[number];

function refFor(root: string, kind: Kind, name: string): string {
  switch (kind) {
    case 'oci':
      return `oci:${join(root, `layout-${name}`)}:${name}`;
    case 'dir':
      return `dir:${join(root, `dir-${name}`)}`;
    case 'oci-archive':
      return `oci-archive:${join(root, `${name}.oci.tar`)}:${name}`;
    case 'docker-archive':
      return `docker-archive:${join(root, `${name}.docker.tar`)}:example.com/pairs/${name}:v1`;
  }
}

describe('copy across every pair of local transports', () => {
  let root: string;
  let src: SourceLayout;
  /** The image stored in each kind of store, and the digest it has there. */
  const stored = new Map<Kind, { ref: string; digest: string }>();
  before(async () => {
    root = await tempDir('berth-pairs-');
    src = await makeSourceLayout(join(root, 'source'));
    for (const kind of KINDS) {
      const ref = refFor(root, kind, `seed-${kind}`);
      const res = await copyRefs(`oci:${src.dir}:img`, ref);
      stored.set(kind, { ref, digest: res.digest });
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const from of KINDS) {
    for (const to of KINDS) {
      const changes = to === 'docker-archive' && from !== 'docker-archive';
      it(`${from} → ${to}${changes ? ' (digest change refused, then allowed)' : ''}`, async () => {
        const source = stored.get(from)!;
        const dest = refFor(root, to, `${from}-to-${to}`);
        if (changes) {
          await assert.rejects(copyRefs(source.ref, dest, { preserveDigests: true }), (e) => isClientError(e, 'DIGEST_CHANGE_REFUSED'));
          const path = dest.slice(dest.indexOf(':') + 1).split(':')[0]!;
          assert.deepEqual(await snapshot(path), new Map(), 'nothing written');
          const res = await copyRefs(source.ref, dest);
          assert.notEqual(res.digest, source.digest);
          assert.equal(res.digest, stored.get('docker-archive')!.digest, 'the same image always archives to the same digest');
        } else {
          const res = await copyRefs(source.ref, dest, { preserveDigests: true });
          assert.equal(res.digest, source.digest);
        }
        await validateRef(dest);
        assert.equal(await digestOfRef(dest), changes ? stored.get('docker-archive')!.digest : source.digest);
      });
    }
  }
});
