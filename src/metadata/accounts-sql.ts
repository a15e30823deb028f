import type {
  AccountStore,
  AuditEvent,
  AuditQuery,
  NamespaceRecord,
  NewAuditEvent,
  NewToken,
  NewUser,
  PermissionRecord,
  RepositorySettings,
  RobotRecord,
  SigningKeyRecord,
  Subject,
  SubjectKind,
  TeamRecord,
  TeamRole,
  TokenKind,
  TokenRecord,
  UserRecord,
  Visibility,
} from './accounts.js';
import { MetadataError } from './errors.js';
import { date, limit, mapConstraintError, ms, type SqlDb } from './sql.js';
import type { Page } from './store.js';

/**
 * `AccountStore` over either SQL engine (migration 3 of each store creates the tables). One implementation,
 * so SQLite and PostgreSQL cannot drift apart; `describeAccountStore` runs over both.
 */
export class SqlAccountStore implements AccountStore {
  constructor(private readonly db: SqlDb) {}

  // --- users and namespaces -------------------------------------------------------------------------

  async createUser(u: NewUser): Promise<UserRecord> {
    const at = ms(u.now);
    try {
      await this.db.batch([
        ['INSERT INTO namespaces (name, kind, email, created_at) VALUES ($1, $2, $3, $4)', [u.name, 'user', u.email ?? null, at]],
        ['INSERT INTO users (name, password_hash, superuser) VALUES ($1, $2, $3)', [u.name, u.passwordHash, u.superuser ? 1 : 0]],
      ]);
    } catch (err) {
      mapConstraintError(err, `namespace ${u.name}`);
    }
    return { name: u.name, passwordHash: u.passwordHash, email: u.email, superuser: Boolean(u.superuser), createdAt: new Date(at) };
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const rows = await this.db.all<UserRow>(`${USER_SELECT} WHERE u.name = $1`, [name]);
    return rows[0] && toUser(rows[0]);
  }

  async listUsers(page: Page = {}): Promise<UserRecord[]> {
    const rows = await this.db.all<UserRow>(`${USER_SELECT} WHERE u.name > $1 ORDER BY u.name LIMIT $2`, [page.last ?? '', limit(page.n)]);
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const rows = await this.db.all<{ n: number }>('SELECT count(*) AS n FROM users');
    return Number(rows[0]?.n ?? 0);
  }

