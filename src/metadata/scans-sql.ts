import type {
  AdvisoryImportOptions,
  AdvisoryImportReport,
  AdvisoryRecord,
  Grade,
  GradeSummary,
  InventoryMatch,
  InventoryRecord,
  LayerExtractRecord,
  NewScanResult,
  ScanJob,
  ScanResultRecord,
  ScanStatus,
  ScanStore,
  StoredAdvisory,
} from './scans.js';
import { date, ms, num, sqlIn, sqlList, type SqlDb } from './sql.js';

/**
 * `ScanStore` over either SQL engine (migration 4 of each store creates the tables). One implementation, so
 * SQLite and PostgreSQL cannot drift apart; `describeScanStore` runs over both.
 *
 * Lists of values travel as one parameter (`sqlIn`, `sqlList`).
 * Leases are single conditional statements (`UPDATE ... WHERE lease_until <= now RETURNING`); on PostgreSQL
 * the candidates are picked `FOR UPDATE SKIP LOCKED`, so concurrent claimers on several nodes never pick the
 * same row and never wait on each other.
 */
export class SqlScanStore implements ScanStore {
  readonly #pg: boolean;

  constructor(private readonly db: SqlDb) {
    this.#pg = db.dialect === 'postgres';
  }


  /**
   * A SELECT yielding `rows` as a table, from parameters `$from`..: one array parameter per column on
   * PostgreSQL, one JSON parameter on SQLite. Returns the SQL and the parameters.
   */
  #rows(types: ReadonlyArray<'text' | 'bigint'>, rows: ReadonlyArray<readonly unknown[]>, from = 1, names?: readonly string[]): [string, unknown[]] {
    if (this.#pg) {
      const cols = types.map((t, i) => `$${from + i}::${t}[]`).join(', ');
      return [`SELECT * FROM unnest(${cols})${names ? ` AS t(${names.join(', ')})` : ''}`, types.map((_, i) => rows.map((r) => r[i] ?? null))];
    }
    const cols = types.map((_, i) => `json_extract(value, '$[${i}]')${names ? ` AS ${names[i]}` : ''}`).join(', ');
    return [`SELECT ${cols} FROM json_each($${from}) WHERE true`, [JSON.stringify(rows)]];
  }

  /** `SKIP LOCKED` where the engine has row locks. */
  get #skipLocked(): string {
    return this.#pg ? 'FOR UPDATE SKIP LOCKED' : '';
  }

  // --- advisories ---------------------------------------------------------------------------------------

  async importAdvisories(records: Iterable<AdvisoryRecord> | AsyncIterable<AdvisoryRecord>, opts: AdvisoryImportOptions = {}): Promise<AdvisoryImportReport> {
    const report: AdvisoryImportReport = { added: [], changed: [], removed: [], unchanged: 0, revision: 0 };
    const source = opts.source ?? '';
    const size = Math.max(1, opts.chunkSize ?? 500);
    const seen = new Set<string>();
    const reported = new Set<string>();
    let chunk = new Map<string, AdvisoryRecord>();
    const flush = async () => {
      if (chunk.size) await this.#importChunk([...chunk.values()], source, ms(opts.now), report, reported);
      chunk = new Map();
    };
    for await (const r of records as AsyncIterable<AdvisoryRecord>) {
      seen.add(r.id);
      chunk.set(r.id, r);
      if (chunk.size >= size) await flush();
    }
    await flush();
    if (opts.complete) {
      const stored = await this.db.all<{ id: string }>('SELECT id FROM advisories WHERE source = $1 ORDER BY id', [source]);
      const gone = stored.map((r) => r.id).filter((id) => !seen.has(id));
      for (let i = 0; i < gone.length; i += size) {
        const ids = gone.slice(i, i + size);
        await this.db.batch([
          [`DELETE FROM advisory_packages WHERE advisory_id IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, ids)]],
          [`DELETE FROM advisories WHERE id IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, ids)]],
        ]);
        report.removed.push(...ids);
      }
    }
    if (report.added.length || report.changed.length || report.removed.length) {
      await this.db.run("UPDATE scan_state SET value = value + 1 WHERE key = 'advisory_revision'");
    }
    report.revision = await this.advisoryRevision();
    return report;
  }

  async #importChunk(chunk: AdvisoryRecord[], source: string, now: number, report: AdvisoryImportReport, reported: Set<string>): Promise<void> {
    const ids = chunk.map((r) => r.id);
    const rows = await this.db.all<{ id: string; fingerprint: string }>(`SELECT id, fingerprint FROM advisories WHERE id IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, ids)]);
    const existing = new Map(rows.map((r) => [r.id, r.fingerprint]));
    const remove: string[] = [];
    const upsert: AdvisoryRecord[] = [];
    const note = (list: string[], id: string) => {
      if (!reported.has(id)) list.push(id);
      reported.add(id);
    };
    for (const r of chunk) {
      const fp = existing.get(r.id);
      if (r.withdrawn) {
        if (fp !== undefined) {
          remove.push(r.id);
          note(report.removed, r.id);
        }
      } else if (fp === undefined) {
        upsert.push(r);
        note(report.added, r.id);
      } else if (fp !== r.fingerprint) {
        upsert.push(r);
        note(report.changed, r.id);
      } else if (!reported.has(r.id)) report.unchanged++;
    }
    const statements: Array<[string, unknown[]]> = [];
    const touched = [...remove, ...upsert.map((r) => r.id)];
    if (touched.length) statements.push([`DELETE FROM advisory_packages WHERE advisory_id IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, touched)]]);
    if (remove.length) statements.push([`DELETE FROM advisories WHERE id IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, remove)]]);
    if (upsert.length) {
      const [sel, params] = this.#rows(['text', 'text', 'text', 'text', 'bigint'], upsert.map((r) => [r.id, source, r.fingerprint, r.document, now]));
      statements.push([
        `INSERT INTO advisories (id, source, fingerprint, document, updated_at) ${sel}
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, fingerprint = excluded.fingerprint, document = excluded.document, updated_at = excluded.updated_at`,
        params,
      ]);
      const keys: string[][] = [];
      for (const r of upsert) {
        const distinct = new Map(r.keys.map((k) => [`${k.family}\0${k.name}`, k]));
        for (const k of distinct.values()) keys.push([k.family, k.name, r.id]);
      }
      if (keys.length) {
        const [ksel, kparams] = this.#rows(['text', 'text', 'text'], keys);
        statements.push([`INSERT INTO advisory_packages (family, name, advisory_id) ${ksel} ON CONFLICT DO NOTHING`, kparams]);
      }
    }
    if (statements.length) await this.db.batch(statements);
  }

  async lookupAdvisories(family: string, name: string): Promise<StoredAdvisory[]> {
    const rows = await this.db.all<AdvisoryRow>(
      `SELECT a.id, a.document, a.source, a.fingerprint, a.updated_at
         FROM advisory_packages p JOIN advisories a ON a.id = p.advisory_id
        WHERE p.family = $1 AND p.name = $2 ORDER BY p.advisory_id`,
      [family, name],
    );
    return rows.map(toAdvisory);
  }

  // Ordered by the index's own columns (`advisory_id` is `a.id`), so neither engine sorts the documents.
  async lookupAdvisoriesMany(family: string, names: readonly string[]): Promise<Map<string, StoredAdvisory[]>> {
    const out = new Map<string, StoredAdvisory[]>(names.map((n) => [n, []]));
    if (names.length === 0) return out;
    const rows = await this.db.all<AdvisoryRow & { name: string }>(
      `SELECT p.name, a.id, a.document, a.source, a.fingerprint, a.updated_at
         FROM advisory_packages p JOIN advisories a ON a.id = p.advisory_id
        WHERE p.family = $1 AND p.name IN ${sqlIn(this.db, 2)} ORDER BY p.name, p.advisory_id`,
      [family, sqlList(this.db, [...new Set(names)])],
    );
    for (const r of rows) out.get(r.name)?.push(toAdvisory(r));
    return out;
  }

  async getAdvisory(id: string): Promise<StoredAdvisory | undefined> {
    const rows = await this.db.all<AdvisoryRow>('SELECT id, document, source, fingerprint, updated_at FROM advisories WHERE id = $1', [id]);
    return rows[0] && toAdvisory(rows[0]);
  }

  async countAdvisories(): Promise<number> {
    const rows = await this.db.all<{ n: number }>('SELECT count(*) AS n FROM advisories');
    return Number(rows[0]?.n ?? 0);
  }

  async advisoryRevision(): Promise<number> {
    const rows = await this.db.all<{ value: number }>("SELECT value FROM scan_state WHERE key = 'advisory_revision'");
    return Number(rows[0]?.value ?? 0);
  }

  // --- layer extracts ------------------------------------------------------------------------------------

  async getLayerExtract(digest: string): Promise<LayerExtractRecord | undefined> {
    const rows = await this.db.all<{ digest: string; extract: Buffer; extract_digest: string; created_at: number }>(
      'SELECT digest, extract, extract_digest, created_at FROM scan_layers WHERE digest = $1',
      [digest],
    );
    const r = rows[0];
    return r && { digest: r.digest, extract: Buffer.from(r.extract), extractDigest: r.extract_digest, createdAt: new Date(Number(r.created_at)) };
  }

  async putLayerExtract(r: { digest: string; extract: Uint8Array; extractDigest: string; now?: Date }): Promise<void> {
    const bytes = Buffer.from(r.extract.buffer, r.extract.byteOffset, r.extract.byteLength);
    await this.db.run(
      'INSERT INTO scan_layers (digest, extract_digest, extract, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING',
      [r.digest, r.extractDigest, bytes, ms(r.now)],
    );
  }

  // --- inventories ---------------------------------------------------------------------------------------

  async putInventory(r: { key: string; document: string; packageCount: number; match: InventoryMatch; now?: Date }): Promise<void> {
    const m = r.match;
    const at = ms(r.now);
    // An older match (a slower writer with an older revision) never replaces a newer one.
    await this.db.run(
      `INSERT INTO scan_inventories (key, document, package_count, created_at, findings, finding_count, health, grade, next_drop_at, matched_revision, matched_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (key) DO UPDATE SET findings = excluded.findings, finding_count = excluded.finding_count, health = excluded.health,
         grade = excluded.grade, next_drop_at = excluded.next_drop_at, matched_revision = excluded.matched_revision,
         matched_at = excluded.matched_at, lease_owner = NULL, lease_until = NULL
       WHERE scan_inventories.matched_revision <= excluded.matched_revision`,
      [r.key, r.document, r.packageCount, at, m.findings, m.findingCount, m.health, m.grade, m.nextDropAt?.getTime() ?? null, m.revision, ms(m.matchedAt ?? r.now)],
    );
  }

  async getInventory(key: string): Promise<InventoryRecord | undefined> {
    const rows = await this.db.all<InventoryRow>(`SELECT ${INVENTORY_COLUMNS} FROM scan_inventories WHERE key = $1`, [key]);
    return rows[0] && toInventory(rows[0]);
  }

  async claimRematch(opts: { owner: string; revision: number; limit: number; leaseMs: number; now?: Date }): Promise<InventoryRecord[]> {
    if (opts.limit <= 0) return [];
    const now = ms(opts.now);
    // Two claims, each walking one index from its front (oldest match first, then earliest drop date), so a
    // claim costs the rows it takes, not the inventories already re-matched. (One claim with `matched_revision
    // < r OR next_drop_at <= now` can use neither index: it reads every inventory, document and all, each time.)
    const claim = async (stale: string, order: string, bound: number, limit: number) =>
      this.db.all<InventoryRow>(
        `UPDATE scan_inventories SET lease_owner = $1, lease_until = $2
          WHERE key IN (SELECT key FROM scan_inventories
                         WHERE ${stale} AND (lease_until IS NULL OR lease_until <= $4)
                         ORDER BY ${order} LIMIT $5 ${this.#skipLocked})
            AND ${stale} AND (lease_until IS NULL OR lease_until <= $4)
         RETURNING ${INVENTORY_COLUMNS}`,
        [opts.owner, now + opts.leaseMs, bound, now, limit],
      );
    const rows = await claim('matched_revision < $3', 'matched_revision', opts.revision, opts.limit);
    if (rows.length < opts.limit) rows.push(...(await claim('next_drop_at <= $3', 'next_drop_at', now, opts.limit - rows.length)));
    return rows.map(toInventory).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async saveMatches(owner: string, matches: ReadonlyArray<{ key: string; match: InventoryMatch }>): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (matches.length === 0) return out;
    const last = [...new Map(matches.map((m) => [m.key, m.match])).entries()];
    const names = ['key', 'findings', 'finding_count', 'health', 'grade', 'next_drop_at', 'matched_revision', 'matched_at'];
    const [sel, params] = this.#rows(
      ['text', 'text', 'bigint', 'text', 'text', 'bigint', 'bigint', 'bigint'],
      last.map(([key, m]) => [key, m.findings, m.findingCount, m.health, m.grade, m.nextDropAt?.getTime() ?? null, m.revision, ms(m.matchedAt)]),
      2,
      names,
    );
    // One statement: every match held by `owner` is written, or none.
    const saved = await this.db.all<{ key: string }>(
      `UPDATE scan_inventories SET findings = v.findings, finding_count = v.finding_count, health = v.health, grade = v.grade,
              next_drop_at = v.next_drop_at, matched_revision = v.matched_revision, matched_at = v.matched_at,
              lease_owner = NULL, lease_until = NULL
         FROM (${sel}) AS v
        WHERE scan_inventories.key = v.key AND scan_inventories.lease_owner = $1
       RETURNING scan_inventories.key`,
      [owner, ...params],
    );
    if (saved.length === 0) return out;
    for (const r of saved) out.set(r.key, []);
    const rows = await this.db.all<{ inventory_key: string; digest: string }>(
      `SELECT inventory_key, digest FROM scan_results WHERE inventory_key IN ${sqlIn(this.db, 1)} ORDER BY inventory_key, digest`,
      [sqlList(this.db, [...out.keys()])],
    );
    for (const r of rows) out.get(r.inventory_key)?.push(r.digest);
    return out;
  }

  async countInventories(): Promise<{ total: number; stale: number; revision: number }> {
    const revision = await this.advisoryRevision();
    const rows = await this.db.all<{ total: number; stale: number }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE matched_revision < $1) AS stale FROM scan_inventories',
      [revision],
    );
    return { total: Number(rows[0]?.total ?? 0), stale: Number(rows[0]?.stale ?? 0), revision };
  }

  // --- results -------------------------------------------------------------------------------------------

  async getResult(digest: string): Promise<ScanResultRecord | undefined> {
    const rows = await this.db.all<ResultRow>(
      `SELECT ${RESULT_COLUMNS}, i.findings AS i_findings, i.health AS i_health
         FROM scan_results r LEFT JOIN scan_inventories i ON i.key = r.inventory_key WHERE r.digest = $1`,
      [digest],
    );
    return rows[0] && toResult(rows[0]);
  }

  async getGrades(digests: readonly string[]): Promise<Map<string, GradeSummary>> {
    const out = new Map<string, GradeSummary>();
    if (digests.length === 0) return out;
    // Tag listings and the catalog call this for every page: only the summary columns, never the findings.
    const rows = await this.db.all<GradeRow>(
      `SELECT r.digest, r.status, r.inventory_key, r.grade, r.finding_count, r.next_drop_at,
              i.grade AS i_grade, i.finding_count AS i_finding_count, i.next_drop_at AS i_next_drop_at
         FROM scan_results r LEFT JOIN scan_inventories i ON i.key = r.inventory_key WHERE r.digest IN ${sqlIn(this.db, 1)}`,
      [sqlList(this.db, [...new Set(digests)])],
    );
    for (const r of rows) out.set(r.digest, { status: r.status, ...gradeOf(r) });
    return out;
  }

  async putResult(r: NewScanResult): Promise<void> {
    await this.db.run(...this.#upsertResult(r, false));
  }

  /** The upsert of a result; `owner` makes it conditional on the job being leased by `$17`. */
  #upsertResult(r: NewScanResult, conditional: boolean, owner?: string): [string, unknown[]] {
    const at = ms(r.now);
    const params: unknown[] = [
      r.digest,
      r.mediaType,
      r.kind,
      r.status,
      r.inventoryKey ?? null,
      r.os ?? null,
      r.platform ?? null,
      r.grade ?? null,
      r.health ?? null,
      r.findings ?? null,
      r.findingCount ?? null,
      r.nextDropAt?.getTime() ?? null,
      r.error?.code ?? null,
      r.error?.message ?? null,
      at,
      r.grade ? at : null,
    ];
    const types = ['TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'BIGINT', 'BIGINT', 'TEXT', 'TEXT', 'BIGINT', 'BIGINT'];
    const cols = 'digest, media_type, kind, status, inventory_key, os, platform, grade, health, findings, finding_count, next_drop_at, error_code, error, scanned_at, graded_at';
    const update = `ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type, kind = excluded.kind, status = excluded.status,
        inventory_key = excluded.inventory_key, os = excluded.os, platform = excluded.platform, grade = excluded.grade, health = excluded.health,
        findings = excluded.findings, finding_count = excluded.finding_count, next_drop_at = excluded.next_drop_at,
        error_code = excluded.error_code, error = excluded.error, scanned_at = excluded.scanned_at, graded_at = excluded.graded_at`;
    if (!conditional) return [`INSERT INTO scan_results (${cols}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')}) ${update}`, params];
    // Parameters in a SELECT list have no type on PostgreSQL until cast.
    const sel = types.map((t, i) => `CAST($${i + 1} AS ${t})`).join(', ');
    return [
      `INSERT INTO scan_results (${cols}) SELECT ${sel} WHERE EXISTS (SELECT 1 FROM scan_jobs WHERE digest = $1 AND lease_owner = $17) ${update}`,
      [...params, owner],
    ];
  }

  async setIndexChildren(index: string, children: ReadonlyArray<{ digest: string; platform?: string }>): Promise<void> {
    const statements: Array<[string, unknown[]]> = [['DELETE FROM scan_index_children WHERE index_digest = $1', [index]]];
    if (children.length) {
      const distinct = [...new Map(children.map((c) => [c.digest, c])).values()];
      const [sel, params] = this.#rows(['text', 'text', 'text'], distinct.map((c) => [index, c.digest, c.platform ?? null]));
      statements.push([`INSERT INTO scan_index_children (index_digest, child_digest, platform) ${sel}`, params]);
    }
    await this.db.batch(statements);
  }

  async childrenOf(index: string): Promise<Array<{ digest: string; platform?: string }>> {
    const rows = await this.db.all<{ child_digest: string; platform: string | null }>(
      'SELECT child_digest, platform FROM scan_index_children WHERE index_digest = $1 ORDER BY child_digest',
      [index],
    );
    return rows.map((r) => (r.platform === null ? { digest: r.child_digest } : { digest: r.child_digest, platform: r.platform }));
  }

  async indexesContaining(digests: readonly string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.db.all<{ index_digest: string }>(
      `SELECT DISTINCT index_digest FROM scan_index_children WHERE child_digest IN ${sqlIn(this.db, 1)} ORDER BY index_digest`,
      [sqlList(this.db, digests)],
    );
    return rows.map((r) => r.index_digest);
  }

  // --- jobs ----------------------------------------------------------------------------------------------

  async enqueueScan(j: { digest: string; repo: string; mediaType: string; force?: boolean; now?: Date }): Promise<boolean> {
    const at = ms(j.now);
    if (j.force) {
      return (
        (await this.db.run(
          `INSERT INTO scan_jobs (digest, repo, media_type, enqueued_at, not_before, attempts) VALUES ($1, $2, $3, $4, $4, 0)
           ON CONFLICT (digest) DO UPDATE SET repo = excluded.repo, not_before = excluded.not_before, attempts = 0, last_error = NULL`,
          [j.digest, j.repo, j.mediaType, at],
        )) > 0
      );
    }
    return (
      (await this.db.run(
        `INSERT INTO scan_jobs (digest, repo, media_type, enqueued_at, not_before, attempts)
         SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($4 AS BIGINT), 0
          WHERE NOT EXISTS (SELECT 1 FROM scan_results WHERE digest = $1)
         ON CONFLICT (digest) DO NOTHING`,
        [j.digest, j.repo, j.mediaType, at],
      )) > 0
    );
  }

  async claimScanJobs(opts: { owner: string; limit: number; leaseMs: number; now?: Date }): Promise<ScanJob[]> {
    if (opts.limit <= 0) return [];
    const now = ms(opts.now);
    const rows = await this.db.all<JobRow>(
      `UPDATE scan_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
        WHERE digest IN (SELECT digest FROM scan_jobs
                          WHERE not_before <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                          ORDER BY not_before, digest LIMIT $4 ${this.#skipLocked})
          AND (lease_until IS NULL OR lease_until <= $3)
       RETURNING ${JOB_COLUMNS}`,
      [opts.owner, now + opts.leaseMs, now, opts.limit],
    );
    return rows.map(toJob).sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || (a.digest < b.digest ? -1 : 1));
  }

  async renewScanJob(digest: string, owner: string, leaseMs: number, now?: Date): Promise<boolean> {
    return (await this.db.run('UPDATE scan_jobs SET lease_until = $3 WHERE digest = $1 AND lease_owner = $2', [digest, owner, ms(now) + leaseMs])) > 0;
  }

  async completeScanJob(digest: string, owner: string, result?: NewScanResult): Promise<boolean> {
    const statements: Array<[string, unknown[]]> = [];
    if (result) statements.push(this.#upsertResult({ ...result, digest }, true, owner));
    statements.push(['DELETE FROM scan_jobs WHERE digest = $1 AND lease_owner = $2', [digest, owner]]);
    const counts = await this.db.batch(statements);
    return counts[counts.length - 1]! > 0;
  }

  async retryScanJob(digest: string, owner: string, r: { error: string; notBefore: Date }): Promise<boolean> {
    return (
      (await this.db.run('UPDATE scan_jobs SET lease_owner = NULL, lease_until = NULL, not_before = $3, last_error = $4 WHERE digest = $1 AND lease_owner = $2', [
        digest,
        owner,
        r.notBefore.getTime(),
        r.error.slice(0, 2000),
      ])) > 0
    );
  }

  async listScanJobs(): Promise<ScanJob[]> {
    return (await this.db.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM scan_jobs ORDER BY not_before, digest`)).map(toJob);
  }

  async repositoriesHolding(digest: string): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>('SELECT r.name FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE m.digest = $1 ORDER BY r.name', [digest]);
    return rows.map((r) => r.name);
  }

  async pruneScans(opts: { limit?: number; graceMs?: number; now?: Date } = {}): Promise<{ results: number; jobs: number; layers: number; inventories: number }> {
    const limit = opts.limit ?? 1000;
    // Extracts and inventories are written a moment before the result that uses them: young ones stay.
    const before = ms(opts.now) - (opts.graceMs ?? 3_600_000);
    const gone = await this.db.all<{ digest: string }>(
      'SELECT s.digest FROM scan_results s WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = s.digest) ORDER BY s.digest LIMIT $1',
      [limit],
    );
    const ids = gone.map((r) => r.digest);
    const [, results] = ids.length
      ? await this.db.batch([
          [`DELETE FROM scan_index_children WHERE index_digest IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, ids)]],
          [`DELETE FROM scan_results WHERE digest IN ${sqlIn(this.db, 1)}`, [sqlList(this.db, ids)]],
        ])
      : [0, 0];
    const jobs = await this.db.run(
      `DELETE FROM scan_jobs WHERE digest IN (SELECT j.digest FROM scan_jobs j WHERE j.lease_owner IS NULL
         AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = j.digest) LIMIT $1)`,
      [limit],
    );
    const layers = await this.db.run(
      `DELETE FROM scan_layers WHERE digest IN (SELECT l.digest FROM scan_layers l WHERE l.created_at < $2
         AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = l.digest) LIMIT $1)`,
      [limit, before],
    );
    const inventories = await this.db.run(
      `DELETE FROM scan_inventories WHERE key IN (SELECT i.key FROM scan_inventories i WHERE i.created_at < $2 AND i.lease_owner IS NULL
         AND NOT EXISTS (SELECT 1 FROM scan_results r WHERE r.inventory_key = i.key) LIMIT $1)`,
      [limit, before],
    );
    return { results: results ?? 0, jobs, layers, inventories };
  }
}


