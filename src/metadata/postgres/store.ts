import pg from 'pg';
import type { Digest } from '../../content/digest.js';
import { MetadataError, MissingReferencesError } from '../errors.js';
import type { Locker } from '../locks.js';
import type {
  BlobRecord,
  ManifestKey,
  ManifestRecord,
  MetadataStore,
  NewManifest,
  Page,
  ReferrerRecord,
  TagRecord,
  UploadRecord,
} from '../store.js';
import { PostgresLocker } from './locker.js';
import { SCHEMA_RE, migrate } from './migrations.js';
import type { AccountStore } from '../accounts.js';
import { SqlAccountStore } from '../accounts-sql.js';
import type { ScanStore } from '../scans.js';
import { SqlScanStore } from '../scans-sql.js';
import type { CertStore } from '../certs.js';
import { SqlCertStore } from '../certs-sql.js';
import type { SqlDb } from '../sql.js';
import { TAG_RECORDS_SQL, toBlob, toManifest, toReferrer, toTag, toUpload, type BlobRow, type ManifestRow, type ReferrerRow, type TagRow, type UploadRow } from '../rows.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database` */
  url: string;
  /** Schema holding the tables, created when missing. Default `public`. */
  schema?: string;
  /** Connections for store queries. Default 10. Locks use their own pool (see `locker()`). */
  poolSize?: number;
  /** Connections kept for session advisory locks. Default 4; see `PostgresLocker`. */
  lockPoolSize?: number;
  /** Drop the schema (and everything in it) on `close()`. For tests, which use a fresh schema each. */
  dropSchemaOnClose?: boolean;
}

type Queryable = pg.Pool | pg.PoolClient;

interface ManifestRef {
  id: number;
  repo_id: number;
  digest: string;
}

const MANIFEST_COLUMNS =
  'r.name AS repo, m.digest, m.media_type, m.size, m.content, m.artifact_type, m.subject, m.created_at';

/**
 * SQLSTATEs after which the whole transaction is run again: deadlock and serialization failure (two
 * writers or collectors crossing), and a foreign key violation (a blob record deleted by a collector
 * between our insert and our link, so the retry inserts it again).
 */
const RETRYABLE = new Set(['40P01', '40001', '23503']);
const MAX_ATTEMPTS = 5;

/** BIGINT (times, sizes, ids, counts) as numbers: every value we store is far below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * `MetadataStore` on PostgreSQL through a `pg.Pool`, for several stateless registry nodes sharing one
 * database. Each method is one transaction (or one statement). Where two writers can race, they take row
 * locks in a fixed order:
 *
 * - `putManifest` takes `FOR SHARE` on the links, child manifests and subject it depends on, so a
 *   collector can't delete them under it, and `FOR UPDATE` on each tag row (in byte order) it moves, so
 *   two nodes moving one tag serialize: exactly one value wins and the manifest it replaced is queued.
 * - `deleteManifest` and GC lock the manifest `FOR UPDATE` before reading what depends on it.
 * - Queueing a GC candidate locks the candidate row `FOR KEY SHARE`, and a collector locks it `FOR UPDATE`
 *   before re-checking it, so a change either lands before the review (which then sees it) or after it
 *   (and queues the candidate again).
 * - Collectors take queue entries `FOR UPDATE SKIP LOCKED`, so two never review the same candidate.
 * - `advanceUpload` is one `UPDATE ... WHERE size = $expected`.
 *
 * @example
 * const store = await PostgresStore.open({ url: 'postgres://berth@db:5432/berth' })
 */
export class PostgresStore implements MetadataStore {
  readonly name = 'postgres';
  readonly #pool: pg.Pool;
  readonly #opts: PostgresStoreOptions;
  readonly #schema: string;
  #locker: PostgresLocker | undefined;
  #closed: Promise<void> | undefined;
  readonly accounts: AccountStore;
  readonly scans: ScanStore;
  readonly certs: CertStore;

