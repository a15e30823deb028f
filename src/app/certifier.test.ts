// Certification in the registry, end to end, on SQLite and again on PostgreSQL: images built with umoci and
// rpm are pushed over HTTP; the push queues their certification; the certifier certifies them from the
// registry's storage and the API serves the result (preflight's results.json per platform, and the reasons of
// a failure); auto-publish waits for the scanner's grade and publishes only a passing image graded A or B;
// publishing a failing image by hand is refused with the reasons; unpublishing takes the image out of the
// public catalog, and auto-publish does not put it back. The CLI (`berth publish`, `berth unpublish`,
// `berth certification`) is run as a user runs it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { pushWith, testTransport } from '../client/transports/registry/test-helpers.js';
import { GOOD_LABELS, buildGoodImage, type UmociLayout } from '../certify/fixtures.js';
import { preflightShapeProblems } from '../certify/preflight-shape.js';
import { SKIP_POSTGRES, openTestPostgresStore } from '../metadata/postgres/testing.js';
import { parseAdvisoryJson } from '../scan/advisories/load.js';
import { csafDocument } from '../scan/testing/advisories.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { Certifier } from './certifier.js';
import { importAdvisories } from './scanner-data.js';
import { Scanner } from './scanner.js';

const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skipTools = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const DAY = 86_400_000;

let work: string;
let layout: UmociLayout;