interface AdvisoryRow {
  id: string;
  document: string;
  source: string;
  fingerprint: string;
  updated_at: number;
}

function toAdvisory(r: AdvisoryRow): StoredAdvisory {
  const a: StoredAdvisory = { id: r.id, document: r.document, fingerprint: r.fingerprint, updatedAt: new Date(Number(r.updated_at)) };
  if (r.source) a.source = r.source;
  return a;
}

const INVENTORY_COLUMNS = 'key, document, package_count, created_at, findings, finding_count, health, grade, next_drop_at, matched_revision, matched_at';

interface InventoryRow {
  key: string;
  document: string;
  package_count: number;
  created_at: number;
  findings: string;
  finding_count: number;
  health: string;
  grade: Grade;
  next_drop_at: number | null;
  matched_revision: number;
  matched_at: number;
}

function toInventory(r: InventoryRow): InventoryRecord {
  const rec: InventoryRecord = {
    key: r.key,
    document: r.document,
    packageCount: Number(r.package_count),
    createdAt: new Date(Number(r.created_at)),
    match: { findings: r.findings, findingCount: Number(r.finding_count), health: r.health, grade: r.grade, revision: Number(r.matched_revision), matchedAt: new Date(Number(r.matched_at)) },
  };
  if (r.next_drop_at !== null) rec.match.nextDropAt = new Date(Number(r.next_drop_at));
  return rec;
}

