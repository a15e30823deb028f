import type pg from 'pg';
import { accountsSchema } from '../accounts-schema.js';
import { scansSchema } from '../scans-schema.js';
import { certsSchema } from '../certs-schema.js';

/**
 * Versioned schema migrations for the PostgreSQL metadata store: the same tables, columns, queues and
 * version numbers as `../sqlite/migrations.ts`, with PostgreSQL types (`BIGINT GENERATED ALWAYS AS
 * IDENTITY` ids, `BYTEA` content, times as `BIGINT` milliseconds like SQLite's). Names, tags and digests
 * are `COLLATE "C"` so that listings come back in byte order, as SQLite's `BINARY` gives them.
 *
 * Differences on purpose:
 * - version 1 has no `*_created_at` / `linked_at` scan indexes (SQLite's version 2 drops them; GC reads
 *   only the review queues);
 * - the review queues have no foreign keys. Under concurrency a foreign key check waits for, and then
 *   fails against, a candidate that a collector is deleting at that moment; a queue entry whose candidate
 *   is gone is simply dropped when it is reviewed.
 *
 * Migrations only ever get appended. Each runs in its own transaction together with its row in
 * `schema_migrations`, under a transaction-level advisory lock on the schema, so nodes that start at the
 * same time apply each migration exactly once.
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
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT COLLATE "C" NOT NULL UNIQUE,
        created_at  BIGINT NOT NULL
      );

      CREATE TABLE blobs (
        digest      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        size        BIGINT NOT NULL,
        created_at  BIGINT NOT NULL
      );

      CREATE TABLE repository_blobs (
        repo_id     BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        digest      TEXT COLLATE "C" NOT NULL REFERENCES blobs (digest),
        linked_at   BIGINT NOT NULL,
        PRIMARY KEY (repo_id, digest)
      );
      CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

      CREATE TABLE manifests (
        id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        repo_id        BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        digest         TEXT COLLATE "C" NOT NULL,
        media_type     TEXT NOT NULL,
        size           BIGINT NOT NULL,
        content        BYTEA NOT NULL,
        artifact_type  TEXT,
        subject        TEXT COLLATE "C",
        annotations    TEXT,
        created_at     BIGINT NOT NULL,
        UNIQUE (repo_id, digest)
      );
      CREATE INDEX manifests_referrers ON manifests (repo_id, subject, digest);

      CREATE TABLE manifest_blobs (
        manifest_id  BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        repo_id      BIGINT NOT NULL,
        digest       TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (manifest_id, digest)
      );
      CREATE INDEX manifest_blobs_repo_digest ON manifest_blobs (repo_id, digest);

      CREATE TABLE manifest_children (
        manifest_id   BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        repo_id       BIGINT NOT NULL,
        child_digest  TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (manifest_id, child_digest)
      );
      CREATE INDEX manifest_children_repo_child ON manifest_children (repo_id, child_digest);

      CREATE TABLE tags (
        repo_id      BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        name         TEXT COLLATE "C" NOT NULL,
        manifest_id  BIGINT NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        updated_at   BIGINT NOT NULL,
        PRIMARY KEY (repo_id, name)
      );
      CREATE INDEX tags_manifest_id ON tags (manifest_id);

      CREATE TABLE uploads (
        id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        repo_id     BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
        size        BIGINT NOT NULL,
        started_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL
      );
      CREATE INDEX uploads_updated_at ON uploads (updated_at, id);
    `,
  },
  {
    version: 2,
    name: 'gc review queues',
    sql: `
      CREATE TABLE gc_manifest_review_queue (
        manifest_id   BIGINT NOT NULL PRIMARY KEY,
        review_after  BIGINT NOT NULL
      );
      CREATE INDEX gc_manifest_review_queue_due ON gc_manifest_review_queue (review_after, manifest_id);

      CREATE TABLE gc_link_review_queue (
        repo_id       BIGINT NOT NULL,
        digest        TEXT COLLATE "C" NOT NULL,
        review_after  BIGINT NOT NULL,
        PRIMARY KEY (repo_id, digest)
      );
      CREATE INDEX gc_link_review_queue_due ON gc_link_review_queue (review_after, repo_id, digest);

      CREATE TABLE gc_blob_review_queue (
        digest        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        review_after  BIGINT NOT NULL
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
    `,
  },
  { version: 3, name: 'accounts, permissions, tokens and the audit log', sql: accountsSchema('postgres') },
  { version: 4, name: 'advisories, package inventories, scan results and the scan queue', sql: scansSchema('postgres') },
  { version: 5, name: 'certification settings, results, queue and publications', sql: certsSchema('postgres') },
];

/** Schema names we accept: plain lower-case identifiers, so they never need quoting anywhere. */
export const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Brings `schema` (created when missing) to the newest version, on a client whose `search_path` is that
 * schema. Safe to call from several processes at once. Returns the versions it applied.
 *
 * Throws when the schema was written by a newer Berth (a version we don't know).
 */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const applied: number[] = [];
  const lockKey = `berth:migrate:${schema}`;

  const inLockedTransaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      // Held until COMMIT or ROLLBACK: the second node to start waits here, then sees the new version.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey]);
      const value = await fn();
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  };
  const currentVersion = async (): Promise<number> => {
    const r = await client.query<{ v: string | number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return Number(r.rows[0]?.v ?? 0);
  };

  // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent twin (unique violation); under the lock it is.
  await inLockedTransaction(async () => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
        version     INTEGER NOT NULL PRIMARY KEY,
        name        TEXT    NOT NULL,
        applied_at  BIGINT  NOT NULL
      )`);
  });

  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await inLockedTransaction(async () => {
      const v = await currentVersion();
      if (v > known) throw new Error(`metadata schema version ${v} is newer than this build supports (${known})`);
      // Another node may have applied it while we waited for the lock.
      if (v >= m.version) return false;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        Date.now(),
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  const v = await currentVersion();
  if (v > known) throw new Error(`metadata schema version ${v} is newer than this build supports (${known})`);
  return applied;
}
