import type {
  CatalogRecord,
  CertJob,
  CertJobKey,
  CertPolicy,
  CertResultRecord,
  CertSettings,
  CertStatus,
  CertStore,
  CertSummary,
  NewCertResult,
  PublicationRecord,
} from './certs.js';
import { isImageOrIndex, limit, ms, sqlIn, sqlList, type SqlDb } from './sql.js';

/**
 * `CertStore` over either SQL engine (migration 5 of each store creates the tables). One implementation, so
 * SQLite and PostgreSQL cannot drift apart; `describeCertStore` runs over both.
 *
 * Leases are single conditional statements (`UPDATE ... WHERE lease_until <= now RETURNING`), as the scan
 * queue's are; on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so concurrent claimers on
 * several nodes never pick the same row and never wait on each other.
 */
export class SqlCertStore implements CertStore {
  readonly #pg: boolean;

  constructor(private readonly db: SqlDb) {
    this.#pg = db.dialect === 'postgres';
  }


  // --- settings ------------------------------------------------------------------------------------------

  async getCertSettings(repo: string): Promise<CertSettings> {
    const rows = await this.db.all<SettingsRow>('SELECT repo, policy, auto_publish, updated_by, updated_at FROM cert_settings WHERE repo = $1', [repo]);
    return rows[0] ? toSettings(rows[0]) : { repo, policy: 'container', autoPublish: false };
  }

