import type { Page } from './store.js';

/**
 * Accounts and access control data: namespaces (users and organisations), teams, robot accounts, repository
 * settings and permissions, user tokens, the registry's token-signing keys, and the audit log.
 *
 * The store holds only data. Deciding what a caller may do is `auth/`'s job; hashing and comparing secrets,
 * too (the store keeps hashes, never a secret). Names reach the store already validated.
 *
 * Errors: creating something whose name is taken throws `MetadataError('CONFLICT')`; referring to a user, team,
 * robot or namespace that does not exist throws `MetadataError('NOT_FOUND')`. Nothing is written when either is
 * thrown. Every implementation must pass `describeAccountStore` in `accounts-conformance.ts`.
 */
export interface AccountStore {
  // --- users and namespaces -------------------------------------------------------------------------
  /** Users and organisations share one namespace of names. */
  createUser(u: NewUser): Promise<UserRecord>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(page?: Page): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Changes the given fields. NOT_FOUND when there is no such user. */
  updateUser(name: string, change: { passwordHash?: string; email?: string; superuser?: boolean }): Promise<void>;
  /**
   * Deletes the user with its team memberships, permissions, tokens and robots. Refuses (CONFLICT) while
   * repositories exist in the user's namespace, or when the user is the last administrator of an organisation.
   * Returns false when there was no such user.
   */
  deleteUser(name: string): Promise<boolean>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;

  // --- organisations and teams ----------------------------------------------------------------------
  /** Creates the organisation and its `owners` team (role admin) with `owner` as its only member. */
  createOrganization(o: { name: string; owner: string; email?: string; now?: Date }): Promise<NamespaceRecord>;
  listOrganizations(page?: Page): Promise<NamespaceRecord[]>;
  /** Deletes it with its teams, robots and permissions; CONFLICT while repositories exist in it. */
  deleteOrganization(name: string): Promise<boolean>;
  /** Creates the team or changes its role and description. */
  putTeam(t: { org: string; name: string; role: TeamRole; description?: string; now?: Date }): Promise<TeamRecord>;
  getTeam(org: string, name: string): Promise<TeamRecord | undefined>;
  listTeams(org: string): Promise<TeamRecord[]>;
  deleteTeam(org: string, name: string): Promise<boolean>;
  /** Idempotent. NOT_FOUND for a missing team or user. */
  addTeamMember(org: string, team: string, user: string): Promise<void>;
  removeTeamMember(org: string, team: string, user: string): Promise<boolean>;
  listTeamMembers(org: string, team: string): Promise<string[]>;
  /** Every team the user belongs to, in every organisation. */
  teamsOf(user: string): Promise<TeamRecord[]>;

  // --- robots ---------------------------------------------------------------------------------------
  /** `name` is `namespace+short`. NOT_FOUND for a missing namespace, CONFLICT for a taken name. */
  createRobot(r: { name: string; namespace: string; tokenHash: string; description?: string; expiresAt?: Date; now?: Date }): Promise<RobotRecord>;
  getRobot(name: string): Promise<RobotRecord | undefined>;
  listRobots(namespace: string): Promise<RobotRecord[]>;
  /** Replaces the token (regeneration). NOT_FOUND when there is no such robot. */
  setRobotToken(name: string, tokenHash: string, expiresAt?: Date): Promise<void>;
  /** Deletes the robot and its permissions. */
  deleteRobot(name: string): Promise<boolean>;

  // --- repositories and permissions -----------------------------------------------------------------
  /**
   * Creates the settings of a repository, or returns the existing ones unchanged (a push that creates a
   * repository races with others; exactly one creation wins and everybody sees it). `created` says which.
   */
  ensureRepository(r: { repo: string; namespace: string; visibility: Visibility; description?: string; createdBy?: string; now?: Date }): Promise<{ settings: RepositorySettings; created: boolean }>;
  getRepository(repo: string): Promise<RepositorySettings | undefined>;
  /** By name, after `last`, at most `n`; only those of `namespace` when given. */
  listRepositorySettings(filter?: { namespace?: string } & Page): Promise<RepositorySettings[]>;
  /** NOT_FOUND when the repository has no settings. */
  updateRepository(repo: string, change: { visibility?: Visibility; description?: string }): Promise<void>;
  /** Removes settings and permissions. Returns false when there were none. */
  deleteRepository(repo: string): Promise<boolean>;
  /** Grants or changes a role. NOT_FOUND for a missing repository or subject. */
  setPermission(p: PermissionRecord): Promise<void>;
  removePermission(repo: string, subjectKind: SubjectKind, subject: string): Promise<boolean>;
  listPermissions(repo: string): Promise<PermissionRecord[]>;
  /** The permissions on `repo` held by any of `subjects` (a user and their teams, or a robot). */
  permissionsFor(repo: string, subjects: Subject[]): Promise<PermissionRecord[]>;

