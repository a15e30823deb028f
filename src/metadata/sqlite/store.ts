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
  UploadRecord,
} from '../store.js';
import { migrate } from './migrations.js';

export interface SqliteStoreOptions {
  /** A file path, or `':memory:'` for a private in-memory database. */
  path: string;
  /** How long a writer waits for another connection's lock, in milliseconds. Default 5000. */
  busyTimeoutMs?: number;
}

interface BlobRow {
  digest: string;
  size: number;
  created_at: number;
}

interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  content: Buffer;
  artifact_type: string | null;
  subject: string | null;
  created_at: number;
}

interface ReferrerRow {
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  annotations: string | null;
}

interface UploadRow {
  id: string;
  repo: string;
  size: number;
  started_at: number;
  updated_at: number;
}

const MANIFEST_COLUMNS =
  'r.name AS repo, m.digest, m.media_type, m.size, m.content, m.artifact_type, m.subject, m.created_at';

/**
 * `MetadataStore` on SQLite through better-sqlite3 (synchronous; each method runs to completion before
 * the returned promise settles, so it is atomic with respect to every other call on this connection).
 * Multi-statement operations run in one transaction so that other connections to the same file, too,
 * never see half of them.
 *
 * @example
 * const store = SqliteStore.open({ path: '/var/lib/berth/metadata.db' })
 */