before(async () => {
  if (skipTools) return;
  work = await mkdtemp(join(tmpdir(), 'berth-certifier-'));
  ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
  // The same image without /licenses: HasLicense fails, everything else passes.
  await layout.edit('good', 'no-licenses', (root) => rm(join(root, 'licenses'), { recursive: true }));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const STORES = [
  { name: 'sqlite', start: () => startTestRegistry({ auth: true }), skip: skipTools },
  { name: 'postgres', start: async () => startTestRegistry({ auth: true, store: await openTestPostgresStore() }), skip: skipTools || SKIP_POSTGRES },
];

// API answers are walked as loosely typed JSON: the assertions check their shape.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

for (const s of STORES) {
  describe(`certification in the registry: ${s.name}`, { skip: s.skip }, () => {
    let reg: TestRegistry;
    let host: string;
    let basic: string;
    let certifier: Certifier;
    let scanner: Scanner;
    const repo = 'admin/widgets';

    const api = async (method: string, path: string, opts: { body?: unknown; anonymous?: boolean } = {}): Promise<{ status: number; json: Json }> => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (!opts.anonymous) headers['authorization'] = basic;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${reg.url}/api/v1${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
      const text = await res.text();
      return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
    };

    const berth = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      const child = spawn(process.execPath, [BIN, ...args, '-r', host, '--creds', `admin:${reg.adminPassword}`, '--tls-verify=false'], {
        env: { ...process.env, HOME: work, REGISTRY_AUTH_FILE: join(work, 'auth.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
      return { code, stdout, stderr };
    };

    const catalogTags = async (anonymous = false): Promise<string[]> => {
      const { status, json } = await api('GET', '/catalog/certified', { anonymous });
      assert.equal(status, 200, JSON.stringify(json));
      return (json.images as Json[]).map((i) => `${i.repository}:${i.tag}`);
    };

    before(async () => {
      reg = await s.start();
      host = new URL(reg.url).host;
      basic = `Basic ${Buffer.from(`admin:${reg.adminPassword}`).toString('base64')}`;
      const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
      certifier = new Certifier(reg.deps, log, { owner: 'test-node' });
      scanner = new Scanner(reg.deps, { concurrency: 1 });
      const t = testTransport({ credentials: { username: 'admin', password: reg.adminPassword! } });
      await pushWith(t, layout.ref('good'), `docker://${host}/${repo}:1.0`);
      await pushWith(t, layout.ref('no-licenses'), `docker://${host}/${repo}:2.0-bad`);
      t.close();
    });
    after(async () => {
      await certifier?.stop();
      await scanner?.stop();
      await reg?.close();
    });

    it('a push queues the certification of each tag; the result is pending until the certifier ran', async () => {
      assert.deepEqual((await reg.deps.store.certs.listCertJobs()).map((j) => `${j.repo}:${j.tag}`).sort(), [`${repo}:1.0`, `${repo}:2.0-bad`]);
      const { status, json } = await api('GET', `/repositories/${repo}/certification/1.0`);
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.status, 'pending');
      assert.equal(json.passed, false);
      assert.equal(json.result, undefined);
      const bad = await api('PUT', `/repositories/${repo}/publications/1.0`);
      assert.equal(bad.status, 409, 'nothing is published before it is certified');
      assert.match(bad.json.error.message, /not certified under the policy container yet/);
    });

    it('turning auto-publish on is for repository admins, and is recorded', async () => {
      const anon = await api('PATCH', `/repositories/${repo}/certification`, { body: { autoPublish: true }, anonymous: true });
      assert.equal(anon.status, 401);
      const wrong = await api('PATCH', `/repositories/${repo}/certification`, { body: { policy: 'nonsense' } });
      assert.equal(wrong.status, 400);
      const { status, json } = await api('PATCH', `/repositories/${repo}/certification`, { body: { autoPublish: true } });
      assert.equal(status, 200, JSON.stringify(json));
      assert.deepEqual({ policy: json.policy, autoPublish: json.autoPublish, updatedBy: json.updatedBy, queued: json.queued }, { policy: 'container', autoPublish: true, updatedBy: 'admin', queued: 0 });
    });

    it('the certifier certifies each tag from storage; the API serves preflight results per platform and the reasons of a failure', async () => {
      const pass = await certifier.runOnce();
      assert.equal(pass.certified, 2);
      assert.equal(pass.published, 0, 'passed, but there is no grade yet');
      assert.deepEqual(await reg.deps.store.certs.listCertJobs(), []);

      const good = await api('GET', `/repositories/${repo}/certification/1.0`);
      assert.equal(good.status, 200);
      assert.equal(good.json.status, 'passed', JSON.stringify(good.json.result?.reasons));
      assert.equal(good.json.result.policy, 'container');
      assert.equal(good.json.result.certifiedAs, '1.0');
      assert.deepEqual(good.json.result.reasons, []);
      assert.deepEqual(good.json.result.labels, GOOD_LABELS);
      assert.equal(good.json.grade.status, 'pending', 'not scanned yet');
      const [platform] = good.json.result.platforms as Json[];
      assert.equal(platform!.platform, 'linux/amd64');
      assert.deepEqual(preflightShapeProblems(platform!.results), []);
      assert.equal(platform!.results.image, `${repo}:1.0`);
      assert.equal((platform!.results.results.passed as Json[]).length, 10);
      // The same result by digest.
      const byDigest = await api('GET', `/repositories/${repo}/certification/${good.json.digest}`);
      assert.equal(byDigest.json.status, 'passed');

      const bad = await api('GET', `/repositories/${repo}/certification/2.0-bad`);
      assert.equal(bad.json.status, 'failed');
      assert.deepEqual(
        (bad.json.result.platforms[0].checks as Json[]).filter((c) => c.status !== 'passed').map((c) => c.name),
        ['HasLicense'],
      );
      assert.equal(bad.json.result.reasons.length, 1);
      assert.match(bad.json.result.reasons[0], /^HasLicense failed: .*\(docs\/policy\/has-license\.md\)$/);
      assert.equal(bad.json.result.platforms[0].results.results.failed[0].name, 'HasLicense');

      const overview = await api('GET', `/repositories/${repo}/certification`);
      assert.deepEqual(
        (overview.json.tags as Json[]).map((t) => [t.tag, t.status, t.publication.published]),
        [
          ['1.0', 'passed', false],
          ['2.0-bad', 'failed', false],
        ],
      );
    });

    it('auto-publish waits for the grade: not with D, yes with A; never the failing image', async () => {
      const scans = reg.deps.store.scans;
      // An Important erratum for the base image's rh-base 1.0-1.el9, released 100 days ago: grade D.
      const rhsa = csafDocument({ id: 'RHSA-2026:7001', severity: 'Important', released: new Date(Date.now() - 100 * DAY).toISOString(), cves: ['CVE-2026-7001'], cpe: 'cpe:/a:redhat:enterprise_linux:9::appstream', fixed: [{ name: 'rh-base', evr: '1.0-2.el9', arch: 'noarch' }] });
      await importAdvisories(scans, parseAdvisoryJson(rhsa, 'rhsa'), { source: 'test-rhsa' });
      await scanner.drain();
      const good = await api('GET', `/repositories/${repo}/certification/1.0`);
      assert.deepEqual({ ...good.json.grade, nextDropDate: undefined }, { status: 'done', grade: 'D', nextDropDate: undefined });
      assert.match(good.json.grade.nextDropDate, /^\d{4}-\d{2}-\d{2}$/, 'D drops to F when the erratum is a year old');
      assert.equal((await certifier.runOnce()).published, 0, 'passed, but graded D');
      assert.deepEqual(await catalogTags(), []);

      // The erratum is withdrawn from the feed; the stored inventory is matched again: grade A.
      await importAdvisories(scans, [], { source: 'test-rhsa', complete: true });
      await scanner.rematch();
      assert.equal((await api('GET', `/repositories/${repo}/certification/1.0`)).json.grade.grade, 'A');
      assert.equal((await certifier.runOnce()).published, 1);
      assert.deepEqual(await catalogTags(), [`${repo}:1.0`], 'the failing image is not published, whatever its grade');
      const entry = (await api('GET', '/catalog/certified')).json.images[0] as Json;
      assert.deepEqual(
        { grade: entry.grade, certification: { passed: entry.certification.passed, policy: entry.certification.policy }, labels: entry.labels, platforms: entry.platforms.map((p: Json) => p.platform), automatic: entry.automatic },
        { grade: { status: 'done', grade: 'A' }, certification: { passed: true, policy: 'container' }, labels: GOOD_LABELS, platforms: ['linux/amd64'], automatic: true },
      );
    });

    it('the catalog is public, but shows a private repository only to those who may pull it', async () => {
      assert.deepEqual(await catalogTags(true), [], 'the repository is private');
      const vis = await api('PATCH', `/repositories/${repo}`, { body: { visibility: 'public' } });
      assert.equal(vis.status, 200, JSON.stringify(vis.json));
      assert.deepEqual(await catalogTags(true), [`${repo}:1.0`]);
    });

    it('publishing a failing image is refused with the reasons; unpublishing takes an image out of the catalog for good', async () => {
      const refused = await api('PUT', `/repositories/${repo}/publications/2.0-bad`);
      assert.equal(refused.status, 409);
      assert.match(refused.json.error.message, /did not pass certification under the policy container/);
      assert.match(refused.json.error.message, /HasLicense failed: .*docs\/policy\/has-license\.md/);
      const anon = await api('DELETE', `/repositories/${repo}/publications/1.0`, { anonymous: true });
      assert.equal(anon.status, 401);

      const gone = await api('DELETE', `/repositories/${repo}/publications/1.0`);
      assert.equal(gone.status, 204);
      assert.deepEqual(await catalogTags(true), []);
      assert.deepEqual(await catalogTags(), []);
      assert.equal((await api('DELETE', `/repositories/${repo}/publications/1.0`)).status, 404, 'not published any more');
      assert.equal((await certifier.runOnce()).published, 0, 'auto-publish does not undo an unpublish');
      const pubs = await api('GET', `/repositories/${repo}/publications`);
      assert.deepEqual((pubs.json.publications as Json[]).map((p) => [p.tag, p.published, p.by]), [['1.0', false, 'admin']]);
    });

    it('berth publish / unpublish / certification, as a user runs them', async () => {
      const refused = await berth(['publish', `${repo}:2.0-bad`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /409 CONFLICT: .*did not pass certification/);
      assert.match(refused.stderr, /HasLicense failed/);

      const published = await berth(['publish', `${repo}:1.0`]);
      assert.equal(published.code, 0, published.stderr);
      assert.match(published.stdout, new RegExp(`^Published ${repo}:1\\.0 \\(sha256:[0-9a-f]{64}, grade A\\)\\.\\n$`));
      assert.deepEqual(await catalogTags(true), [`${repo}:1.0`]);

      const listed = await berth(['certification', 'catalog', '--format', 'json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual((JSON.parse(listed.stdout) as Json).images.map((i: Json) => i.tag), ['1.0']);
      const shown = await berth(['certification', 'show', `${repo}:2.0-bad`]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /certification:\s+failed/);
      assert.match(shown.stdout, /- HasLicense failed: .*docs\/policy\/has-license\.md/);
      const settings = await berth(['certification', 'settings', repo]);
      assert.match(settings.stdout, /auto-publish: yes/);
      assert.match(settings.stdout, /^1\.0\s+sha256:\S+\s+passed\s+A\s+yes$/m);

      const unpublished = await berth(['unpublish', `${repo}:1.0`]);
      assert.equal(unpublished.code, 0, unpublished.stderr);
      assert.equal(unpublished.stdout, `Unpublished ${repo}:1.0.\n`);
      assert.deepEqual(await catalogTags(true), []);
    });

    it('a new policy certifies every tag again; results under the old policy do not count', async () => {
      const changed = await berth(['certification', 'settings', repo, '--policy', 'scratch-root', '--format', 'json']);
      assert.equal(changed.code, 0, changed.stderr);
      assert.deepEqual(JSON.parse(changed.stdout).queued, 2);
      assert.equal((await api('GET', `/repositories/${repo}/certification/2.0-bad`)).json.status, 'pending');
      await certifier.runOnce();
      const bad = await api('GET', `/repositories/${repo}/certification/2.0-bad`);
      assert.equal(bad.json.status, 'failed', 'HasLicense is in every policy');
      assert.equal(bad.json.result.policy, 'scratch-root');
      assert.equal((bad.json.result.platforms[0].results.results.passed as Json[]).length + 1, 6, 'six checks in scratch-root');
    });
  });
}
