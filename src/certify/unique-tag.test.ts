// HasUniqueTag against a real Berth registry (behind a logging proxy): `latest` as the only tag fails,
// `latest` next to a version passes, a digest reference passes with tags and errors without, and a
// version tag is judged from the reference alone, without listing tags (as preflight does).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_REGISTRIES_CONF } from '../client/config/registries-conf.js';
import { pushWith, testTransport } from '../client/transports/registry/test-helpers.js';
import { startProxy, type RunningProxy } from '../client/transports/registry/test-servers.js';
import type { RegistryOptions } from '../client/transports/registry/session.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { certifyImage } from './certify.js';
import type { Results } from './engine.js';
import { isCertifyError } from './errors.js';
import { buildGoodImage, type UmociLayout } from './fixtures.js';
import { POLICIES } from './policy.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';

let reg: TestRegistry;
let proxy: RunningProxy;
let host: string;
let work: string;
let layout: UmociLayout;
let digest: string;
const registry: RegistryOptions = { tlsVerify: false, registriesConf: EMPTY_REGISTRIES_CONF, authFile: '/nonexistent/berth-test-auth.json', retry: { attempts: 1 } };

function outcomeOf(r: Results, name: string): string {
  if (r.passedChecks.some((o) => o.check.name === name)) return 'passed';
  if (r.failed.some((o) => o.check.name === name)) return 'failed';
  if (r.errors.some((o) => o.check.name === name)) return 'errors';
  return 'absent';
}

/** Certifies, checks that every other check passed, and returns HasUniqueTag's outcome and the tag-list requests made. */
async function uniqueTag(ref: string): Promise<{ outcome: string; results: Results; listed: string[] }> {
  const before = proxy.log.length;
  const run = await certifyImage(`docker://${host}/${ref}`, { registry });
  const r = run.platforms[0]!.results;
  for (const c of POLICIES.container) if (c.name !== 'HasUniqueTag') assert.equal(outcomeOf(r, c.name), 'passed', `${ref}: ${c.name}`);
  return { outcome: outcomeOf(r, 'HasUniqueTag'), results: r, listed: proxy.log.slice(before).filter((l) => l.includes('/tags/list')) };
}

describe('HasUniqueTag on a registry', { skip }, () => {
  before(async () => {
    reg = await startTestRegistry();
    proxy = await startProxy(reg.url);
    host = proxy.host;
    work = await mkdtemp(join(tmpdir(), 'berth-certify-tags-'));
    ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
    const t = testTransport();
    await pushWith(t, layout.ref('good'), `docker://${host}/team/only-latest:latest`);
    await pushWith(t, layout.ref('good'), `docker://${host}/team/versioned:latest`);
    await pushWith(t, layout.ref('good'), `docker://${host}/team/versioned:1.0`);
    const res = await fetch(`${reg.url}/v2/team/versioned/manifests/1.0`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    digest = res.headers.get('docker-content-digest')!;
    assert.match(digest, /^sha256:/);
    // The same image by digest only in a repository that has no tag at all.
    await pushWith(t, layout.ref('good'), `docker://${host}/team/untagged@${digest}`);
    t.close();
  });
  after(async () => {
    await proxy?.close();
    await reg?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('`latest` as the only tag fails, after one tag-list request for the first page of 10', async () => {
    const u = await uniqueTag('team/only-latest:latest');
    assert.equal(u.outcome, 'failed');
    assert.deepEqual(u.listed, ['GET /v2/team/only-latest/tags/list?n=10']);
  });

  it('no tag at all means latest, judged the same way', async () => {
    assert.equal((await uniqueTag('team/only-latest')).outcome, 'failed');
  });

  it('`latest` next to a version tag passes', async () => {
    const u = await uniqueTag('team/versioned:latest');
    assert.equal(u.outcome, 'passed');
    assert.match(u.results.passedChecks.find((o) => o.check.name === 'HasUniqueTag')!.details[0]!, /first page.*1\.0, latest|first page.*latest, 1\.0/);
  });

  it('a version tag passes without listing tags', async () => {
    const u = await uniqueTag('team/versioned:1.0');
    assert.equal(u.outcome, 'passed');
    assert.deepEqual(u.listed, []);
  });

  it('a digest reference passes when the repository has tags, and errors when it has none', async () => {
    assert.equal((await uniqueTag(`team/versioned@${digest}`)).outcome, 'passed');
    const u = await uniqueTag(`team/untagged@${digest}`);
    assert.equal(u.outcome, 'errors');
    const err = u.results.errors[0]!;
    assert.ok(isCertifyError(err.error, 'TAG_UNKNOWN'));
    assert.equal(err.details[0], `no tags found for ${host}/team/untagged: cannot assert tag from digest`);
  });
});