  async putCertSettings(s: { repo: string; policy?: CertPolicy; autoPublish?: boolean; by?: string; now?: Date }): Promise<{ settings: CertSettings; queued: number }> {
    const at = ms(s.now);
    const before = await this.getCertSettings(s.repo);
    const policy = s.policy ?? before.policy;
    const autoPublish = s.autoPublish ?? before.autoPublish;
    const statements: Array<[string, unknown[]]> = [
      [
        `INSERT INTO cert_settings (repo, policy, auto_publish, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (repo) DO UPDATE SET policy = excluded.policy, auto_publish = excluded.auto_publish, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
        [s.repo, policy, autoPublish ? 1 : 0, s.by ?? null, at],
      ],
    ];
    // Results under the old policy no longer decide anything: certify every tag again under the new one.
    if (policy !== before.policy) statements.push(this.#enqueueTags('r.name = $1', [s.repo, at]));
    const counts = await this.db.batch(statements);
    return { settings: { repo: s.repo, policy, autoPublish, ...(s.by ? { updatedBy: s.by } : {}), updatedAt: new Date(at) }, queued: counts[1] ?? 0 };
  }

  /**
   * Queues (or re-queues) the tags selected by `where` over `tags t JOIN repositories r JOIN manifests m`; `$2`
   * is now. Only tags of images and indexes, as the push trigger queues them.
   */
  #enqueueTags(where: string, params: unknown[]): [string, unknown[]] {
    return [
      `INSERT INTO cert_jobs (repo, tag, enqueued_at, not_before, attempts, generation)
       SELECT r.name, t.name, CAST($2 AS BIGINT), CAST($2 AS BIGINT), 0, 1
         FROM tags t JOIN repositories r ON r.id = t.repo_id JOIN manifests m ON m.id = t.manifest_id
        WHERE ${where} AND ${isImageOrIndex('m')}
       ON CONFLICT (repo, tag) DO UPDATE SET generation = cert_jobs.generation + 1, not_before = excluded.not_before,
         enqueued_at = excluded.enqueued_at, attempts = 0, last_error = NULL`,
      params,
    ];
  }

  // --- results ---------------------------------------------------------------------------------------------

  async getCertResult(repo: string, digest: string): Promise<CertResultRecord | undefined> {
    const rows = await this.db.all<ResultRow>(`SELECT ${RESULT_COLUMNS} FROM cert_results WHERE repo = $1 AND digest = $2`, [repo, digest]);
    return rows[0] && toResult(rows[0]);
  }

  async getCertSummaries(repo: string, digests: readonly string[]): Promise<Map<string, CertSummary>> {
    const out = new Map<string, CertSummary>();
    if (digests.length === 0) return out;
    const rows = await this.db.all<ResultRow>(
      `SELECT digest, tag, policy, status, passed, certified_at FROM cert_results WHERE repo = $1 AND digest IN ${sqlIn(this.db, 2)}`,
      [repo, sqlList(this.db, [...new Set(digests)])],
    );
    for (const row of rows) out.set(row.digest, toSummary(row));
    return out;
  }

  async putCertResult(r: NewCertResult): Promise<void> {
    await this.db.run(...upsertResult(r));
  }

  // --- jobs --------------------------------------------------------------------------------------------------

  async enqueueCertification(j: { repo: string; tag: string; now?: Date }): Promise<boolean> {
    const [sql, params] = this.#enqueueTags('r.name = $1 AND t.name = $3', [j.repo, ms(j.now), j.tag]);
    return (await this.db.run(sql, params)) > 0;
  }

  async claimCertJobs(opts: { owner: string; limit: number; leaseMs: number; now?: Date }): Promise<CertJob[]> {
    if (opts.limit <= 0) return [];
    const now = ms(opts.now);
    const pick = this.#pg
      ? `(repo, tag) IN (SELECT repo, tag FROM cert_jobs
                          WHERE not_before <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                          ORDER BY not_before, repo, tag LIMIT $4 FOR UPDATE SKIP LOCKED)`
      : // SQLite has no row locks (one writer at a time); rowid names the picked rows exactly.
        `rowid IN (SELECT rowid FROM cert_jobs
                    WHERE not_before <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                    ORDER BY not_before, repo, tag LIMIT $4)`;
    const rows = await this.db.all<JobRow>(
      `UPDATE cert_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
        WHERE ${pick} AND (lease_until IS NULL OR lease_until <= $3)
       RETURNING ${JOB_COLUMNS}`,
      [opts.owner, now + opts.leaseMs, now, opts.limit],
    );
    return rows.map(toJob).sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || cmpKey(a, b));
  }

  async renewCertJob(job: CertJobKey, owner: string, leaseMs: number, now?: Date): Promise<boolean> {
    return (await this.db.run('UPDATE cert_jobs SET lease_until = $4 WHERE repo = $1 AND tag = $2 AND lease_owner = $3', [job.repo, job.tag, owner, ms(now) + leaseMs])) > 0;
  }

  async completeCertJob(job: CertJobKey & { generation: number }, owner: string, result?: NewCertResult): Promise<boolean> {
    // Both statements are conditional on the lease; the first one answers whether we still held it.
    const held: [string, unknown[]] = ['UPDATE cert_jobs SET lease_until = lease_until WHERE repo = $1 AND tag = $2 AND lease_owner = $3', [job.repo, job.tag, owner]];
    const statements: Array<[string, unknown[]]> = [held];
    if (result) statements.push(upsertResult(result, { ...job, owner }));
    statements.push(['DELETE FROM cert_jobs WHERE repo = $1 AND tag = $2 AND lease_owner = $3 AND generation = $4', [job.repo, job.tag, owner, job.generation]]);
    // Re-queued meanwhile: the job stays, without our lease, for the manifest the tag points at now.
    statements.push(['UPDATE cert_jobs SET lease_owner = NULL, lease_until = NULL WHERE repo = $1 AND tag = $2 AND lease_owner = $3', [job.repo, job.tag, owner]]);
    const counts = await this.db.batch(statements);
    return counts[0]! > 0;
  }

  async retryCertJob(job: CertJobKey, owner: string, r: { error: string; notBefore: Date }): Promise<boolean> {
    return (
      (await this.db.run(
        // A job re-queued meanwhile is due now: keep its not_before when it is earlier.
        `UPDATE cert_jobs SET lease_owner = NULL, lease_until = NULL, last_error = $5,
           not_before = CASE WHEN attempts = 0 THEN not_before ELSE $4 END
         WHERE repo = $1 AND tag = $2 AND lease_owner = $3`,
        [job.repo, job.tag, owner, r.notBefore.getTime(), r.error.slice(0, 2000)],
      )) > 0
    );
  }

  async listCertJobs(): Promise<CertJob[]> {
    return (await this.db.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM cert_jobs ORDER BY not_before, repo, tag`)).map(toJob);
  }

