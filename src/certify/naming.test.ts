// How each transport's reference names the repository, the container name and the tag that
// HasUniqueTag and HasProhibitedContainerName judge (the decisions are documented in naming.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveImage } from '../client/open.js';
import { EMPTY_REGISTRIES_CONF } from '../client/config/registries-conf.js';
import { namingOf } from './naming.js';

function naming(image: string) {
  const n = namingOf(resolveImage(image, { registry: { registriesConf: EMPTY_REGISTRIES_CONF } }).ref);
  return { repository: n.repository, containerName: n.containerName, tag: n.tag, digest: n.digest, display: n.display };
}

const D = 'sha256:' + 'a'.repeat(64);

describe('namingOf', () => {
  it('docker://: as preflight: no tag means latest; a digest has no tag', () => {
    assert.deepEqual(naming('docker://quay.io/example/widgets:1.0'), { repository: 'example/widgets', containerName: 'widgets', tag: '1.0', digest: undefined, display: 'quay.io/example/widgets:1.0' });
    assert.deepEqual(naming('docker://quay.io/example/widgets'), { repository: 'example/widgets', containerName: 'widgets', tag: 'latest', digest: undefined, display: 'quay.io/example/widgets:latest' });
    assert.deepEqual(naming(`docker://quay.io/example/widgets@${D}`), { repository: 'example/widgets', containerName: 'widgets', tag: undefined, digest: D, display: `quay.io/example/widgets@${D}` });
    assert.equal(naming('docker://busybox:1').repository, 'library/busybox');
  });

  it('oci: and oci-archive:: a full image name as REF gives repository and tag; a bare REF is the tag; the path names the container', () => {
    assert.deepEqual(naming('oci:/tmp/build:quay.io/example/widgets:2.0'), { repository: 'example/widgets', containerName: 'widgets', tag: '2.0', digest: undefined, display: 'oci:/tmp/build:quay.io/example/widgets:2.0' });
    assert.deepEqual(naming('oci:/tmp/redhat-widgets:1.0'), { repository: 'redhat-widgets', containerName: 'redhat-widgets', tag: '1.0', digest: undefined, display: 'oci:/tmp/redhat-widgets:1.0' });
    assert.equal(naming('oci-archive:/tmp/widgets.tar:1.0').containerName, 'widgets');
    assert.equal(naming('oci:/tmp/widgets').tag, undefined);
    assert.equal(naming('oci:/tmp/widgets:@0').tag, undefined);
  });

  it('docker-archive: NAME[:TAG] as docker (TAG defaults to latest); without NAME no tag', () => {
    assert.deepEqual(naming('docker-archive:/tmp/app.tar:example/widgets:3.1'), { repository: 'example/widgets', containerName: 'widgets', tag: '3.1', digest: undefined, display: 'docker-archive:/tmp/app.tar:docker.io/example/widgets:3.1' });
    assert.equal(naming('docker-archive:/tmp/app.tar:example/widgets').tag, 'latest');
    assert.deepEqual(naming('docker-archive:/tmp/widgets.tar'), { repository: 'widgets', containerName: 'widgets', tag: undefined, digest: undefined, display: 'docker-archive:/tmp/widgets.tar' });
  });

  it('dir:: no tag; the directory names the container', () => {
    assert.deepEqual(naming('dir:/tmp/images/widgets/'), { repository: 'widgets', containerName: 'widgets', tag: undefined, digest: undefined, display: 'dir:/tmp/images/widgets/' });
  });
});