  private constructor(pool: pg.Pool, opts: PostgresStoreOptions, schema: string) {
    this.#pool = pool;
    this.#opts = opts;
    this.#schema = schema;
    this.accounts = new SqlAccountStore(this.#sql());
    this.scans = new SqlScanStore(this.#sql());
    this.certs = new SqlCertStore(this.#sql());
  }

  /** `SqlDb` over the pool; a batch is one transaction. */
  #sql(): SqlDb {
    return {
      dialect: 'postgres',
      all: async <R>(sql: string, params: readonly unknown[] = []) => (await this.#pool.query(sql, params as unknown[])).rows as R[],
      run: async (sql, params = []) => (await this.#pool.query(sql, params as unknown[])).rowCount ?? 0,
      batch: (statements) =>
        this.#tx(async (c) => {
          const counts: number[] = [];
          for (const [sql, params] of statements) counts.push((await c.query(sql, params as unknown[])).rowCount ?? 0);
          return counts;
        }),
    };
  }

  /**
   * Connects, creates the schema when missing and migrates it. Throws an error naming the database and
   * schema when the server can't be reached or the schema is newer than this build.
   */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = opts.schema ?? 'public';
    if (!SCHEMA_RE.test(schema)) {
      throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)} (use [a-z_][a-z0-9_]*)`);
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: Math.max(1, Math.trunc(opts.poolSize ?? 10)),
      // Every pooled connection resolves unqualified names in our schema only.
      options: `-c search_path=${schema}`,
      types: TYPES,
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query gets a new
    // one. Without a listener the 'error' event would crash the process.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
      return new PostgresStore(pool, opts, schema);
    } catch (err) {
      await pool.end();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`opening PostgreSQL metadata store at ${redact(opts.url)} (schema ${schema}): ${reason}`, {
        cause: err,
      });
    }
  }

  /**
   * Locks shared by every node on this database (session advisory locks, on a pool of their own), scoped
   * to this store's schema. Created on first use and closed with the store.
   */
  locker(): Locker {
    this.#locker ??= new PostgresLocker({
      url: this.#opts.url,
      namespace: this.#schema,
      poolSize: this.#opts.lockPoolSize,
    });
    return this.#locker;
  }

  // --- repositories (MetadataStore) ---------------------------------------------------------------

  async repositoryExists(repo: string): Promise<boolean> {
    return (await this.#rows<{ id: number }>('repo-id', 'SELECT id FROM repositories WHERE name = $1', [repo])).length > 0;
  }

  async listRepositories(page: Page = {}): Promise<string[]> {
    const { n, last } = page;
    if (n !== undefined && n <= 0) return [];
    // LIMIT NULL is no limit; the `last` variants are separate statements so each gets its own plan.
    const rows =
      last === undefined
        ? await this.#rows<{ name: string }>('repos', 'SELECT name FROM repositories ORDER BY name LIMIT $1', [n ?? null])
        : await this.#rows<{ name: string }>(
            'repos-after',
            'SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2',
            [last, n ?? null],
          );
    return rows.map((r) => r.name);
  }

  // --- blobs (MetadataStore) ----------------------------------------------------------------------

  async getBlob(digest: Digest): Promise<BlobRecord | undefined> {
    const [row] = await this.#rows<BlobRow>('blob', 'SELECT digest, size, created_at FROM blobs WHERE digest = $1', [
      digest,
    ]);
    return row && toBlob(row);
  }

  async getRepositoryBlob(repo: string, digest: Digest): Promise<BlobRecord | undefined> {
    const [row] = await this.#rows<BlobRow>(
      'repo-blob',
      `SELECT b.digest, b.size, b.created_at
         FROM repositories r
         JOIN repository_blobs rb ON rb.repo_id = r.id
         JOIN blobs b ON b.digest = rb.digest
        WHERE r.name = $1 AND rb.digest = $2`,
      [repo, digest],
    );
    return row && toBlob(row);
  }

  async linkBlob(repo: string, digest: Digest, size: number, now: Date = new Date()): Promise<void> {
    const t = now.getTime();
    await this.#tx(async (c) => {
      const repoId = await ensureRepo(c, repo, t);
      await c.query('INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING', [
        digest,
        size,
        t,
      ]);
      await c.query(
        `INSERT INTO repository_blobs (repo_id, digest, linked_at) VALUES ($1, $2, $3)
         ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at`,
        [repoId, digest, t],
      );
      // After the link: if a collector was deleting the link and its entry, our upsert waited for it and
      // this insert finds the entry gone and adds it back. An existing entry keeps its older review_after;
      // the collector then sees the refreshed linked_at and defers the entry to it.
      await c.query(
        `INSERT INTO gc_link_review_queue (repo_id, digest, review_after) VALUES ($1, $2, $3)
         ON CONFLICT (repo_id, digest) DO NOTHING`,
        [repoId, digest, t],
      );
    });
  }

  async unlinkBlob(repo: string, digest: Digest): Promise<boolean> {
    return this.#tx(async (c) => {
      const r = await c.query(
        `DELETE FROM repository_blobs
          WHERE repo_id = (SELECT id FROM repositories WHERE name = $1) AND digest = $2`,
        [repo, digest],
      );
      if (r.rowCount === 0) return false;
      await enqueueBlob(c, digest);
      return true;
    });
  }

  // --- manifests and tags (MetadataStore) ----------------------------------------------------------

  async putManifest(m: NewManifest): Promise<void> {
    const now = (m.now ?? new Date()).getTime();
    const blobs = unique(m.blobs);
    const children = unique(m.children);
    // A fixed order, so two writers tagging overlapping sets lock the tag rows in the same order.
    const tags = unique(m.tags ?? []).sort(byteOrder);
    await this.#tx(async (c) => {
      const existingRepo = await repoIdOf(c, m.repo);
      let missingBlobs = blobs;
      let missingChildren = children;
      if (existingRepo !== undefined) {
        // FOR SHARE: a collector can't remove these until we commit (it locks them FOR UPDATE first).
        const linked = await c.query<{ digest: string }>(
          `SELECT digest FROM repository_blobs WHERE repo_id = $1 AND digest = ANY($2::text[])
            ORDER BY digest FOR SHARE`,
          [existingRepo, blobs],
        );
        const have = new Set(linked.rows.map((r) => r.digest));
        missingBlobs = blobs.filter((d) => !have.has(d));
        const found = await c.query<{ digest: string }>(
          `SELECT digest FROM manifests WHERE repo_id = $1 AND digest = ANY($2::text[])
            ORDER BY id FOR SHARE`,
          [existingRepo, children],
        );
        const haveChildren = new Set(found.rows.map((r) => r.digest));
        missingChildren = children.filter((d) => !haveChildren.has(d));
      }
      if (missingBlobs.length > 0 || missingChildren.length > 0) {
        throw new MissingReferencesError(missingBlobs, missingChildren);
      }
      const repoId = existingRepo ?? (await ensureRepo(c, m.repo, now));
      if (m.subject !== undefined && existingRepo !== undefined) {
        // Serializes with a delete of the subject, which queues its referrers: either it sees us, or we
        // see the subject gone (and a new referrer is queued below anyway).
        await c.query('SELECT id FROM manifests WHERE repo_id = $1 AND digest = $2 FOR KEY SHARE', [repoId, m.subject]);
      }

      let manifestId = await lockManifestId(c, repoId, m.digest);
      if (manifestId === undefined) {
        const annotations =
          m.annotations && Object.keys(m.annotations).length > 0 ? JSON.stringify(m.annotations) : null;
        const inserted = await c.query<{ id: number }>(
          `INSERT INTO manifests
             (repo_id, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (repo_id, digest) DO NOTHING
           RETURNING id`,
          [
            repoId,
            m.digest,
            m.mediaType,
            m.content.byteLength,
            Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength),
            m.artifactType ?? null,
            m.subject ?? null,
            annotations,
            now,
          ],
        );
        manifestId = inserted.rows[0]?.id;
        if (manifestId === undefined) {
          // Another node put the same digest a moment ago; that row is the manifest now.
          manifestId = await lockManifestId(c, repoId, m.digest);
          if (manifestId === undefined) throw new Error(`manifest ${m.digest} was neither inserted nor found`);
        } else {
          if (blobs.length > 0) {
            await c.query(
              `INSERT INTO manifest_blobs (manifest_id, repo_id, digest)
               SELECT $1, $2, d FROM unnest($3::text[]) AS d`,
              [manifestId, repoId, blobs],
            );
          }
          if (children.length > 0) {
            await c.query(
              `INSERT INTO manifest_children (manifest_id, repo_id, child_digest)
               SELECT $1, $2, d FROM unnest($3::text[]) AS d`,
              [manifestId, repoId, children],
            );
          }
          if (tags.length === 0) await enqueueManifests(c, 'WHERE id = $1', [manifestId]);
        }
      }

      for (const tag of tags) {
        const previous = await moveTag(c, repoId, tag, manifestId, now);
        // The manifest the tag moved away from may have lost its last tag.
        if (previous !== undefined && previous !== manifestId) await enqueueManifests(c, 'WHERE id = $1', [previous]);
      }
    });
  }

  async listManifests(repo: string, page: Page = {}): Promise<ManifestRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    const rows = await this.#rows<ManifestRow>(
      'list-manifests',
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = $1 AND m.digest > $2 ORDER BY m.digest LIMIT $3`,
      [repo, page.last ?? '', page.n ?? null],
    );
    return rows.map(toManifest);
  }