const RESULT_COLUMNS = `r.digest, r.media_type, r.kind, r.status, r.inventory_key, r.os, r.platform, r.grade, r.health, r.finding_count, r.next_drop_at,
  r.findings, r.error_code, r.error, r.scanned_at, r.graded_at, i.package_count, i.grade AS i_grade, i.finding_count AS i_finding_count,
  i.next_drop_at AS i_next_drop_at, i.matched_revision, i.matched_at`;

type GradeRow = Pick<ResultRow, 'digest' | 'status' | 'inventory_key' | 'grade' | 'finding_count' | 'next_drop_at' | 'i_grade' | 'i_finding_count' | 'i_next_drop_at'>;

interface ResultRow {
  digest: string;
  media_type: string;
  kind: 'image' | 'index';
  status: ScanStatus;
  inventory_key: string | null;
  os: string | null;
  platform: string | null;
  grade: Grade | null;
  health: string | null;
  findings: string | null;
  finding_count: number | null;
  next_drop_at: number | null;
  error_code: string | null;
  error: string | null;
  scanned_at: number;
  graded_at: number | null;
  package_count: number | null;
  i_grade: Grade | null;
  i_finding_count: number | null;
  i_next_drop_at: number | null;
  i_findings?: string | null;
  i_health?: string | null;
  matched_revision: number | null;
  matched_at: number | null;
}