  async updateUser(name: string, change: { passwordHash?: string; email?: string; superuser?: boolean }): Promise<void> {
    if (!(await this.getUser(name))) throw new MetadataError('NOT_FOUND', `user ${name} does not exist`);
    const statements: Array<[string, unknown[]]> = [];
    if (change.passwordHash !== undefined) statements.push(['UPDATE users SET password_hash = $2 WHERE name = $1', [name, change.passwordHash]]);
    if (change.superuser !== undefined) statements.push(['UPDATE users SET superuser = $2 WHERE name = $1', [name, change.superuser ? 1 : 0]]);
    if (change.email !== undefined) statements.push(['UPDATE namespaces SET email = $2 WHERE name = $1', [name, change.email]]);
    if (statements.length) await this.db.batch(statements);
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.#deleteNamespace(name, 'user');
  }

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    const rows = await this.db.all<NamespaceRow>('SELECT name, kind, email, created_at FROM namespaces WHERE name = $1', [name]);
    return rows[0] && toNamespace(rows[0]);
  }

  // --- organisations and teams ----------------------------------------------------------------------

  async createOrganization(o: { name: string; owner: string; email?: string; now?: Date }): Promise<NamespaceRecord> {
    const at = ms(o.now);
    if (!(await this.getUser(o.owner))) throw new MetadataError('NOT_FOUND', `user ${o.owner} does not exist`);
    try {
      await this.db.batch([
        ['INSERT INTO namespaces (name, kind, email, created_at) VALUES ($1, $2, $3, $4)', [o.name, 'organization', o.email ?? null, at]],
        ['INSERT INTO teams (org, name, role, description, created_at) VALUES ($1, $2, $3, $4, $5)', [o.name, 'owners', 'admin', 'Owners of the organization', at]],
        ['INSERT INTO team_members (org, team, username) VALUES ($1, $2, $3)', [o.name, 'owners', o.owner]],
      ]);
    } catch (err) {
      mapConstraintError(err, `namespace ${o.name}`);
    }
    return { name: o.name, kind: 'organization', email: o.email, createdAt: new Date(at) };
  }

  async listOrganizations(page: Page = {}): Promise<NamespaceRecord[]> {
    const rows = await this.db.all<NamespaceRow>(
      "SELECT name, kind, email, created_at FROM namespaces WHERE kind = 'organization' AND name > $1 ORDER BY name LIMIT $2",
      [page.last ?? '', limit(page.n)],
    );
    return rows.map(toNamespace);
  }

  async deleteOrganization(name: string): Promise<boolean> {
    return this.#deleteNamespace(name, 'organization');
  }

  /** Deletes a namespace and, through the schema's cascades and the statements here, all that hangs on it. */
  async #deleteNamespace(name: string, kind: 'user' | 'organization'): Promise<boolean> {
    const ns = await this.getNamespace(name);
    if (!ns || ns.kind !== kind) return false;
    const repos = await this.db.all<{ n: number }>('SELECT count(*) AS n FROM repository_settings WHERE namespace = $1', [name]);
    if (Number(repos[0]?.n ?? 0) > 0) {
      throw new MetadataError('CONFLICT', `${kind} ${name} still has repositories; delete them first`);
    }
    if (kind === 'user') {
      // An organisation must keep an administrator: refuse to delete its last one.
      const orphaned = await this.db.all<{ org: string }>(
        `SELECT DISTINCT m.org FROM team_members m JOIN teams t ON t.org = m.org AND t.name = m.team
          WHERE m.username = $1 AND t.role = 'admin'
            AND NOT EXISTS (SELECT 1 FROM team_members m2 JOIN teams t2 ON t2.org = m2.org AND t2.name = m2.team
                             WHERE m2.org = m.org AND t2.role = 'admin' AND m2.username <> $1)`,
        [name],
      );
      if (orphaned.length > 0) {
        throw new MetadataError('CONFLICT', `user ${name} is the last administrator of ${orphaned.map((o) => o.org).join(', ')}; add another first`);
      }
    }
    const [, , , deleted] = await this.db.batch([
      ["DELETE FROM repository_permissions WHERE subject_kind = 'robot' AND subject IN (SELECT name FROM robots WHERE namespace = $1)", [name]],
      ["DELETE FROM repository_permissions WHERE subject_kind = 'team' AND subject IN (SELECT org || '/' || name FROM teams WHERE org = $1)", [name]],
      ["DELETE FROM repository_permissions WHERE subject_kind = 'user' AND subject = $1", [name]],
      ['DELETE FROM namespaces WHERE name = $1 AND kind = $2', [name, kind]],
    ]);
    return (deleted ?? 0) > 0;
  }

  async putTeam(t: { org: string; name: string; role: TeamRole; description?: string; now?: Date }): Promise<TeamRecord> {
    const ns = await this.getNamespace(t.org);
    if (!ns || ns.kind !== 'organization') throw new MetadataError('NOT_FOUND', `organization ${t.org} does not exist`);
    const at = ms(t.now);
    await this.db.run(
      `INSERT INTO teams (org, name, role, description, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (org, name) DO UPDATE SET role = excluded.role, description = COALESCE(excluded.description, teams.description)`,
      [t.org, t.name, t.role, t.description ?? null, at],
    );
    return (await this.getTeam(t.org, t.name))!;
  }

  async getTeam(org: string, name: string): Promise<TeamRecord | undefined> {
    const rows = await this.db.all<TeamRow>('SELECT org, name, role, description, created_at FROM teams WHERE org = $1 AND name = $2', [org, name]);
    return rows[0] && toTeam(rows[0]);
  }

  async listTeams(org: string): Promise<TeamRecord[]> {
    const rows = await this.db.all<TeamRow>('SELECT org, name, role, description, created_at FROM teams WHERE org = $1 ORDER BY name', [org]);
    return rows.map(toTeam);
  }

  async deleteTeam(org: string, name: string): Promise<boolean> {
    const [, deleted] = await this.db.batch([
      ["DELETE FROM repository_permissions WHERE subject_kind = 'team' AND subject = $1", [`${org}/${name}`]],
      ['DELETE FROM teams WHERE org = $1 AND name = $2', [org, name]],
    ]);
    return (deleted ?? 0) > 0;
  }

  async addTeamMember(org: string, team: string, user: string): Promise<void> {
    if (!(await this.getTeam(org, team))) throw new MetadataError('NOT_FOUND', `team ${org}/${team} does not exist`);
    if (!(await this.getUser(user))) throw new MetadataError('NOT_FOUND', `user ${user} does not exist`);
    try {
      await this.db.run('INSERT INTO team_members (org, team, username) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [org, team, user]);
    } catch (err) {
      mapConstraintError(err, `membership of ${user} in ${org}/${team}`);
    }
  }

  async removeTeamMember(org: string, team: string, user: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM team_members WHERE org = $1 AND team = $2 AND username = $3', [org, team, user])) > 0;
  }

  async listTeamMembers(org: string, team: string): Promise<string[]> {
    const rows = await this.db.all<{ username: string }>('SELECT username FROM team_members WHERE org = $1 AND team = $2 ORDER BY username', [org, team]);
    return rows.map((r) => r.username);
  }

  async teamsOf(user: string): Promise<TeamRecord[]> {
    const rows = await this.db.all<TeamRow>(
      `SELECT t.org, t.name, t.role, t.description, t.created_at FROM team_members m
         JOIN teams t ON t.org = m.org AND t.name = m.team WHERE m.username = $1 ORDER BY t.org, t.name`,
      [user],
    );
    return rows.map(toTeam);
  }

  // --- robots ---------------------------------------------------------------------------------------

  async createRobot(r: { name: string; namespace: string; tokenHash: string; description?: string; expiresAt?: Date; now?: Date }): Promise<RobotRecord> {
    if (!(await this.getNamespace(r.namespace))) throw new MetadataError('NOT_FOUND', `namespace ${r.namespace} does not exist`);
    const at = ms(r.now);
    try {
      await this.db.run(
        'INSERT INTO robots (name, namespace, token_hash, description, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [r.name, r.namespace, r.tokenHash, r.description ?? null, r.expiresAt?.getTime() ?? null, at],
      );
    } catch (err) {
      mapConstraintError(err, `robot ${r.name}`);
    }
    return { name: r.name, namespace: r.namespace, tokenHash: r.tokenHash, description: r.description, expiresAt: r.expiresAt, createdAt: new Date(at) };
  }

  async getRobot(name: string): Promise<RobotRecord | undefined> {
    const rows = await this.db.all<RobotRow>(`${ROBOT_SELECT} WHERE name = $1`, [name]);
    return rows[0] && toRobot(rows[0]);
  }

  async listRobots(namespace: string): Promise<RobotRecord[]> {
    const rows = await this.db.all<RobotRow>(`${ROBOT_SELECT} WHERE namespace = $1 ORDER BY name`, [namespace]);
    return rows.map(toRobot);
  }

  async setRobotToken(name: string, tokenHash: string, expiresAt?: Date): Promise<void> {
    const n = await this.db.run('UPDATE robots SET token_hash = $2, expires_at = $3 WHERE name = $1', [name, tokenHash, expiresAt?.getTime() ?? null]);
    if (n === 0) throw new MetadataError('NOT_FOUND', `robot ${name} does not exist`);
  }

  async deleteRobot(name: string): Promise<boolean> {
    const [, deleted] = await this.db.batch([
      ["DELETE FROM repository_permissions WHERE subject_kind = 'robot' AND subject = $1", [name]],
      ['DELETE FROM robots WHERE name = $1', [name]],
    ]);
    return (deleted ?? 0) > 0;
  }

  // --- repositories and permissions -----------------------------------------------------------------

  async ensureRepository(r: {
    repo: string;
    namespace: string;
    visibility: Visibility;
    description?: string;
    createdBy?: string;
    now?: Date;
  }): Promise<{ settings: RepositorySettings; created: boolean }> {
    const created = await this.db.run(
      `INSERT INTO repository_settings (repo, namespace, visibility, description, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (repo) DO NOTHING`,
      [r.repo, r.namespace, r.visibility, r.description ?? '', r.createdBy ?? null, ms(r.now)],
    );
    return { settings: (await this.getRepository(r.repo))!, created: created > 0 };
  }

  async getRepository(repo: string): Promise<RepositorySettings | undefined> {
    const rows = await this.db.all<RepoRow>(`${REPO_SELECT} WHERE repo = $1`, [repo]);
    return rows[0] && toRepo(rows[0]);
  }

  async listRepositorySettings(filter: { namespace?: string } & Page = {}): Promise<RepositorySettings[]> {
    const rows =
      filter.namespace === undefined
        ? await this.db.all<RepoRow>(`${REPO_SELECT} WHERE repo > $1 ORDER BY repo LIMIT $2`, [filter.last ?? '', limit(filter.n)])
        : await this.db.all<RepoRow>(`${REPO_SELECT} WHERE namespace = $3 AND repo > $1 ORDER BY repo LIMIT $2`, [
            filter.last ?? '',
            limit(filter.n),
            filter.namespace,
          ]);
    return rows.map(toRepo);
  }

  async updateRepository(repo: string, change: { visibility?: Visibility; description?: string }): Promise<void> {
    const n = await this.db.run(
      'UPDATE repository_settings SET visibility = COALESCE($2, visibility), description = COALESCE($3, description) WHERE repo = $1',
      [repo, change.visibility ?? null, change.description ?? null],
    );
    if (n === 0) throw new MetadataError('NOT_FOUND', `repository ${repo} does not exist`);
  }

  async deleteRepository(repo: string): Promise<boolean> {
    const [, deleted] = await this.db.batch([
      ['DELETE FROM repository_permissions WHERE repo = $1', [repo]],
      ['DELETE FROM repository_settings WHERE repo = $1', [repo]],
    ]);
    return (deleted ?? 0) > 0;
  }

  async setPermission(p: PermissionRecord): Promise<void> {
    if (!(await this.getRepository(p.repo))) throw new MetadataError('NOT_FOUND', `repository ${p.repo} does not exist`);
    if (!(await this.#subjectExists(p.subjectKind, p.subject))) throw new MetadataError('NOT_FOUND', `${p.subjectKind} ${p.subject} does not exist`);
    await this.db.run(
      `INSERT INTO repository_permissions (repo, subject_kind, subject, role) VALUES ($1, $2, $3, $4)
       ON CONFLICT (repo, subject_kind, subject) DO UPDATE SET role = excluded.role`,
      [p.repo, p.subjectKind, p.subject, p.role],
    );
  }

  async #subjectExists(kind: SubjectKind, name: string): Promise<boolean> {
    if (kind === 'user') return (await this.getUser(name)) !== undefined;
    if (kind === 'robot') return (await this.getRobot(name)) !== undefined;
    const slash = name.indexOf('/');
    return slash > 0 && (await this.getTeam(name.slice(0, slash), name.slice(slash + 1))) !== undefined;
  }

  async removePermission(repo: string, subjectKind: SubjectKind, subject: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM repository_permissions WHERE repo = $1 AND subject_kind = $2 AND subject = $3', [repo, subjectKind, subject])) > 0;
  }

  async listPermissions(repo: string): Promise<PermissionRecord[]> {
    const rows = await this.db.all<PermissionRow>(
      'SELECT repo, subject_kind, subject, role FROM repository_permissions WHERE repo = $1 ORDER BY subject_kind, subject',
      [repo],
    );
    return rows.map(toPermission);
  }

  async permissionsFor(repo: string, subjects: Subject[]): Promise<PermissionRecord[]> {
    if (subjects.length === 0) return [];
    // One statement whatever the number of subjects: (kind, name) pairs as `kind:name` strings.
    const keys = subjects.map((s) => `${s.kind}:${s.name}`);
    const placeholders = keys.map((_, i) => `$${i + 2}`).join(', ');
    const rows = await this.db.all<PermissionRow>(
      `SELECT repo, subject_kind, subject, role FROM repository_permissions
        WHERE repo = $1 AND subject_kind || ':' || subject IN (${placeholders})`,
      [repo, ...keys],
    );
    return rows.map(toPermission);
  }

  // --- user tokens ----------------------------------------------------------------------------------

  async createToken(t: NewToken): Promise<TokenRecord> {
    const at = ms(t.now);
    try {
      await this.db.run(
        `INSERT INTO user_tokens (id, owner, kind, name, secret_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [t.id, t.owner, t.kind, t.name, t.secretHash, t.expiresAt?.getTime() ?? null, at],
      );
    } catch (err) {
      mapConstraintError(err, `token ${t.id} of ${t.owner}`);
    }
    const { now: _now, ...rest } = t;
    return { ...rest, createdAt: new Date(at) };
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const rows = await this.db.all<TokenRow>(`${TOKEN_SELECT} WHERE id = $1`, [id]);
    return rows[0] && toToken(rows[0]);
  }

  async listTokens(owner: string, kind?: TokenKind): Promise<TokenRecord[]> {
    const rows =
      kind === undefined
        ? await this.db.all<TokenRow>(`${TOKEN_SELECT} WHERE owner = $1 ORDER BY created_at, id`, [owner])
        : await this.db.all<TokenRow>(`${TOKEN_SELECT} WHERE owner = $1 AND kind = $2 ORDER BY created_at, id`, [owner, kind]);
    return rows.map(toToken);
  }

  async touchToken(id: string, now: Date): Promise<void> {
    await this.db.run('UPDATE user_tokens SET last_used_at = $2 WHERE id = $1', [id, now.getTime()]);
  }

  async deleteToken(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM user_tokens WHERE id = $1', [id])) > 0;
  }

  // --- token-signing keys ---------------------------------------------------------------------------

  async addSigningKey(k: { kid: string; privateKeyPem: string; now?: Date }): Promise<void> {
    await this.db.run('INSERT INTO signing_keys (kid, private_key_pem, created_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING', [
      k.kid,
      k.privateKeyPem,
      ms(k.now),
    ]);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.all<{ kid: string; private_key_pem: string; created_at: number; retired_at: number | null }>(
      'SELECT kid, private_key_pem, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid',
    );
    return rows.map((r) => ({
      kid: r.kid,
      privateKeyPem: r.private_key_pem,
      createdAt: new Date(Number(r.created_at)),
      retiredAt: r.retired_at === null ? undefined : new Date(Number(r.retired_at)),
    }));
  }

  async retireSigningKey(kid: string, at: Date): Promise<void> {
    await this.db.run('UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL', [kid, at.getTime()]);
  }

  async deleteSigningKey(kid: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM signing_keys WHERE kid = $1', [kid])) > 0;
  }

  // --- audit log ------------------------------------------------------------------------------------

  async appendAudit(events: NewAuditEvent | readonly NewAuditEvent[]): Promise<void> {
    const list = Array.isArray(events) ? (events as readonly NewAuditEvent[]) : [events as NewAuditEvent];
    if (list.length === 0) return;
    await this.db.batch(
      list.map((e) => [
        'INSERT INTO audit_log (at, action, actor, actor_kind, namespace, repo, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [ms(e.at), e.action, e.actor ?? null, e.actorKind, e.namespace ?? null, e.repo ?? null, e.ip ?? null, e.detail ? JSON.stringify(e.detail) : null],
      ] as const),
    );
  }

  async pruneAudit(before: Date, limit: number): Promise<number> {
    return this.db.run('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)', [before.getTime(), Math.max(0, Math.trunc(limit))]);
  }

  async queryAudit(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.namespace !== undefined) add('namespace = ?', q.namespace);
    if (q.repo !== undefined) add('repo = ?', q.repo);
    if (q.actor !== undefined) add('actor = ?', q.actor);
    if (q.action !== undefined) add('action = ?', q.action);
    if (q.since !== undefined) add('at >= ?', q.since.getTime());
    if (q.until !== undefined) add('at < ?', q.until.getTime());
    if (q.before !== undefined) add('id < ?', q.before);
    params.push(Math.min(Math.max(1, Math.trunc(q.limit ?? 100)), 1000));
    const rows = await this.db.all<AuditRow>(
      `SELECT id, at, action, actor, actor_kind, namespace, repo, ip, detail FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(Number(r.at)),
      action: r.action,
      actor: r.actor ?? undefined,
      actorKind: r.actor_kind as AuditEvent['actorKind'],
      namespace: r.namespace ?? undefined,
      repo: r.repo ?? undefined,
      ip: r.ip ?? undefined,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
    }));
  }
}

