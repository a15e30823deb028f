// `certify` on every transport: the same image copied (with the client) to dir:, oci-archive: and
// docker-archive: gets the same verdicts, except where the reference itself decides (HasUniqueTag: a dir:
// image names no tag; HasProhibitedContainerName: the name each reference carries).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyImage } from '../client/copy.js';
import { openDestination, openSource } from '../client/open.js';
import { certifyImage } from './certify.js';
import type { Results } from './engine.js';
import { isCertifyError } from './errors.js';
import { buildGoodImage, type UmociLayout } from './fixtures.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';

let work: string;
let layout: UmociLayout;

async function copy(from: string, to: string): Promise<void> {
  const s = await openSource(from);
  const d = await openDestination(to);
  try {
    await copyImage(s, d);
  } finally {
    await d.close();
    await s.close();
  }
}

function notPassed(r: Results): Array<[string, string]> {
  return [...r.failed.map((o) => [o.check.name, 'failed'] as [string, string]), ...r.errors.map((o) => [o.check.name, 'errors'] as [string, string])];
}

describe('certify on every transport', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-transports-'));
    ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('oci-archive:PATH:TAG passes everything', async () => {
    await copy(layout.ref('good'), `oci-archive:${join(work, 'widgets.tar')}:1.0`);
    const run = await certifyImage(`oci-archive:${join(work, 'widgets.tar')}:1.0`);
    assert.deepEqual(notPassed(run.platforms[0]!.results), []);
    assert.equal(run.passed, true);
  });

  it('docker-archive:PATH:NAME:TAG passes everything (layers stored uncompressed, same diffIDs)', async () => {
    await copy(layout.ref('good'), `docker-archive:${join(work, 'docker.tar')}:example/widgets:1.0`);
    const run = await certifyImage(`docker-archive:${join(work, 'docker.tar')}:example/widgets:1.0`);
    assert.deepEqual(notPassed(run.platforms[0]!.results), []);
    const name = run.platforms[0]!.results.passedChecks.find((o) => o.check.name === 'HasProhibitedContainerName')!;
    assert.deepEqual(name.details, ['container name "widgets"']);
    const tag = run.platforms[0]!.results.passedChecks.find((o) => o.check.name === 'HasUniqueTag')!;
    assert.deepEqual(tag.details, ['tags from the reference: 1.0']);
  });

  it('dir:PATH names no tag: HasUniqueTag is an error, everything else passes', async () => {
    await copy(layout.ref('good'), `dir:${join(work, 'widgets-dir')}`);
    const run = await certifyImage(`dir:${join(work, 'widgets-dir')}`);
    const r = run.platforms[0]!.results;
    assert.deepEqual(notPassed(r), [['HasUniqueTag', 'errors']]);
    assert.ok(isCertifyError(r.errors[0]!.error, 'TAG_UNKNOWN'));
    assert.match(r.errors[0]!.details[0]!, /a dir: reference names no tag/);
  });
});