  // --- publications ------------------------------------------------------------------------------------------

  async publish(p: { repo: string; tag: string; digest: string; by?: string; automatic?: boolean; now?: Date }): Promise<PublicationRecord | undefined> {
    const at = ms(p.now);
    // Auto-publish never overrides a decision about the same manifest (a withdrawal by hand, most of all).
    const onlyNew = p.automatic ? 'WHERE cert_publications.digest <> excluded.digest' : '';
    const n = await this.db.run(
      `INSERT INTO cert_publications (repo, tag, digest, published, automatic, actor, at) VALUES ($1, $2, $3, 1, $4, $5, $6)
       ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, published = 1, automatic = excluded.automatic, actor = excluded.actor, at = excluded.at
       ${onlyNew}`,
      [p.repo, p.tag, p.digest, p.automatic ? 1 : 0, p.by ?? null, at],
    );
    if (n === 0) return undefined;
    return { repo: p.repo, tag: p.tag, digest: p.digest, published: true, automatic: Boolean(p.automatic), ...(p.by ? { by: p.by } : {}), at: new Date(at) };
  }

  async unpublish(p: { repo: string; tag: string; by?: string; now?: Date }): Promise<boolean> {
    return (
      (await this.db.run('UPDATE cert_publications SET published = 0, automatic = 0, actor = $3, at = $4 WHERE repo = $1 AND tag = $2 AND published = 1', [
        p.repo,
        p.tag,
        p.by ?? null,
        ms(p.now),
      ])) > 0
    );
  }

  async getPublication(repo: string, tag: string): Promise<PublicationRecord | undefined> {
    const rows = await this.db.all<PublicationRow>(`SELECT ${PUBLICATION_COLUMNS} FROM cert_publications WHERE repo = $1 AND tag = $2`, [repo, tag]);
    return rows[0] && toPublication(rows[0]);
  }

  async listPublications(repo: string): Promise<PublicationRecord[]> {
    return (await this.db.all<PublicationRow>(`SELECT ${PUBLICATION_COLUMNS} FROM cert_publications WHERE repo = $1 ORDER BY tag`, [repo])).map(toPublication);
  }

  async listCatalog(opts: { n?: number; after?: { repo: string; tag: string } } = {}): Promise<CatalogRecord[]> {
    const rows = await this.db.all<CatalogRow>(
      `SELECT p.repo, p.tag, p.digest, p.automatic, p.actor, p.at, m.media_type AS m_media_type,
              c.tag AS c_tag, c.policy, c.status, c.passed, c.platforms, c.labels, c.certified_at
         FROM cert_publications p
         JOIN repositories r ON r.name = p.repo
         JOIN tags t ON t.repo_id = r.id AND t.name = p.tag
         JOIN manifests m ON m.id = t.manifest_id AND m.digest = p.digest
         LEFT JOIN cert_results c ON c.repo = p.repo AND c.digest = p.digest
        WHERE p.published = 1 AND (p.repo > $1 OR (p.repo = $1 AND p.tag > $2))
        ORDER BY p.repo, p.tag LIMIT $3`,
      [opts.after?.repo ?? '', opts.after?.tag ?? '', limit(opts.n)],
    );
    return rows.map((row) => {
      const rec: CatalogRecord = {
        repo: row.repo,
        tag: row.tag,
        digest: row.digest,
        mediaType: row.m_media_type,
        automatic: Number(row.automatic) === 1,
        publishedAt: new Date(Number(row.at)),
        ...(row.actor !== null ? { publishedBy: row.actor } : {}),
      };
      if (row.policy !== null) {
        rec.result = {
          ...toSummary({ tag: row.c_tag, policy: row.policy, status: row.status!, passed: row.passed!, certified_at: row.certified_at! }),
          platforms: row.platforms!,
          ...(row.labels !== null ? { labels: row.labels } : {}),
        };
      }
      return rec;
    });
  }

