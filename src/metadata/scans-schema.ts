/**
 * The tables of `SqlScanStore` (migration 4 of both stores), written once for both engines, and the trigger
 * that queues a scan for every image manifest and index a push stores.
 *
 * - `advisories` holds each advisory's JSON; `advisory_packages` indexes it by (ecosystem family, package
 *   name), which is how matching looks advisories up. `scan_state.advisory_revision` goes up with every
 *   import that changed something.
 * - `scan_layers` caches each layer's inventory extract by layer digest; `scan_inventories` holds an image's
 *   package inventory by the digest of its extracts (images with the same package databases share one), with
 *   its latest match and the advisory revision it was matched against.
 * - `scan_results` is one row per manifest digest; `scan_index_children` lets an index roll up its children.
 * - `scan_jobs` is the queue, leased by `lease_owner` until `lease_until`.
 *
 * The trigger only fires for image manifests whose config is an image config and for indexes without an
 * `artifactType` (signatures, SBOMs, Helm charts are not scanned), and not when the digest already has a
 * result (the same image pushed to a second repository). Manifests stored before migration 4 are queued by
 * the migration itself.
 */
import { isImageOrIndex } from './sql.js';

export function scansSchema(dialect: 'sqlite' | 'postgres'): string {
  const key = dialect === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
  const bytes = dialect === 'postgres' ? 'BYTEA' : 'BLOB';
  const enqueue = (m: string) => `
      INSERT INTO scan_jobs (digest, repo, media_type, enqueued_at, not_before, attempts)
      SELECT ${m}.digest, r.name, ${m}.media_type, ${m}.created_at, ${m}.created_at, 0
        FROM repositories r
       WHERE r.id = ${m}.repo_id AND NOT EXISTS (SELECT 1 FROM scan_results s WHERE s.digest = ${m}.digest)
      ON CONFLICT (digest) DO NOTHING;`;
  const trigger =
    dialect === 'postgres'
      ? `
    CREATE FUNCTION berth_enqueue_scan() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
    BEGIN
      IF ${isImageOrIndex('NEW')} THEN ${enqueue('NEW')}
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER manifests_enqueue_scan AFTER INSERT ON manifests FOR EACH ROW EXECUTE FUNCTION berth_enqueue_scan();`
      : `
    CREATE TRIGGER manifests_enqueue_scan AFTER INSERT ON manifests WHEN ${isImageOrIndex('NEW')}
    BEGIN ${enqueue('NEW')}
    END;`;
  return `
    CREATE TABLE scan_state (
      key    TEXT   NOT NULL PRIMARY KEY,
      value  BIGINT NOT NULL
    );
    INSERT INTO scan_state (key, value) VALUES ('advisory_revision', 0);

    CREATE TABLE advisories (
      id           ${key} NOT NULL PRIMARY KEY,
      source       TEXT,
      fingerprint  TEXT   NOT NULL,
      document     TEXT   NOT NULL,
      updated_at   BIGINT NOT NULL
    );
    CREATE INDEX advisories_source ON advisories (source, id);
    CREATE TABLE advisory_packages (
      family       ${key} NOT NULL,
      name         ${key} NOT NULL,
      advisory_id  ${key} NOT NULL,
      PRIMARY KEY (family, name, advisory_id)
    );
    CREATE INDEX advisory_packages_advisory ON advisory_packages (advisory_id);

    CREATE TABLE scan_layers (
      digest          ${key} NOT NULL PRIMARY KEY,
      extract_digest  TEXT   NOT NULL,
      extract         ${bytes} NOT NULL,
      created_at      BIGINT NOT NULL
    );

    CREATE TABLE scan_inventories (
      key               ${key} NOT NULL PRIMARY KEY,
      document          TEXT    NOT NULL,
      package_count     INTEGER NOT NULL,
      created_at        BIGINT  NOT NULL,
      findings          TEXT    NOT NULL,
      finding_count     INTEGER NOT NULL,
      health            TEXT    NOT NULL,
      grade             TEXT    NOT NULL,
      next_drop_at      BIGINT,
      matched_revision  BIGINT  NOT NULL,
      matched_at        BIGINT  NOT NULL,
      lease_owner       TEXT,
      lease_until       BIGINT
    );
    CREATE INDEX scan_inventories_revision ON scan_inventories (matched_revision);
    CREATE INDEX scan_inventories_drop ON scan_inventories (next_drop_at);

    CREATE TABLE scan_results (
      digest         ${key} NOT NULL PRIMARY KEY,
      media_type     TEXT   NOT NULL,
      kind           TEXT   NOT NULL,
      status         TEXT   NOT NULL,
      inventory_key  ${key},
      os             TEXT,
      platform       TEXT,
      grade          TEXT,
      health         TEXT,
      findings       TEXT,
      finding_count  INTEGER,
      next_drop_at   BIGINT,
      error_code     TEXT,
      error          TEXT,
      scanned_at     BIGINT NOT NULL,
      graded_at      BIGINT
    );
    CREATE INDEX scan_results_inventory ON scan_results (inventory_key);

    CREATE TABLE scan_index_children (
      index_digest  ${key} NOT NULL,
      child_digest  ${key} NOT NULL,
      platform      TEXT,
      PRIMARY KEY (index_digest, child_digest)
    );
    CREATE INDEX scan_index_children_child ON scan_index_children (child_digest);

    CREATE TABLE scan_jobs (
      digest       ${key} NOT NULL PRIMARY KEY,
      repo         ${key} NOT NULL,
      media_type   TEXT    NOT NULL,
      enqueued_at  BIGINT  NOT NULL,
      not_before   BIGINT  NOT NULL,
      attempts     INTEGER NOT NULL DEFAULT 0,
      lease_owner  TEXT,
      lease_until  BIGINT,
      last_error   TEXT
    );
    CREATE INDEX scan_jobs_due ON scan_jobs (not_before, digest);
    -- "Which repositories hold this digest" and pruning results of deleted manifests.
    CREATE INDEX manifests_digest ON manifests (digest);
    ${trigger}

    -- Manifests pushed before this migration get their scan too.
    INSERT INTO scan_jobs (digest, repo, media_type, enqueued_at, not_before, attempts)
    SELECT m.digest, min(r.name), min(m.media_type), min(m.created_at), min(m.created_at), 0
      FROM manifests m JOIN repositories r ON r.id = m.repo_id
     WHERE ${isImageOrIndex('m')}
     GROUP BY m.digest;
  `;
}
