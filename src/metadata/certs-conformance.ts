import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { digestOf, type Digest } from '../content/digest.js';
import type { MetadataStore } from './store.js';
import type { CertStore, NewCertResult } from './certs.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/**
 * The shared suite every `CertStore` must pass: settings and the re-queue a policy change makes, the job queue
 * a push fills (new tags and moved tags, not artifacts, not a re-push of the same manifest), leases with
 * generations, results, publications and the catalog (only tags that still point at what was published),
 * auto-publish candidates, and pruning.
 */
export function describeCertStore(name: string, factory: () => Promise<MetadataStore>, opts: { skip?: string | false } = {}): void {
  describe(`CertStore conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let store: MetadataStore;
    let c: CertStore;
    beforeEach(async () => {
      store = await factory();
      c = store.certs;
    });
    afterEach(async () => {
      await store.close();
    });

    /** Pushes an image manifest (config + one layer) into `repo` with `tags`, as the registry stores it. */
    const pushImage = async (repo: string, tags: string[], o: { artifactType?: string; now?: Date } = {}): Promise<Digest> => {
      const seed = randomBytes(8).toString('hex');
      const config = digestOf(`config ${seed}`);
      const layer = digestOf(`layer ${seed}`);
      await store.linkBlob(repo, config, 10);
      await store.linkBlob(repo, layer, 10);
      const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, seed }));
      const digest = digestOf(content);
      await store.putManifest({ repo, digest, mediaType: OCI_MANIFEST, content, artifactType: o.artifactType ?? OCI_CONFIG, blobs: [config, layer], children: [], tags, ...(o.now ? { now: o.now } : {}) });
      return digest;
    };

    const result = (repo: string, digest: string, passed: boolean, extra: Partial<NewCertResult> = {}): NewCertResult => ({
      repo,
      digest,
      mediaType: OCI_MANIFEST,
      tag: '1.0',
      policy: 'container',
      status: 'done',
      passed,
      platforms: JSON.stringify([{ platform: 'linux/amd64', passed }]),
      labels: JSON.stringify({ name: 'app' }),
      ...extra,
    });

    const jobsOf = async (repo: string) => (await c.listCertJobs()).filter((j) => j.repo === repo).map((j) => [j.tag, j.generation]);

    describe('settings', () => {
      it('has the defaults until set; keeps fields left out; a policy change re-queues every tag', async () => {
        const repo = unique('team/app');
        assert.deepEqual(await c.getCertSettings(repo), { repo, policy: 'container', autoPublish: false });
        await pushImage(repo, ['1.0', '2.0']);
        const [a, b] = await c.claimCertJobs({ owner: 'n', limit: 10, leaseMs: 60_000 });
        for (const j of [a!, b!]) assert.equal(await c.completeCertJob(j, 'n'), true);
        assert.deepEqual(await jobsOf(repo), []);

        const at = new Date('2026-03-04T05:06:07.008Z');
        const first = await c.putCertSettings({ repo, autoPublish: true, by: 'alice', now: at });
        assert.deepEqual(first, { settings: { repo, policy: 'container', autoPublish: true, updatedBy: 'alice', updatedAt: at }, queued: 0 });
        assert.deepEqual(await jobsOf(repo), [], 'auto-publish alone certifies nothing again');
        const second = await c.putCertSettings({ repo, policy: 'root', by: 'bob', now: at });
        assert.equal(second.queued, 2);
        assert.deepEqual(await c.getCertSettings(repo), { repo, policy: 'root', autoPublish: true, updatedBy: 'bob', updatedAt: at });
        assert.deepEqual((await jobsOf(repo)).map(([t]) => t).sort(), ['1.0', '2.0']);
      });
    });

    describe('jobs', () => {
      it('a push queues each new tag; a moved tag is queued again with a higher generation; a re-push of the same manifest is not', async () => {
        const repo = unique('team/app');
        const d1 = await pushImage(repo, ['1.0', 'latest']);
        assert.deepEqual((await jobsOf(repo)).sort(), [['1.0', 1], ['latest', 1]]);
        const job = (await c.listCertJobs()).find((j) => j.repo === repo && j.tag === '1.0')!;
        assert.equal(job.attempts, 0);
        assert.equal(job.leaseOwner, undefined);
        // The same manifest again under the same tag: nothing moved.
        const rec = await store.getManifest(repo, d1 as Digest);
        await store.putManifest({ repo, digest: d1 as Digest, mediaType: OCI_MANIFEST, content: rec!.content, artifactType: OCI_CONFIG, blobs: [], children: [], tags: ['1.0'] });
        assert.deepEqual((await jobsOf(repo)).sort(), [['1.0', 1], ['latest', 1]]);
        await pushImage(repo, ['latest']);
        assert.deepEqual((await jobsOf(repo)).sort(), [['1.0', 1], ['latest', 2]]);
      });

      it('artifacts (a signature manifest) are not queued; an index is', async () => {
        const repo = unique('team/app');
        await pushImage(repo, ['sha256-abc.sig'], { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' });
        assert.deepEqual(await jobsOf(repo), []);
        const child = await pushImage(repo, []);
        const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ digest: child }] }));
        await store.putManifest({ repo, digest: digestOf(content), mediaType: OCI_INDEX, content, blobs: [], children: [child], tags: ['multi'] });
        assert.deepEqual(await jobsOf(repo), [['multi', 1]]);
        assert.equal(await c.enqueueCertification({ repo, tag: 'multi' }), true);
        assert.deepEqual(await jobsOf(repo), [['multi', 2]]);
        assert.equal(await c.enqueueCertification({ repo, tag: 'nope' }), false, 'no such tag');
        assert.equal(await c.enqueueCertification({ repo, tag: 'sha256-abc.sig' }), false, 'an artifact is not certified on request either');
        assert.equal((await c.putCertSettings({ repo, policy: 'root' })).queued, 1, 'nor when the policy changes');
        assert.deepEqual(await jobsOf(repo), [['multi', 3]]);
      });

      it('concurrent claimers never get the same job; leases expire; only the holder completes or retries', async () => {
        const repo = unique('team/app');
        const tags = ['a', 'b', 'c', 'd', 'e'];
        await pushImage(repo, tags);
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => c.claimCertJobs({ owner: `node-${i}`, limit: 1, leaseMs: 60_000 })));
        const got = claims.flat().filter((j) => j.repo === repo);
        assert.deepEqual(got.map((j) => j.tag).sort(), tags, 'every job exactly once');
        assert.ok(got.every((j) => j.attempts === 1 && j.leaseOwner?.startsWith('node-')));
        assert.deepEqual(await c.claimCertJobs({ owner: 'late', limit: 10, leaseMs: 60_000 }), []);

        const first = got[0]!;
        const later = new Date(Date.now() + 120_000);
        const retaken = await c.claimCertJobs({ owner: 'taker', limit: 10, leaseMs: 60_000, now: later });
        assert.equal(retaken.length, 5, 'expired leases are taken over');
        assert.equal(retaken.find((j) => j.tag === first.tag)!.attempts, 2);
        assert.equal(await c.completeCertJob(first, first.leaseOwner!, result(repo, 'sha256:x', true)), false, 'the old holder lost it');
        assert.equal(await c.getCertResult(repo, 'sha256:x'), undefined, 'and wrote nothing');
        assert.equal(await c.renewCertJob(first, first.leaseOwner!, 60_000), false);
        assert.equal(await c.renewCertJob(first, 'taker', 60_000, later), true);

        const failing = retaken.find((j) => j.tag === 'b')!;
        const notBefore = new Date(later.getTime() + 30_000);
        assert.equal(await c.retryCertJob(failing, 'someone-else', { error: 'x', notBefore }), false);
        assert.equal(await c.retryCertJob(failing, 'taker', { error: 'registry storage unavailable', notBefore }), true);
        const listed = (await c.listCertJobs()).find((j) => j.repo === repo && j.tag === 'b')!;
        assert.equal(listed.lastError, 'registry storage unavailable');
        assert.equal(listed.leaseOwner, undefined);
        assert.deepEqual(listed.notBefore, notBefore);
        assert.deepEqual((await c.claimCertJobs({ owner: 'again', limit: 10, leaseMs: 1000, now: later })).filter((j) => j.repo === repo), [], 'not due yet');
      });

      it('completing writes the result and ends the job; a job re-queued meanwhile stays for the next claim', async () => {
        const repo = unique('team/app');
        const d1 = await pushImage(repo, ['1.0']);
        const [job] = await c.claimCertJobs({ owner: 'n', limit: 1, leaseMs: 60_000 });
        assert.equal(job!.generation, 1);
        // A push moves the tag while the certification runs.
        await pushImage(repo, ['1.0']);
        assert.equal(await c.completeCertJob(job!, 'n', result(repo, d1, true)), true);
        assert.equal((await c.getCertResult(repo, d1))?.passed, true, 'the result of what was certified is kept');
        const [again] = await c.claimCertJobs({ owner: 'm', limit: 1, leaseMs: 60_000 });
        assert.equal(again?.tag, '1.0');
        assert.equal(again?.generation, 2);
        assert.equal(again?.attempts, 1);
        assert.equal(await c.completeCertJob(again!, 'm'), true);
        assert.deepEqual(await jobsOf(repo), []);
      });
    });

    describe('results', () => {
      it('stores, replaces and summarises results per repository and digest', async () => {
        const repo = unique('team/app');
        const at = new Date('2026-05-06T07:08:09.010Z');
        const r = result(repo, 'sha256:aaa', false, { now: at });
        await c.putCertResult(r);
        const { now: _now, ...stored } = r;
        assert.deepEqual(await c.getCertResult(repo, 'sha256:aaa'), { ...stored, certifiedAt: at });
        assert.equal(await c.getCertResult(`${repo}-other`, 'sha256:aaa'), undefined, 'results are per repository');
        await c.putCertResult(result(repo, 'sha256:aaa', true, { policy: 'root', now: at }));
        await c.putCertResult(result(repo, 'sha256:bbb', false, { status: 'error', tag: undefined, error: { code: 'MANIFEST_UNKNOWN', message: 'gone' }, now: at }));
        const err = await c.getCertResult(repo, 'sha256:bbb');
        assert.deepEqual(err?.error, { code: 'MANIFEST_UNKNOWN', message: 'gone' });
        assert.equal(err?.tag, undefined);
        const sums = await c.getCertSummaries(repo, ['sha256:aaa', 'sha256:bbb', 'sha256:ccc']);
        assert.deepEqual([...sums.keys()].sort(), ['sha256:aaa', 'sha256:bbb']);
        assert.deepEqual(sums.get('sha256:aaa'), { policy: 'root', status: 'done', passed: true, tag: '1.0', certifiedAt: at });
        assert.equal(sums.get('sha256:bbb')?.passed, false, 'an error never passes');
      });
    });

    describe('publications and the catalog', () => {
      it('lists published tags that still point at the published manifest, in order, with paging', async () => {
        const a = unique('a/app');
        const b = unique('b/app');
        const da = await pushImage(a, ['1.0', '2.0']);
        const db = await pushImage(b, ['1.0']);
        await c.putCertResult(result(a, da, true));
        const at = new Date('2026-07-08T09:10:11.012Z');
        const pub = await c.publish({ repo: a, tag: '2.0', digest: da, by: 'alice', now: at });
        assert.deepEqual(pub, { repo: a, tag: '2.0', digest: da, published: true, automatic: false, by: 'alice', at });
        await c.publish({ repo: a, tag: '1.0', digest: da, automatic: true, now: at });
        await c.publish({ repo: b, tag: '1.0', digest: db, by: 'bob', now: at });
        const mine = (await c.listCatalog()).filter((e) => e.repo === a || e.repo === b);
        assert.deepEqual(mine.map((e) => `${e.repo}:${e.tag}`), [`${a}:1.0`, `${a}:2.0`, `${b}:1.0`]);
        assert.deepEqual(mine[0], {
          repo: a,
          tag: '1.0',
          digest: da,
          mediaType: OCI_MANIFEST,
          automatic: true,
          publishedAt: at,
          result: { policy: 'container', status: 'done', passed: true, tag: '1.0', certifiedAt: mine[0]!.result!.certifiedAt, platforms: JSON.stringify([{ platform: 'linux/amd64', passed: true }]), labels: JSON.stringify({ name: 'app' }) },
        });
        assert.equal(mine[2]!.result, undefined, 'no result stored for b');
        const page = await c.listCatalog({ n: 1, after: { repo: a, tag: '1.0' } });
        assert.deepEqual(page.map((e) => `${e.repo}:${e.tag}`), [`${a}:2.0`]);

        // Moving the tag takes it out of the catalog; unpublishing does too, and keeps the record.
        await pushImage(a, ['2.0']);
        assert.deepEqual((await c.listCatalog()).filter((e) => e.repo === a).map((e) => e.tag), ['1.0']);
        assert.equal(await c.unpublish({ repo: a, tag: '1.0', by: 'carol', now: at }), true);
        assert.equal(await c.unpublish({ repo: a, tag: '1.0', by: 'carol' }), false, 'already withdrawn');
        assert.deepEqual((await c.listCatalog()).filter((e) => e.repo === a), []);
        assert.deepEqual(await c.getPublication(a, '1.0'), { repo: a, tag: '1.0', digest: da, published: false, automatic: false, by: 'carol', at });
        assert.deepEqual((await c.listPublications(a)).map((p) => [p.tag, p.published]), [['1.0', false], ['2.0', true]]);
        assert.equal(await c.getPublication(a, '3.0'), undefined);
      });

      it('auto-publish candidates: passing under the current policy, in auto-publish repositories, never published or withdrawn as that manifest', async () => {
        const repo = unique('team/app');
        const manual = unique('team/manual');
        const d1 = await pushImage(repo, ['1.0', '1.1']);
        const failing = await pushImage(repo, ['bad']);
        const dm = await pushImage(manual, ['1.0']);
        await c.putCertResult(result(repo, d1, true));
        await c.putCertResult(result(repo, failing, false));
        await c.putCertResult(result(manual, dm, true));
        const mine = async () => (await c.listAutoPublishCandidates({ limit: 100 })).filter((x) => x.repo === repo || x.repo === manual);
        assert.deepEqual(await mine(), [], 'auto-publish is off by default');
        await c.putCertSettings({ repo, autoPublish: true });
        assert.deepEqual(await mine(), [
          { repo, tag: '1.0', digest: d1 },
          { repo, tag: '1.1', digest: d1 },
        ]);
        assert.deepEqual(await c.listAutoPublishCandidates({ limit: 1, after: { repo, tag: '1.0' } }), [{ repo, tag: '1.1', digest: d1 }]);
        await c.publish({ repo, tag: '1.0', digest: d1, automatic: true });
        await c.publish({ repo, tag: '1.1', digest: d1, automatic: true });
        await c.unpublish({ repo, tag: '1.1', by: 'admin' });
        assert.deepEqual(await mine(), [], 'published, or withdrawn by hand');
        assert.equal(await c.publish({ repo, tag: '1.1', digest: d1, automatic: true }), undefined, 'auto-publish does not undo a withdrawal');
        assert.equal((await c.getPublication(repo, '1.1'))?.published, false);
        assert.equal((await c.publish({ repo, tag: '1.1', digest: d1, by: 'admin' }))?.published, true, 'publishing by hand does');
        await c.unpublish({ repo, tag: '1.1', by: 'admin' });
        // A new manifest under the withdrawn tag is a candidate once it passes.
        const d2 = await pushImage(repo, ['1.1']);
        await c.putCertResult(result(repo, d2, true));
        assert.deepEqual(await mine(), [{ repo, tag: '1.1', digest: d2 }]);
        // Under another policy the old results do not count.
        await c.putCertSettings({ repo, policy: 'root' });
        assert.deepEqual(await mine(), []);
      });
    });

    describe('pruning', () => {
      it('removes results of deleted manifests, publications of deleted tags and jobs of deleted tags', async () => {
        const repo = unique('team/app');
        const keep = await pushImage(repo, ['keep']);
        const gone = await pushImage(repo, ['gone']);
        await c.putCertResult(result(repo, keep, true));
        await c.putCertResult(result(repo, gone, true));
        await c.publish({ repo, tag: 'keep', digest: keep });
        await c.publish({ repo, tag: 'gone', digest: gone });
        assert.equal(await store.deleteManifest(repo, gone as Digest), true);
        const pruned = await c.pruneCerts();
        assert.deepEqual(pruned, { results: 1, publications: 1, jobs: 1 });
        assert.equal(await c.getCertResult(repo, gone), undefined);
        assert.ok(await c.getCertResult(repo, keep));
        assert.deepEqual((await c.listPublications(repo)).map((p) => p.tag), ['keep']);
        assert.deepEqual((await jobsOf(repo)).map(([t]) => t), ['keep']);
        assert.deepEqual(await c.pruneCerts(), { results: 0, publications: 0, jobs: 0 });
      });
    });
  });
}

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
