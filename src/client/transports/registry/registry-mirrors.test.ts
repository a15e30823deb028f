// registries.conf applied by the transport: a rewritten location, mirrors tried in order for pulls (falling
// back to the primary when a mirror lacks the image), pushes that never touch a mirror, and blocked registries.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOfRef, tempDir } from '../../conformance.js';
import { parseRegistriesConf } from '../../config/registries-conf.js';
import { isClientError } from '../../errors.js';
import { realImage, writeLayout, type FixtureImage } from '../../fixtures.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { startProxy, type RunningProxy } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';

describe('registry transport with registries.conf mirrors', () => {
  let primary: TestRegistry;
  let mirror: TestRegistry;
  let primaryProxy: RunningProxy;
  let mirrorProxy: RunningProxy;
  let root: string;
  let img: FixtureImage;
  let conf: ReturnType<typeof parseRegistriesConf>;
  before(async () => {
    primary = await startTestRegistry();
    mirror = await startTestRegistry();
    primaryProxy = await startProxy(primary.url);
    mirrorProxy = await startProxy(mirror.url);
    root = await tempDir('berth-mirrors-');
    img = realImage({ layers: 2 });
    await writeLayout(join(root, 'src'), { img });
    conf = parseRegistriesConf(`
[[registry]]
prefix = "registry.example/team"
location = "${primaryProxy.host}/upstream"
insecure = true
[[registry.mirror]]
location = "${mirrorProxy.host}/cache"
insecure = true

[[registry]]
location = "forbidden.example"
blocked = true
`);
  });
  after(async () => {
    await primaryProxy.close();
    await mirrorProxy.close();
    await primary.close();
    await mirror.close();
    await rm(root, { recursive: true, force: true });
  });

  it('pushes go to the rewritten location only; pulls try the mirror first and fall back', async () => {
    const t = testTransport({ tlsVerify: undefined, registriesConf: conf });
    try {
      await pushWith(t, `oci:${join(root, 'src')}:img`, 'docker://registry.example/team/app:v1');
      assert.ok(primaryProxy.log.some((l) => l.startsWith('PUT /v2/upstream/app/manifests/v1')));
      assert.equal(mirrorProxy.log.length, 0);
      const out = `oci:${join(root, 'out1')}:x`;
      await pullWith(t, 'docker://registry.example/team/app:v1', out, { preserveDigests: true });
      assert.equal(await digestOfRef(out), img.digest);
      assert.ok(mirrorProxy.log.includes('GET /v2/cache/app/manifests/v1'), 'mirror asked first');
    } finally {
      t.close();
    }
  });

  it('a mirror that has the image serves all of it', async () => {
    const direct = testTransport();
    await pushWith(direct, `oci:${join(root, 'src')}:img`, `docker://${mirrorProxy.host}/cache/cached:v1`);
    direct.close();
    primaryProxy.log.length = 0;
    const t = testTransport({ tlsVerify: undefined, registriesConf: conf });
    try {
      await pullWith(t, 'docker://registry.example/team/cached:v1', `oci:${join(root, 'out2')}:x`, { preserveDigests: true });
      assert.deepEqual(primaryProxy.log, [], 'the primary was never asked');
    } finally {
      t.close();
    }
  });

  it('a blocked registry is DENIED for pulls and pushes', async () => {
    const t = testTransport({ registriesConf: conf });
    try {
      await assert.rejects(t.newSource(t.parseReference('//forbidden.example/a/b:1')), (e) => isClientError(e, 'DENIED') && /blocked in registries\.conf/.test(e.message));
      await assert.rejects(t.newDestination(t.parseReference('//forbidden.example/a/b:1')), (e) => isClientError(e, 'DENIED'));
    } finally {
      t.close();
    }
  });
});