// --- rows ---------------------------------------------------------------------------------------------

const USER_SELECT = 'SELECT u.name, u.password_hash, u.superuser, n.email, n.created_at FROM users u JOIN namespaces n ON n.name = u.name';
const ROBOT_SELECT = 'SELECT name, namespace, token_hash, description, expires_at, created_at FROM robots';
const REPO_SELECT = 'SELECT repo, namespace, visibility, description, created_by, created_at FROM repository_settings';
const TOKEN_SELECT = 'SELECT id, owner, kind, name, secret_hash, expires_at, created_at, last_used_at FROM user_tokens';

interface UserRow {
  name: string;
  password_hash: string;
  superuser: number;
  email: string | null;
  created_at: number;
}
interface NamespaceRow {
  name: string;
  kind: string;
  email: string | null;
  created_at: number;
}
interface TeamRow {
  org: string;
  name: string;
  role: string;
  description: string | null;
  created_at: number;
}
interface RobotRow {
  name: string;
  namespace: string;
  token_hash: string;
  description: string | null;
  expires_at: number | null;
  created_at: number;
}
interface RepoRow {
  repo: string;
  namespace: string;
  visibility: string;
  description: string;
  created_by: string | null;
  created_at: number;
}
interface PermissionRow {
  repo: string;
  subject_kind: string;
  subject: string;
  role: string;
}
interface TokenRow {
  id: string;
  owner: string;
  kind: string;
  name: string;
  secret_hash: string;
  expires_at: number | null;
  created_at: number;
  last_used_at: number | null;
}
interface AuditRow {
  id: number;
  at: number;
  action: string;
  actor: string | null;
  actor_kind: string;
  namespace: string | null;
  repo: string | null;
  ip: string | null;
  detail: string | null;
}