  async listAutoPublishCandidates(opts: { limit: number; after?: { repo: string; tag: string } }): Promise<Array<{ repo: string; tag: string; digest: string }>> {
    if (opts.limit <= 0) return [];
    return this.db.all<{ repo: string; tag: string; digest: string }>(
      `SELECT s.repo, t.name AS tag, m.digest
         FROM cert_settings s
         JOIN repositories r ON r.name = s.repo
         JOIN tags t ON t.repo_id = r.id
         JOIN manifests m ON m.id = t.manifest_id
         JOIN cert_results c ON c.repo = s.repo AND c.digest = m.digest AND c.policy = s.policy AND c.passed = 1
        WHERE s.auto_publish = 1 AND (s.repo > $1 OR (s.repo = $1 AND t.name > $2))
          AND NOT EXISTS (SELECT 1 FROM cert_publications p WHERE p.repo = s.repo AND p.tag = t.name AND p.digest = m.digest)
        ORDER BY s.repo, t.name LIMIT $3`,
      [opts.after?.repo ?? '', opts.after?.tag ?? '', opts.limit],
    );
  }

  async pruneCerts(opts: { limit?: number } = {}): Promise<{ results: number; publications: number; jobs: number }> {
    const n = opts.limit ?? 1000;
    const gone = (table: string, alias: string, exists: string) =>
      this.#pg
        ? `DELETE FROM ${table} WHERE (repo, ${alias}) IN (SELECT x.repo, x.${alias} FROM ${table} x WHERE NOT EXISTS (${exists}) LIMIT $1)`
        : `DELETE FROM ${table} WHERE rowid IN (SELECT x.rowid FROM ${table} x WHERE NOT EXISTS (${exists}) LIMIT $1)`;
    const [results, publications, jobs] = await this.db.batch([
      [gone('cert_results', 'digest', 'SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repo_id WHERE r.name = x.repo AND m.digest = x.digest'), [n]],
      [gone('cert_publications', 'tag', 'SELECT 1 FROM tags t JOIN repositories r ON r.id = t.repo_id WHERE r.name = x.repo AND t.name = x.tag'), [n]],
      // A job whose tag went away while it is leased is the worker's to end.
      [gone('cert_jobs', 'tag', 'SELECT 1 FROM tags t JOIN repositories r ON r.id = t.repo_id WHERE r.name = x.repo AND t.name = x.tag') + ' AND lease_owner IS NULL', [n]],
    ]);
    return { results: results!, publications: publications!, jobs: jobs! };
  }
}

/**
 * The upsert of a result. With `lease`, it writes only while that job is leased by `lease.owner` (completing
 * a job). Values are CAST so PostgreSQL knows their types in `INSERT ... SELECT`.
 */
