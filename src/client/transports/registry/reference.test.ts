// docker:// references: Docker Hub normalisation, hosts with ports, digests, what is refused, round trips,
// and the default registry from registries.conf unqualified-search-registries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRegistriesConf } from '../../config/registries-conf.js';
import { isClientError } from '../../errors.js';
import { parseImageReference } from '../index.js';
import { DockerReference, apiHost, parseDockerName } from './reference.js';
import { createRegistryTransport } from './transport.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('docker:// references', () => {
  it('normalises as Docker does', () => {
    const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
      ['busybox', 'docker.io', 'library/busybox', undefined, undefined],
      ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
      ['foo/bar', 'docker.io', 'foo/bar', undefined, undefined],
      ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined],
      ['quay.io/a/b/c:v1', 'quay.io', 'a/b/c', 'v1', undefined],
      ['localhost/app', 'localhost', 'app', undefined, undefined],
      ['localhost:5000/app:x', 'localhost:5000', 'app', 'x', undefined],
      [`reg.example:443/ns/app@${D}`, 'reg.example:443', 'ns/app', undefined, D],
    ];
    for (const [s, registry, repository, tag, digest] of cases) {
      const r = parseDockerName(s);
      assert.deepEqual([r.registry, r.repository, r.tag, r.digest], [registry, repository, tag, digest], s);
    }
  });

  it('round-trips through parseImageReference, and is a DockerReference', () => {
    for (const s of ['docker://docker.io/library/busybox:latest', 'docker://quay.io/a/b', `docker://localhost:5000/x/y@${D}`]) {
      const r = parseImageReference(s);
      assert.ok(r instanceof DockerReference);
      assert.equal(String(r), s);
    }
    assert.equal(String(parseImageReference('docker://busybox')), 'docker://docker.io/library/busybox');
    assert.equal((parseImageReference('docker://busybox') as DockerReference).fullName, 'docker.io/library/busybox:latest');
  });

  it('REFERENCE_INVALID for malformed references', () => {
    for (const s of ['docker:busybox', 'docker://', 'docker://Upper/Case', `docker://quay.io/a:t@${D}`, 'docker://quay.io/a@sha256:short', 'docker://quay.io/a:bad!tag', 'docker://bad_host.example:x/a']) {
      assert.throws(() => parseImageReference(s), (e) => isClientError(e, 'REFERENCE_INVALID'), s);
    }
  });

  it('Docker Hub is reached at registry-1.docker.io', () => {
    assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(apiHost('quay.io'), 'quay.io');
  });

  it('an unqualified name goes to the first unqualified-search-registries entry, else docker.io', () => {
    const t = createRegistryTransport({ registriesConf: parseRegistriesConf('unqualified-search-registries = ["registry.example:5000", "quay.io"]') });
    assert.equal(String(t.parseReference('//app:v1')), 'docker://registry.example:5000/app:v1');
    assert.equal(String(t.parseReference('//team/app')), 'docker://registry.example:5000/team/app');
    assert.equal(String(t.parseReference('//quay.io/team/app')), 'docker://quay.io/team/app');
    const none = createRegistryTransport({ registriesConf: parseRegistriesConf('') });
    assert.equal(String(none.parseReference('//app')), 'docker://docker.io/library/app');
  });
});