function toUser(r: UserRow): UserRecord {
  return { name: r.name, passwordHash: r.password_hash, superuser: Number(r.superuser) === 1, email: r.email ?? undefined, createdAt: new Date(Number(r.created_at)) };
}
function toNamespace(r: NamespaceRow): NamespaceRecord {
  return { name: r.name, kind: r.kind as NamespaceRecord['kind'], email: r.email ?? undefined, createdAt: new Date(Number(r.created_at)) };
}
function toTeam(r: TeamRow): TeamRecord {
  return { org: r.org, name: r.name, role: r.role as TeamRole, description: r.description ?? undefined, createdAt: new Date(Number(r.created_at)) };
}
function toRobot(r: RobotRow): RobotRecord {
  return {
    name: r.name,
    namespace: r.namespace,
    tokenHash: r.token_hash,
    description: r.description ?? undefined,
    expiresAt: date(r.expires_at),
    createdAt: new Date(Number(r.created_at)),
  };
}
function toRepo(r: RepoRow): RepositorySettings {
  return {
    repo: r.repo,
    namespace: r.namespace,
    visibility: r.visibility as Visibility,
    description: r.description,
    createdBy: r.created_by ?? undefined,
    createdAt: new Date(Number(r.created_at)),
  };
}
function toPermission(r: PermissionRow): PermissionRecord {
  return { repo: r.repo, subjectKind: r.subject_kind as SubjectKind, subject: r.subject, role: r.role as PermissionRecord['role'] };
}
function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    owner: r.owner,
    kind: r.kind as TokenKind,
    name: r.name,
    secretHash: r.secret_hash,
    expiresAt: date(r.expires_at),
    createdAt: new Date(Number(r.created_at)),
    lastUsedAt: date(r.last_used_at),
  };
}