  // --- user tokens (app tokens, refresh tokens) ---------------------------------------------------
  createToken(t: NewToken): Promise<TokenRecord>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(owner: string, kind?: TokenKind): Promise<TokenRecord[]>;
  touchToken(id: string, now: Date): Promise<void>;
  /** Revokes. Returns false when it did not exist. */
  deleteToken(id: string): Promise<boolean>;

  // --- token-signing keys -----------------------------------------------------------------------------
  /** Idempotent for the same `kid`. */
  addSigningKey(k: { kid: string; privateKeyPem: string; now?: Date }): Promise<void>;
  /** Newest first, retired keys included (they still verify tokens issued before the rotation). */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  retireSigningKey(kid: string, at: Date): Promise<void>;
  deleteSigningKey(kid: string): Promise<boolean>;

  // --- audit log ------------------------------------------------------------------------------------
  /** Appends events in one transaction (all or none). */
  appendAudit(events: NewAuditEvent | readonly NewAuditEvent[]): Promise<void>;
  /** Newest first; `before` is an event id for paging. */
  queryAudit(q: AuditQuery): Promise<AuditEvent[]>;
  /** Deletes up to `limit` of the oldest events from before `before` (one short transaction); returns how many. */
  pruneAudit(before: Date, limit: number): Promise<number>;
}

export type NamespaceKind = 'user' | 'organization';
export type TeamRole = 'admin' | 'creator' | 'member';
export type RepoRole = 'read' | 'write' | 'admin';
export type Visibility = 'public' | 'private';
export type SubjectKind = 'user' | 'team' | 'robot';
export type TokenKind = 'app' | 'refresh';

export const TEAM_ROLES: readonly TeamRole[] = ['admin', 'creator', 'member'];
export const REPO_ROLES: readonly RepoRole[] = ['read', 'write', 'admin'];
export const VISIBILITIES: readonly Visibility[] = ['public', 'private'];
export const SUBJECT_KINDS: readonly SubjectKind[] = ['user', 'team', 'robot'];

export interface NewUser {
  name: string;
  passwordHash: string;
  email?: string;
  superuser?: boolean;
  now?: Date;
}

export interface UserRecord {
  name: string;
  passwordHash: string;
  email?: string;
  superuser: boolean;
  createdAt: Date;
}

export interface NamespaceRecord {
  name: string;
  kind: NamespaceKind;
  email?: string;
  createdAt: Date;
}

export interface TeamRecord {
  org: string;
  name: string;
  role: TeamRole;
  description?: string;
  createdAt: Date;
}

export interface RobotRecord {
  /** `namespace+short`. */
  name: string;
  namespace: string;
  tokenHash: string;
  description?: string;
  expiresAt?: Date;
  createdAt: Date;
}

export interface RepositorySettings {
  repo: string;
  namespace: string;
  visibility: Visibility;
  description: string;
  createdBy?: string;
  createdAt: Date;
}

/** Who a permission is given to. A team is named `org/team`. */
export interface Subject {
  kind: SubjectKind;
  name: string;
}

export interface PermissionRecord {
  repo: string;
  subjectKind: SubjectKind;
  /** A user name, `org/team`, or a robot's `namespace+short`. */
  subject: string;
  role: RepoRole;
}

export interface NewToken {
  id: string;
  owner: string;
  kind: TokenKind;
  name: string;
  secretHash: string;
  expiresAt?: Date;
  now?: Date;
}

export interface TokenRecord extends Omit<NewToken, 'now'> {
  createdAt: Date;
  lastUsedAt?: Date;
}

export interface SigningKeyRecord {
  kid: string;
  privateKeyPem: string;
  createdAt: Date;
  retiredAt?: Date;
}

export type ActorKind = 'user' | 'robot' | 'anonymous' | 'system';

export interface NewAuditEvent {
  at?: Date;
  action: string;
  actor?: string;
  actorKind: ActorKind;
  namespace?: string;
  repo?: string;
  ip?: string;
  /** Never a secret. */
  detail?: Record<string, unknown>;
}

export interface AuditEvent extends Omit<NewAuditEvent, 'at'> {
  id: number;
  at: Date;
}

export interface AuditQuery {
  namespace?: string;
  repo?: string;
  actor?: string;
  action?: string;
  since?: Date;
  until?: Date;
  before?: number;
  limit?: number;
}
