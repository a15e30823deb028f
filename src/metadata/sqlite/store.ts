import Database from 'better-sqlite3';
import type { Digest } from '../../content/digest.js';
import { MetadataError, MissingReferencesError } from '../errors.js';
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
import { migrate } from './migrations.js';
import type { AccountStore } from '../accounts.js';
import { SqlAccountStore } from '../accounts-sql.js';
import type { ScanStore } from '../scans.js';
import { SqlScanStore } from '../scans-sql.js';
import type { CertStore } from '../certs.js';
import { SqlCertStore } from '../certs-sql.js';
import type { SqlDb } from '../sql.js';
import { TAG_RECORDS_SQL, toBlob, toManifest, toReferrer, toTag, toUpload, type BlobRow, type ManifestRow, type ReferrerRow, type TagRow, type UploadRow } from '../rows.js';

export interface SqliteStoreOptions {
  /** A file path, or `':memory:'` for a private in-memory database. */
  path: string;
  /** How long a writer waits for another connection's lock, in milliseconds. Default 5000. */
  busyTimeoutMs?: number;
}

const MANIFEST_COLUMNS =
  'r.name AS repo, m.digest, m.media_type, m.size, m.content, m.artifact_type, m.subject, m.created_at';

/**
 * `MetadataStore` on SQLite through better-sqlite3 (synchronous; each method runs to completion before
 * the returned promise settles, so it is atomic with respect to every other call on this connection).
 * Multi-statement operations run in one transaction so that other connections to the same file, too,
 * never see half of them.
 *
 * GC reviews only what the write paths queued since the last run (migration 2; the statements below list
 * what enqueues what), so a run costs what changed, not what is stored.
 *
 * @example
 * const store = SqliteStore.open({ path: '/var/lib/berth/metadata.db' })
 */