/** Grade, finding count and next drop: the inventory's when the result takes them from one, else its own. */
function gradeOf(r: GradeRow): Omit<GradeSummary, 'status'> {
  const fromInventory = r.inventory_key !== null && r.i_grade !== null;
  const out: Omit<GradeSummary, 'status'> = {};
  const grade = fromInventory ? r.i_grade : r.grade;
  const findingCount = num(fromInventory ? r.i_finding_count : r.finding_count);
  const nextDropAt = date(fromInventory ? r.i_next_drop_at : r.next_drop_at);
  if (grade !== null) out.grade = grade;
  if (findingCount !== undefined) out.findingCount = findingCount;
  if (nextDropAt) out.nextDropAt = nextDropAt;
  return out;
}

function toResult(r: ResultRow): ScanResultRecord {
  const fromInventory = r.inventory_key !== null && r.i_grade !== null;
  const out: ScanResultRecord = { digest: r.digest, mediaType: r.media_type, kind: r.kind, status: r.status, scannedAt: new Date(Number(r.scanned_at)), ...gradeOf(r) };
  const set = <K extends keyof ScanResultRecord>(k: K, v: ScanResultRecord[K] | undefined | null) => {
    if (v !== undefined && v !== null) out[k] = v;
  };
  set('inventoryKey', r.inventory_key);
  set('os', r.os);
  set('platform', r.platform);
  set('packageCount', num(r.package_count));
  set('health', fromInventory ? r.i_health : r.health);
  set('findings', fromInventory ? r.i_findings : r.findings);
  set('revision', fromInventory ? num(r.matched_revision) : undefined);
  set('gradedAt', date(fromInventory ? r.matched_at : r.graded_at));
  if (r.error_code !== null) out.error = { code: r.error_code, message: r.error ?? '' };
  return out;
}

const JOB_COLUMNS = 'digest, repo, media_type, enqueued_at, not_before, attempts, lease_owner, lease_until, last_error';

interface JobRow {
  digest: string;
  repo: string;
  media_type: string;
  enqueued_at: number;
  not_before: number;
  attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
}

function toJob(r: JobRow): ScanJob {
  const j: ScanJob = { digest: r.digest, repo: r.repo, mediaType: r.media_type, enqueuedAt: new Date(Number(r.enqueued_at)), notBefore: new Date(Number(r.not_before)), attempts: Number(r.attempts) };
  if (r.lease_owner !== null) j.leaseOwner = r.lease_owner;
  if (r.lease_until !== null) j.leaseUntil = new Date(Number(r.lease_until));
  if (r.last_error !== null) j.lastError = r.last_error;
  return j;
}
