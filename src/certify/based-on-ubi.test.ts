// BasedOnUbi's evidence, each on a real image: a known top-layer diffID, os-release ID="rhel", and RPMs
// signed with a listed signing key (a key made here with gpg and rpmsign, listed through the data file as
// users list Red Hat's; the shipped Red Hat key ids are from Red Hat's published fingerprints).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../client/image.js';
import { appendImage } from '../client/append.js';
import { openDestination, openSource } from '../client/open.js';
import { certifyImage } from './certify.js';
import { EMPTY_LAYER_DIFF_ID } from './checks/based-on-ubi.js';
import type { CheckOutcome } from './engine.js';
import { isCertifyError } from './errors.js';
import { UmociLayout, buildRpm, installRpms, osRelease, signRpms } from './fixtures.js';
import { RED_HAT_RELEASE_KEY_IDS, signingKeyName } from './redhat-keys.js';
import { BUILTIN_UBI_LAYERS, loadBaseImageData } from './ubi-layers.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'rpmsign', 'gpg', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild, rpmsign), gnupg and sqlite3';

let work: string;
let layout: UmociLayout;
let keyId: string;

async function basedOnUbi(tag: string, ubiLayersFile?: string): Promise<{ outcome: 'passed' | 'failed' | 'errors'; o: CheckOutcome }> {
  const run = await certifyImage(layout.ref(tag), { policy: 'container', ...(ubiLayersFile ? { ubiLayersFile } : {}) });
  const r = run.platforms[0]!.results;
  for (const [outcome, list] of [['passed', r.passedChecks], ['failed', r.failed], ['errors', r.errors]] as const) {
    const o = list.find((x) => x.check.name === 'BasedOnUbi');
    if (o) return { outcome, o };
  }
  throw new Error('BasedOnUbi did not run');
}

describe('BasedOnUbi evidence', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-ubi-'));
    layout = await UmociLayout.create(join(work, 'app'));
    const rpm = await buildRpm(join(work, 'rpmbuild'), { name: 'signed-base', version: '1', release: '1.el9', vendor: 'Red Hat, Inc.', files: [{ path: '/usr/bin/signed', content: 'x', mode: '0755' }] });
    keyId = await signRpms(join(work, 'gnupg'), [rpm]);
    await layout.edit('base', 'fedora-signed', async (root) => {
      await installRpms(root, [rpm]);
      await mkdir(join(root, 'etc'), { recursive: true });
      await writeFile(join(root, 'etc/os-release'), osRelease({ id: 'fedora', platform: 'f40' }));
    });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('packages signed with a listed key decide, and the report names the key', async () => {
    const table = join(work, 'keys.json');
    await writeFile(table, JSON.stringify({ schemaVersion: 1, extends: 'builtin', layers: [], signingKeys: [{ keyId, name: 'test release key' }] }));
    const { outcome, o } = await basedOnUbi('fedora-signed', table);
    assert.equal(outcome, 'passed');
    assert.equal(o.details[0], `evidence: RPM signatures — 1 of 1 packages in /var/lib/rpm/rpmdb.sqlite are signed with ${keyId} (test release key)`);
    assert.match(o.details.join('\n'), /os-release ID is "fedora"/);
  });

  it('the same packages fail when their key is not a Red Hat key', async () => {
    const { outcome, o } = await basedOnUbi('fedora-signed');
    assert.equal(outcome, 'failed');
    assert.deepEqual(o.details.slice(1), ['os-release ID is "fedora"', 'none of the 1 packages in /var/lib/rpm/rpmdb.sqlite is signed with a Red Hat release key']);
  });

  it('the empty layer never counts as a top layer', async () => {
    const table = join(work, 'empty.json');
    await writeFile(table, JSON.stringify({ schemaVersion: 1, layers: [{ diffID: EMPTY_LAYER_DIFF_ID, image: 'empty', kind: 'ubi', source: 'test' }] }));
    // An empty layer (a tar of two zero blocks), appended with the client as `oc image append` would.
    const emptyTar = join(work, 'empty.tar');
    await writeFile(emptyTar, Buffer.alloc(1024));
    const base = await openSource(layout.ref('fedora-signed'));
    const dest = await openDestination(layout.ref('with-empty'));
    try {
      await appendImage(base, dest, { layers: [emptyTar] });
    } finally {
      await dest.close();
      await base.close();
    }
    const src = await openSource(layout.ref('with-empty'));
    const ids = (await (await openImage(src)).config()).rootfs?.diff_ids;
    await src.close();
    assert.equal(ids?.[ids.length - 1], EMPTY_LAYER_DIFF_ID, 'the appended layer is the empty layer');
    const { outcome } = await basedOnUbi('with-empty', table);
    assert.equal(outcome, 'failed');
  });
});

describe('BasedOnUbi data', () => {
  it('ships only sourced diffIDs and Red Hat key ids from published fingerprints', async () => {
    for (const l of BUILTIN_UBI_LAYERS.layers) {
      assert.match(l.diffID, /^sha256:[0-9a-f]{64}$/);
      assert.ok(l.source.length > 0, 'every shipped diffID says where it was read');
    }
    // release key 2: fingerprint 567E347AD0044ADE55BA8A5F199E2F91FD431D51 (v4: key id = last 8 bytes)
    assert.equal(signingKeyName('567E347AD0044ADE55BA8A5F199E2F91FD431D51'), 'Red Hat, Inc. (release key 2)');
    // release key 4 (v6): key id = first 8 bytes of FCD355B3…6AFEDF8F
    assert.equal(signingKeyName('FCD355B305707A62DA143AB6E422397E50FE8467A2A95343D246D6276AFEDF8F'), 'Red Hat, Inc. (release key 4)');
    assert.equal(signingKeyName('0123456789abcdef'), undefined);
    const data = await loadBaseImageData();
    assert.equal(data.signingKeys.size, RED_HAT_RELEASE_KEY_IDS.size);
  });

  it('refuses a data file that is not in the documented shape, with a stable code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-certify-ubi-data-'));
    try {
      for (const [body, msg] of [
        ['{', /not JSON/],
        ['{"schemaVersion":2,"layers":[]}', /schemaVersion must be 1/],
        ['{"schemaVersion":1,"layers":[{"diffID":"sha256:abc","kind":"ubi"}]}', /layers\[0\]\.diffID must be sha256:<64 lower-case hex>/],
        ['{"schemaVersion":1,"layers":[],"signingKeys":[{"keyId":"xyz"}]}', /signingKeys\[0\]\.keyId must be 16 hex digits/],
      ] as const) {
        const f = join(dir, 'data.json');
        await writeFile(f, body);
        await assert.rejects(loadBaseImageData(f), (err: unknown) => isCertifyError(err, 'UBI_DATA_INVALID') && msg.test((err as Error).message));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