export class SqliteStore implements MetadataStore {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #tx: ReturnType<typeof prepareTransactions>;
  readonly accounts: AccountStore;
  readonly scans: ScanStore;
  readonly certs: CertStore;
  private readonly accountsSql: SqlDb;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#tx = prepareTransactions(db, this.#s);
    this.accountsSql = sqliteSql(db);
    this.accounts = new SqlAccountStore(this.accountsSql);
    this.scans = new SqlScanStore(this.accountsSql);
    this.certs = new SqlCertStore(this.accountsSql);
  }

  /**
   * Opens (creating when missing) and migrates the database. Throws an error naming the path for a file
   * that is not a usable SQLite database or has a newer schema than this build knows.
   */
  static open(opts: SqliteStoreOptions): SqliteStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(opts.path);
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
      // WAL lets readers run while one writer commits; NORMAL is durable across application crashes
      // and only risks the last transactions on power loss, which WAL keeps consistent.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
      return new SqliteStore(db);
    } catch (err) {
      db?.close();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`opening SQLite metadata store at ${JSON.stringify(opts.path)}: ${reason}`, { cause: err });
    }
  }

  // --- repositories (MetadataStore) ---------------------------------------------------------------

  async repositoryExists(repo: string): Promise<boolean> {
    return this.#s.repoId.get(repo) !== undefined;
  }

  async listRepositories(page: Page = {}): Promise<string[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    return this.#s.listRepos.all(page.last ?? '', page.n ?? -1);
  }

  // --- blobs (MetadataStore) ----------------------------------------------------------------------

  async getBlob(digest: Digest): Promise<BlobRecord | undefined> {
    const row = this.#s.getBlob.get(digest);
    return row && toBlob(row);
  }

  async getRepositoryBlob(repo: string, digest: Digest): Promise<BlobRecord | undefined> {
    const row = this.#s.getRepoBlob.get(repo, digest);
    return row && toBlob(row);
  }

  async linkBlob(repo: string, digest: Digest, size: number, now: Date = new Date()): Promise<void> {
    this.#tx.linkBlob(repo, digest, size, now.getTime());
  }

  async unlinkBlob(repo: string, digest: Digest): Promise<boolean> {
    return this.#tx.unlinkBlob(repo, digest);
  }

  // --- manifests and tags (MetadataStore) ----------------------------------------------------------

  async putManifest(m: NewManifest): Promise<void> {
    this.#tx.putManifest(m);
  }

  async getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const row = this.#s.getManifest.get(repo, digest);
    return row && toManifest(row);
  }

  async listManifests(repo: string, page: Page = {}): Promise<ManifestRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    return this.#s.listManifests.all(repo, page.last ?? '', page.n ?? -1).map(toManifest);
  }

  async listRepositoryBlobs(repo: string, page: Page = {}): Promise<BlobRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    return this.#s.listRepositoryBlobs.all(repo, page.last ?? '', page.n ?? -1).map(toBlob);
  }

  async getTaggedManifest(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = this.#s.getTaggedManifest.get(repo, tag);
    return row && toManifest(row);
  }

  async deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return this.#tx.deleteManifest(repo, digest);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#tx.deleteTag(repo, tag);
  }

  async listTags(repo: string, page: Page = {}): Promise<string[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    return this.#s.listTags.all(repo, page.last ?? '', page.n ?? -1);
  }

  async listTagRecords(repo: string, page: Page = {}): Promise<TagRecord[]> {
    if (page.n !== undefined && page.n <= 0) return [];
    const rows = await this.accountsSql.all<TagRow>(TAG_RECORDS_SQL, [repo, page.last ?? '', page.n ?? -1]);
    return rows.map(toTag);
  }

  async listReferrers(repo: string, subject: Digest, filter: { artifactType?: string } = {}): Promise<ReferrerRecord[]> {
    const rows =
      filter.artifactType === undefined
        ? this.#s.listReferrers.all(repo, subject)
        : this.#s.listReferrersOfType.all(repo, subject, filter.artifactType);
    return rows.map(toReferrer);
  }

  // --- upload sessions (MetadataStore) ------------------------------------------------------------

  async createUpload(upload: { id: string; repo: string; now?: Date }): Promise<UploadRecord> {
    return this.#tx.createUpload(upload.id, upload.repo, (upload.now ?? new Date()).getTime());
  }

  async getUpload(repo: string, id: string): Promise<UploadRecord | undefined> {
    const row = this.#s.getUpload.get(repo, id);
    return row && toUpload(row);
  }

  async advanceUpload(id: string, expectedSize: number, newSize: number, now: Date = new Date()): Promise<boolean> {
    // The compare and the set are one UPDATE, so concurrent writers (other connections too) can't both win.
    return this.#s.advanceUpload.run(newSize, now.getTime(), id, expectedSize).changes > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    return this.#s.deleteUpload.run(id).changes > 0;
  }

  async listStaleUploads(before: Date, limit: number): Promise<UploadRecord[]> {
    if (limit <= 0) return [];
    return this.#s.listStaleUploads.all(before.getTime(), limit).map(toUpload);
  }

  // --- garbage collection (MetadataStore) ---------------------------------------------------------

  async deleteUntaggedManifests(before: Date, limit: number): Promise<ManifestKey[]> {
    if (limit <= 0) return [];
    return this.#tx.deleteUntaggedManifests(before.getTime(), limit);
  }

  async deleteUnreferencedLinks(before: Date, limit: number): Promise<number> {
    if (limit <= 0) return 0;
    return this.#tx.deleteUnreferencedLinks(before.getTime(), limit);
  }

  async deleteOrphanBlobs(before: Date, limit: number): Promise<BlobRecord[]> {
    if (limit <= 0) return [];
    return this.#tx.deleteOrphanBlobs(before.getTime(), limit);
  }

  async storedBytes(): Promise<number> {
    return this.#s.storedBytes.get()?.total ?? 0;
  }

  /**
   * Entries waiting in the three GC review queues. Internal: for this store's tests, which use it to show
   * that a GC run with nothing changed has nothing to review.
   */
  async queueDepth(): Promise<number> {
    return this.#s.queueDepth.get()?.n ?? 0;
  }

  /** Closes the connection. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** The multi-statement operations, each one transaction, built once per connection. */
