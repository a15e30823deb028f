// GET /api/v1/repositories/{repo}/manifests/{digest}/security: findings, grade and next drop date of a scanned
// image and the roll-up of an index; `queued` before the scan; a private repository the caller cannot read,
// and a digest the repository does not hold, answer 404 like a missing repository.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../auth/access.js';
import { realIndex } from '../../client/fixtures.js';
import { Scanner } from '../../app/scanner.js';
import { importAdvisories } from '../../app/scanner-data.js';
import { parseAdvisoryJson } from '../../scan/advisories/load.js';
import { osvRecord } from '../../scan/testing/advisories.js';
import { file, imageOf } from '../../scan/testing/images.js';
import type { FixtureImage } from '../../client/fixtures.js';
import { pushBlob, pushManifest } from '../../testing/fixtures.js';
import { startTestRegistry, type TestRegistry } from '../../testing/registry.js';
import type { Context } from '../context.js';
import { ApiError } from './errors.js';
import { getManifestSecurity, SECURITY_ROUTE } from './security.js';

const DAY = 86_400_000;
const OS = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n';
const status = (version: string) => `Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: ${version}\nDescription: x\n`;

let reg: TestRegistry;
let admin: Record<string, string>;
const amd = imageOf([[file('etc/os-release', OS), file('var/lib/dpkg/status', status('3.0.11-1~deb12u1'))]]);
const arm = imageOf([[file('etc/os-release', OS), file('var/lib/dpkg/status', status('3.0.11-1~deb12u2'))]], { os: 'linux', architecture: 'arm64' });
const index = realIndex([amd, arm]);

async function push(repo: string, img: FixtureImage): Promise<void> {
  for (const b of [img.config, ...img.layers]) await pushBlob(reg.url, repo, b, admin);
  await pushManifest(reg.url, repo, img.digest, img.manifest, img.mediaType, admin);
}

const USER: Principal = { kind: 'user', name: 'outsider', superuser: false };
const SUPER: Principal = { kind: 'user', name: 'admin', superuser: true };

function call(principal: Principal, repo: string, digest: string) {
  const ctx = { deps: reg.deps } as unknown as Context;
  return getManifestSecurity({ ctx, auth: reg.auth!, principal, params: { repo, digest }, query: new URLSearchParams() });
}

const notFound = (err: unknown) => err instanceof ApiError && err.code === 'NOT_FOUND';

before(async () => {
  reg = await startTestRegistry({ auth: true });
  admin = { authorization: `Basic ${Buffer.from(`admin:${reg.adminPassword!}`).toString('base64')}` };
  await reg.auth!.accounts.createUser({ name: 'outsider', passwordHash: 'not-used' });
  await reg.auth!.accounts.createUser({ name: 'acme', passwordHash: 'not-used' });
  await reg.auth!.accounts.ensureRepository({ repo: 'acme/private', namespace: 'acme', visibility: 'private' });
  await reg.auth!.accounts.ensureRepository({ repo: 'acme/public', namespace: 'acme', visibility: 'public' });
  for (const repo of ['acme/private', 'acme/public']) {
    await push(repo, amd);
    await push(repo, arm);
    await pushManifest(reg.url, repo, 'v1', index.bytes, index.mediaType, admin);
  }
  await importAdvisories(
    reg.deps.store.scans,
    parseAdvisoryJson(osvRecord({ id: 'DSA-7', ecosystem: 'Debian:12', name: 'openssl', fixed: '3.0.11-1~deb12u2', aliases: ['CVE-2026-7'], severity: 'high', published: new Date(Date.now() - 20 * DAY).toISOString() }), 'fixture'),
  );
});
after(() => reg.close());

describe('GET /repositories/{repo}/manifests/{digest}/security', () => {
  it('is queued before the scan', async () => {
    const res = await call(SUPER, 'acme/public', amd.digest);
    assert.deepEqual(res.body, { repository: 'acme/public', digest: amd.digest, mediaType: amd.mediaType, status: 'queued' });
  });

  it('serves findings, grade, reason and next drop date; an index lists its children', async () => {
    await new Scanner(reg.deps).drain();
    const res = await call(USER, 'acme/public', amd.digest);
    assert.equal(res.status, 200);
    const body = res.body as Record<string, any>;
    assert.equal(body.status, 'done');
    assert.equal(body.grade, 'B', 'an Important fix 20 days old');
    assert.match(body.reason, /DSA-7/);
    assert.match(body.nextDropDate, /^\d{4}-\d{2}-\d{2}$/);
    assert.deepEqual(body.os, { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', ecosystem: 'Debian:12' });
    assert.equal(body.packageCount, 1);
    assert.deepEqual(body.summary, { critical: 0, important: 1, moderate: 0, low: 0, unknown: 0, total: 1, fixable: 1 });
    assert.deepEqual(body.findings.map((f: any) => [f.advisory, f.cves, f.package.name, f.package.version, f.fixedVersion, f.severity]), [['DSA-7', ['CVE-2026-7'], 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'Important']]);

    const idx = (await call(USER, 'acme/public', index.digest)).body as Record<string, any>;
    assert.equal(idx.kind, 'index');
    assert.equal(idx.grade, 'B', 'the worst child');
    assert.deepEqual(
      idx.manifests.map((m: any) => [m.platform, m.grade]).sort(),
      [['linux/amd64', 'B'], ['linux/arm64', 'A']],
    );
  });

  it('a private repository the caller cannot read, and a digest the repository lacks, are 404', async () => {
    await assert.rejects(call(USER, 'acme/private', amd.digest), notFound);
    await assert.rejects(call({ kind: 'anonymous' }, 'acme/private', amd.digest), notFound);
    assert.equal((await call(SUPER, 'acme/private', amd.digest)).status, 200);
    await assert.rejects(call(SUPER, 'acme/public', 'sha256:' + '0'.repeat(64)), notFound);
    await assert.rejects(call(SUPER, 'acme/nothing', amd.digest), notFound);
    await assert.rejects(call(SUPER, 'acme/public', 'not-a-digest'), (e: unknown) => (e as { code?: string }).code !== undefined);
  });

  it('is served by the API router over HTTP', async () => {
    const res = await fetch(`${reg.url}/api/v1/repositories/acme/public/manifests/${amd.digest}/security`, { headers: admin });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { grade: string }).grade, 'B');
    const anon = await fetch(`${reg.url}/api/v1/repositories/acme/public/manifests/${amd.digest}/security`);
    assert.equal(anon.status, 401);
    await anon.arrayBuffer();
  });

  it('shows the grade on the repository’s tag listing (an index: its worst child)', async () => {
    const res = await fetch(`${reg.url}/api/v1/repositories/acme/public/tags`, { headers: admin });
    assert.equal(res.status, 200);
    const [tag] = ((await res.json()) as { tags: Array<{ name: string; digest: string; security: { status: string; grade?: string; nextDropDate?: string } }> }).tags;
    assert.equal(tag?.name, 'v1');
    assert.equal(tag?.digest, index.digest);
    assert.equal(tag?.security.status, 'done');
    assert.equal(tag?.security.grade, 'B');
    assert.match(tag?.security.nextDropDate ?? '', /^\d{4}-\d{2}-\d{2}$/);
  });

  it('exports its route entry', () => {
    assert.equal(SECURITY_ROUTE.path, '/repositories/{repo}/manifests/{digest}/security');
    assert.equal(SECURITY_ROUTE.methods.GET?.handler, getManifestSecurity);
  });
});
