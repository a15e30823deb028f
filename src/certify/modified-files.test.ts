// HasModifiedFiles on real images: RPM databases written by Debian's rpm into umoci layers. A Red Hat
// package's file changed by a later layer fails; the same file replaced by a newer RPM passes; and the
// exceptions preflight makes (setuid removed, third-party packages, reinstalls, config and doc files).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { certifyImage } from './certify.js';
import { appendImage } from '../client/append.js';
import { openDestination, openSource } from '../client/open.js';
import { hasModifiedFiles } from './checks/has-modified-files.js';
import { RH_BASE, buildGoodImage, buildRpm, installRpms, type Spec, type UmociLayout } from './fixtures.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';

let work: string;
let layout: UmociLayout;
let rpmTop: string;

/** HasModifiedFiles' outcome and details on `tag`; every other check must pass (the image differs in one way). */
async function modified(tag: string): Promise<{ outcome: string; details: string[] }> {
  const run = await certifyImage(layout.ref(tag), { policy: 'container' });
  const r = run.platforms[0]!.results;
  const others = [...r.failed, ...r.errors].filter((o) => o.check.name !== hasModifiedFiles.name);
  assert.deepEqual(others.map((o) => [o.check.name, o.details]), [], `${tag}: only HasModifiedFiles may differ`);
  const mine = [...r.passedChecks.map((o) => ['passed', o] as const), ...r.failed.map((o) => ['failed', o] as const), ...r.errors.map((o) => ['errors', o] as const)].find(
    ([, o]) => o.check.name === hasModifiedFiles.name,
  )!;
  return { outcome: mine[0], details: mine[1].details };
}

const rhBase = (over: Partial<Spec>): Spec => ({ ...RH_BASE, ...over });

