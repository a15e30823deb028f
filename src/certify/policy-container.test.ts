// The container policy on real images built with umoci and rpmbuild: one image that passes everything, and
// images that each break exactly one rule (or sit on the edge of one). For each, the outcome of every check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../client/image.js';
import { openSource } from '../client/open.js';
import { certifyImage } from './certify.js';
import type { Results } from './engine.js';
import { GOOD_LABELS, buildGoodImage, buildRpm, installRpms, osRelease, type UmociLayout } from './fixtures.js';
import { POLICIES, type PolicyName } from './policy.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';

type Outcome = 'passed' | 'failed' | 'errors' | 'warning';

function outcomes(r: Results): Record<string, Outcome> {
  const out: Record<string, Outcome> = {};
  for (const o of r.passedChecks) out[o.check.name] = 'passed';
  for (const o of r.failed) out[o.check.name] = 'failed';
  for (const o of r.errors) out[o.check.name] = 'errors';
  for (const o of r.warned) out[o.check.name] = 'warning';
  return out;
}

function expected(policy: PolicyName, except: Record<string, Outcome> = {}): Record<string, Outcome> {
  return { ...Object.fromEntries(POLICIES[policy].map((c) => [c.name, 'passed' as Outcome])), ...except };
}

let work: string;
let layout: UmociLayout;
let rpmTop: string;

async function certify(ref: string, policy: PolicyName = 'container', extra: { ubiLayersFile?: string } = {}): Promise<Results> {
  const run = await certifyImage(ref, { policy, ...extra });
  assert.equal(run.platforms.length, 1);
  return run.platforms[0]!.results;
}

async function assertOutcomes(tag: string, want: Record<string, Outcome>, policy: PolicyName = 'container'): Promise<Results> {
  const r = await certify(layout.ref(tag), policy);
  assert.deepEqual(outcomes(r), want, `${tag}: ${JSON.stringify([...r.failed, ...r.errors].map((o) => [o.check.name, o.details]))}`);
  assert.equal(r.passed, Object.values(want).every((o) => o === 'passed' || o === 'warning'));
  return r;
}

