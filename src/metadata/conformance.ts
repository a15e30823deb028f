import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { digestOf, type Digest } from '../content/digest.js';
import { MetadataError, MissingReferencesError } from './errors.js';
import type { MetadataStore } from './store.js';

/**
 * The shared test suite every `MetadataStore` must pass, modelled on zot's `RunMetaDBTests`.
 *
 * Each test gets a store from `factory` and closes it afterwards. The factory may hand out a fresh
 * database per test (SQLite, temp file; PostgreSQL, a schema dropped on close) or one shared database
 * that it empties between tests; tests still use repository names unique to the run so that listings can be
 * checked even when other rows exist. The GC and stale-upload tests assume that no other test's rows are
 * older than their (year 2020) grace periods, which holds for both kinds of factory.
 *
 * GC must cost what changed, not what is stored (issue 5). An implementation that keeps review queues can
 * pass `queueDepth` (entries waiting in them, for a store whose database only this test uses); the suite
 * then also checks that a run with nothing changed leaves nothing to review.
 *
 * @example
 * describeMetadataStore('sqlite', () => SqliteStore.open({ path: join(dir, 'metadata.db') }))
 * describeMetadataStore('postgres', newPgStore, { skip: !process.env.PG_URL && 'set PG_URL' })
 */
export function describeMetadataStore<S extends MetadataStore>(
  name: string,
  factory: () => Promise<S> | S,
  opts: { skip?: string | false; queueDepth?: (store: S) => Promise<number> } = {},
): void {
  describe(`MetadataStore conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let store: S;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('repositories', () => {
      it('does not know a repository nothing was put into', async () => {
        const repo = repoName('unknown');
        assert.equal(await store.repositoryExists(repo), false);
        assert.deepEqual(await store.listTags(repo), []);
        assert.equal(await store.getManifest(repo, digestOf('x')), undefined);
        assert.equal(await store.getTaggedManifest(repo, 'latest'), undefined);
        assert.deepEqual(await store.listReferrers(repo, digestOf('x')), []);
        assert.ok(!(await store.listRepositories()).includes(repo));
      });

      it('creates the repository on linkBlob', async () => {
        const repo = repoName('by-link');
        await store.linkBlob(repo, digestOf(nonce()), 1);
        assert.equal(await store.repositoryExists(repo), true);
        assert.ok((await store.listRepositories()).includes(repo));
      });

      it('creates the repository on putManifest', async () => {
        const repo = repoName('by-manifest');
        await pushIndex(store, repo, []);
        assert.equal(await store.repositoryExists(repo), true);
      });

      it('creates the repository on createUpload', async () => {
        const repo = repoName('by-upload');
        await store.createUpload({ id: nonce(), repo });
        assert.equal(await store.repositoryExists(repo), true);
      });

      it('lists repositories in byte order, paginated by n and an exclusive last', async () => {
        const prefix = `${repoName('catalog')}/`;
        // Byte order, not locale order: '-' (2d) < '.' (2e) < '/' (2f) < '0' (30) < '_' (5f) < 'b' (62).
        const suffixes = ['b', 'a_b', 'a', 'a0', 'a/b', 'a.b', 'ab', 'a-b', 'a/b/c', '0'];
        for (const s of suffixes) await store.linkBlob(prefix + s, digestOf(nonce()), 1);
        const expected = suffixes.map((s) => prefix + s).sort(byteOrder);
        assert.deepEqual(expected.slice(0, 4), [prefix + '0', prefix + 'a', prefix + 'a-b', prefix + 'a.b']);

        const ours = (names: string[]) => names.filter((n) => n.startsWith(prefix));
        assert.deepEqual(ours(await store.listRepositories()), expected);
        assert.deepEqual(ours(await store.listRepositories({})), expected);
        assert.deepEqual(ours(await store.listRepositories({ last: prefix })), expected);

        // Walk the catalog three at a time, as a client following Link headers would.
        const pages: string[][] = [];
        let last = prefix;
        for (;;) {
          const page = await store.listRepositories({ n: 3, last });
          assert.ok(page.length <= 3);
          const mine = ours(page);
          if (mine.length === 0) break;
          pages.push(mine);
          last = mine[mine.length - 1]!;
        }
        assert.deepEqual(pages, [expected.slice(0, 3), expected.slice(3, 6), expected.slice(6, 9), expected.slice(9)]);

        assert.deepEqual(await store.listRepositories({ n: 0 }), []);
        assert.deepEqual(await store.listRepositories({ n: 0, last: prefix }), []);
        // `last` need not be an existing name.
        assert.deepEqual(ours(await store.listRepositories({ last: prefix + 'a.a' })), expected.slice(3));
        assert.deepEqual(ours(await store.listRepositories({ last: prefix + 'zzz' })), []);
        assert.deepEqual(ours(await store.listRepositories({ n: 2, last: prefix + 'ab' })), [prefix + 'b']);
      });
    });

    describe('blobs', () => {
      it('returns undefined for an unknown blob', async () => {
        const repo = repoName('blobs');
        await store.linkBlob(repo, digestOf(nonce()), 1);
        assert.equal(await store.getBlob(digestOf(nonce())), undefined);
        assert.equal(await store.getRepositoryBlob(repo, digestOf(nonce())), undefined);
        assert.equal(await store.getRepositoryBlob(repoName('nowhere'), digestOf(nonce())), undefined);
      });

      it('records the blob and serves it only from repositories that link it', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const d = digestOf(nonce());
        await store.linkBlob(a, d, 1234, at(0));
        await store.linkBlob(b, digestOf(nonce()), 1, at(0));

        const expected = { digest: d, size: 1234, createdAt: at(0) };
        assert.deepEqual(await store.getBlob(d), expected);
        assert.deepEqual(await store.getRepositoryBlob(a, d), expected);
        assert.equal(await store.getRepositoryBlob(b, d), undefined, 'a blob linked in A is not served from B');

        await store.linkBlob(b, d, 1234, at(5));
        assert.deepEqual(await store.getRepositoryBlob(b, d), expected, 'mounting keeps createdAt');
      });

      it('keeps the original size and createdAt when linked again', async () => {
        const repo = repoName('relink');
        const d = digestOf(nonce());
        await store.linkBlob(repo, d, 10, at(0));
        await store.linkBlob(repo, d, 99, at(30));
        await store.linkBlob(repoName('other'), d, 77, at(40));
        assert.deepEqual(await store.getBlob(d), { digest: d, size: 10, createdAt: at(0) });
      });

      it('refreshes linkedAt when linked again, restarting the grace period', async () => {
        const repo = repoName('relink-gc');
        const d = digestOf(nonce());
        await store.linkBlob(repo, d, 10, at(0));
        await store.linkBlob(repo, d, 10, at(60));
        assert.equal(await store.deleteUnreferencedLinks(at(30), 100), 0);
        assert.ok(await store.getRepositoryBlob(repo, d));
        assert.equal(await store.deleteUnreferencedLinks(at(61), 100), 1);
        assert.equal(await store.getRepositoryBlob(repo, d), undefined);
      });

      it('unlinkBlob removes the link only; the blob record stays', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const d = digestOf(nonce());
        await store.linkBlob(a, d, 5, at(0));
        await store.linkBlob(b, d, 5, at(0));

        assert.equal(await store.unlinkBlob(a, d), true);
        assert.equal(await store.getRepositoryBlob(a, d), undefined);
        assert.ok(await store.getRepositoryBlob(b, d), 'other repositories keep their link');
        assert.deepEqual(await store.getBlob(d), { digest: d, size: 5, createdAt: at(0) });
        assert.equal(await store.repositoryExists(a), true);

        assert.equal(await store.unlinkBlob(a, d), false, 'second unlink');
        assert.equal(await store.unlinkBlob(a, digestOf(nonce())), false, 'never linked');
        assert.equal(await store.unlinkBlob(repoName('nowhere'), d), false, 'unknown repository');
      });

      it('storedBytes sums each stored blob once', async () => {
        const before = await store.storedBytes();
        const d1 = digestOf(nonce());
        const d2 = digestOf(nonce());
        await store.linkBlob(repoName('a'), d1, 1000, at(0));
        await store.linkBlob(repoName('b'), d1, 1000, at(0));
        await store.linkBlob(repoName('c'), d1, 5, at(0)); // size of the first link wins
        await store.linkBlob(repoName('c'), d2, 24, at(0));
        assert.equal(await store.storedBytes(), before + 1024);
      });
    });

    describe('enumeration (berth migrate)', () => {
      it('lists the blobs a repository links, by digest, with pages', async () => {
        const repo = repoName('enum-blobs');
        const digests = Array.from({ length: 5 }, () => digestOf(nonce())).sort();
        for (const [i, d] of digests.entries()) await store.linkBlob(repo, d, i + 1, at(0));
        await store.linkBlob(repoName('enum-other'), digestOf(nonce()), 9, at(0));
        const all = await store.listRepositoryBlobs(repo);
        assert.deepEqual(all.map((b) => [b.digest, b.size]), digests.map((d, i) => [d, i + 1]));
        assert.deepEqual((await store.listRepositoryBlobs(repo, { n: 2 })).map((b) => b.digest), digests.slice(0, 2));
        assert.deepEqual((await store.listRepositoryBlobs(repo, { n: 2, last: digests[1] })).map((b) => b.digest), digests.slice(2, 4));
        assert.deepEqual(await store.listRepositoryBlobs(repo, { n: 0 }), []);
        assert.deepEqual(await store.listRepositoryBlobs(repoName('enum-none')), []);
      });

      it('lists every manifest of a repository with its content, tagged or not, by digest', async () => {
        const repo = repoName('enum-manifests');
        const imgs = [await pushImage(store, repo, { tags: ['a'] }), await pushImage(store, repo), await pushImage(store, repo)];
        await pushImage(store, repoName('enum-elsewhere'));
        const sorted = imgs.map((i) => i.digest).sort();
        const all = await store.listManifests(repo);
        assert.deepEqual(all.map((m) => m.digest), sorted);
        for (const m of all) {
          const img = imgs.find((i) => i.digest === m.digest)!;
          assert.deepEqual(Buffer.from(m.content), Buffer.from(img.content));
          assert.equal(m.repo, repo);
        }
        assert.deepEqual((await store.listManifests(repo, { n: 1, last: sorted[0] })).map((m) => m.digest), [sorted[1]]);
      });
    });

    describe('manifests', () => {
      it('round-trips a manifest', async () => {
        const repo = repoName('manifest');
        const subject = digestOf(nonce());
        const img = await pushImage(store, repo, {
          now: at(3),
          artifactType: 'application/vnd.example.sbom',
          subject,
          annotations: { 'org.example': 'yes' },
        });
        const m = await store.getManifest(repo, img.digest);
        assert.ok(m);
        assert.deepEqual(
          { ...m, content: Buffer.from(m.content) },
          {
            repo,
            digest: img.digest,
            mediaType: IMAGE_MANIFEST,
            size: img.content.byteLength,
            content: Buffer.from(img.content),
            artifactType: 'application/vnd.example.sbom',
            subject,
            createdAt: at(3),
          },
        );
        assert.ok(Buffer.isBuffer(m.content));
      });

      it('leaves optional fields undefined', async () => {
        const repo = repoName('plain');
        const img = await pushImage(store, repo);
        const m = await store.getManifest(repo, img.digest);
        assert.ok(m);
        assert.equal(m.artifactType, undefined);
        assert.equal(m.subject, undefined);
      });

      it('keeps manifests apart per repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const idx = await pushIndex(store, a, [], { tags: ['t'] });
        assert.equal(await store.getManifest(b, idx.digest), undefined);
        await store.putManifest({ ...idx.manifest, repo: b, tags: ['t'] });
        assert.equal(await store.deleteManifest(a, idx.digest), true);
        assert.equal(await store.getManifest(a, idx.digest), undefined);
        assert.ok(await store.getManifest(b, idx.digest));
        assert.ok(await store.getTaggedManifest(b, 't'));
      });

      it('throws MissingReferencesError listing exactly the missing digests, and writes nothing', async () => {
        const repo = repoName('missing');
        const present = digestOf(nonce());
        const missing1 = digestOf(nonce());
        const missing2 = digestOf(nonce());
        const missingChild = digestOf(nonce());
        await store.linkBlob(repo, present, 1);
        const child = await pushImage(store, repo);
        const kept = await pushIndex(store, repo, [], { tags: ['latest'] });

        const content = bytes({ nonce: nonce() });
        const digest = digestOf(content);
        const err = await rejection(
          store.putManifest({
            repo,
            digest,
            mediaType: IMAGE_INDEX,
            content,
            blobs: [present, missing1, missing2, missing1],
            children: [child.digest, missingChild],
            tags: ['latest', 'new'],
          }),
        );
        assert.ok(err instanceof MissingReferencesError);
        assert.ok(err instanceof MetadataError);
        assert.equal(err.code, 'MISSING_REFERENCES');
        assert.deepEqual([...err.blobs].sort(), [missing1, missing2].sort());
        assert.deepEqual(err.manifests, [missingChild]);

        assert.equal(await store.getManifest(repo, digest), undefined);
        assert.equal(await store.getTaggedManifest(repo, 'new'), undefined);
        assert.equal((await store.getTaggedManifest(repo, 'latest'))?.digest, kept.digest, 'tag not moved');
        assert.deepEqual(await store.listTags(repo), ['latest']);
      });

      it('throws when only blobs, or only child manifests, are missing', async () => {
        const repo = repoName('missing-one-kind');
        const child = await pushImage(store, repo);
        const blob = digestOf(nonce());
        const content = bytes({ nonce: nonce() });
        const onlyBlob = await rejection(
          store.putManifest({
            repo,
            digest: digestOf(content),
            mediaType: IMAGE_INDEX,
            content,
            blobs: [...child.blobs, blob],
            children: [child.digest],
          }),
        );
        assert.ok(onlyBlob instanceof MissingReferencesError);
        assert.deepEqual([onlyBlob.blobs, onlyBlob.manifests], [[blob], []]);

        const missingChild = digestOf(nonce());
        const onlyChild = await rejection(
          store.putManifest({
            repo,
            digest: digestOf(content),
            mediaType: IMAGE_INDEX,
            content,
            blobs: child.blobs,
            children: [child.digest, missingChild],
          }),
        );
        assert.ok(onlyChild instanceof MissingReferencesError);
        assert.deepEqual([onlyChild.blobs, onlyChild.manifests], [[], [missingChild]]);
        assert.equal(await store.getManifest(repo, digestOf(content)), undefined);
      });

      it('does not create the repository when references are missing', async () => {
        const repo = repoName('never');
        const d = digestOf(nonce());
        const child = digestOf(nonce());
        const content = bytes({ nonce: nonce() });
        const err = await rejection(
          store.putManifest({
            repo,
            digest: digestOf(content),
            mediaType: IMAGE_MANIFEST,
            content,
            blobs: [d],
            children: [child],
            tags: ['latest'],
          }),
        );
        assert.ok(err instanceof MissingReferencesError);
        assert.deepEqual(err.blobs, [d]);
        assert.deepEqual(err.manifests, [child]);
        assert.equal(await store.repositoryExists(repo), false);
        assert.ok(!(await store.listRepositories()).includes(repo));
      });

      it('does not count blobs or manifests of another repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const blob = digestOf(nonce());
        await store.linkBlob(a, blob, 1);
        const child = await pushImage(store, a);
        await store.linkBlob(b, digestOf(nonce()), 1);

        const content = bytes({ nonce: nonce() });
        const err = await rejection(
          store.putManifest({
            repo: b,
            digest: digestOf(content),
            mediaType: IMAGE_INDEX,
            content,
            blobs: [blob],
            children: [child.digest],
          }),
        );
        assert.ok(err instanceof MissingReferencesError);
        assert.deepEqual(err.blobs, [blob]);
        assert.deepEqual(err.manifests, [child.digest]);
      });

      it('treats a re-put of the same digest as a no-op except for tags', async () => {
        const repo = repoName('reput');
        const img = await pushImage(store, repo, { now: at(0), tags: ['one'] });
        await store.putManifest({ ...img.manifest, tags: ['two'], now: at(10) });
        await store.putManifest({ ...img.manifest, tags: undefined, now: at(20) });

        const m = await store.getManifest(repo, img.digest);
        assert.ok(m);
        assert.deepEqual(m.createdAt, at(0));
        assert.deepEqual(Buffer.from(m.content), Buffer.from(img.content));
        assert.deepEqual(await store.listTags(repo), ['one', 'two']);
      });

      it('moves a tag from one manifest to another', async () => {
        const repo = repoName('move');
        const first = await pushImage(store, repo, { tags: ['latest', 'v1'] });
        const second = await pushImage(store, repo, { tags: ['latest'] });

        assert.equal((await store.getTaggedManifest(repo, 'latest'))?.digest, second.digest);
        assert.equal((await store.getTaggedManifest(repo, 'v1'))?.digest, first.digest);
        assert.deepEqual(await store.listTags(repo), ['latest', 'v1']);
        assert.ok(await store.getManifest(repo, first.digest), 'the old manifest stays');
      });

      it('getTaggedManifest returns the whole record, only in its repository', async () => {
        const repo = repoName('tagged');
        const img = await pushImage(store, repo, { tags: ['latest'], now: at(1) });
        await store.linkBlob(repoName('other'), digestOf(nonce()), 1);

        const m = await store.getTaggedManifest(repo, 'latest');
        assert.deepEqual(m, await store.getManifest(repo, img.digest));
        assert.equal(await store.getTaggedManifest(repo, 'missing'), undefined);
        assert.equal(await store.getTaggedManifest(repo, 'Latest'), undefined, 'tags are case-sensitive');
        assert.equal(await store.getTaggedManifest(repoName('other'), 'latest'), undefined);
      });

      it('deleteManifest removes the manifest and every tag pointing at it', async () => {
        const repo = repoName('delete');
        const img = await pushImage(store, repo, { tags: ['a', 'b'] });
        const other = await pushImage(store, repo, { tags: ['c'] });

        assert.equal(await store.deleteManifest(repo, img.digest), true);
        assert.equal(await store.getManifest(repo, img.digest), undefined);
        assert.equal(await store.getTaggedManifest(repo, 'a'), undefined);
        assert.deepEqual(await store.listTags(repo), ['c']);
        assert.equal((await store.getTaggedManifest(repo, 'c'))?.digest, other.digest);
        for (const d of img.blobs) assert.ok(await store.getRepositoryBlob(repo, d), 'blobs stay linked');

        assert.equal(await store.deleteManifest(repo, img.digest), false, 'second delete');
        assert.equal(await store.deleteManifest(repoName('nowhere'), img.digest), false);
        // The digest can be pushed again.
        await store.putManifest({ ...img.manifest, tags: ['a'] });
        assert.equal((await store.getTaggedManifest(repo, 'a'))?.digest, img.digest);
      });

      it('deleteTag removes only the tag', async () => {
        const repo = repoName('untag');
        const img = await pushImage(store, repo, { tags: ['a', 'b'] });

        assert.equal(await store.deleteTag(repo, 'a'), true);
        assert.equal(await store.getTaggedManifest(repo, 'a'), undefined);
        assert.ok(await store.getManifest(repo, img.digest));
        assert.deepEqual(await store.listTags(repo), ['b']);
        assert.equal(await store.deleteTag(repo, 'a'), false, 'second delete');
        assert.equal(await store.deleteTag(repo, 'never'), false);
        assert.equal(await store.deleteTag(repoName('nowhere'), 'b'), false);
      });
    });

    describe('tags', () => {
      it('lists tags in byte order, paginated by n and an exclusive last', async () => {
        const repo = repoName('tags');
        const tags = ['latest', 'B', 'a', 'a-b', 'a.b', 'a_b', 'ab', '1', 'Z', 'v1.0', 'v1.10', 'v1.9', '_x'];
        await pushImage(store, repo, { tags: tags.slice(0, 5) });
        await pushImage(store, repo, { tags: tags.slice(5) });
        const expected = [...tags].sort(byteOrder);
        // Byte order: digits < upper case < '_' < lower case; not what localeCompare would give.
        assert.deepEqual(expected.slice(0, 6), ['1', 'B', 'Z', '_x', 'a', 'a-b']);

        assert.deepEqual(await store.listTags(repo), expected);
        assert.deepEqual(await store.listTags(repo, {}), expected);
        assert.deepEqual(await store.listTags(repo, { n: 4 }), expected.slice(0, 4));
        assert.deepEqual(await store.listTags(repo, { n: 4, last: 'Z' }), expected.slice(3, 7));
        assert.deepEqual(await store.listTags(repo, { last: 'a' }), expected.slice(5));
        assert.deepEqual(await store.listTags(repo, { last: 'a0' }), ['a_b', 'ab', 'latest', 'v1.0', 'v1.10', 'v1.9']);
        assert.deepEqual(await store.listTags(repo, { n: 100 }), expected);
        assert.deepEqual(await store.listTags(repo, { n: 0 }), []);
        assert.deepEqual(await store.listTags(repo, { n: 0, last: 'a' }), []);
        assert.deepEqual(await store.listTags(repo, { last: 'v1.9' }), []);
        assert.deepEqual(await store.listTags(repo, { last: 'zzz' }), []);
        assert.deepEqual(await store.listTags(repo, { n: 5, last: 'v1.10' }), ['v1.9']);
      });

      it('lists tag records with the manifest each points at and when it was pushed', async () => {
        const repo = repoName('tag-records');
        const first = await pushImage(store, repo, { tags: ['v1', 'latest'], now: new Date(1000) });
        const second = await pushImage(store, repo, { tags: ['latest'], now: new Date(2000) });
        const records = await store.listTagRecords(repo);
        assert.deepEqual(
          records.map((r) => [r.name, r.digest, r.mediaType, r.size]),
          [
            ['latest', second.digest, IMAGE_MANIFEST, second.content.length],
            ['v1', first.digest, IMAGE_MANIFEST, first.content.length],
          ],
        );
        assert.ok(records[0]!.updatedAt.getTime() >= records[1]!.updatedAt.getTime());
        assert.deepEqual((await store.listTagRecords(repo, { n: 1, last: 'latest' })).map((r) => r.name), ['v1']);
        assert.deepEqual(await store.listTagRecords(repo, { n: 0 }), []);
        assert.deepEqual(await store.listTagRecords(repoName('none')), []);
      });

      it('keeps tags apart per repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const ia = await pushImage(store, a, { tags: ['latest', 'only-a'] });
        const ib = await pushImage(store, b, { tags: ['latest'] });
        assert.deepEqual(await store.listTags(a), ['latest', 'only-a']);
        assert.deepEqual(await store.listTags(b), ['latest']);
        assert.equal((await store.getTaggedManifest(a, 'latest'))?.digest, ia.digest);
        assert.equal((await store.getTaggedManifest(b, 'latest'))?.digest, ib.digest);
        assert.equal(await store.deleteTag(b, 'latest'), true);
        assert.equal((await store.getTaggedManifest(a, 'latest'))?.digest, ia.digest);
      });
    });

    describe('referrers', () => {
      it('lists referrers of a subject ordered by digest, with artifactType and annotations', async () => {
        const repo = repoName('referrers');
        const subject = await pushImage(store, repo, { tags: ['latest'] });
        const sbom = await pushImage(store, repo, {
          subject: subject.digest,
          artifactType: 'application/spdx+json',
          annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'x.y': 'z' },
        });
        const sig1 = await pushImage(store, repo, { subject: subject.digest, artifactType: 'application/sig' });
        const sig2 = await pushImage(store, repo, { subject: subject.digest, artifactType: 'application/sig' });
        const bare = await pushImage(store, repo, { subject: subject.digest });
        await pushImage(store, repo, { subject: sig1.digest, artifactType: 'application/sig' });

        const all = await store.listReferrers(repo, subject.digest);
        assert.deepEqual(
          all.map((r) => r.digest),
          [sbom.digest, sig1.digest, sig2.digest, bare.digest].sort(),
        );
        const bySbom = all.find((r) => r.digest === sbom.digest);
        assert.deepEqual(bySbom, {
          digest: sbom.digest,
          mediaType: IMAGE_MANIFEST,
          size: sbom.content.byteLength,
          artifactType: 'application/spdx+json',
          annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'x.y': 'z' },
        });
        const byBare = all.find((r) => r.digest === bare.digest);
        assert.ok(byBare);
        assert.equal(byBare.artifactType, undefined);
        assert.equal(byBare.annotations, undefined);

        const sigs = await store.listReferrers(repo, subject.digest, { artifactType: 'application/sig' });
        assert.deepEqual(
          sigs.map((r) => r.digest),
          [sig1.digest, sig2.digest].sort(),
        );
        assert.deepEqual(await store.listReferrers(repo, subject.digest, { artifactType: 'application/none' }), []);
        assert.deepEqual(await store.listReferrers(repo, subject.digest, {}), all);
        assert.deepEqual(await store.listReferrers(repo, sbom.digest), []);
      });

      it('orders referrers by digest, not by push time', async () => {
        const repo = repoName('order');
        const subject = digestOf(nonce());
        const pushed: Digest[] = [];
        for (let i = 0; i < 8; i++) pushed.push((await pushImage(store, repo, { subject, now: at(8 - i) })).digest);
        assert.deepEqual(
          (await store.listReferrers(repo, subject)).map((r) => r.digest),
          [...pushed].sort(),
        );
      });

      it('lists referrers whose subject was never pushed', async () => {
        const repo = repoName('dangling');
        const subject = digestOf(nonce());
        const ref = await pushImage(store, repo, { subject, artifactType: 'application/sig' });
        assert.deepEqual(
          (await store.listReferrers(repo, subject)).map((r) => r.digest),
          [ref.digest],
        );
      });

      it('lists only referrers of the same repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const subject = await pushImage(store, a, { tags: ['latest'] });
        await mountManifest(store, b, subject);
        const inA = await pushImage(store, a, { subject: subject.digest });
        const inB = await pushImage(store, b, { subject: subject.digest });
        assert.deepEqual(
          (await store.listReferrers(a, subject.digest)).map((r) => r.digest),
          [inA.digest],
        );
        assert.deepEqual(
          (await store.listReferrers(b, subject.digest)).map((r) => r.digest),
          [inB.digest],
        );
        assert.deepEqual(await store.listReferrers(repoName('nowhere'), subject.digest), []);
      });

      it('drops a deleted referrer from the list', async () => {
        const repo = repoName('drop');
        const subject = digestOf(nonce());
        const r1 = await pushImage(store, repo, { subject });
        const r2 = await pushImage(store, repo, { subject });
        await store.deleteManifest(repo, r1.digest);
        assert.deepEqual(
          (await store.listReferrers(repo, subject)).map((r) => r.digest),
          [r2.digest],
        );
      });
    });

    describe('uploads', () => {
      it('creates a session at size 0 that only its repository can see', async () => {
        const repo = repoName('upload');
        const other = repoName('other');
        await store.linkBlob(other, digestOf(nonce()), 1);
        const id = nonce();

        const created = await store.createUpload({ id, repo, now: at(1) });
        const expected = { id, repo, size: 0, startedAt: at(1), updatedAt: at(1) };
        assert.deepEqual(created, expected);
        assert.deepEqual(await store.getUpload(repo, id), expected);
        assert.equal(await store.getUpload(other, id), undefined, 'wrong repository');
        assert.equal(await store.getUpload(repoName('nowhere'), id), undefined);
        assert.equal(await store.getUpload(repo, nonce()), undefined, 'unknown id');
      });

      it('advanceUpload is a compare-and-set on the committed size', async () => {
        const repo = repoName('advance');
        const id = nonce();
        await store.createUpload({ id, repo, now: at(1) });

        assert.equal(await store.advanceUpload(id, 0, 100, at(2)), true);
        assert.deepEqual(await store.getUpload(repo, id), { id, repo, size: 100, startedAt: at(1), updatedAt: at(2) });

        assert.equal(await store.advanceUpload(id, 0, 200, at(3)), false, 'stale expected size');
        assert.equal(await store.advanceUpload(id, 150, 200, at(3)), false, 'wrong expected size');
        assert.deepEqual(await store.getUpload(repo, id), { id, repo, size: 100, startedAt: at(1), updatedAt: at(2) });

        assert.equal(await store.advanceUpload(id, 100, 250, at(4)), true);
        assert.equal((await store.getUpload(repo, id))?.size, 250);
        assert.equal(await store.advanceUpload(nonce(), 0, 1), false, 'unknown id');
      });

      it('lets exactly one of many concurrent advanceUpload calls win', async () => {
        const repo = repoName('race');
        const id = nonce();
        await store.createUpload({ id, repo });
        const sizes = Array.from({ length: 32 }, (_, i) => 1000 + i);
        const results = await Promise.all(sizes.map((s) => store.advanceUpload(id, 0, s)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await store.getUpload(repo, id))?.size, sizes[results.indexOf(true)]);
      });

      it('deleteUpload ends the session', async () => {
        const repo = repoName('end');
        const id = nonce();
        await store.createUpload({ id, repo });
        assert.equal(await store.deleteUpload(id), true);
        assert.equal(await store.getUpload(repo, id), undefined);
        assert.equal(await store.advanceUpload(id, 0, 1), false);
        assert.equal(await store.deleteUpload(id), false, 'second delete');
        assert.equal(await store.repositoryExists(repo), true, 'the repository stays');
      });

      it('lists stale sessions by last touch, oldest first, up to limit', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const [u1, u2, u3, u4] = [nonce(), nonce(), nonce(), nonce()];
        await store.createUpload({ id: u1, repo: a, now: at(30) });
        await store.createUpload({ id: u2, repo: b, now: at(10) });
        await store.createUpload({ id: u3, repo: a, now: at(20) });
        await store.createUpload({ id: u4, repo: b, now: at(90) });
        await store.advanceUpload(u2, 0, 7, at(40)); // touched: no longer the oldest

        const stale = await store.listStaleUploads(at(50), 10);
        assert.deepEqual(
          stale.map((u) => u.id),
          [u3, u1, u2],
        );
        assert.deepEqual(stale[2], { id: u2, repo: b, size: 7, startedAt: at(10), updatedAt: at(40) });
        assert.deepEqual(
          (await store.listStaleUploads(at(50), 2)).map((u) => u.id),
          [u3, u1],
        );
        assert.deepEqual(
          (await store.listStaleUploads(at(30), 10)).map((u) => u.id),
          [u3],
          'before is exclusive',
        );
        assert.deepEqual(await store.listStaleUploads(at(0), 10), []);
        assert.deepEqual(await store.listStaleUploads(at(50), 0), []);
      });
    });

    describe('garbage collection: deleteUntaggedManifests', () => {
      it('deletes untagged manifests older than before and keeps tagged and recent ones', async () => {
        const repo = repoName('gc');
        const tagged = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const untagged = await pushImage(store, repo, { now: at(0) });
        const recent = await pushImage(store, repo, { now: at(120) });
        const untaggedLater = await pushImage(store, repo, { now: at(0), tags: ['tmp'] });
        await store.deleteTag(repo, 'tmp');

        const deleted = await store.deleteUntaggedManifests(at(60), 100);
        assert.deepEqual(sortKeys(deleted), sortKeys([key(repo, untagged), key(repo, untaggedLater)]));
        assert.ok(await store.getManifest(repo, tagged.digest));
        assert.ok(await store.getManifest(repo, recent.digest));
        assert.equal(await store.getManifest(repo, untagged.digest), undefined);
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [], 'nothing left');
        assert.deepEqual(await store.deleteUntaggedManifests(at(120), 100), [], 'before is exclusive');
        assert.deepEqual(await store.deleteUntaggedManifests(at(121), 100), [key(repo, recent)]);
      });

      it('keeps the children of a tagged index and deletes an untagged index, then its children', async () => {
        const repo = repoName('gc-index');
        const c1 = await pushImage(store, repo, { now: at(0) });
        const c2 = await pushImage(store, repo, { now: at(0) });
        const shared = await pushImage(store, repo, { now: at(0) });
        await pushIndex(store, repo, [c1.digest, shared.digest], { tags: ['latest'], now: at(0) });
        const d1 = await pushImage(store, repo, { now: at(0) });
        const d2 = await pushImage(store, repo, { now: at(0) });
        const untagged = await pushIndex(store, repo, [d1.digest, d2.digest, shared.digest], { now: at(0) });
        const nested = await pushIndex(store, repo, [untagged.digest, c2.digest], { now: at(0) });

        const deleted = await store.deleteUntaggedManifests(at(60), 100);
        const digests = deleted.map((k) => k.digest);
        assert.deepEqual(
          [...digests].sort(),
          [nested.digest, untagged.digest, c2.digest, d1.digest, d2.digest].sort(),
        );
        assert.ok(deleted.every((k) => k.repo === repo));
        // A parent always goes in an earlier round than its children.
        assert.ok(digests.indexOf(nested.digest) < digests.indexOf(untagged.digest));
        assert.ok(digests.indexOf(untagged.digest) < digests.indexOf(d1.digest));
        assert.ok(digests.indexOf(untagged.digest) < digests.indexOf(d2.digest));
        assert.ok(await store.getManifest(repo, c1.digest));
        assert.ok(await store.getManifest(repo, shared.digest), 'still a child of the tagged index');
      });

      it('keeps the children of a recent index', async () => {
        const repo = repoName('gc-recent-index');
        const child = await pushImage(store, repo, { now: at(0) });
        await pushIndex(store, repo, [child.digest], { now: at(120) });
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), []);
      });

      it('keeps a child only for an index of its own repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const child = await pushImage(store, a, { now: at(0) });
        await mountManifest(store, b, child);
        await pushIndex(store, b, [child.digest], { tags: ['latest'], now: at(0) });

        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [key(a, child)]);
        assert.ok(await store.getManifest(b, child.digest));
      });

      it('keeps a referrer whose subject exists and deletes one whose subject is gone', async () => {
        const repo = repoName('gc-referrers');
        const subject = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const kept = await pushImage(store, repo, { subject: subject.digest, now: at(0) });
        const orphan = await pushImage(store, repo, { subject: digestOf(nonce()), now: at(0) });
        const doomedSubject = await pushImage(store, repo, { now: at(0) });
        const chained = await pushImage(store, repo, { subject: doomedSubject.digest, now: at(0) });
        const chained2 = await pushImage(store, repo, { subject: chained.digest, now: at(0) });

        const deleted = await store.deleteUntaggedManifests(at(60), 100);
        const digests = deleted.map((k) => k.digest);
        assert.deepEqual([...digests].sort(), [orphan.digest, doomedSubject.digest, chained.digest, chained2.digest].sort());
        assert.ok(digests.indexOf(doomedSubject.digest) < digests.indexOf(chained.digest));
        assert.ok(digests.indexOf(chained.digest) < digests.indexOf(chained2.digest));
        assert.ok(await store.getManifest(repo, kept.digest));
      });

      it('deletes referrers once their subject is deleted', async () => {
        const repo = repoName('gc-subject-deleted');
        const subject = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const ref = await pushImage(store, repo, { subject: subject.digest, now: at(0) });
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), []);
        await store.deleteManifest(repo, subject.digest);
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [key(repo, ref)]);
      });

      it('does not keep a referrer alive through a subject in another repository', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const subject = await pushImage(store, a, { tags: ['latest'], now: at(0) });
        const ref = await pushImage(store, b, { subject: subject.digest, now: at(0) });
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [key(b, ref)]);
      });

      it('stops after limit manifests, across rounds', async () => {
        const repo = repoName('gc-limit');
        await pushImage(store, repo, { now: at(0) });
        await pushImage(store, repo, { now: at(0) });
        await pushImage(store, repo, { now: at(0) });
        assert.equal((await store.deleteUntaggedManifests(at(60), 2)).length, 2);
        assert.equal((await store.deleteUntaggedManifests(at(60), 2)).length, 1);
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 0), []);

        const child = await pushImage(store, repo, { now: at(0) });
        const index = await pushIndex(store, repo, [child.digest], { now: at(0) });
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 1), [key(repo, index)]);
        assert.ok(await store.getManifest(repo, child.digest), 'the child waits for the next call');
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 1), [key(repo, child)]);
      });

      it('frees the blob links of deleted manifests for deleteUnreferencedLinks', async () => {
        const repo = repoName('gc-chain');
        const img = await pushImage(store, repo, { now: at(0) });
        assert.equal(await store.deleteUnreferencedLinks(at(60), 100), 0);
        await store.deleteUntaggedManifests(at(60), 100);
        assert.equal(await store.deleteUnreferencedLinks(at(60), 100), img.blobs.length);
        const orphans = await store.deleteOrphanBlobs(at(60), 100);
        assert.deepEqual(orphans.map((b) => b.digest).sort(), [...img.blobs].sort());
      });
    });

    describe('garbage collection: deleteUnreferencedLinks', () => {
      it('removes only old links that no manifest of the same repository references', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const tagged = await pushImage(store, a, { tags: ['latest'], now: at(0) });
        const untagged = await pushImage(store, a, { now: at(0) });
        const loose = digestOf(nonce());
        const recent = digestOf(nonce());
        await store.linkBlob(a, loose, 1, at(0));
        await store.linkBlob(a, recent, 1, at(120));
        // b links a layer that a's manifest references; b has no manifest referencing it.
        await store.linkBlob(b, tagged.blobs[1]!, 1, at(0));

        assert.equal(await store.deleteUnreferencedLinks(at(60), 100), 2);
        assert.equal(await store.getRepositoryBlob(a, loose), undefined);
        assert.equal(await store.getRepositoryBlob(b, tagged.blobs[1]!), undefined);
        assert.ok(await store.getRepositoryBlob(a, recent));
        for (const d of [...tagged.blobs, ...untagged.blobs]) assert.ok(await store.getRepositoryBlob(a, d));
        assert.ok(await store.getBlob(loose), 'the blob record stays');
        assert.equal(await store.deleteUnreferencedLinks(at(60), 100), 0);
        assert.equal(await store.deleteUnreferencedLinks(at(120), 100), 0, 'before is exclusive');
        assert.equal(await store.deleteUnreferencedLinks(at(121), 100), 1);
        assert.equal(await store.getRepositoryBlob(a, recent), undefined);
      });

      it('keeps links referenced by a referrer or an index child', async () => {
        const repo = repoName('refs');
        const child = await pushImage(store, repo, { now: at(0) });
        await pushIndex(store, repo, [child.digest], { tags: ['latest'], now: at(0) });
        await pushImage(store, repo, { subject: digestOf(nonce()), now: at(0) });
        assert.equal(await store.deleteUnreferencedLinks(at(60), 100), 0);
      });

      it('stops after limit links', async () => {
        const repo = repoName('links-limit');
        for (let i = 0; i < 3; i++) await store.linkBlob(repo, digestOf(nonce()), 1, at(i));
        assert.equal(await store.deleteUnreferencedLinks(at(60), 2), 2);
        assert.equal(await store.deleteUnreferencedLinks(at(60), 2), 1);
        assert.equal(await store.deleteUnreferencedLinks(at(60), 2), 0);
        assert.equal(await store.deleteUnreferencedLinks(at(60), 0), 0);
      });
    });

    describe('garbage collection: deleteOrphanBlobs', () => {
      it('deletes and returns only unlinked blobs created before before', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const orphan = digestOf(nonce());
        const linkedElsewhere = digestOf(nonce());
        const young = digestOf(nonce());
        const kept = digestOf(nonce());
        await store.linkBlob(a, orphan, 11, at(0));
        await store.linkBlob(a, linkedElsewhere, 12, at(0));
        await store.linkBlob(b, linkedElsewhere, 12, at(0));
        await store.linkBlob(a, young, 13, at(120));
        await store.linkBlob(a, kept, 14, at(0));
        const bytesBefore = await store.storedBytes();
        for (const d of [orphan, linkedElsewhere, young]) await store.unlinkBlob(a, d);

        assert.deepEqual(await store.deleteOrphanBlobs(at(60), 100), [{ digest: orphan, size: 11, createdAt: at(0) }]);
        assert.equal(await store.getBlob(orphan), undefined);
        assert.ok(await store.getBlob(linkedElsewhere));
        assert.ok(await store.getBlob(young));
        assert.ok(await store.getBlob(kept));
        assert.equal(await store.storedBytes(), bytesBefore - 11);
        assert.deepEqual(await store.deleteOrphanBlobs(at(60), 100), []);
        assert.deepEqual(await store.deleteOrphanBlobs(at(120), 100), [], 'before is exclusive');
        assert.deepEqual(await store.deleteOrphanBlobs(at(121), 100), [{ digest: young, size: 13, createdAt: at(120) }]);

        // The digest can be stored again, as a new record.
        await store.linkBlob(a, orphan, 11, at(200));
        assert.deepEqual(await store.getRepositoryBlob(a, orphan), { digest: orphan, size: 11, createdAt: at(200) });
      });

      it('stops after limit blobs, oldest first', async () => {
        const repo = repoName('orphans');
        const digests = [digestOf(nonce()), digestOf(nonce()), digestOf(nonce())];
        for (const [i, d] of digests.entries()) {
          await store.linkBlob(repo, d, 1, at(10 - i));
          await store.unlinkBlob(repo, d);
        }
        assert.deepEqual(
          (await store.deleteOrphanBlobs(at(60), 2)).map((b) => b.digest),
          [digests[2], digests[1]],
        );
        assert.deepEqual(
          (await store.deleteOrphanBlobs(at(60), 2)).map((b) => b.digest),
          [digests[0]],
        );
        assert.deepEqual(await store.deleteOrphanBlobs(at(60), 0), []);
      });
    });

    describe('garbage collection: cost follows the changes', () => {
      // Each test first lets a run review what the pushes queued, then changes one thing, so that what
      // the next run collects can only have been found through that change.

      it('a run after a run with nothing changed has nothing to review and collects nothing', async () => {
        const repo = repoName('steady');
        const children: Digest[] = [];
        for (let i = 0; i < 20; i++) {
          const img = await pushImage(store, repo, { tags: [`v${i}`], now: at(0) });
          await pushImage(store, repo, { subject: img.digest, now: at(0) });
          children.push(img.digest);
        }
        await pushIndex(store, repo, children, { tags: ['latest'], now: at(0) });
        await store.linkBlob(repo, digestOf(nonce()), 1, at(120)); // within grace: waits in the queue

        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });
        if (opts.queueDepth) assert.equal(await opts.queueDepth(store), 1, 'only the young link waits');
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });
        if (opts.queueDepth) assert.equal(await opts.queueDepth(store), 1);
        assert.deepEqual(await collect(store, at(121)), { manifests: 0, links: 1, blobs: 1 });
        if (opts.queueDepth) assert.equal(await opts.queueDepth(store), 0, 'everything reviewed');
        assert.equal((await store.listTags(repo)).length, 21);
      });

      it('a deleted manifest frees its blob links, then its blobs', async () => {
        const repo = repoName('gcq-delete');
        const img = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const kept = await pushImage(store, repo, { tags: ['kept'], now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        assert.equal(await store.deleteManifest(repo, img.digest), true);
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 2, blobs: 2 });
        for (const d of img.blobs) assert.equal(await store.getBlob(d), undefined);
        for (const d of kept.blobs) assert.ok(await store.getRepositoryBlob(repo, d));
        if (opts.queueDepth) assert.equal(await opts.queueDepth(store), 0);
      });

      it('keeps a shared blob while another repository links it', async () => {
        const a = repoName('a');
        const b = repoName('b');
        const img = await pushImage(store, a, { tags: ['latest'], now: at(0) });
        await mountManifest(store, b, img);
        await store.putManifest({ ...img.manifest, repo: b, tags: ['latest'] });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        await store.deleteManifest(a, img.digest);
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 2, blobs: 0 });
        for (const d of img.blobs) assert.ok(await store.getRepositoryBlob(b, d));
      });

      it('a tag moved away frees the old manifest, and a deleted tag frees its manifest', async () => {
        const repo = repoName('gcq-move');
        const old = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const other = await pushImage(store, repo, { tags: ['stable'], now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        const current = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 1, links: 2, blobs: 2 });
        assert.equal(await store.getManifest(repo, old.digest), undefined);
        assert.ok(await store.getManifest(repo, current.digest));

        // Re-putting an existing manifest with a tag moves the tag too.
        await store.putManifest({ ...other.manifest, tags: ['latest'] });
        assert.deepEqual(await collect(store, at(60)), { manifests: 1, links: 2, blobs: 2 });
        assert.equal(await store.getManifest(repo, current.digest), undefined);
        await store.deleteTag(repo, 'stable');
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 }, 'still tagged latest');
        await store.deleteTag(repo, 'latest');
        assert.deepEqual(await collect(store, at(60)), { manifests: 1, links: 2, blobs: 2 });
        assert.equal(await store.getManifest(repo, other.digest), undefined);
        assert.deepEqual(await store.listTags(repo), []);
      });

      it('an untagged index goes first, its children in a later round', async () => {
        const repo = repoName('gcq-index');
        const c1 = await pushImage(store, repo, { now: at(0) });
        const c2 = await pushImage(store, repo, { now: at(0) });
        const index = await pushIndex(store, repo, [c1.digest, c2.digest], { tags: ['latest'], now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        await store.deleteTag(repo, 'latest');
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 1), [key(repo, index)]);
        assert.ok(await store.getManifest(repo, c1.digest), 'children wait for the next round');
        assert.deepEqual(sortKeys(await store.deleteUntaggedManifests(at(60), 100)), sortKeys([key(repo, c1), key(repo, c2)]));
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 4, blobs: 4 });
      });

      it('children of a deleted index are collected, unless another index lists them', async () => {
        const repo = repoName('gcq-index-delete');
        const c1 = await pushImage(store, repo, { now: at(0) });
        const shared = await pushImage(store, repo, { now: at(0) });
        const index = await pushIndex(store, repo, [c1.digest, shared.digest], { tags: ['a'], now: at(0) });
        await pushIndex(store, repo, [shared.digest], { tags: ['b'], now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        await store.deleteManifest(repo, index.digest);
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [key(repo, c1)]);
        assert.ok(await store.getManifest(repo, shared.digest));
      });

      it('a referrer whose subject was deleted is collected, with referrers of it', async () => {
        const repo = repoName('gcq-referrer');
        const subject = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        const sig = await pushImage(store, repo, { subject: subject.digest, now: at(0) });
        const sigOfSig = await pushImage(store, repo, { subject: sig.digest, now: at(0) });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        await store.deleteManifest(repo, subject.digest);
        const deleted = await store.deleteUntaggedManifests(at(60), 100);
        assert.deepEqual(deleted, [key(repo, sig), key(repo, sigOfSig)]);
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 6, blobs: 6 });
      });

      it('an unlinked blob becomes an orphan; one linked again does not', async () => {
        const repo = repoName('gcq-unlink');
        const gone = digestOf(nonce());
        const back = digestOf(nonce());
        await store.linkBlob(repo, gone, 3, at(0));
        await store.linkBlob(repo, back, 4, at(0));
        await store.putManifest(manifestOf(repo, [gone, back], ['latest']));
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });

        await store.unlinkBlob(repo, gone);
        await store.unlinkBlob(repo, back);
        await store.linkBlob(repoName('elsewhere'), back, 4, at(0));
        assert.deepEqual(await store.deleteOrphanBlobs(at(60), 100), [{ digest: gone, size: 3, createdAt: at(0) }]);
        assert.ok(await store.getBlob(back));
      });

      it('keeps what was referenced again after it was queued', async () => {
        const repo = repoName('gcq-again');
        const img = await pushImage(store, repo, { now: at(0) }); // queued: untagged
        await store.putManifest({ ...img.manifest, tags: ['latest'] });
        const loose = digestOf(nonce());
        await store.linkBlob(repo, loose, 1, at(0)); // queued: unreferenced
        await store.putManifest(manifestOf(repo, [loose], ['loose']));
        const relinked = digestOf(nonce());
        await store.linkBlob(repo, relinked, 1, at(0));
        await store.linkBlob(repo, relinked, 1, at(120)); // refreshed: a new grace period

        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });
        assert.ok(await store.getManifest(repo, img.digest));
        assert.ok(await store.getRepositoryBlob(repo, loose));
        assert.ok(await store.getRepositoryBlob(repo, relinked));
        assert.deepEqual(await collect(store, at(121)), { manifests: 0, links: 1, blobs: 1 });
      });

      it('keeps a manifest untagged within grace until the grace is over', async () => {
        const repo = repoName('gcq-young');
        const img = await pushImage(store, repo, { tags: ['latest'], now: at(120) });
        await store.deleteTag(repo, 'latest');
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });
        assert.deepEqual(await collect(store, at(60)), { manifests: 0, links: 0, blobs: 0 });
        assert.deepEqual(await store.deleteUntaggedManifests(at(121), 100), [key(repo, img)]);
      });

      it('collects again a digest that was deleted, pushed again and untagged', async () => {
        const repo = repoName('gcq-repush');
        const img = await pushImage(store, repo, { tags: ['latest'], now: at(0) });
        await store.deleteManifest(repo, img.digest);
        await store.putManifest({ ...img.manifest, tags: ['latest'], now: at(5) });
        await store.deleteTag(repo, 'latest');
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), [key(repo, img)]);
        assert.deepEqual(await store.deleteUntaggedManifests(at(60), 100), []);
      });
    });

    describe('close', () => {
      it('may be called twice', async () => {
        const extra = await factory();
        await extra.close();
        await extra.close();
      });
    });
  });
}

// --- fixtures ---------------------------------------------------------------------------------------

/** One GC run as `registry/gc.ts` makes it (untagged manifests, then links, then blobs), in batches of 7. */
async function collect(store: MetadataStore, before: Date): Promise<{ manifests: number; links: number; blobs: number }> {
  const batch = 7;
  const result = { manifests: 0, links: 0, blobs: 0 };
  for (;;) {
    const n = (await store.deleteUntaggedManifests(before, batch)).length;
    result.manifests += n;
    if (n < batch) break;
  }
  for (;;) {
    const n = await store.deleteUnreferencedLinks(before, batch);
    result.links += n;
    if (n < batch) break;
  }
  for (;;) {
    const n = (await store.deleteOrphanBlobs(before, batch)).length;
    result.blobs += n;
    if (n < batch) break;
  }
  return result;
}

/** An image manifest over already linked blobs, created at minute 0. */
function manifestOf(repo: string, blobs: Digest[], tags: string[]): Parameters<MetadataStore['putManifest']>[0] {
  const content = bytes({ schemaVersion: 2, mediaType: IMAGE_MANIFEST, layers: blobs, nonce: nonce() });
  return { repo, digest: digestOf(content), mediaType: IMAGE_MANIFEST, content, blobs, children: [], tags, now: at(0) };
}

const IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Unique per process, so runs against a shared database never collide. */
const RUN = randomBytes(4).toString('hex');
let counter = 0;

function nonce(): string {
  counter += 1;
  return `${RUN}-${counter}`;
}

function repoName(label: string): string {
  return `conformance-${RUN}/${label}-${nonce()}`;
}

/** Minutes after 2020-01-01T00:00Z: old enough that real-time data of other tests is never "before". */
function at(minutes: number): Date {
  return new Date(Date.UTC(2020, 0, 1) + minutes * 60_000);
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function bytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

interface Pushed {
  digest: Digest;
  content: Uint8Array;
  blobs: Digest[];
  manifest: Parameters<MetadataStore['putManifest']>[0];
}

interface PushOptions {
  tags?: string[];
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
  now?: Date;
}

/** Links a fresh config and layer into `repo` and puts an image manifest referencing them. */
async function pushImage(store: MetadataStore, repo: string, o: PushOptions = {}): Promise<Pushed> {
  const config = digestOf(`config ${nonce()}`);
  const layer = digestOf(`layer ${nonce()}`);
  await store.linkBlob(repo, config, 100, o.now);
  await store.linkBlob(repo, layer, 1000, o.now);
  const content = bytes({
    schemaVersion: 2,
    mediaType: IMAGE_MANIFEST,
    config: { digest: config },
    layers: [{ digest: layer }],
    subject: o.subject,
    annotations: o.annotations,
  });
  const manifest = {
    repo,
    digest: digestOf(content),
    mediaType: IMAGE_MANIFEST,
    content,
    artifactType: o.artifactType,
    subject: o.subject,
    annotations: o.annotations,
    blobs: [config, layer],
    children: [],
    tags: o.tags,
    now: o.now,
  };
  await store.putManifest(manifest);
  return { digest: manifest.digest, content, blobs: [config, layer], manifest };
}

async function pushIndex(store: MetadataStore, repo: string, children: Digest[], o: PushOptions = {}): Promise<Pushed> {
  const content = bytes({ schemaVersion: 2, mediaType: IMAGE_INDEX, manifests: children, nonce: nonce() });
  const manifest = {
    repo,
    digest: digestOf(content),
    mediaType: IMAGE_INDEX,
    content,
    blobs: [],
    children,
    tags: o.tags,
    now: o.now,
  };
  await store.putManifest(manifest);
  return { digest: manifest.digest, content, blobs: [], manifest };
}

/** Puts an already pushed manifest into another repository, linking its blobs there first. */
async function mountManifest(store: MetadataStore, repo: string, p: Pushed): Promise<void> {
  for (const d of p.blobs) await store.linkBlob(repo, d, 1, p.manifest.now);
  await store.putManifest({ ...p.manifest, repo, tags: undefined });
}

function key(repo: string, p: Pushed): { repo: string; digest: Digest } {
  return { repo, digest: p.digest };
}

function sortKeys(keys: { repo: string; digest: Digest }[]): { repo: string; digest: Digest }[] {
  return [...keys].sort((x, y) => byteOrder(`${x.repo}@${x.digest}`, `${y.repo}@${y.digest}`));
}