describe('HasModifiedFiles', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-mod-'));
    rpmTop = join(work, 'rpmbuild');
    ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('a file of a Red Hat RPM changed in a later layer fails', async () => {
    await layout.edit('good', 'overwrite', (root) => writeFile(join(root, 'usr/bin/rh-tool'), '#!/bin/sh\necho patched\n', { mode: 0o755 }));
    const m = await modified('overwrite');
    assert.equal(m.outcome, 'failed');
    assert.deepEqual(m.details, ['/usr/bin/rh-tool (layer 2) of rh-base-1.0-1.el9-noarch was modified without rpm']);
  });

  it('the same file replaced by a newer RPM of the package (rpm -U) passes', async () => {
    const newer = await buildRpm(rpmTop, rhBase({ version: '1.1', files: RH_BASE.files.map((f) => ({ ...f, content: `${f.content} 1.1` })) }));
    await layout.edit('good', 'updated', (root) => installRpms(root, [newer], { upgrade: true }));
    assert.equal((await modified('updated')).outcome, 'passed');
  });

  it('an update whose release lost the dist tag fails; one that changed architecture fails', async () => {
    // New content: with the same bytes and an mtime in the same second, umoci's repack would not see the files change.
    const nodist = await buildRpm(rpmTop, rhBase({ version: '1.2', release: '1', files: RH_BASE.files.map((f) => ({ ...f, content: `${f.content} 1.2` })) }));
    await layout.edit('good', 'lost-dist', (root) => installRpms(root, [nodist], { upgrade: true }));
    const m = await modified('lost-dist');
    assert.equal(m.outcome, 'failed');
    assert.match(m.details[0]!, /rh-base-1\.0-1\.el9-noarch was replaced by rh-base-1\.2-1-noarch, whose release lost "el9"/);
    const otherArch = await buildRpm(rpmTop, rhBase({ version: '1.3', arch: 'x86_64', files: RH_BASE.files.map((f) => ({ ...f, content: `${f.content} 1.3` })) }));
    await layout.edit('good', 'other-arch', (root) => installRpms(root, [otherArch], { upgrade: true }));
    const a = await modified('other-arch');
    assert.equal(a.outcome, 'failed');
    assert.match(a.details[0]!, /was replaced by rh-base-1\.3-1\.el9-x86_64, of another architecture/);
  });

  it('removing only the setuid bit passes; changing a setuid file otherwise fails', async () => {
    await layout.edit('good', 'no-suid', (root) => chmod(join(root, 'usr/bin/rh-suid'), 0o755));
    assert.equal((await modified('no-suid')).outcome, 'passed');
    await layout.edit('good', 'suid-changed', (root) => writeFile(join(root, 'usr/bin/rh-suid'), 'other\n'));
    assert.equal((await modified('suid-changed')).outcome, 'failed');
  });

  it('config and doc files may change; deleting a packaged file is a change', async () => {
    await layout.edit('good', 'config', async (root) => {
      await writeFile(join(root, 'etc/rh.conf'), 'setting=2\n');
      await writeFile(join(root, 'usr/share/doc/rh-base/README'), 'edited\n');
    });
    assert.equal((await modified('config')).outcome, 'passed');
    await layout.edit('good', 'deleted', (root) => rm(join(root, 'usr/lib64/librh.so.1')));
    const m = await modified('deleted');
    assert.equal(m.outcome, 'failed');
    assert.match(m.details[0]!, /^\/usr\/lib64\/librh\.so\.1 \(layer 2\)/);
  });

  it('files of third-party packages (vendor not Red Hat, or no dist tag) may change, with a warning', async () => {
    const example = await buildRpm(rpmTop, { name: 'example-tool', version: '2.0', release: '1.el9', vendor: 'Example, Inc.', files: [{ path: '/usr/bin/example-tool', content: 'v2', mode: '0755' }] });
    const nodist = await buildRpm(rpmTop, { name: 'nodist-tool', version: '1.0', release: '3', vendor: 'Red Hat, Inc.', files: [{ path: '/usr/bin/nodist-tool', content: 'v1', mode: '0755' }] });
    await layout.edit('good', 'third-party', (root) => installRpms(root, [example, nodist]));
    await layout.edit('third-party', 'third-party-changed', async (root) => {
      await writeFile(join(root, 'usr/bin/example-tool'), 'patched');
      await writeFile(join(root, 'usr/bin/nodist-tool'), 'patched');
    });
    const m = await modified('third-party-changed');
    assert.equal(m.outcome, 'passed');
    assert.ok(m.details.some((d) => /^warning: \/usr\/bin\/example-tool .* the vendor is not Red Hat, Inc\.$/.test(d)), m.details.join('\n'));
    assert.ok(m.details.some((d) => /^warning: \/usr\/bin\/nodist-tool .* the release has no "el9": a third-party package$/.test(d)), m.details.join('\n'));
  });

  it('a reinstalled package (install time moved on) passes', async () => {
    // rpm records install times in whole seconds: make sure the reinstall lands in a later one.
    await sleep(1100);
    await layout.edit('good', 'reinstalled', (root) => installRpms(root, [join(rpmTop, 'RPMS/noarch/rh-base-1.0-1.el9.noarch.rpm')], { reinstall: true }));
    assert.equal((await modified('reinstalled')).outcome, 'passed');
  });

  it('a layer that only sets a file capability on a Red Hat binary (setcap) passes; the same change without the xattr fails', async () => {
    // GNU tar writes the capability as container builders do: a pax SCHILY.xattr.security.capability record.
    const files = join(work, 'cap');
    await mkdir(join(files, 'usr/bin'), { recursive: true });
    await writeFile(join(files, 'usr/bin/rh-tool'), '#!/bin/sh\necho patched\n', { mode: 0o755 });
    const cap = join(work, 'cap.tar');
    const plain = join(work, 'plain.tar');
    const tar = (out: string, extra: string[]) => spawnSync('tar', ['--format=pax', ...extra, '-cf', out, '-C', files, 'usr/bin/rh-tool']);
    assert.equal(tar(cap, ['--pax-option=SCHILY.xattr.security.capability:=AQAAAgAEAAAAAAAAAAAAAAAAAAA=']).status, 0);
    assert.equal(tar(plain, []).status, 0);
    for (const [tag, layer] of [['with-cap', cap], ['without-cap', plain]] as const) {
      const source = await openSource(layout.ref('good'));
      const destination = await openDestination(layout.ref(tag));
      try {
        await appendImage(source, destination, { layers: [layer] });
      } finally {
        await source.close();
        await destination.close();
      }
    }
    assert.equal((await modified('with-cap')).outcome, 'passed');
    assert.equal((await modified('without-cap')).outcome, 'failed');
  });

  it('errors without /etc/os-release', async () => {
    await layout.edit('good', 'no-os-release', (root) => rm(join(root, 'etc/os-release')));
    const run = await certifyImage(layout.ref('no-os-release'), { policy: 'container' });
    const r = run.platforms[0]!.results;
    assert.deepEqual(
      r.errors.map((o) => [o.check.name, o.error && 'code' in o.error ? o.error.code : undefined]),
      [['HasModifiedFiles', 'OS_RELEASE_MISSING']],
    );
    // Without os-release BasedOnUbi falls back to the RPM signatures: these test packages are unsigned.
    assert.deepEqual(r.failed.map((o) => o.check.name), ['BasedOnUbi']);
  });
});