describe('container policy on real images', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-'));
    rpmTop = join(work, 'rpmbuild');
    ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('a UBI-based image with licenses, labels, a user and a version tag passes every check', async () => {
    const r = await assertOutcomes('good', expected('container'));
    const based = r.passedChecks.find((o) => o.check.name === 'BasedOnUbi')!;
    assert.match(based.details[0]!, /^evidence: os-release/);
  });

  it('HasUniqueTag: `latest` as the only tag fails', async () => {
    await layout.tag('good', 'latest');
    await assertOutcomes('latest', expected('container', { HasUniqueTag: 'failed' }));
  });

  it('HasLicense: no /licenses fails; an empty license file fails; a /licenses symlink to a directory passes', async () => {
    await layout.edit('good', 'no-licenses', (root) => rm(join(root, 'licenses'), { recursive: true }));
    await assertOutcomes('no-licenses', expected('container', { HasLicense: 'failed' }));
    await layout.edit('good', 'empty-license', (root) => truncate(join(root, 'licenses/LICENSE'), 0));
    await assertOutcomes('empty-license', expected('container', { HasLicense: 'failed' }));
    await layout.edit('good', 'licenses-link', async (root) => {
      await rm(join(root, 'licenses'), { recursive: true });
      await mkdir(join(root, 'usr/share/widgets-licenses'), { recursive: true });
      await writeFile(join(root, 'usr/share/widgets-licenses/LICENSE'), 'terms\n');
      await symlink('/usr/share/widgets-licenses', join(root, 'licenses'));
    });
    await assertOutcomes('licenses-link', expected('container'));
  });

  it('HasLicense: a link to a license file counts with the target’s size; only broken links fail', async () => {
    await layout.edit('good', 'license-file-link', async (root) => {
      await rm(join(root, 'licenses/LICENSE'));
      await symlink('../opt/widgets/run.sh', join(root, 'licenses/LICENSE'));
    });
    await assertOutcomes('license-file-link', expected('container'));
    await layout.edit('good', 'license-broken-link', async (root) => {
      await rm(join(root, 'licenses/LICENSE'));
      await symlink('/nowhere/LICENSE', join(root, 'licenses/LICENSE'));
    });
    await assertOutcomes('license-broken-link', expected('container', { HasLicense: 'failed' }));
    // A relative link that climbs above the root is skipped, as preflight's extraction skips it.
    await layout.edit('good', 'license-escaping-link', async (root) => {
      await rm(join(root, 'licenses/LICENSE'));
      await symlink('../../../../../opt/widgets/run.sh', join(root, 'licenses/LICENSE'));
    });
    await assertOutcomes('license-escaping-link', expected('container', { HasLicense: 'failed' }));
    await layout.edit('good', 'licenses-file', async (root) => {
      await rm(join(root, 'licenses'), { recursive: true });
      await writeFile(join(root, 'licenses'), 'not a directory\n');
    });
    await assertOutcomes('licenses-file', expected('container', { HasLicense: 'failed' }));
  });

  it('LayerCountAcceptable: 40 layers pass, 41 fail', async () => {
    let tag = 'good';
    for (let i = 3; i <= 41; i++) {
      const next = `layers-${i}`;
      await layout.edit(tag, next, (root) => writeFile(join(root, `opt/widgets/layer-${i}`), String(i)));
      tag = next;
    }
    await assertOutcomes('layers-40', expected('container'));
    await assertOutcomes('layers-41', expected('container', { LayerCountAcceptable: 'failed' }));
  });

  it('HasNoProhibitedPackages: kernel-core and kpatch* fail, kernel-headers passes', async () => {
    for (const [name, want] of [
      ['kernel-core', 'failed'],
      ['kpatch-patch-5_14_0-70', 'failed'],
      ['kernel-headers', 'passed'],
    ] as const) {
      const rpm = await buildRpm(rpmTop, { name, version: '5.14.0', release: '70.el9', vendor: 'Red Hat, Inc.', files: [{ path: `/usr/share/${name}/marker`, content: name }] });
      await layout.edit('good', name, (root) => installRpms(root, [rpm]));
      await assertOutcomes(name, expected('container', { HasNoProhibitedPackages: want }));
    }
  });

  it('HasRequiredLabel: a missing maintainer fails', async () => {
    const { maintainer: _, ...rest } = GOOD_LABELS;
    await layout.config('good', { to: 'no-maintainer', clearLabels: true, labels: rest });
    await assertOutcomes('no-maintainer', expected('container', { HasRequiredLabel: 'failed' }));
  });

  it('HasNoProhibitedLabels: "Red Hat X" as vendor fails, "X for Red Hat" as maintainer passes', async () => {
    await layout.config('good', { to: 'vendor-redhat', labels: { vendor: 'Red Hat Widgets' } });
    await assertOutcomes('vendor-redhat', expected('container', { HasNoProhibitedLabels: 'failed' }));
    await layout.config('good', { to: 'for-redhat', labels: { maintainer: 'Widgets for Red Hat OpenShift' } });
    await assertOutcomes('for-redhat', expected('container'));
  });

  it('RunAsNonRoot: root and 0 fail, 0:0 passes (exact compare); the root policy does not run it', async () => {
    await layout.config('good', { to: 'user-root', user: 'root' });
    await assertOutcomes('user-root', expected('container', { RunAsNonRoot: 'failed' }));
    await layout.config('good', { to: 'user-0', user: '0' });
    await assertOutcomes('user-0', expected('container', { RunAsNonRoot: 'failed' }));
    await assertOutcomes('user-0', expected('root'), 'root');
    await layout.config('good', { to: 'user-0-0', user: '0:0' });
    await assertOutcomes('user-0-0', expected('container'));
  });

  it('BasedOnUbi: no UBI evidence fails; a known top-layer diffID passes and says so', async () => {
    await layout.edit('good', 'not-ubi', (root) => writeFile(join(root, 'etc/os-release'), osRelease({ id: 'fedora', platform: 'f40' })));
    const r = await assertOutcomes('not-ubi', expected('container', { BasedOnUbi: 'failed' }));
    assert.match(r.failed[0]!.details.join('\n'), /os-release ID is "fedora"[^]*none of the \d+ packages .* is signed with a Red Hat release key/);
    // The user's table of top layers: the base layer of this image is "UBI".
    const src = await openSource(layout.ref('ubi'));
    const diffIDs = (await (await openImage(src)).config()).rootfs?.diff_ids ?? [];
    await src.close();
    const table = join(work, 'ubi-layers.json');
    await writeFile(table, JSON.stringify({ schemaVersion: 1, layers: [{ diffID: diffIDs[diffIDs.length - 1], image: 'test UBI', kind: 'ubi', source: 'this test' }] }));
    const r2 = await certify(layout.ref('not-ubi'), 'container', { ubiLayersFile: table });
    assert.deepEqual(outcomes(r2), expected('container'));
    assert.match(r2.passedChecks.find((o) => o.check.name === 'BasedOnUbi')!.details[0]!, /^evidence: top-layer diffID — sha256:[0-9a-f]{64} is the top layer of test UBI/);
  });

  it('HasProhibitedContainerName: "redhat-widgets" fails, "widgets-for-redhat" passes', async () => {
    for (const [name, want] of [
      ['redhat-widgets', 'failed'],
      ['widgets-for-redhat', 'passed'],
    ] as const) {
      const dir = join(work, name);
      await cp(layout.dir, dir, { recursive: true });
      const r = await certify(`oci:${dir}:good`);
      assert.deepEqual(outcomes(r), expected('container', { HasProhibitedContainerName: want }));
    }
  });

  it('scratch policies: an image without RPMs or os-release passes scratch-nonroot; container errors on the RPM checks', async () => {
    await layout.edit('base', 'scratch-app', async (root) => {
      await mkdir(join(root, 'licenses'), { recursive: true });
      await writeFile(join(root, 'licenses/LICENSE'), 'terms\n');
      await writeFile(join(root, 'app'), 'static binary');
    });
    await layout.config('scratch-app', { to: 'scratch', user: '65532', labels: { ...GOOD_LABELS } });
    await assertOutcomes('scratch', expected('scratch-nonroot'), 'scratch-nonroot');
    await assertOutcomes('scratch', expected('scratch-root'), 'scratch-root');
    await assertOutcomes('scratch', expected('container', { HasNoProhibitedPackages: 'errors', HasModifiedFiles: 'errors', BasedOnUbi: 'failed' }));
  });
});
