/**
 * The tables of `SqlAccountStore` (migration 3 of both stores), written once for both engines. Names that are
 * listed in order compare bytewise: SQLite's default collation already does, PostgreSQL needs `COLLATE "C"`.
 * A permission's subject is polymorphic (user, `org/team` or robot), so it has no foreign key: deleting a
 * subject deletes its permissions in the same transaction (see `SqlAccountStore`).
 */
export function accountsSchema(dialect: 'sqlite' | 'postgres'): string {
  const name = dialect === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
  const id = dialect === 'postgres' ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  return `
    CREATE TABLE namespaces (
      name        ${name} NOT NULL PRIMARY KEY,
      kind        TEXT    NOT NULL,
      email       TEXT,
      created_at  BIGINT  NOT NULL
    );
    CREATE TABLE users (
      name           ${name} NOT NULL PRIMARY KEY REFERENCES namespaces (name) ON DELETE CASCADE,
      password_hash  TEXT    NOT NULL,
      superuser      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE teams (
      org          ${name} NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
      name         ${name} NOT NULL,
      role         TEXT    NOT NULL,
      description  TEXT,
      created_at   BIGINT  NOT NULL,
      PRIMARY KEY (org, name)
    );
    CREATE TABLE team_members (
      org       ${name} NOT NULL,
      team      ${name} NOT NULL,
      username  ${name} NOT NULL REFERENCES users (name) ON DELETE CASCADE,
      PRIMARY KEY (org, team, username),
      FOREIGN KEY (org, team) REFERENCES teams (org, name) ON DELETE CASCADE
    );
    CREATE INDEX team_members_user ON team_members (username);
    CREATE TABLE robots (
      name         ${name} NOT NULL PRIMARY KEY,
      namespace    ${name} NOT NULL REFERENCES namespaces (name) ON DELETE CASCADE,
      token_hash   TEXT    NOT NULL,
      description  TEXT,
      expires_at   BIGINT,
      created_at   BIGINT  NOT NULL
    );
    CREATE INDEX robots_namespace ON robots (namespace, name);
    -- Repositories as accounts see them: namespace, visibility, description. Created by the first push
    -- (or the API); blobs and manifests stay in the tables of migration 1.
    CREATE TABLE repository_settings (
      repo         ${name} NOT NULL PRIMARY KEY,
      namespace    ${name} NOT NULL,
      visibility   TEXT    NOT NULL,
      description  TEXT    NOT NULL DEFAULT '',
      created_by   TEXT,
      created_at   BIGINT  NOT NULL
    );
    CREATE INDEX repository_settings_namespace ON repository_settings (namespace, repo);
    CREATE TABLE repository_permissions (
      repo          ${name} NOT NULL REFERENCES repository_settings (repo) ON DELETE CASCADE,
      subject_kind  TEXT    NOT NULL,
      subject       ${name} NOT NULL,
      role          TEXT    NOT NULL,
      PRIMARY KEY (repo, subject_kind, subject)
    );
    CREATE INDEX repository_permissions_subject ON repository_permissions (subject_kind, subject);
    CREATE TABLE user_tokens (
      id            TEXT    NOT NULL PRIMARY KEY,
      owner         ${name} NOT NULL REFERENCES users (name) ON DELETE CASCADE,
      kind          TEXT    NOT NULL,
      name          TEXT    NOT NULL,
      secret_hash   TEXT    NOT NULL,
      expires_at    BIGINT,
      created_at    BIGINT  NOT NULL,
      last_used_at  BIGINT
    );
    CREATE INDEX user_tokens_owner ON user_tokens (owner, kind);
    CREATE TABLE signing_keys (
      kid              TEXT   NOT NULL PRIMARY KEY,
      private_key_pem  TEXT   NOT NULL,
      created_at       BIGINT NOT NULL,
      retired_at       BIGINT
    );
    CREATE TABLE audit_log (
      id          ${id},
      at          BIGINT NOT NULL,
      action      TEXT   NOT NULL,
      actor       TEXT,
      actor_kind  TEXT   NOT NULL,
      namespace   TEXT,
      repo        TEXT,
      ip          TEXT,
      detail      TEXT
    );
    CREATE INDEX audit_log_namespace ON audit_log (namespace, id);
    CREATE INDEX audit_log_repo ON audit_log (repo, id);
    CREATE INDEX audit_log_actor ON audit_log (actor, id);
    CREATE INDEX audit_log_at ON audit_log (at);
  `;
}
