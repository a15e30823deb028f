// An ISV's path with a real Containerfile built by buildah (vfs storage, chroot isolation) on a UBI-like
// base: the first build breaks four rules; the fixed Containerfile passes every check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { certifyImage } from './certify.js';
import { buildGoodImage, type UmociLayout } from './fixtures.js';

const run = promisify(execFile);
const tools = ['buildah', 'umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs buildah, umoci, rpm (rpmbuild) and sqlite3';

let work: string;
let layout: UmociLayout;

/** Builds `containerfile` with buildah and writes the image to an OCI layout; returns its reference. */
async function build(name: string, containerfile: string, files: Record<string, string>): Promise<string> {
  const ctx = join(work, `ctx-${name}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Containerfile'), containerfile);
  for (const [f, content] of Object.entries(files)) await writeFile(join(ctx, f), content);
  const store = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs'];
  await run('buildah', [...store, 'bud', '--isolation', 'chroot', '--quiet', '-t', `${name}:1.0`, ctx]);
  const out = join(work, 'images', name);
  await mkdir(join(work, 'images'), { recursive: true });
  await run('buildah', [...store, 'push', '--quiet', `${name}:1.0`, `oci:${out}:1.0`]);
  return `oci:${out}:1.0`;
}

describe('a Containerfile, certified, fixed, certified again', { skip }, () => {
  before(async () => {
    // buildah reads `FROM oci:PATH` as a name too, and names must be lower case: no mkdtemp suffix.
    work = join(tmpdir(), `berth-certify-buildah-${randomBytes(6).toString('hex')}`);
    await mkdir(work);
    ({ layout } = await buildGoodImage(join(work, 'base'), work));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('reports each broken rule, and passes once the Containerfile follows the policy guide', async () => {
    const first = await build(
      'widgets',
      `FROM ${layout.ref('ubi')}
COPY rh-tool /usr/bin/rh-tool
COPY widgets /opt/widgets/widgets
LABEL name="example/widgets" vendor="Example, Inc." version="1.0" release="1" summary="Widgets" description="Serves widgets."
`,
      { 'rh-tool': '#!/bin/sh\necho my own build\n', widgets: 'binary' },
    );
    const r1 = (await certifyImage(first)).platforms[0]!.results;
    assert.deepEqual(
      [...r1.failed, ...r1.errors].map((o) => o.check.name).sort(),
      ['HasLicense', 'HasModifiedFiles', 'HasRequiredLabel', 'RunAsNonRoot'],
    );
    assert.match(r1.failed.find((o) => o.check.name === 'HasRequiredLabel')!.details[0]!, /missing or empty labels: maintainer/);
    assert.match(r1.failed.find((o) => o.check.name === 'HasModifiedFiles')!.details[0]!, /^\/usr\/bin\/rh-tool \(layer 1\) of rh-base-1\.0-1\.el9-noarch was modified without rpm$/);

    const fixed = await build(
      'widgets-fixed',
      `FROM ${layout.ref('ubi')}
COPY LICENSE /licenses/LICENSE
COPY widgets /opt/widgets/widgets
LABEL name="example/widgets" vendor="Example, Inc." version="1.0" release="1" summary="Widgets" description="Serves widgets." maintainer="support@example.com"
USER 1001
`,
      { LICENSE: 'Example terms.\n', widgets: 'binary' },
    );
    const r2 = await certifyImage(fixed);
    assert.deepEqual([...r2.platforms[0]!.results.failed, ...r2.platforms[0]!.results.errors].map((o) => [o.check.name, o.details]), []);
    assert.equal(r2.passed, true);
  });
});
