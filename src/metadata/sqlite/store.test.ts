import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { digestOf } from '../../content/digest.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { SqliteStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

/** A path for a database file that does not exist yet. */
function freshPath(): string {
  files += 1;
  return join(root, `metadata-${files}.db`);
}

// The shared conformance suite runs over this store in ../conformance.test.ts; these are SQLite's own.

describe('SqliteStore', () => {
  it('is named sqlite and opens an in-memory database', async () => {
    const store = SqliteStore.open({ path: ':memory:' });
    assert.equal(store.name, 'sqlite');
    await store.linkBlob('library/alpine', digestOf('x'), 1);
    assert.deepEqual(await store.listRepositories(), ['library/alpine']);
    await store.close();
  });

  it('applies migrations once and records them, across reopen', async () => {
    const path = freshPath();
    (await SqliteStore.open({ path }).close());
    (await SqliteStore.open({ path }).close());

    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(
        rows,
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
    } finally {
      db.close();
    }
  });

  it('migrate() applies nothing to an up-to-date database', () => {
    const db = new Database(':memory:');
    try {
      assert.deepEqual(
        migrate(db),
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(migrate(db), []);
    } finally {
      db.close();
    }
  });

  it('rolls back a failing migration together with its version row', () => {
    const db = new Database(':memory:');
    try {
      const broken = [...MIGRATIONS, { version: 99, name: 'broken', sql: 'CREATE TABLE t (x); SELECT * FROM nope;' }];
      assert.throws(() => migrate(db, broken), /no such table: nope/);
      const v = db.prepare<[], { v: number }>('SELECT max(version) AS v FROM schema_migrations').get();
      assert.equal(v?.v, MIGRATIONS[MIGRATIONS.length - 1]!.version);
      assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get(), undefined);
    } finally {
      db.close();
    }
  });

  it('refuses a database from a newer schema version', () => {
    const path = freshPath();
    const db = new Database(path);
    migrate(db);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('future');
    db.close();
    assert.throws(() => SqliteStore.open({ path }), /schema version 999 is newer/);
  });

  it('keeps data across close and reopen', async () => {
    const path = freshPath();
    const d = digestOf('layer');
    const content = new TextEncoder().encode('{"schemaVersion":2}');
    const digest = digestOf(content);

    const first = SqliteStore.open({ path });
    await first.linkBlob('app', d, 42, new Date(1000));
    await first.putManifest({
      repo: 'app',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content,
      blobs: [d],
      children: [],
      tags: ['latest'],
      now: new Date(2000),
    });
    await first.createUpload({ id: 'u1', repo: 'app', now: new Date(3000) });
    await first.close();

    const second = SqliteStore.open({ path });
    try {
      assert.deepEqual(await second.getRepositoryBlob('app', d), { digest: d, size: 42, createdAt: new Date(1000) });
      const m = await second.getTaggedManifest('app', 'latest');
      assert.equal(m?.digest, digest);
      assert.deepEqual(m?.content, Buffer.from(content));
      assert.equal((await second.getUpload('app', 'u1'))?.size, 0);
    } finally {
      await second.close();
    }
  });

  it('sees writes of another connection to the same file', async () => {
    const path = freshPath();
    const a = SqliteStore.open({ path });
    const b = SqliteStore.open({ path });
    try {
      await a.createUpload({ id: 'u', repo: 'shared' });
      assert.equal(await b.advanceUpload('u', 0, 10), true);
      assert.equal(await a.advanceUpload('u', 0, 20), false);
      assert.equal((await a.getUpload('shared', 'u'))?.size, 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('puts the database file in WAL mode', async () => {
    const path = freshPath();
    await SqliteStore.open({ path }).close();
    // journal_mode=WAL is persistent, so a second raw connection reports it.
    const db = new Database(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('gives a clear error for a file that is not a database', () => {
    const path = freshPath();
    writeFileSync(path, 'this is not a database, just some garbage bytes '.repeat(100));
    assert.throws(
      () => SqliteStore.open({ path }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /opening SQLite metadata store at .*metadata-\d+\.db.*not a database/);
        assert.ok(err.cause instanceof Error);
        return true;
      },
    );
  });

  it('gives a clear error for a path in a missing directory', () => {
    const path = join(root, 'no', 'such', 'dir', 'metadata.db');
    assert.throws(() => SqliteStore.open({ path }), /opening SQLite metadata store at .*metadata\.db/);
  });

  it('version 2 queues the garbage of an upgraded database, which GC then collects', async () => {
    const path = freshPath();
    const d = (s: string) => digestOf(s);
    const db = new Database(path);
    migrate(db, MIGRATIONS.filter((m) => m.version === 1));
    db.exec(`
      INSERT INTO repositories (id, name, created_at) VALUES (1, 'app', 0);
      INSERT INTO blobs (digest, size, created_at) VALUES
        ('${d('kept')}', 1, 0), ('${d('untagged')}', 2, 0), ('${d('loose')}', 4, 0), ('${d('orphan')}', 8, 0);
      INSERT INTO repository_blobs (repo_id, digest, linked_at) VALUES
        (1, '${d('kept')}', 0), (1, '${d('untagged')}', 0), (1, '${d('loose')}', 0);
      INSERT INTO manifests (id, repo_id, digest, media_type, size, content, created_at) VALUES
        (1, 1, '${d('m-kept')}', 'x', 1, x'00', 0), (2, 1, '${d('m-untagged')}', 'x', 1, x'00', 0);
      INSERT INTO manifest_blobs (manifest_id, repo_id, digest) VALUES (1, 1, '${d('kept')}'), (2, 1, '${d('untagged')}');
      INSERT INTO tags (repo_id, name, manifest_id, updated_at) VALUES (1, 'latest', 1, 0);
    `);
    db.close();

    const store = SqliteStore.open({ path });
    try {
      assert.equal(await store.queueDepth(), 3, 'the untagged manifest, the unreferenced link, the orphan blob');
      const later = new Date(60_000);
      assert.deepEqual(await store.deleteUntaggedManifests(later, 100), [{ repo: 'app', digest: d('m-untagged') }]);
      assert.equal(await store.deleteUnreferencedLinks(later, 100), 2);
      assert.deepEqual(
        (await store.deleteOrphanBlobs(later, 100)).map((b) => b.size).sort(),
        [2, 4, 8],
      );
      assert.equal(await store.queueDepth(), 0);
      assert.ok(await store.getTaggedManifest('app', 'latest'));
      assert.ok(await store.getRepositoryBlob('app', d('kept')));
    } finally {
      await store.close();
    }
  });

  it('a GC run reads only its queues, not every row', async () => {
    const path = freshPath();
    const store = SqliteStore.open({ path });
    const content = new TextEncoder().encode('{}');
    await store.putManifest({ repo: 'app', digest: digestOf(content), mediaType: 'x', content, blobs: [], children: [], tags: ['t'] });
    await store.close();
    // 5,000 old links referenced by the manifest, and 5,000 old unreferenced ones, written behind the
    // store's back: nothing queued them, so no run reviews them, however many rows there are.
    const db = new Database(path);
    db.transaction(() => {
      const blob = db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, 1, 0)');
      const link = db.prepare('INSERT INTO repository_blobs (repo_id, digest, linked_at) VALUES (1, ?, 0)');
      const ref = db.prepare('INSERT INTO manifest_blobs (manifest_id, repo_id, digest) VALUES (1, 1, ?)');
      for (let i = 0; i < 10_000; i++) {
        const d = digestOf(`row ${i}`);
        blob.run(d);
        link.run(d);
        if (i < 5_000) ref.run(d);
      }
    })();
    db.close();

    const reopened = SqliteStore.open({ path });
    try {
      const later = new Date(Date.now() + 60_000);
      const started = performance.now();
      assert.deepEqual(await reopened.deleteUntaggedManifests(later, 500), []);
      assert.equal(await reopened.deleteUnreferencedLinks(later, 500), 0);
      assert.deepEqual(await reopened.deleteOrphanBlobs(later, 500), []);
      assert.ok(performance.now() - started < 200, 'three empty queue reads');
      assert.equal(await reopened.queueDepth(), 0);
    } finally {
      await reopened.close();
    }
  });

  it('uses indexes for the hot queries', () => {
    const db = new Database(':memory:');
    try {
      migrate(db);
      const plan = (sql: string) =>
        db
          .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
          .all()
          .map((r) => r.detail)
          .join('\n');
      const getTagged = plan(
        `SELECT m.digest FROM repositories r JOIN tags t ON t.repo_id = r.id JOIN manifests m ON m.id = t.manifest_id
          WHERE r.name = 'a' AND t.name = 'b'`,
      );
      assert.doesNotMatch(getTagged, /SCAN/);
      const listTags = plan(
        `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id WHERE r.name = 'a' AND t.name > 'x' ORDER BY t.name LIMIT 10`,
      );
      assert.doesNotMatch(listTags, /SCAN|TEMP B-TREE/);
      const listRepos = plan(`SELECT name FROM repositories WHERE name > 'x' ORDER BY name LIMIT 10`);
      assert.doesNotMatch(listRepos, /TEMP B-TREE/);
      for (const queue of ['gc_manifest_review_queue', 'gc_link_review_queue', 'gc_blob_review_queue']) {
        assert.doesNotMatch(plan(`SELECT * FROM ${queue} WHERE review_after < 5 ORDER BY review_after LIMIT 10`), /SCAN|TEMP B-TREE/);
      }
      const referrers = plan(
        `SELECT m.digest FROM repositories r JOIN manifests m ON m.repo_id = r.id
          WHERE r.name = 'a' AND m.subject = 'b' ORDER BY m.digest`,
      );
      assert.doesNotMatch(referrers, /SCAN|TEMP B-TREE/);
    } finally {
      db.close();
    }
  });
});
