/**
 * The tables of `SqlCertStore` (migration 5 of both stores), written once for both engines, and the triggers
 * that queue the certification of every tag a push creates or moves.
 *
 * - `cert_settings`: per repository, the policy and `auto_publish` (a repository without a row has the defaults).
 * - `cert_results`: one row per (repository, manifest digest): the policy it ran under, passed, the
 *   per-platform reports (preflight's results.json and the reasons of each check) and the image's labels.
 *   Keyed by repository because the policy is the repository's.
 * - `cert_jobs`: the queue, one job per (repository, tag), leased by `lease_owner` until `lease_until`;
 *   `generation` goes up with every re-queue, so completing a job that was re-queued meanwhile keeps it.
 * - `cert_publications`: one row per (repository, tag): the manifest it was published as, and whether it is
 *   still published (a withdrawn row stops auto-publish from publishing that manifest again).
 *
 * The triggers fire for tags pointing at an image manifest whose config is an image config, or at an index
 * without an `artifactType` (signatures, SBOMs and other artifacts are not certified), on a new tag and on a
 * tag moved to another manifest (re-pushing the same manifest is not a change). Tags stored before migration 5
 * are queued by the migration itself.
 */
import { isImageOrIndex } from './sql.js';

export function certsSchema(dialect: 'sqlite' | 'postgres'): string {
  const key = dialect === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
  const enqueue = (t: string) => `
      INSERT INTO cert_jobs (repo, tag, enqueued_at, not_before, attempts, generation)
      SELECT r.name, ${t}.name, ${t}.updated_at, ${t}.updated_at, 0, 1
        FROM repositories r JOIN manifests m ON m.id = ${t}.manifest_id
       WHERE r.id = ${t}.repo_id AND ${isImageOrIndex('m')}
      ON CONFLICT (repo, tag) DO UPDATE SET generation = cert_jobs.generation + 1, not_before = excluded.not_before,
        enqueued_at = excluded.enqueued_at, attempts = 0, last_error = NULL;`;
  const triggers =
    dialect === 'postgres'
      ? `
    CREATE FUNCTION berth_enqueue_certification() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF TG_OP = 'INSERT' OR OLD.manifest_id IS DISTINCT FROM NEW.manifest_id THEN ${enqueue('NEW')}
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER tags_enqueue_certification AFTER INSERT OR UPDATE OF manifest_id ON tags
      FOR EACH ROW EXECUTE FUNCTION berth_enqueue_certification();`
      : `
    CREATE TRIGGER tags_insert_enqueue_certification AFTER INSERT ON tags
    BEGIN ${enqueue('NEW')}
    END;
    CREATE TRIGGER tags_update_enqueue_certification AFTER UPDATE OF manifest_id ON tags WHEN OLD.manifest_id <> NEW.manifest_id
    BEGIN ${enqueue('NEW')}
    END;`;
  return `
    CREATE TABLE cert_settings (
      repo          ${key}  NOT NULL PRIMARY KEY,
      policy        TEXT    NOT NULL,
      auto_publish  INTEGER NOT NULL,
      updated_by    TEXT,
      updated_at    BIGINT  NOT NULL
    );

    CREATE TABLE cert_results (
      repo          ${key}  NOT NULL,
      digest        ${key}  NOT NULL,
      media_type    TEXT    NOT NULL,
      tag           TEXT,
      policy        TEXT    NOT NULL,
      status        TEXT    NOT NULL,
      passed        INTEGER NOT NULL,
      platforms     TEXT    NOT NULL,
      labels        TEXT,
      error_code    TEXT,
      error         TEXT,
      certified_at  BIGINT  NOT NULL,
      PRIMARY KEY (repo, digest)
    );

    CREATE TABLE cert_jobs (
      repo         ${key}  NOT NULL,
      tag          ${key}  NOT NULL,
      enqueued_at  BIGINT  NOT NULL,
      not_before   BIGINT  NOT NULL,
      attempts     INTEGER NOT NULL DEFAULT 0,
      generation   BIGINT  NOT NULL DEFAULT 1,
      lease_owner  TEXT,
      lease_until  BIGINT,
      last_error   TEXT,
      PRIMARY KEY (repo, tag)
    );
    CREATE INDEX cert_jobs_due ON cert_jobs (not_before, repo, tag);

    CREATE TABLE cert_publications (
      repo          ${key}  NOT NULL,
      tag           ${key}  NOT NULL,
      digest        ${key}  NOT NULL,
      published     INTEGER NOT NULL,
      automatic     INTEGER NOT NULL,
      actor         TEXT,
      at            BIGINT  NOT NULL,
      PRIMARY KEY (repo, tag)
    );
    ${triggers}

    -- Tags pushed before this migration get their certification too.
    INSERT INTO cert_jobs (repo, tag, enqueued_at, not_before, attempts, generation)
    SELECT r.name, t.name, t.updated_at, t.updated_at, 0, 1
      FROM tags t JOIN repositories r ON r.id = t.repo_id JOIN manifests m ON m.id = t.manifest_id
     WHERE ${isImageOrIndex('m')};
  `;
}