function prepareTransactions(db: Database.Database, s: Statements) {
  const ensureRepo = (name: string, now: number): number => {
    s.insertRepo.run(name, now);
    const row = s.repoId.get(name);
    if (!row) throw new Error(`repository ${name} vanished right after it was created`);
    return row.id;
  };

  // Every write transaction is IMMEDIATE: it takes the write lock before its first read, so a
  // check-then-insert can't be invalidated by another connection between the check and the insert
  // (and never fails with SQLITE_BUSY on lock upgrade, which busy_timeout can't retry).
  const linkBlob = db.transaction((repo: string, digest: string, size: number, now: number) => {
    const repoId = ensureRepo(repo, now);
    s.insertBlob.run(digest, size, now);
    s.upsertLink.run(repoId, digest, now);
    // A link nothing references yet is a candidate from the start; a refreshed one restarts its grace.
    s.enqueueLink.run(repoId, digest, now);
  });

  const unlinkBlob = db.transaction((repo: string, digest: string): boolean => {
    if (s.unlinkBlob.run(repo, digest).changes === 0) return false;
    s.enqueueBlob.run(digest);
    return true;
  });

  /**
   * Deletes a manifest after queueing everything its deletion may free: the child manifests it listed,
   * the referrers whose subject it was, and its blob links. Its tags, blob and child references and its
   * own queue entry go with it (ON DELETE CASCADE).
   */
  const forgetManifest = (m: { id: number; repo_id: number; digest: string }): void => {
    s.enqueueChildren.run(m.id);
    s.enqueueReferrers.run(m.repo_id, m.digest);
    s.enqueueLinksOf.run(m.id);
    s.deleteManifestById.run(m.id);
  };

  const deleteManifest = db.transaction((repo: string, digest: string): boolean => {
    const m = s.findManifest.get(repo, digest);
    if (!m) return false;
    forgetManifest(m);
    return true;
  });

  const deleteTag = db.transaction((repo: string, tag: string): boolean => {
    const deleted = s.deleteTag.get(repo, tag);
    if (!deleted) return false;
    s.enqueueManifest.run(deleted.manifest_id);
    return true;
  });

  const putManifest = db.transaction((m: NewManifest) => {
    const now = (m.now ?? new Date()).getTime();
    const repoId = s.repoId.get(m.repo)?.id;
    const blobs = unique(m.blobs);
    const children = unique(m.children);
    const tags = unique(m.tags ?? []);
    const missingBlobs = repoId === undefined ? blobs : blobs.filter((d) => !s.linkExists.get(repoId, d));
    const missingChildren =
      repoId === undefined ? children : children.filter((d) => !s.manifestId.get(repoId, d));
    if (missingBlobs.length > 0 || missingChildren.length > 0) {
      throw new MissingReferencesError(missingBlobs, missingChildren);
    }

    const id = repoId ?? ensureRepo(m.repo, now);
    let manifestId = s.manifestId.get(id, m.digest)?.id;
    if (manifestId === undefined) {
      // An empty annotation map is stored as none: referrers omit `annotations` either way.
      const annotations =
        m.annotations && Object.keys(m.annotations).length > 0 ? JSON.stringify(m.annotations) : null;
      const inserted = s.insertManifest.get(
        id,
        m.digest,
        m.mediaType,
        m.content.byteLength,
        Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength),
        m.artifactType ?? null,
        m.subject ?? null,
        annotations,
        now,
      );
      if (!inserted) throw new Error(`manifest ${m.digest} was not inserted`);
      manifestId = inserted.id;
      for (const d of blobs) s.insertManifestBlob.run(manifestId, id, d);
      for (const d of children) s.insertManifestChild.run(manifestId, id, d);
      if (tags.length === 0) s.enqueueManifest.run(manifestId);
    }
    for (const tag of tags) {
      const previous = s.tagTarget.get(id, tag)?.manifest_id;
      s.upsertTag.run(id, tag, manifestId, now);
      // The manifest the tag moved away from may have lost its last tag.
      if (previous !== undefined && previous !== manifestId) s.enqueueManifest.run(previous);
    }
  });

  const createUpload = db.transaction((id: string, repo: string, now: number): UploadRecord => {
    const repoId = ensureRepo(repo, now);
    if (s.insertUpload.run(id, repoId, now, now).changes === 0) {
      throw new MetadataError('CONFLICT', `upload ${id} already exists`);
    }
    return { id, repo, size: 0, startedAt: new Date(now), updatedAt: new Date(now) };
  });

  // GC steps. Each reviews only due queue entries (review_after < before), in the order the old full
  // scans used, re-checks the candidate, and either deletes it (which queues what that may free),
  // drops the entry (no longer garbage; whatever changes that again queues it again), or moves the
  // entry to the candidate's current grace timestamp (refreshed since it was queued).
  const deleteUntaggedManifests = db.transaction((before: number, limit: number): ManifestKey[] => {
    const deleted: ManifestKey[] = [];
    // Deleting an index (or a subject) queues its children (or referrers); the next round finds those
    // that are garbage now. Digests can't form cycles, and every pass empties or defers what it took.
    while (deleted.length < limit) {
      const due = s.dueManifests.all(before, limit - deleted.length);
      if (due.length === 0) break;
      for (const { manifest_id: id } of due) {
        const m = s.reviewManifest.get(id);
        if (!m) s.dropManifestEntry.run(id);
        else if (m.created_at >= before) s.deferManifestEntry.run(m.created_at, id);
        else if (m.kept) s.dropManifestEntry.run(id);
        else {
          forgetManifest(m);
          deleted.push({ repo: m.repo, digest: m.digest as Digest });
        }
      }
    }
    return deleted;
  });

  const deleteUnreferencedLinks = db.transaction((before: number, limit: number): number => {
    let removed = 0;
    while (removed < limit) {
      const due = s.dueLinks.all(before, limit - removed);
      if (due.length === 0) break;
      for (const { repo_id: repoId, digest } of due) {
        const link = s.reviewLink.get(repoId, digest);
        if (!link) s.dropLinkEntry.run(repoId, digest);
        else if (link.linked_at >= before) s.deferLinkEntry.run(link.linked_at, repoId, digest);
        else if (link.referenced) s.dropLinkEntry.run(repoId, digest);
        else {
          s.deleteLink.run(repoId, digest); // its queue entry goes with it
          s.enqueueBlob.run(digest);
          removed += 1;
        }
      }
    }
    return removed;
  });

  const deleteOrphanBlobs = db.transaction((before: number, limit: number): BlobRecord[] => {
    const deleted: BlobRecord[] = [];
    while (deleted.length < limit) {
      const due = s.dueBlobs.all(before, limit - deleted.length);
      if (due.length === 0) break;
      for (const { digest } of due) {
        const blob = s.reviewBlob.get(digest);
        if (!blob) s.dropBlobEntry.run(digest);
        else if (blob.created_at >= before) s.deferBlobEntry.run(blob.created_at, digest);
        else if (blob.linked) s.dropBlobEntry.run(digest);
        else {
          s.deleteBlob.run(digest); // its queue entry goes with it
          deleted.push(toBlob(blob));
        }
      }
    }
    return deleted;
  });

  return {
    linkBlob: linkBlob.immediate,
    unlinkBlob: unlinkBlob.immediate,
    putManifest: putManifest.immediate,
    deleteManifest: deleteManifest.immediate,
    deleteTag: deleteTag.immediate,
    createUpload: createUpload.immediate,
    deleteUntaggedManifests: deleteUntaggedManifests.immediate,
    deleteUnreferencedLinks: deleteUnreferencedLinks.immediate,
    deleteOrphanBlobs: deleteOrphanBlobs.immediate,
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Every statement, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  const repoName = 'SELECT id FROM repositories WHERE name = ?';
  return {
    repoId: db.prepare<[string], { id: number }>(repoName),
    insertRepo: db.prepare<[string, number]>(
      'INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
    ),
    // Listings return a single column: pluck() skips building a row object per name, which is most of the
    // cost of listing thousands of tags. `> ''` and `LIMIT -1` (no limit) keep it one statement.
    listRepos: db.prepare<[string, number], string>('SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?').pluck(),

    getBlob: db.prepare<[string], BlobRow>('SELECT digest, size, created_at FROM blobs WHERE digest = ?'),
    getRepoBlob: db.prepare<[string, string], BlobRow>(
      `SELECT b.digest, b.size, b.created_at
         FROM repositories r
         JOIN repository_blobs rb ON rb.repo_id = r.id
         JOIN blobs b ON b.digest = rb.digest
        WHERE r.name = ? AND rb.digest = ?`,
    ),
    insertBlob: db.prepare<[string, number, number]>(
      'INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING',
    ),
    upsertLink: db.prepare<[number, string, number]>(
      `INSERT INTO repository_blobs (repo_id, digest, linked_at) VALUES (?, ?, ?)
       ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at`,
    ),
    linkExists: db.prepare<[number, string], { one: number }>(
      'SELECT 1 AS one FROM repository_blobs WHERE repo_id = ? AND digest = ?',
    ),
    unlinkBlob: db.prepare<[string, string]>(
      `DELETE FROM repository_blobs
        WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND digest = ?`,
    ),
    deleteLink: db.prepare<[number, string]>('DELETE FROM repository_blobs WHERE repo_id = ? AND digest = ?'),

    manifestId: db.prepare<[number, string], { id: number }>(
      'SELECT id FROM manifests WHERE repo_id = ? AND digest = ?',
    ),
    insertManifest: db.prepare<
      [number, string, string, number, Buffer, string | null, string | null, string | null, number],
      { id: number }
    >(
      `INSERT INTO manifests
         (repo_id, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING id`,
    ),
    insertManifestBlob: db.prepare<[number, number, string]>(
      'INSERT INTO manifest_blobs (manifest_id, repo_id, digest) VALUES (?, ?, ?)',
    ),
    insertManifestChild: db.prepare<[number, number, string]>(
      'INSERT INTO manifest_children (manifest_id, repo_id, child_digest) VALUES (?, ?, ?)',
    ),
    // LIMIT -1 is SQLite for "no limit".
    listManifests: db.prepare<[string, string, number], ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = ? AND m.digest > ? ORDER BY m.digest LIMIT ?`,
    ),
    listRepositoryBlobs: db.prepare<[string, string, number], BlobRow>(
      `SELECT b.digest, b.size, b.created_at
         FROM repositories r JOIN repository_blobs rb ON rb.repo_id = r.id JOIN blobs b ON b.digest = rb.digest
        WHERE r.name = ? AND rb.digest > ? ORDER BY rb.digest LIMIT ?`,
    ),
    getManifest: db.prepare<[string, string], ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = ? AND m.digest = ?`,
    ),
    // One indexed lookup per table: repositories(name) → tags(repo_id, name) → manifests(id).
    getTaggedManifest: db.prepare<[string, string], ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS}
         FROM repositories r
         JOIN tags t ON t.repo_id = r.id
         JOIN manifests m ON m.id = t.manifest_id
        WHERE r.name = ? AND t.name = ?`,
    ),
    findManifest: db.prepare<[string, string], { id: number; repo_id: number; digest: string }>(
      `SELECT m.id, m.repo_id, m.digest
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = ? AND m.digest = ?`,
    ),
    deleteManifestById: db.prepare<[number]>('DELETE FROM manifests WHERE id = ?'),
    upsertTag: db.prepare<[number, string, number, number]>(
      `INSERT INTO tags (repo_id, name, manifest_id, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (repo_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at`,
    ),
    tagTarget: db.prepare<[number, string], { manifest_id: number }>(
      'SELECT manifest_id FROM tags WHERE repo_id = ? AND name = ?',
    ),
    deleteTag: db.prepare<[string, string], { manifest_id: number }>(
      `DELETE FROM tags WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND name = ?
       RETURNING manifest_id`,
    ),
    listTags: db
      .prepare<[string, string, number], string>(
        `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id
          WHERE r.name = ? AND t.name > ? ORDER BY t.name LIMIT ?`,
      )
      .pluck(),
    listReferrers: db.prepare<[string, string], ReferrerRow>(
      `SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = ? AND m.subject = ?
        ORDER BY m.digest`,
    ),
    listReferrersOfType: db.prepare<[string, string, string], ReferrerRow>(
      `SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
         FROM repositories r JOIN manifests m ON m.repo_id = r.id
        WHERE r.name = ? AND m.subject = ? AND m.artifact_type = ?
        ORDER BY m.digest`,
    ),

    insertUpload: db.prepare<[string, number, number, number]>(
      `INSERT INTO uploads (id, repo_id, size, started_at, updated_at) VALUES (?, ?, 0, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    getUpload: db.prepare<[string, string], UploadRow>(
      `SELECT u.id, r.name AS repo, u.size, u.started_at, u.updated_at
         FROM uploads u JOIN repositories r ON r.id = u.repo_id
        WHERE r.name = ? AND u.id = ?`,
    ),
    advanceUpload: db.prepare<[number, number, string, number]>(
      'UPDATE uploads SET size = ?, updated_at = ? WHERE id = ? AND size = ?',
    ),
    deleteUpload: db.prepare<[string]>('DELETE FROM uploads WHERE id = ?'),
    listStaleUploads: db.prepare<[number, number], UploadRow>(
      `SELECT u.id, r.name AS repo, u.size, u.started_at, u.updated_at
         FROM uploads u JOIN repositories r ON r.id = u.repo_id
        WHERE u.updated_at < ?
        ORDER BY u.updated_at, u.id
        LIMIT ?`,
    ),

    // --- GC review queues: what enqueues what -------------------------------------------------
    // manifests: created untagged (putManifest), lost a tag (deleteTag, a tag moved away), or lost an
    //   index listing it or its subject (deleteManifest, or GC deleting the index or subject);
    // links: linked or re-linked (linkBlob), or a manifest referencing them was deleted;
    // blobs: a link to them was removed (unlinkBlob, or GC removing the link).
    // A manifest's review_after is its created_at, which never changes: DO NOTHING is enough.
    enqueueManifest: db.prepare<[number]>(
      `INSERT INTO gc_manifest_review_queue (manifest_id, review_after)
       SELECT id, created_at FROM manifests WHERE id = ?
       ON CONFLICT (manifest_id) DO NOTHING`,
    ),
    enqueueChildren: db.prepare<[number]>(
      `INSERT INTO gc_manifest_review_queue (manifest_id, review_after)
       SELECT m.id, m.created_at
         FROM manifest_children c JOIN manifests m ON m.repo_id = c.repo_id AND m.digest = c.child_digest
        WHERE c.manifest_id = ?
       ON CONFLICT (manifest_id) DO NOTHING`,
    ),
    enqueueReferrers: db.prepare<[number, string]>(
      `INSERT INTO gc_manifest_review_queue (manifest_id, review_after)
       SELECT id, created_at FROM manifests WHERE repo_id = ? AND subject = ?
       ON CONFLICT (manifest_id) DO NOTHING`,
    ),
    enqueueLink: db.prepare<[number, string, number]>(
      `INSERT INTO gc_link_review_queue (repo_id, digest, review_after) VALUES (?, ?, ?)
       ON CONFLICT (repo_id, digest) DO UPDATE SET review_after = excluded.review_after`,
    ),
    enqueueLinksOf: db.prepare<[number]>(
      `INSERT INTO gc_link_review_queue (repo_id, digest, review_after)
       SELECT rb.repo_id, rb.digest, rb.linked_at
         FROM manifest_blobs mb JOIN repository_blobs rb ON rb.repo_id = mb.repo_id AND rb.digest = mb.digest
        WHERE mb.manifest_id = ?
       ON CONFLICT (repo_id, digest) DO UPDATE SET review_after = excluded.review_after`,
    ),
    // A blob's review_after is its created_at, which never changes while the record exists.
    enqueueBlob: db.prepare<[string]>(
      `INSERT INTO gc_blob_review_queue (digest, review_after)
       SELECT digest, created_at FROM blobs WHERE digest = ?
       ON CONFLICT (digest) DO NOTHING`,
    ),

    dueManifests: db.prepare<[number, number], { manifest_id: number }>(
      `SELECT manifest_id FROM gc_manifest_review_queue
        WHERE review_after < ? ORDER BY review_after, manifest_id LIMIT ?`,
    ),
    // A manifest stays while a tag points at it, an index of its repository lists it, or its subject is
    // a manifest of its repository.
    reviewManifest: db.prepare<
      [number],
      { id: number; repo_id: number; repo: string; digest: string; created_at: number; kept: number }
    >(
      `SELECT m.id, m.repo_id, r.name AS repo, m.digest, m.created_at,
              (EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)
               OR EXISTS (SELECT 1 FROM manifest_children c WHERE c.repo_id = m.repo_id AND c.child_digest = m.digest)
               OR (m.subject IS NOT NULL
                   AND EXISTS (SELECT 1 FROM manifests s WHERE s.repo_id = m.repo_id AND s.digest = m.subject))) AS kept
         FROM manifests m JOIN repositories r ON r.id = m.repo_id
        WHERE m.id = ?`,
    ),
    dropManifestEntry: db.prepare<[number]>('DELETE FROM gc_manifest_review_queue WHERE manifest_id = ?'),
    deferManifestEntry: db.prepare<[number, number]>(
      'UPDATE gc_manifest_review_queue SET review_after = ? WHERE manifest_id = ?',
    ),

    dueLinks: db.prepare<[number, number], { repo_id: number; digest: string }>(
      `SELECT repo_id, digest FROM gc_link_review_queue
        WHERE review_after < ? ORDER BY review_after, repo_id, digest LIMIT ?`,
    ),
    reviewLink: db.prepare<[number, string], { linked_at: number; referenced: number }>(
      `SELECT rb.linked_at,
              EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.repo_id = rb.repo_id AND mb.digest = rb.digest) AS referenced
         FROM repository_blobs rb
        WHERE rb.repo_id = ? AND rb.digest = ?`,
    ),
    dropLinkEntry: db.prepare<[number, string]>('DELETE FROM gc_link_review_queue WHERE repo_id = ? AND digest = ?'),
    deferLinkEntry: db.prepare<[number, number, string]>(
      'UPDATE gc_link_review_queue SET review_after = ? WHERE repo_id = ? AND digest = ?',
    ),

    dueBlobs: db.prepare<[number, number], { digest: string }>(
      `SELECT digest FROM gc_blob_review_queue
        WHERE review_after < ? ORDER BY review_after, digest LIMIT ?`,
    ),
    reviewBlob: db.prepare<[string], BlobRow & { linked: number }>(
      `SELECT b.digest, b.size, b.created_at,
              EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest) AS linked
         FROM blobs b
        WHERE b.digest = ?`,
    ),
    dropBlobEntry: db.prepare<[string]>('DELETE FROM gc_blob_review_queue WHERE digest = ?'),
    deferBlobEntry: db.prepare<[number, string]>('UPDATE gc_blob_review_queue SET review_after = ? WHERE digest = ?'),
    queueDepth: db.prepare<[], { n: number }>(
      `SELECT (SELECT count(*) FROM gc_manifest_review_queue)
            + (SELECT count(*) FROM gc_link_review_queue)
            + (SELECT count(*) FROM gc_blob_review_queue) AS n`,
    ),
    deleteBlob: db.prepare<[string]>('DELETE FROM blobs WHERE digest = ?'),
    storedBytes: db.prepare<[], { total: number }>('SELECT coalesce(sum(size), 0) AS total FROM blobs'),
  };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}


/**
 * `SqlDb` over better-sqlite3, statements prepared once and cached. PostgreSQL's `$1` placeholders become `?` when
 * they appear once each and in order (the parameters then bind as they are), and named `@p1` parameters otherwise
 * (a number used twice, or out of order), which need an object per call.
 */
function sqliteSql(db: Database.Database): SqlDb {
  const cache = new Map<string, { st: Database.Statement; positional: boolean }>();
  const prepare = (sql: string) => {
    let entry = cache.get(sql);
    if (!entry) {
      const numbers = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
      const positional = numbers.every((n, i) => n === i + 1);
      entry = { st: db.prepare(positional ? sql.replace(/\$\d+/g, '?') : sql.replace(/\$(\d+)/g, '@p$1')), positional };
      cache.set(sql, entry);
    }
    return entry;
  };
  const bind = (positional: boolean, params: readonly unknown[]): unknown[] =>
    positional ? (params as unknown[]) : [Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]))];
  const run = (sql: string, params: readonly unknown[]): number => {
    const { st, positional } = prepare(sql);
    return st.run(...bind(positional, params)).changes;
  };
  const batch = db.transaction((statements: ReadonlyArray<readonly [string, readonly unknown[]]>) => statements.map(([sql, params]) => run(sql, params)));
  return {
    dialect: 'sqlite',
    all: async <R>(sql: string, params: readonly unknown[] = []) => {
      const { st, positional } = prepare(sql);
      return st.all(...bind(positional, params)) as R[];
    },
    run: async (sql, params = []) => run(sql, params),
    batch: async (statements) => batch.immediate(statements),
  };
}
