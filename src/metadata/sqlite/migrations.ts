import type Database from 'better-sqlite3';
import { accountsSchema } from '../accounts-schema.js';
import { scansSchema } from '../scans-schema.js';
import { certsSchema } from '../certs-schema.js';

/**
 * Versioned schema migrations for the SQLite metadata store.
 *
 * The SQL is kept portable on purpose so a PostgreSQL store can carry the same schema with only type
 * changes: integer surrogate ids (`INTEGER PRIMARY KEY` here, `BIGINT GENERATED ALWAYS AS IDENTITY` there),
 * times as integer milliseconds (`BIGINT`), `BLOB` → `BYTEA`, annotations as JSON text, and the names and
 * tags that are listed in byte order compared with a byte-order collation (SQLite's default `BINARY` is
 * `memcmp` on UTF-8; PostgreSQL needs `COLLATE "C"`). No `WITHOUT ROWID`, no `AUTOINCREMENT`. The only triggers
 * are those of migrations 4 and 5, written once for both engines: they queue a scan for each new manifest and a
 * certification for each new or moved tag inside the push's own transaction, whichever node or tool wrote it.
 *
 * Migrations only ever get appended. Each runs in its own transaction together with its row in
 * `schema_migrations`, so a crash leaves the schema at a known version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE repositories (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
      );

      CREATE TABLE blobs (
        digest      TEXT    NOT NULL PRIMARY KEY,
        size        INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
      );
      -- deleteOrphanBlobs: oldest first, bounded by the grace period.
      CREATE INDEX blobs_created_at ON blobs (created_at, digest);

      -- Which blobs a repository may serve. A link, not ownership: the bytes are shared.
      CREATE TABLE repository_blobs (
        repo_id     INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        digest      TEXT    NOT NULL REFERENCES blobs (digest),
        linked_at   INTEGER NOT NULL,
        PRIMARY KEY (repo_id, digest)
      );
      -- deleteOrphanBlobs: "is this blob linked anywhere?"
      CREATE INDEX repository_blobs_digest ON repository_blobs (digest);
      -- deleteUnreferencedLinks: scan candidates older than the grace period.
      CREATE INDEX repository_blobs_linked_at ON repository_blobs (linked_at, repo_id, digest);

      CREATE TABLE manifests (
        id             INTEGER PRIMARY KEY,
        repo_id        INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        digest         TEXT    NOT NULL,
        media_type     TEXT    NOT NULL,
        size           INTEGER NOT NULL,
        content        BLOB    NOT NULL,
        artifact_type  TEXT,
        subject        TEXT,
        annotations    TEXT,
        created_at     INTEGER NOT NULL,
        UNIQUE (repo_id, digest)
      );
      -- listReferrers, ordered by digest; and GC's "does my subject exist" goes through UNIQUE above.
      CREATE INDEX manifests_referrers ON manifests (repo_id, subject, digest);
      -- deleteUntaggedManifests: scan candidates older than the grace period.
      CREATE INDEX manifests_created_at ON manifests (created_at);

      -- Config and layer digests of a manifest. repo_id is copied from the manifest so that
      -- "is this link referenced in its repository" is one index lookup, not a join over every
      -- manifest in every repository that shares a popular base layer. No foreign key to blobs:
      -- GC removes links and blob records on its own schedule.
      CREATE TABLE manifest_blobs (
        manifest_id  INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        repo_id      INTEGER NOT NULL,
        digest       TEXT    NOT NULL,
        PRIMARY KEY (manifest_id, digest)
      );
      CREATE INDEX manifest_blobs_repo_digest ON manifest_blobs (repo_id, digest);

      -- Child manifests of an index, by digest (the child is a manifest of the same repository).
      CREATE TABLE manifest_children (
        manifest_id   INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        repo_id       INTEGER NOT NULL,
        child_digest  TEXT    NOT NULL,
        PRIMARY KEY (manifest_id, child_digest)
      );
      CREATE INDEX manifest_children_repo_child ON manifest_children (repo_id, child_digest);

      -- The primary key doubles as the index for listTags (byte order within a repository) and for
      -- getTaggedManifest.
      CREATE TABLE tags (
        repo_id      INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        name         TEXT    NOT NULL,
        manifest_id  INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (repo_id, name)
      );
      -- deleteUntaggedManifests and deleteManifest: "which tags point at this manifest".
      CREATE INDEX tags_manifest_id ON tags (manifest_id);

      CREATE TABLE uploads (
        id          TEXT    NOT NULL PRIMARY KEY,
        repo_id     INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        size        INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      -- listStaleUploads: oldest first.
      CREATE INDEX uploads_updated_at ON uploads (updated_at, id);
    `,
  },
  {
    version: 2,
    name: 'gc review queues',
    // GC reviews only candidates whose status may have changed, as GitLab's container registry does
    // (online GC: gc_blob_review_queue, gc_manifest_review_queue with review_after). The write paths
    // enqueue; each GC step takes due entries, re-checks them and deletes what is still garbage. See
    // the store for what enqueues what. `review_after` is the candidate's own grace timestamp
    // (manifests.created_at, repository_blobs.linked_at, blobs.created_at), because that is what the
    // grace period in store.ts is measured from.
    //
    // The backfill is the one full scan there will ever be: it queues what may already be garbage so
    // that an upgraded database collects it too. After it, the old scan indexes have no reader.
    sql: `
      CREATE TABLE gc_manifest_review_queue (
        manifest_id   INTEGER NOT NULL PRIMARY KEY REFERENCES manifests (id) ON DELETE CASCADE,
        review_after  INTEGER NOT NULL
      );
      CREATE INDEX gc_manifest_review_queue_due ON gc_manifest_review_queue (review_after, manifest_id);

      CREATE TABLE gc_link_review_queue (
        repo_id       INTEGER NOT NULL,
        digest        TEXT    NOT NULL,
        review_after  INTEGER NOT NULL,
        PRIMARY KEY (repo_id, digest),
        FOREIGN KEY (repo_id, digest) REFERENCES repository_blobs (repo_id, digest) ON DELETE CASCADE
      );
      CREATE INDEX gc_link_review_queue_due ON gc_link_review_queue (review_after, repo_id, digest);

      CREATE TABLE gc_blob_review_queue (
        digest        TEXT    NOT NULL PRIMARY KEY REFERENCES blobs (digest) ON DELETE CASCADE,
        review_after  INTEGER NOT NULL
      );
      CREATE INDEX gc_blob_review_queue_due ON gc_blob_review_queue (review_after, digest);

      INSERT INTO gc_manifest_review_queue (manifest_id, review_after)
        SELECT m.id, m.created_at FROM manifests m
         WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id);
      INSERT INTO gc_link_review_queue (repo_id, digest, review_after)
        SELECT rb.repo_id, rb.digest, rb.linked_at FROM repository_blobs rb
         WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.repo_id = rb.repo_id AND mb.digest = rb.digest);
      INSERT INTO gc_blob_review_queue (digest, review_after)
        SELECT b.digest, b.created_at FROM blobs b
         WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest);

      DROP INDEX manifests_created_at;
      DROP INDEX repository_blobs_linked_at;
      DROP INDEX blobs_created_at;
    `,
  },
  { version: 3, name: 'accounts, permissions, tokens and the audit log', sql: accountsSchema('sqlite') },
  { version: 4, name: 'advisories, package inventories, scan results and the scan queue', sql: scansSchema('sqlite') },
  { version: 5, name: 'certification settings, results, queue and publications', sql: certsSchema('sqlite') },
];

/**
 * Brings the database to the newest schema version. Safe to call on every open and from several
 * processes at once: each migration runs in an IMMEDIATE transaction (taking the write lock before
 * reading the current version), so two openers never apply the same migration twice.
 *
 * Throws when the database was written by a newer Berth (a version we don't know), rather than
 * running against a schema we don't understand.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version     INTEGER NOT NULL PRIMARY KEY,
      name        TEXT    NOT NULL,
      applied_at  INTEGER NOT NULL
    )
  `);
  const current = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const applied: number[] = [];

  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const apply = db.transaction(() => {
      const v = current.get()?.v ?? 0;
      if (v > known) {
        throw new Error(`metadata schema version ${v} is newer than this build supports (${known})`);
      }
      // Another process may have applied it between our check and taking the lock.
      if (v >= m.version) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      return true;
    });
    if (apply.immediate()) applied.push(m.version);
  }
  // Also refuse a newer schema when there was nothing left for us to apply.
  const v = current.get()?.v ?? 0;
  if (v > known) throw new Error(`metadata schema version ${v} is newer than this build supports (${known})`);
  return applied;
}