function upsertResult(r: NewCertResult, lease?: CertJobKey & { owner: string }): [string, unknown[]] {
  const types = ['TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'INTEGER', 'TEXT', 'TEXT', 'TEXT', 'TEXT', 'BIGINT'];
  const values = types.map((t, i) => `CAST($${i + 1} AS ${t})`).join(', ');
  const params: unknown[] = [
    r.repo,
    r.digest,
    r.mediaType,
    r.tag ?? null,
    r.policy,
    r.status,
    r.passed && r.status === 'done' ? 1 : 0,
    r.platforms,
    r.labels ?? null,
    r.error?.code ?? null,
    r.error?.message.slice(0, 4000) ?? null,
    ms(r.now),
  ];
  const where = lease ? 'WHERE EXISTS (SELECT 1 FROM cert_jobs WHERE repo = $13 AND tag = $14 AND lease_owner = $15)' : 'WHERE true';
  if (lease) params.push(lease.repo, lease.tag, lease.owner);
  return [
    `INSERT INTO cert_results (${RESULT_COLUMNS}) SELECT ${values} ${where}
     ON CONFLICT (repo, digest) DO UPDATE SET media_type = excluded.media_type, tag = excluded.tag, policy = excluded.policy,
       status = excluded.status, passed = excluded.passed, platforms = excluded.platforms, labels = excluded.labels,
       error_code = excluded.error_code, error = excluded.error, certified_at = excluded.certified_at`,
    params,
  ];
}

const RESULT_COLUMNS = 'repo, digest, media_type, tag, policy, status, passed, platforms, labels, error_code, error, certified_at';
const JOB_COLUMNS = 'repo, tag, enqueued_at, not_before, attempts, generation, lease_owner, lease_until, last_error';
const PUBLICATION_COLUMNS = 'repo, tag, digest, published, automatic, actor, at';

type Num = number | string;

interface SettingsRow {
  repo: string;
  policy: string;
  auto_publish: Num;
  updated_by: string | null;
  updated_at: Num;
}

interface ResultRow {
  repo: string;
  digest: string;
  media_type: string;
  tag: string | null;
  policy: string;
  status: string;
  passed: Num;
  platforms: string;
  labels: string | null;
  error_code: string | null;
  error: string | null;
  certified_at: Num;
}

interface JobRow {
  repo: string;
  tag: string;
  enqueued_at: Num;
  not_before: Num;
  attempts: Num;
  generation: Num;
  lease_owner: string | null;
  lease_until: Num | null;
  last_error: string | null;
}

interface PublicationRow {
  repo: string;
  tag: string;
  digest: string;
  published: Num;
  automatic: Num;
  actor: string | null;
  at: Num;
}

interface CatalogRow {
  repo: string;
  tag: string;
  digest: string;
  automatic: Num;
  actor: string | null;
  at: Num;
  m_media_type: string;
  c_tag: string | null;
  policy: string | null;
  status: string | null;
  passed: Num | null;
  platforms: string | null;
  labels: string | null;
  certified_at: Num | null;
}

function toSettings(r: SettingsRow): CertSettings {
  return {
    repo: r.repo,
    policy: r.policy as CertPolicy,
    autoPublish: Number(r.auto_publish) === 1,
    ...(r.updated_by !== null ? { updatedBy: r.updated_by } : {}),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

function toSummary(r: Pick<ResultRow, 'tag' | 'policy' | 'status' | 'passed' | 'certified_at'>): CertSummary {
  return {
    policy: r.policy as CertPolicy,
    status: r.status as CertStatus,
    passed: Number(r.passed) === 1,
    ...(r.tag !== null ? { tag: r.tag } : {}),
    certifiedAt: new Date(Number(r.certified_at)),
  };
}

function toResult(r: ResultRow): CertResultRecord {
  return {
    repo: r.repo,
    digest: r.digest,
    mediaType: r.media_type,
    ...(r.tag !== null ? { tag: r.tag } : {}),
    policy: r.policy as CertPolicy,
    status: r.status as CertStatus,
    passed: Number(r.passed) === 1,
    platforms: r.platforms,
    ...(r.labels !== null ? { labels: r.labels } : {}),
    ...(r.error_code !== null ? { error: { code: r.error_code, message: r.error ?? '' } } : {}),
    certifiedAt: new Date(Number(r.certified_at)),
  };
}

function toJob(r: JobRow): CertJob {
  return {
    repo: r.repo,
    tag: r.tag,
    enqueuedAt: new Date(Number(r.enqueued_at)),
    notBefore: new Date(Number(r.not_before)),
    attempts: Number(r.attempts),
    generation: Number(r.generation),
    ...(r.lease_owner !== null ? { leaseOwner: r.lease_owner } : {}),
    ...(r.lease_until !== null ? { leaseUntil: new Date(Number(r.lease_until)) } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  };
}

function toPublication(r: PublicationRow): PublicationRecord {
  return {
    repo: r.repo,
    tag: r.tag,
    digest: r.digest,
    published: Number(r.published) === 1,
    automatic: Number(r.automatic) === 1,
    ...(r.actor !== null ? { by: r.actor } : {}),
    at: new Date(Number(r.at)),
  };
}

function cmpKey(a: CertJobKey, b: CertJobKey): number {
  return a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}


