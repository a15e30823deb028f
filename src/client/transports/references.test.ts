// The one reference parser: every transport's grammar, and the errors a user sees for a bad one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isClientError } from '../errors.js';
import type { ImageReference, Transport } from '../transport.js';
import { getTransport, parseImageReference, registerTransport } from './index.js';

describe('parseImageReference', () => {
  it('round-trips every local transport', () => {
    for (const s of [
      'oci:/tmp/layout',
      'oci:/tmp/layout:v1',
      'oci:/tmp/layout:a/b:c',
      'oci:/tmp/layout:@2',
      'oci:relative/path:latest',
      'oci-archive:/tmp/x.tar:v1',
      'dir:/tmp/some:dir',
      'docker-archive:/tmp/x.tar',
      'docker-archive:/tmp/x.tar:@0',
      'docker-archive:/tmp/x.tar:docker.io/library/busybox:latest',
      'docker-archive:/tmp/x.tar:localhost:5000/a/b:v2',
    ]) {
      assert.equal(String(parseImageReference(s)), s);
    }
  });

  it('oci: the path ends at the first colon', () => {
    const r = parseImageReference('oci:/tmp/lay:out:tag') as ImageReference & { path: string; refName: string };
    assert.equal(r.path, '/tmp/lay');
    assert.equal(r.refName, 'out:tag');
  });

  it('dir: keeps colons in the path', () => {
    assert.equal((parseImageReference('dir:/a:b') as ImageReference & { path: string }).path, '/a:b');
  });

  it('docker-archive: normalises names as Docker does', () => {
    assert.equal(String(parseImageReference('docker-archive:/x.tar:busybox')), 'docker-archive:/x.tar:docker.io/library/busybox:latest');
    assert.equal(String(parseImageReference('docker-archive:/x.tar:foo/bar:v1')), 'docker-archive:/x.tar:docker.io/foo/bar:v1');
    assert.equal(String(parseImageReference('docker-archive:/x.tar:quay.io/foo/bar')), 'docker-archive:/x.tar:quay.io/foo/bar:latest');
  });

  it('REFERENCE_INVALID for malformed details', () => {
    for (const s of ['oci:', 'oci::v1', 'oci:/x:bad tag', 'oci:/x:@x', 'oci-archive:', 'dir:', 'docker-archive:', 'docker-archive:/x.tar:Upper/Case', 'docker-archive:/x.tar:busybox@sha256:' + 'a'.repeat(64), 'docker-archive:/x.tar:busybox:bad/tag!']) {
      assert.throws(() => parseImageReference(s), (e) => isClientError(e, 'REFERENCE_INVALID'), s);
    }
  });

  it('TRANSPORT_UNKNOWN lists the known transports', () => {
    assert.throws(() => parseImageReference('nope:/x'), (e) => isClientError(e, 'TRANSPORT_UNKNOWN') && /known: .*dir.*oci/.test(e.message));
    assert.throws(() => parseImageReference('/just/a/path'), (e) => isClientError(e, 'TRANSPORT_UNKNOWN'));
  });

  it('docker:// is not available until its transport registers', () => {
    if (process.env.BERTH_DOCKER_TRANSPORT === undefined) {
      try {
        getTransport('docker');
        return; // someone registered it in this process
      } catch {
        assert.throws(() => parseImageReference('docker://quay.io/x/y:1'), (e) => isClientError(e, 'TRANSPORT_UNKNOWN') && e.message.includes('transport docker is not available'));
      }
    }
    const fake: Transport = {
      name: 'docker',
      parseReference: (rest) => ({ transport: 'docker', toString: () => `docker:${rest}` }),
      newSource: () => Promise.reject(new Error('unused')),
      newDestination: () => Promise.reject(new Error('unused')),
    };
    registerTransport(fake);
    assert.equal(String(parseImageReference('docker://quay.io/x/y:1')), 'docker://quay.io/x/y:1');
  });
});