  async listRepositoryBlobs(repo: string, page: Page = {}): Promise<BlobRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    const rows = await this.#rows<BlobRow>(
      'list-repo-blobs',
      `SELECT b.digest, b.size, b.created_at
         FROM repositories r JOIN repository_blobs rb ON rb.repo_id = r.id JOIN blobs b ON b.digest = rb.digest
        WHERE r.name = $1 AND rb.digest > $2 ORDER BY rb.digest LIMIT $3`,
      [repo, page.last ?? '', page.n ?? null],
    );
    return rows.map(toBlob);
  }

  async getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const [row] = await this.#rows<ManifestRow>(
      'manifest',
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = $1 AND m.digest = $2`,
      [repo, digest],
    );
    return row && toManifest(row);
  }

  async getTaggedManifest(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    // One statement, one index lookup per table: repositories(name) → tags(repo_id, name) → manifests(id).
    const [row] = await this.#rows<ManifestRow>(
      'tagged-manifest',
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r
         JOIN tags t ON t.repo_id = r.id
         JOIN manifests m ON m.id = t.manifest_id
        WHERE r.name = $1 AND t.name = $2`,
      [repo, tag],
    );
    return row && toManifest(row);
  }

  async deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return this.#tx(async (c) => {
      const r = await c.query<ManifestRef>(
        `SELECT m.id, m.repo_id, m.digest
           FROM repositories r JOIN manifests m ON m.repo_id = r.id
          WHERE r.name = $1 AND m.digest = $2
          FOR UPDATE OF m`,
        [repo, digest],
      );
      const m = r.rows[0];
      if (!m) return false;
      await forgetManifest(c, m);
      return true;
    });
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#tx(async (c) => {
      const r = await c.query<{ manifest_id: number }>(
        `DELETE FROM tags WHERE repo_id = (SELECT id FROM repositories WHERE name = $1) AND name = $2
         RETURNING manifest_id`,
        [repo, tag],
      );
      const deleted = r.rows[0];
      if (!deleted) return false;
      await enqueueManifests(c, 'WHERE id = $1', [deleted.manifest_id]);
      return true;
    });
  }

  async listTagRecords(repo: string, page: Page = {}): Promise<TagRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    const rows = await this.#rows<TagRow>('tag-records', TAG_RECORDS_SQL, [repo, page.last ?? '', page.n ?? null]);
    return rows.map(toTag);
  }

  async listTags(repo: string, page: Page = {}): Promise<string[]> {
    const { n, last } = page;
    if (n !== undefined && n <= 0) return [];
    const rows =
      last === undefined
        ? await this.#rows<{ name: string }>(
            'tags',
            `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id
              WHERE r.name = $1 ORDER BY t.name LIMIT $2`,
            [repo, n ?? null],
          )
        : await this.#rows<{ name: string }>(
            'tags-after',
            `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id
              WHERE r.name = $1 AND t.name > $2 ORDER BY t.name LIMIT $3`,
            [repo, last, n ?? null],
          );
    return rows.map((r) => r.name);
  }

  async listReferrers(repo: string, subject: Digest, filter: { artifactType?: string } = {}): Promise<ReferrerRecord[]> {
    const select = `SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
                      FROM repositories r JOIN manifests m ON m.repo_id = r.id
                     WHERE r.name = $1 AND m.subject = $2`;
    const rows =
      filter.artifactType === undefined
        ? await this.#rows<ReferrerRow>('referrers', `${select} ORDER BY m.digest`, [repo, subject])
        : await this.#rows<ReferrerRow>('referrers-of-type', `${select} AND m.artifact_type = $3 ORDER BY m.digest`, [
            repo,
            subject,
            filter.artifactType,
          ]);
    return rows.map(toReferrer);
  }

  // --- upload sessions (MetadataStore) ------------------------------------------------------------

  async createUpload(upload: { id: string; repo: string; now?: Date }): Promise<UploadRecord> {
    const now = (upload.now ?? new Date()).getTime();
    return this.#tx(async (c) => {
      const repoId = await ensureRepo(c, upload.repo, now);
      const r = await c.query(
        `INSERT INTO uploads (id, repo_id, size, started_at, updated_at) VALUES ($1, $2, 0, $3, $3)
         ON CONFLICT (id) DO NOTHING`,
        [upload.id, repoId, now],
      );
      if (r.rowCount === 0) throw new MetadataError('CONFLICT', `upload ${upload.id} already exists`);
      return { id: upload.id, repo: upload.repo, size: 0, startedAt: new Date(now), updatedAt: new Date(now) };
    });
  }

  async getUpload(repo: string, id: string): Promise<UploadRecord | undefined> {
    const [row] = await this.#rows<UploadRow>(
      'upload',
      `SELECT u.id, r.name AS repo, u.size, u.started_at, u.updated_at
         FROM uploads u JOIN repositories r ON r.id = u.repo_id
        WHERE r.name = $1 AND u.id = $2`,
      [repo, id],
    );
    return row && toUpload(row);
  }

  async advanceUpload(id: string, expectedSize: number, newSize: number, now: Date = new Date()): Promise<boolean> {
    // The compare and the set are one UPDATE: a second node's UPDATE waits for the row, then re-checks
    // `size = $4` against the committed value and matches nothing.
    const r = await this.#pool.query({
      name: 'advance-upload',
      text: 'UPDATE uploads SET size = $1, updated_at = $2 WHERE id = $3 AND size = $4',
      values: [newSize, now.getTime(), id, expectedSize],
    });
    return (r.rowCount ?? 0) > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    const r = await this.#pool.query('DELETE FROM uploads WHERE id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async listStaleUploads(before: Date, limit: number): Promise<UploadRecord[]> {
    if (limit <= 0) return [];
    const rows = await this.#rows<UploadRow>(
      'stale-uploads',
      `SELECT u.id, r.name AS repo, u.size, u.started_at, u.updated_at
         FROM uploads u JOIN repositories r ON r.id = u.repo_id
        WHERE u.updated_at < $1
        ORDER BY u.updated_at, u.id
        LIMIT $2`,
      [before.getTime(), limit],
    );
    return rows.map(toUpload);
  }

  // --- garbage collection (MetadataStore) ---------------------------------------------------------
  //
  // Each step reviews only due queue entries (review_after < before), taken FOR UPDATE SKIP LOCKED in
  // the order the old full scans used. For each: lock the candidate FOR UPDATE, re-check it, then delete
  // it (queueing what that may free), drop the entry (no longer garbage; whatever changes that queues it
  // again), or move the entry to the candidate's current grace timestamp (refreshed since queued).

  async deleteUntaggedManifests(before: Date, limit: number): Promise<ManifestKey[]> {
    if (limit <= 0) return [];
    const b = before.getTime();
    return this.#tx(async (c) => {
      const deleted: ManifestKey[] = [];
      // Deleting an index (or a subject) queues its children (or referrers); the next round finds those
      // that are garbage now.
      while (deleted.length < limit) {
        const due = await c.query<{ manifest_id: number }>(
          `SELECT manifest_id FROM gc_manifest_review_queue
            WHERE review_after < $1 ORDER BY review_after, manifest_id LIMIT $2
            FOR UPDATE SKIP LOCKED`,
          [b, limit - deleted.length],
        );
        if (due.rows.length === 0) break;
        for (const { manifest_id: id } of due.rows) {
          const r = await c.query<ManifestRef & { repo: string; created_at: number; subject: string | null }>(
            `SELECT m.id, m.repo_id, r.name AS repo, m.digest, m.created_at, m.subject
               FROM manifests m JOIN repositories r ON r.id = m.repo_id
              WHERE m.id = $1
              FOR UPDATE OF m`,
            [id],
          );
          const m = r.rows[0];
          if (m && m.created_at >= b) {
            await c.query('UPDATE gc_manifest_review_queue SET review_after = $1 WHERE manifest_id = $2', [m.created_at, id]);
            continue;
          }
          await c.query('DELETE FROM gc_manifest_review_queue WHERE manifest_id = $1', [id]);
          if (!m) continue;
          // A manifest stays while a tag points at it, an index of its repository lists it, or its
          // subject is a manifest of its repository.
          const kept = await c.query<{ kept: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = $1)
                 OR EXISTS (SELECT 1 FROM manifest_children c WHERE c.repo_id = $2 AND c.child_digest = $3)
                 OR ($4::text IS NOT NULL
                     AND EXISTS (SELECT 1 FROM manifests s WHERE s.repo_id = $2 AND s.digest = $4)) AS kept`,
            [m.id, m.repo_id, m.digest, m.subject],
          );
          if (kept.rows[0]?.kept) continue;
          await forgetManifest(c, m);
          deleted.push({ repo: m.repo, digest: m.digest as Digest });
        }
      }
      return deleted;
    });
  }

  async deleteUnreferencedLinks(before: Date, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    const b = before.getTime();
    return this.#tx(async (c) => {
      let removed = 0;
      while (removed < limit) {
        const due = await c.query<{ repo_id: number; digest: string }>(
          `SELECT repo_id, digest FROM gc_link_review_queue
            WHERE review_after < $1 ORDER BY review_after, repo_id, digest LIMIT $2
            FOR UPDATE SKIP LOCKED`,
          [b, limit - removed],
        );
        if (due.rows.length === 0) break;
        for (const { repo_id: repoId, digest } of due.rows) {
          const r = await c.query<{ linked_at: number }>(
            'SELECT linked_at FROM repository_blobs WHERE repo_id = $1 AND digest = $2 FOR UPDATE',
            [repoId, digest],
          );
          const link = r.rows[0];
          if (link && link.linked_at >= b) {
            await c.query('UPDATE gc_link_review_queue SET review_after = $1 WHERE repo_id = $2 AND digest = $3', [
              link.linked_at,
              repoId,
              digest,
            ]);
            continue;
          }
          await c.query('DELETE FROM gc_link_review_queue WHERE repo_id = $1 AND digest = $2', [repoId, digest]);
          if (!link) continue;
          const referenced = await c.query(
            'SELECT 1 FROM manifest_blobs WHERE repo_id = $1 AND digest = $2 LIMIT 1',
            [repoId, digest],
          );
          if (referenced.rows.length > 0) continue;
          await c.query('DELETE FROM repository_blobs WHERE repo_id = $1 AND digest = $2', [repoId, digest]);
          await enqueueBlob(c, digest);
          removed += 1;
        }
      }
      return removed;
    });
  }

  async deleteOrphanBlobs(before: Date, limit: number): Promise<BlobRecord[]> {
    if (limit <= 0) return [];
    const b = before.getTime();
    return this.#tx(async (c) => {
      const deleted: BlobRecord[] = [];
      while (deleted.length < limit) {
        const due = await c.query<{ digest: string }>(
          `SELECT digest FROM gc_blob_review_queue
            WHERE review_after < $1 ORDER BY review_after, digest LIMIT $2
            FOR UPDATE SKIP LOCKED`,
          [b, limit - deleted.length],
        );
        if (due.rows.length === 0) break;
        for (const { digest } of due.rows) {
          const r = await c.query<BlobRow>('SELECT digest, size, created_at FROM blobs WHERE digest = $1 FOR UPDATE', [
            digest,
          ]);
          const blob = r.rows[0];
          if (blob && blob.created_at >= b) {
            await c.query('UPDATE gc_blob_review_queue SET review_after = $1 WHERE digest = $2', [blob.created_at, digest]);
            continue;
          }
          await c.query('DELETE FROM gc_blob_review_queue WHERE digest = $1', [digest]);
          if (!blob) continue;
          const linked = await c.query('SELECT 1 FROM repository_blobs WHERE digest = $1 LIMIT 1', [digest]);
          if (linked.rows.length > 0) continue;
          await c.query('DELETE FROM blobs WHERE digest = $1', [digest]);
          deleted.push(toBlob(blob));
        }
      }
      return deleted;
    });
  }

  async storedBytes(): Promise<number> {
    const [row] = await this.#rows<{ total: number }>(
      'stored-bytes',
      'SELECT coalesce(sum(size), 0)::bigint AS total FROM blobs',
      [],
    );
    return row?.total ?? 0;
  }

  /**
   * Entries waiting in the three GC review queues. Internal: for this store's tests, which use it to show
   * that a GC run with nothing changed has nothing to review.
   */
  async queueDepth(): Promise<number> {
    const [row] = await this.#rows<{ n: number }>(
      'queue-depth',
      `SELECT (SELECT count(*) FROM gc_manifest_review_queue)
            + (SELECT count(*) FROM gc_link_review_queue)
            + (SELECT count(*) FROM gc_blob_review_queue) AS n`,
      [],
    );
    return row?.n ?? 0;
  }

  /** Drops this store's schema and everything in it. Refuses `public`. The store stays usable only to close. */
  async dropSchema(): Promise<void> {
    if (this.#schema === 'public') throw new Error('refusing to drop the public schema');
    await this.#pool.query(`DROP SCHEMA IF EXISTS ${this.#schema} CASCADE`);
  }

  /** Closes the pools (and drops the schema when asked to). Calling it again does nothing. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        if (this.#opts.dropSchemaOnClose) await this.dropSchema();
      } finally {
        await Promise.all([this.#pool.end(), this.#locker?.close()]);
      }
    })();
    return this.#closed;
  }

  /** A read through a named (prepared once per connection) statement. */
  async #rows<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    return (await this.#pool.query<R>({ name, text, values })).rows;
  }

  /** Runs `fn` in one transaction (READ COMMITTED), retrying it whole after a deadlock or a lost race. */
  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.#pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        const value = await fn(c);
        await c.query('COMMIT');
        return value;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is unusable: don't hand it back to the pool.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(sqlState(err))) throw err;
      } finally {
        c.release(broken);
      }
      // Back off a little, with jitter, so the two sides of a deadlock don't collide again.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

// --- helpers inside a transaction -------------------------------------------------------------------

async function repoIdOf(c: Queryable, name: string): Promise<number | undefined> {
  const r = await c.query<{ id: number }>({ name: 'repo-id', text: 'SELECT id FROM repositories WHERE name = $1', values: [name] });
  return r.rows[0]?.id;
}

async function ensureRepo(c: Queryable, name: string, now: number): Promise<number> {
  const existing = await repoIdOf(c, name);
  if (existing !== undefined) return existing;
  const r = await c.query<{ id: number }>(
    'INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id',
    [name, now],
  );
  // On a conflict the other inserter has committed by now, and a new statement sees its row.
  const id = r.rows[0]?.id ?? (await repoIdOf(c, name));
  if (id === undefined) throw new Error(`repository ${name} vanished right after it was created`);
  return id;
}

/** The manifest's id, locked FOR SHARE so a collector can't delete it before we commit. */
async function lockManifestId(c: Queryable, repoId: number, digest: string): Promise<number | undefined> {
  const r = await c.query<{ id: number }>('SELECT id FROM manifests WHERE repo_id = $1 AND digest = $2 FOR SHARE', [
    repoId,
    digest,
  ]);
  return r.rows[0]?.id;
}

/**
 * Points `tag` at `manifestId` and returns what it pointed at before. The tag row is locked FOR UPDATE, so a
 * second node moving the same tag waits and then sees (and queues) our value, never a stale one.
 */
async function moveTag(c: Queryable, repoId: number, tag: string, manifestId: number, now: number): Promise<number | undefined> {
  for (;;) {
    const current = await c.query<{ manifest_id: number }>(
      'SELECT manifest_id FROM tags WHERE repo_id = $1 AND name = $2 FOR UPDATE',
      [repoId, tag],
    );
    const previous = current.rows[0]?.manifest_id;
    if (previous !== undefined) {
      await c.query('UPDATE tags SET manifest_id = $1, updated_at = $2 WHERE repo_id = $3 AND name = $4', [
        manifestId,
        now,
        repoId,
        tag,
      ]);
      return previous;
    }
    const inserted = await c.query(
      `INSERT INTO tags (repo_id, name, manifest_id, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (repo_id, name) DO NOTHING`,
      [repoId, tag, manifestId, now],
    );
    if (inserted.rowCount === 1) return undefined;
    // Another node created the tag since our SELECT; lock its row and move it from there.
  }
}

/**
 * Queues the manifests selected by `where` (over `manifests`), each with its created_at as review_after.
 * FOR KEY SHARE orders us with a collector reviewing the same manifest (which locks it FOR UPDATE).
 */
async function enqueueManifests(c: Queryable, where: string, values: unknown[]): Promise<void> {
  await c.query(
    `INSERT INTO gc_manifest_review_queue (manifest_id, review_after)
     SELECT id, created_at FROM manifests ${where} FOR KEY SHARE
     ON CONFLICT (manifest_id) DO NOTHING`,
    values,
  );
}

async function enqueueBlob(c: Queryable, digest: string): Promise<void> {
  await c.query(
    `INSERT INTO gc_blob_review_queue (digest, review_after)
     SELECT digest, created_at FROM blobs WHERE digest = $1 FOR KEY SHARE
     ON CONFLICT (digest) DO NOTHING`,
    [digest],
  );
}

/**
 * Deletes a locked manifest after queueing everything its deletion may free: the child manifests it
 * listed, the referrers whose subject it was, and its blob links. Tags and references go with it (ON
 * DELETE CASCADE); its own queue entry, if any, is dropped when reviewed.
 */
async function forgetManifest(c: Queryable, m: ManifestRef): Promise<void> {
  await enqueueManifests(
    c,
    `WHERE (repo_id, digest) IN (SELECT repo_id, child_digest FROM manifest_children WHERE manifest_id = $1)`,
    [m.id],
  );
  await enqueueManifests(c, 'WHERE repo_id = $1 AND subject = $2', [m.repo_id, m.digest]);
  await c.query(
    `INSERT INTO gc_link_review_queue (repo_id, digest, review_after)
     SELECT rb.repo_id, rb.digest, rb.linked_at
       FROM manifest_blobs mb JOIN repository_blobs rb ON rb.repo_id = mb.repo_id AND rb.digest = mb.digest
      WHERE mb.manifest_id = $1
        FOR KEY SHARE OF rb
     ON CONFLICT (repo_id, digest) DO NOTHING`,
    [m.id],
  );
  await c.query('DELETE FROM manifests WHERE id = $1', [m.id]);
}

function sqlState(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : '';
}

/** The URL without its password, for error messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

