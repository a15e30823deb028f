import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { digestOf, type Digest } from '../content/digest.js';
import type { MetadataStore } from './store.js';
import type { AdvisoryRecord, InventoryMatch, ScanStore } from './scans.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/**
 * The shared suite every `ScanStore` must pass: advisory import semantics (added, changed, unchanged,
 * withdrawn, complete snapshots, across chunks), lookups by family and name, the per-layer extract cache,
 * inventories and their rematch leases, results, and the job queue: a push queues a scan, and concurrent
 * claimers never hold the same job.
 */
export function describeScanStore(name: string, factory: () => Promise<MetadataStore>, opts: { skip?: string | false } = {}): void {
  describe(`ScanStore conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let store: MetadataStore;
    let s: ScanStore;
    beforeEach(async () => {
      store = await factory();
      s = store.scans;
    });
    afterEach(async () => {
      await store.close();
    });

    const adv = (id: string, keys: Array<[string, string]>, fingerprint = '1', withdrawn = false): AdvisoryRecord => ({
      id,
      keys: keys.map(([family, name]) => ({ family, name })),
      fingerprint,
      document: JSON.stringify({ id, fingerprint }),
      ...(withdrawn ? { withdrawn } : {}),
    });

    /** Pushes an image manifest (config + one layer) into `repo`, as the registry would store it. */
    const pushImage = async (repo: string, opts: { artifactType?: string; seed?: string } = {}): Promise<{ digest: Digest; layer: Digest }> => {
      const seed = opts.seed ?? randomBytes(8).toString('hex');
      const config = digestOf(`config ${seed}`);
      const layer = digestOf(`layer ${seed}`);
      await store.linkBlob(repo, config, 10);
      await store.linkBlob(repo, layer, 10);
      const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, seed, config, layer }));
      const digest = digestOf(content);
      await store.putManifest({ repo, digest, mediaType: OCI_MANIFEST, content, artifactType: opts.artifactType ?? OCI_CONFIG, blobs: [config, layer], children: [] });
      return { digest, layer };
    };

    const match = (revision: number, grade: InventoryMatch['grade'] = 'A', nextDropAt?: Date): InventoryMatch => ({
      findings: JSON.stringify([{ advisory: `X-${revision}` }]),
      findingCount: 1,
      health: JSON.stringify({ grade }),
      grade,
      revision,
      ...(nextDropAt ? { nextDropAt } : {}),
    });

    describe('advisories', () => {
      it('imports, reports added/changed/unchanged/removed, and a repeat changes nothing', async () => {
        const r0 = await s.advisoryRevision();
        const first = await s.importAdvisories([adv('A-1', [['Debian', 'openssl']]), adv('A-2', [['Debian', 'curl'], ['Debian', 'openssl']]), adv('A-3', [['Alpine', 'musl']])], { chunkSize: 2 });
        assert.deepEqual([first.added.sort(), first.changed, first.removed, first.unchanged], [['A-1', 'A-2', 'A-3'], [], [], 0]);
        assert.equal(first.revision, r0 + 1);
        assert.equal(await s.countAdvisories(), 3);

        const again = await s.importAdvisories([adv('A-1', [['Debian', 'openssl']]), adv('A-2', [['Debian', 'curl'], ['Debian', 'openssl']]), adv('A-3', [['Alpine', 'musl']])], { chunkSize: 2 });
        assert.deepEqual([again.added, again.changed, again.removed, again.unchanged, again.revision], [[], [], [], 3, r0 + 1], 'idempotent, revision unchanged');

        const next = await s.importAdvisories([adv('A-1', [['Debian', 'openssl3']], '2'), adv('A-3', [], '1', true), adv('A-9', [], '1', true)]);
        assert.deepEqual([next.added, next.changed, next.removed, next.unchanged, next.revision], [[], ['A-1'], ['A-3'], 0, r0 + 2]);
        assert.deepEqual((await s.lookupAdvisories('Debian', 'openssl')).map((a) => a.id), ['A-2'], 'the changed advisory left its old keys');
        assert.deepEqual((await s.lookupAdvisories('Debian', 'openssl3')).map((a) => a.id), ['A-1']);
        assert.equal(JSON.parse((await s.getAdvisory('A-1'))!.document).fingerprint, '2');
        assert.equal(await s.getAdvisory('A-3'), undefined);
        assert.deepEqual(await s.lookupAdvisories('Alpine', 'musl'), []);
      });

      it('looks up by family and name, one name or many at once', async () => {
        await s.importAdvisories([adv('D-1', [['Debian', 'openssl']]), adv('D-2', [['Debian', 'openssl'], ['Ubuntu', 'openssl']]), adv('R-1', [['Red Hat', 'openssl']])]);
        assert.deepEqual((await s.lookupAdvisories('Debian', 'openssl')).map((a) => a.id), ['D-1', 'D-2']);
        assert.deepEqual((await s.lookupAdvisories('Red Hat', 'openssl')).map((a) => a.id), ['R-1']);
        assert.deepEqual(await s.lookupAdvisories('Debian', 'missing'), []);
        const many = await s.lookupAdvisoriesMany('Debian', ['openssl', 'zlib', 'openssl']);
        assert.deepEqual([...many.keys()].sort(), ['openssl', 'zlib']);
        assert.deepEqual(many.get('openssl')!.map((a) => a.id), ['D-1', 'D-2']);
        assert.deepEqual(many.get('zlib'), []);
        assert.equal((await s.lookupAdvisoriesMany('Debian', [])).size, 0);
      });

      it('a complete import removes what its source no longer has, and only that source', async () => {
        await s.importAdvisories([adv('S-1', [['Debian', 'a']]), adv('S-2', [['Debian', 'b']])], { source: 'feed-a' });
        await s.importAdvisories([adv('T-1', [['Debian', 'a']])], { source: 'feed-b' });
        const r = await s.importAdvisories([adv('S-2', [['Debian', 'b']])], { source: 'feed-a', complete: true, chunkSize: 1 });
        assert.deepEqual([r.added, r.changed, r.removed, r.unchanged], [[], [], ['S-1'], 1]);
        assert.deepEqual((await s.lookupAdvisories('Debian', 'a')).map((a) => [a.id, a.source]), [['T-1', 'feed-b']]);
      });
    });

    describe('layer extracts and inventories', () => {
      it('caches a layer extract by digest; the first put wins', async () => {
        const bytes = randomBytes(3000);
        const d = digestOf(`layer ${randomBytes(4).toString('hex')}`);
        assert.equal(await s.getLayerExtract(d), undefined);
        await s.putLayerExtract({ digest: d, extract: bytes, extractDigest: digestOf(bytes) });
        await s.putLayerExtract({ digest: d, extract: Buffer.from('other'), extractDigest: 'x' });
        const got = await s.getLayerExtract(d);
        assert.ok(got && got.extract.equals(bytes));
        assert.equal(got.extractDigest, digestOf(bytes));
      });

      it('rematch: stale inventories are leased to one claimer, saved by the holder only, and name the images using them', async () => {
        const rev = await s.advisoryRevision();
        await s.putInventory({ key: 'inv-1', document: '{"packages":[]}', packageCount: 0, match: match(rev) });
        await s.putInventory({ key: 'inv-2', document: '{"packages":[1]}', packageCount: 1, match: match(rev) });
        const img = await pushImage('scan/rematch');
        const [job] = await s.claimScanJobs({ owner: 'n1', limit: 1, leaseMs: 60_000 });
        assert.equal(job?.digest, img.digest);
        assert.equal(await s.completeScanJob(img.digest, 'n1', { digest: img.digest, mediaType: OCI_MANIFEST, kind: 'image', status: 'done', inventoryKey: 'inv-1' }), true);
        assert.deepEqual(await s.claimRematch({ owner: 'n1', revision: rev, limit: 10, leaseMs: 60_000 }), [], 'nothing is stale yet');

        await s.importAdvisories([adv(`N-${randomBytes(3).toString('hex')}`, [['Debian', 'x']])]);
        const rev2 = await s.advisoryRevision();
        assert.deepEqual(await s.countInventories(), { total: 2, stale: 2, revision: rev2 });
        const [a, b] = await Promise.all([
          s.claimRematch({ owner: 'n1', revision: rev2, limit: 1, leaseMs: 60_000 }),
          s.claimRematch({ owner: 'n2', revision: rev2, limit: 1, leaseMs: 60_000 }),
        ]);
        const keys = [...a!, ...b!].map((i) => i.key).sort();
        assert.deepEqual(keys, ['inv-1', 'inv-2'], 'each inventory went to exactly one claimer');
        assert.deepEqual(await s.claimRematch({ owner: 'n3', revision: rev2, limit: 10, leaseMs: 60_000 }), [], 'both are leased');
        const holderOf1 = a![0]!.key === 'inv-1' ? 'n1' : 'n2';
        assert.deepEqual(await s.saveMatches('n3', [{ key: 'inv-1', match: match(rev2, 'C') }]), new Map(), 'not the holder: nothing written');
        assert.equal((await s.getInventory('inv-1'))?.match.revision, rev);
        assert.deepEqual(await s.saveMatches(holderOf1, [{ key: 'inv-1', match: match(rev2, 'C', new Date('2030-01-01T00:00:00Z')) }]), new Map([['inv-1', [img.digest]]]));
        const inv = await s.getInventory('inv-1');
        assert.equal(inv?.match.grade, 'C');
        assert.equal(inv?.match.revision, rev2);
        assert.equal(inv?.document, '{"packages":[]}');
        const res = await s.getResult(img.digest);
        assert.equal(res?.grade, 'C', 'an image result shows its inventory match');
        assert.equal(res?.findings, match(rev2).findings);
        assert.deepEqual(res?.nextDropAt, new Date('2030-01-01T00:00:00Z'));
        assert.equal(res?.packageCount, 0);

        // An expired lease is claimed again; a grade whose drop date passed is stale too.
        const later = new Date(Date.now() + 120_000);
        assert.deepEqual((await s.claimRematch({ owner: 'n3', revision: rev2, limit: 10, leaseMs: 60_000, now: later })).map((i) => i.key), ['inv-2']);
        assert.deepEqual((await s.claimRematch({ owner: 'n4', revision: rev2, limit: 10, leaseMs: 60_000, now: new Date('2029-12-31T00:00:00Z') })).map((i) => i.key), ['inv-2'], 'inv-1 is current until its drop date');
        assert.deepEqual((await s.claimRematch({ owner: 'n5', revision: rev2, limit: 10, leaseMs: 60_000, now: new Date('2030-01-02T00:00:00Z') })).map((i) => i.key), ['inv-1', 'inv-2']);
      });

      it('rematch in batches: one save writes what the owner holds and names the images of each', async () => {
        const rev = await s.advisoryRevision();
        const keys = ['b-0', 'b-1', 'b-2', 'b-3', 'b-4'];
        for (const key of keys) await s.putInventory({ key, document: `{"key":"${key}"}`, packageCount: 1, match: match(rev) });
        const imgs = [await pushImage('scan/batch'), await pushImage('scan/batch'), await pushImage('scan/batch')];
        const jobs = await s.claimScanJobs({ owner: 'n1', limit: 10, leaseMs: 60_000 });
        assert.equal(jobs.length, 3);
        // b-0 is used by two images, b-1 by one, the others by none.
        const uses: Record<string, string> = { [imgs[0]!.digest]: 'b-0', [imgs[1]!.digest]: 'b-0', [imgs[2]!.digest]: 'b-1' };
        for (const j of jobs) await s.completeScanJob(j.digest, 'n1', { digest: j.digest, mediaType: OCI_MANIFEST, kind: 'image', status: 'done', inventoryKey: uses[j.digest]! });
        await s.importAdvisories([adv(`B-${randomBytes(3).toString('hex')}`, [['Debian', 'y']])]);
        const rev2 = await s.advisoryRevision();
        const mine = await s.claimRematch({ owner: 'n1', revision: rev2, limit: 3, leaseMs: 60_000 });
        assert.equal(mine.length, 3);
        const theirs = await s.claimRematch({ owner: 'n2', revision: rev2, limit: 10, leaseMs: 60_000 });
        assert.deepEqual([...mine, ...theirs].map((i) => i.key).sort(), keys, 'every stale inventory claimed once');
        // n1 saves all five: only its three are written.
        const saved = await s.saveMatches('n1', [...keys.map((key) => ({ key, match: match(rev2, 'D') })), { key: mine[0]!.key, match: match(rev2, 'E') }]);
        assert.deepEqual([...saved.keys()].sort(), mine.map((i) => i.key).sort());
        const images = (k: string) => Object.keys(uses).filter((d) => uses[d] === k).sort();
        for (const [k, ds] of saved) assert.deepEqual(ds, images(k), `images of ${k}`);
        for (const key of keys) {
          const inv = await s.getInventory(key);
          const held = mine.some((i) => i.key === key);
          assert.equal(inv?.match.revision, held ? rev2 : rev, `${key} written only by its holder`);
          if (held) assert.equal(inv?.match.grade, key === mine[0]!.key ? 'E' : 'D', 'a key given twice keeps its last match');
          assert.equal(inv?.document, `{"key":"${key}"}`, 'the document is kept');
        }
        assert.deepEqual((await s.countInventories()).stale, 2, "n2's two are still stale");
        assert.deepEqual(await s.claimRematch({ owner: 'n3', revision: rev2, limit: 10, leaseMs: 60_000 }), [], "n2's are still leased, n1's are current");
        assert.equal((await s.saveMatches('n2', theirs.map((i) => ({ key: i.key, match: match(rev2, 'B') })))).size, 2);
        assert.deepEqual(await s.countInventories(), { total: 5, stale: 0, revision: rev2 });
        assert.deepEqual(await s.saveMatches('n2', []), new Map());
      });

      it('rematch claims take the oldest matches first, then the earliest drop dates, up to the limit', async () => {
        const rev = await s.advisoryRevision();
        await s.importAdvisories([adv(`O-${randomBytes(3).toString('hex')}`, [['Debian', 'o']])]);
        const rev2 = await s.advisoryRevision();
        await s.importAdvisories([adv(`P-${randomBytes(3).toString('hex')}`, [['Debian', 'p']])]);
        const rev3 = await s.advisoryRevision();
        const drop = (d: string) => new Date(`2030-01-0${d}T00:00:00Z`);
        await s.putInventory({ key: 'a-newer', document: '{}', packageCount: 0, match: match(rev2) });
        await s.putInventory({ key: 'z-older', document: '{}', packageCount: 0, match: match(rev) });
        await s.putInventory({ key: 'c-drops-late', document: '{}', packageCount: 0, match: match(rev3, 'B', drop('3')) });
        await s.putInventory({ key: 'd-drops-early', document: '{}', packageCount: 0, match: match(rev3, 'B', drop('2')) });
        await s.putInventory({ key: 'e-current', document: '{}', packageCount: 0, match: match(rev3, 'B', drop('9')) });
        const now = drop('4');
        const take = async (owner: string, limit: number) => (await s.claimRematch({ owner, revision: rev3, limit, leaseMs: 60_000, now })).map((i) => i.key);
        assert.deepEqual(await take('n1', 1), ['z-older']);
        assert.deepEqual(await take('n2', 2), ['a-newer', 'd-drops-early']);
        assert.deepEqual(await take('n3', 10), ['c-drops-late']);
        assert.deepEqual(await take('n4', 10), []);
      });

      it('putInventory never replaces a newer match with an older one', async () => {
        await s.putInventory({ key: 'k', document: 'd', packageCount: 0, match: match(5, 'B') });
        await s.putInventory({ key: 'k', document: 'd', packageCount: 0, match: match(4, 'F') });
        assert.equal((await s.getInventory('k'))?.match.grade, 'B');
        await s.putInventory({ key: 'k', document: 'd', packageCount: 0, match: match(6, 'D') });
        assert.equal((await s.getInventory('k'))?.match.grade, 'D');
      });
    });

    describe('jobs and results', () => {
      it('a push queues image manifests and indexes, once per digest, and nothing else', async () => {
        const img = await pushImage('scan/a', { seed: 'same' });
        await pushImage('scan/b', { seed: 'same' });
        await pushImage('scan/a', { artifactType: 'application/vnd.cncf.helm.config.v1+json' });
        const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [img.digest] }));
        await store.putManifest({ repo: 'scan/a', digest: digestOf(index), mediaType: OCI_INDEX, content: index, blobs: [], children: [img.digest] });
        const jobs = await s.listScanJobs();
        assert.deepEqual(jobs.map((j) => [j.digest, j.repo, j.mediaType, j.attempts]).sort(), [
          [img.digest, 'scan/a', OCI_MANIFEST, 0],
          [digestOf(index), 'scan/a', OCI_INDEX, 0],
        ].sort());
        assert.deepEqual(await s.repositoriesHolding(img.digest), ['scan/a', 'scan/b']);
      });

      it('concurrent claimers never get the same job; leases expire; only the holder completes', async () => {
        const pushed = [];
        for (let i = 0; i < 5; i++) pushed.push((await pushImage('scan/q')).digest);
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => s.claimScanJobs({ owner: `node-${i}`, limit: 1, leaseMs: 60_000 })));
        const got = claims.flat();
        assert.equal(got.length, 5);
        assert.deepEqual(got.map((j) => j.digest).sort(), [...pushed].sort(), 'every job exactly once');
        assert.ok(got.every((j) => j.attempts === 1 && j.leaseOwner?.startsWith('node-')));
        assert.deepEqual(await s.claimScanJobs({ owner: 'late', limit: 5, leaseMs: 60_000 }), []);

        const j = got[0]!;
        assert.equal(await s.renewScanJob(j.digest, 'someone-else', 60_000), false);
        assert.equal(await s.renewScanJob(j.digest, j.leaseOwner!, 60_000), true);
        // After the lease runs out another node takes the job over; the first holder can no longer finish it.
        const later = new Date(Date.now() + 10 * 60_000);
        const retaken = await s.claimScanJobs({ owner: 'taker', limit: 10, leaseMs: 60_000, now: later });
        assert.equal(retaken.length, 5);
        assert.ok(retaken.every((r) => r.attempts === 2));
        const result = { digest: j.digest, mediaType: OCI_MANIFEST, kind: 'image' as const, status: 'failed' as const, error: { code: 'X', message: 'x' } };
        assert.equal(await s.completeScanJob(j.digest, j.leaseOwner!, result), false);
        assert.equal(await s.getResult(j.digest), undefined, 'a lost lease writes no result');
        assert.equal(await s.completeScanJob(j.digest, 'taker', result), true);
        assert.deepEqual((await s.getResult(j.digest))?.error, { code: 'X', message: 'x' });

        // Retry: back in the queue at notBefore, with the error.
        const k = retaken[1]!;
        const at = new Date(later.getTime() + 30_000);
        assert.equal(await s.retryScanJob(k.digest, 'taker', { error: 'storage down', notBefore: at }), true);
        assert.deepEqual(await s.claimScanJobs({ owner: 'x', limit: 10, leaseMs: 1000, now: later }), []);
        const again = await s.claimScanJobs({ owner: 'x', limit: 10, leaseMs: 1000, now: at });
        assert.deepEqual(again.map((r) => [r.digest, r.lastError, r.attempts]), [[k.digest, 'storage down', 3]]);
      });

      it('a digest with a result is not queued again by a push or enqueueScan, unless forced', async () => {
        const img = await pushImage('scan/r', { seed: 'rescan' });
        const [job] = await s.claimScanJobs({ owner: 'n', limit: 1, leaseMs: 60_000 });
        await s.completeScanJob(job!.digest, 'n', { digest: img.digest, mediaType: OCI_MANIFEST, kind: 'image', status: 'unsupported' });
        await pushImage('scan/r2', { seed: 'rescan' });
        assert.equal(await s.enqueueScan({ digest: img.digest, repo: 'scan/r', mediaType: OCI_MANIFEST }), false);
        assert.deepEqual(await s.listScanJobs(), []);
        assert.equal(await s.enqueueScan({ digest: img.digest, repo: 'scan/r', mediaType: OCI_MANIFEST, force: true }), true);
        assert.equal((await s.listScanJobs()).length, 1);
        assert.equal((await s.getResult(img.digest))?.status, 'unsupported', 'the old result stays until the new scan replaces it');
      });

      it('index results, children, grade lookups and pruning after deletes', async () => {
        const a = await pushImage('scan/idx');
        const b = await pushImage('scan/idx');
        await s.setIndexChildren('sha256:index', [{ digest: a.digest, platform: 'linux/amd64' }, { digest: b.digest }]);
        await s.setIndexChildren('sha256:index', [{ digest: a.digest, platform: 'linux/amd64' }, { digest: b.digest, platform: 'linux/arm64' }]);
        assert.deepEqual(await s.childrenOf('sha256:index'), [{ digest: a.digest, platform: 'linux/amd64' }, { digest: b.digest, platform: 'linux/arm64' }].sort((x, y) => (x.digest < y.digest ? -1 : 1)));
        assert.deepEqual(await s.indexesContaining([b.digest, 'sha256:none']), ['sha256:index']);
        await s.putResult({ digest: 'sha256:index', mediaType: OCI_INDEX, kind: 'index', status: 'pending', grade: 'D', health: '{}', findings: '[]', findingCount: 0, nextDropAt: new Date('2031-01-01T00:00:00Z') });
        await s.putInventory({ key: 'inv-a', document: '{}', packageCount: 3, match: match(0, 'B') });
        await s.putResult({ digest: a.digest, mediaType: OCI_MANIFEST, kind: 'image', status: 'done', inventoryKey: 'inv-a', os: '{"id":"debian"}' });
        const grades = await s.getGrades([a.digest, 'sha256:index', b.digest]);
        assert.deepEqual(grades.get(a.digest), { status: 'done', grade: 'B', findingCount: 1 });
        assert.deepEqual(grades.get('sha256:index'), { status: 'pending', grade: 'D', findingCount: 0, nextDropAt: new Date('2031-01-01T00:00:00Z') });
        assert.equal(grades.has(b.digest), false);

        // The image goes from every repository: its result goes, then (past the grace period) its inventory.
        assert.equal(await store.deleteManifest('scan/idx', a.digest), true);
        const pruned = await s.pruneScans({ graceMs: 0, now: new Date(Date.now() + 1000) });
        assert.equal(pruned.results, 2, 'the image and the index (no manifest holds sha256:index)');
        assert.equal(await s.getResult(a.digest), undefined);
        assert.ok(pruned.inventories >= 1);
        assert.equal(await s.getInventory('inv-a'), undefined);
        assert.deepEqual(await s.childrenOf('sha256:index'), []);
        assert.equal(pruned.jobs, 1, 'the queued scan of the deleted image');
        assert.deepEqual((await s.listScanJobs()).map((j) => j.digest), [b.digest]);
      });
    });
  });
}