export class SqliteStore implements MetadataStore {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #tx: ReturnType<typeof prepareTransactions>;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#tx = prepareTransactions(db, this.#s);
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
    const { n, last } = page;
    if (n !== undefined && n <= 0) return [];
    const s = this.#s.listRepos;
    const rows =
      last === undefined
        ? n === undefined
          ? s.all.all()
          : s.first.all(n)
        : n === undefined
          ? s.after.all(last)
          : s.afterN.all(last, n);
    return rows.map((r) => r.name);
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
    return this.#s.unlinkBlob.run(repo, digest).changes > 0;
  }

  // --- manifests and tags (MetadataStore) ----------------------------------------------------------

  async putManifest(m: NewManifest): Promise<void> {
    this.#tx.putManifest(m);
  }

  async getManifest(repo: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const row = this.#s.getManifest.get(repo, digest);
    return row && toManifest(row);
  }

  async getTaggedManifest(repo: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = this.#s.getTaggedManifest.get(repo, tag);
    return row && toManifest(row);
  }

  async deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    // Tags, blob references and child references go with it (ON DELETE CASCADE), in one statement.
    return this.#s.deleteManifest.run(repo, digest).changes > 0;
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#s.deleteTag.run(repo, tag).changes > 0;
  }

  async listTags(repo: string, page: Page = {}): Promise<string[]> {
    const { n, last } = page;
    if (n !== undefined && n <= 0) return [];
    const s = this.#s.listTags;
    const rows =
      last === undefined
        ? n === undefined
          ? s.all.all(repo)
          : s.first.all(repo, n)
        : n === undefined
          ? s.after.all(repo, last)
          : s.afterN.all(repo, last, n);
    return rows.map((r) => r.name);
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
  });

  const putManifest = db.transaction((m: NewManifest) => {
    const now = (m.now ?? new Date()).getTime();
    const repoId = s.repoId.get(m.repo)?.id;
    const blobs = unique(m.blobs);
    const children = unique(m.children);
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
    }
    for (const tag of unique(m.tags ?? [])) s.upsertTag.run(id, tag, manifestId, now);
  });

  const createUpload = db.transaction((id: string, repo: string, now: number): UploadRecord => {
    const repoId = ensureRepo(repo, now);
    if (s.insertUpload.run(id, repoId, now, now).changes === 0) {
      throw new MetadataError('CONFLICT', `upload ${id} already exists`);
    }
    return { id, repo, size: 0, startedAt: new Date(now), updatedAt: new Date(now) };
  });

  const deleteUntaggedManifests = db.transaction((before: number, limit: number): ManifestKey[] => {
    const deleted: ManifestKey[] = [];
    // Deleting an index (or a subject) can free its children (or referrers); those go in the next
    // round. Digests can't form cycles, so this ends.
    while (deleted.length < limit) {
      const round = s.untaggedManifests.all(before, limit - deleted.length);
      if (round.length === 0) break;
      for (const row of round) {
        s.deleteManifestById.run(row.id);
        deleted.push({ repo: row.repo, digest: row.digest as Digest });
      }
    }
    return deleted;
  });

  const deleteUnreferencedLinks = db.transaction((before: number, limit: number): number => {
    let removed = 0;
    for (const row of s.unreferencedLinks.all(before, limit)) {
      removed += s.deleteLink.run(row.repo_id, row.digest).changes;
    }
    return removed;
  });

  const deleteOrphanBlobs = db.transaction((before: number, limit: number): BlobRecord[] => {
    const rows = s.orphanBlobs.all(before, limit);
    for (const row of rows) s.deleteBlob.run(row.digest);
    return rows.map(toBlob);
  });

  return {
    linkBlob: linkBlob.immediate,
    putManifest: putManifest.immediate,
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
    listRepos: {
      all: db.prepare<[], { name: string }>('SELECT name FROM repositories ORDER BY name'),
      first: db.prepare<[number], { name: string }>('SELECT name FROM repositories ORDER BY name LIMIT ?'),
      after: db.prepare<[string], { name: string }>('SELECT name FROM repositories WHERE name > ? ORDER BY name'),
      afterN: db.prepare<[string, number], { name: string }>(
        'SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?',
      ),
    },

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
    deleteManifest: db.prepare<[string, string]>(
      `DELETE FROM manifests
        WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND digest = ?`,
    ),
    deleteManifestById: db.prepare<[number]>('DELETE FROM manifests WHERE id = ?'),
    upsertTag: db.prepare<[number, string, number, number]>(
      `INSERT INTO tags (repo_id, name, manifest_id, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (repo_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at`,
    ),
    deleteTag: db.prepare<[string, string]>(
      'DELETE FROM tags WHERE repo_id = (SELECT id FROM repositories WHERE name = ?) AND name = ?',
    ),
    listTags: {
      all: db.prepare<[string], { name: string }>(
        'SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id WHERE r.name = ? ORDER BY t.name',
      ),
      first: db.prepare<[string, number], { name: string }>(
        'SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id WHERE r.name = ? ORDER BY t.name LIMIT ?',
      ),
      after: db.prepare<[string, string], { name: string }>(
        `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id
          WHERE r.name = ? AND t.name > ? ORDER BY t.name`,
      ),
      afterN: db.prepare<[string, string, number], { name: string }>(
        `SELECT t.name FROM repositories r JOIN tags t ON t.repo_id = r.id
          WHERE r.name = ? AND t.name > ? ORDER BY t.name LIMIT ?`,
      ),
    },
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

    // A manifest stays while a tag points at it, an index of its repository lists it, or its subject is
    // a manifest of its repository.
    untaggedManifests: db.prepare<[number, number], { id: number; repo: string; digest: string }>(
      `SELECT m.id, r.name AS repo, m.digest
         FROM manifests m JOIN repositories r ON r.id = m.repo_id
        WHERE m.created_at < ?
          AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)
          AND NOT EXISTS (SELECT 1 FROM manifest_children c
                           WHERE c.repo_id = m.repo_id AND c.child_digest = m.digest)
          AND (m.subject IS NULL
               OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repo_id = m.repo_id AND s.digest = m.subject))
        ORDER BY m.created_at, m.id
        LIMIT ?`,
    ),
    unreferencedLinks: db.prepare<[number, number], { repo_id: number; digest: string }>(
      `SELECT rb.repo_id, rb.digest
         FROM repository_blobs rb
        WHERE rb.linked_at < ?
          AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.repo_id = rb.repo_id AND mb.digest = rb.digest)
        ORDER BY rb.linked_at, rb.repo_id, rb.digest
        LIMIT ?`,
    ),
    orphanBlobs: db.prepare<[number, number], BlobRow>(
      `SELECT b.digest, b.size, b.created_at
         FROM blobs b
        WHERE b.created_at < ?
          AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
        ORDER BY b.created_at, b.digest
        LIMIT ?`,
    ),
    deleteBlob: db.prepare<[string]>('DELETE FROM blobs WHERE digest = ?'),
    storedBytes: db.prepare<[], { total: number }>('SELECT coalesce(sum(size), 0) AS total FROM blobs'),
  };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function toBlob(row: BlobRow): BlobRecord {
  return { digest: row.digest as Digest, size: row.size, createdAt: new Date(row.created_at) };
}

function toManifest(row: ManifestRow): ManifestRecord {
  const m: ManifestRecord = {
    repo: row.repo,
    digest: row.digest as Digest,
    mediaType: row.media_type,
    size: row.size,
    content: row.content,
    createdAt: new Date(row.created_at),
  };
  if (row.artifact_type !== null) m.artifactType = row.artifact_type;
  if (row.subject !== null) m.subject = row.subject as Digest;
  return m;
}

function toReferrer(row: ReferrerRow): ReferrerRecord {
  const r: ReferrerRecord = { digest: row.digest as Digest, mediaType: row.media_type, size: row.size };
  if (row.artifact_type !== null) r.artifactType = row.artifact_type;
  if (row.annotations !== null) r.annotations = JSON.parse(row.annotations) as Record<string, string>;
  return r;
}

function toUpload(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    repo: row.repo,
    size: row.size,
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
  };
}
