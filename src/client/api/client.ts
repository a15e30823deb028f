/**
 * A typed client for Berth's management API (`/api/v1/`, docs/api.md). It talks to the registry the way every
 * other registry request does (`RegistrySession`): HTTPS, or plain HTTP for an insecure registry; the
 * credentials `berth login` stored in auth.json (or `--creds`, `--registry-token`); Basic credentials, or a
 * registry token fetched for an empty scope when the registry answers `/v2/` with a Bearer challenge (the API
 * accepts both). Errors are `RegistryError`s whose `registryCode` is the API's error code (`NOT_FOUND`,
 * `CONFLICT`, ...) and whose `code` is `UNAUTHORIZED` for 401 and `DENIED` for 403.
 *
 * @example
 * const api = openApiClient('registry.example.com');
 * try {
 *   const robot = await api.createRobot('team', 'ci');
 *   console.log(robot.name, robot.token);
 * } finally {
 *   api.close();
 * }
 */
import { getCredentials } from '../config/auth-file.js';
import { ClientError } from '../errors.js';
import { readErrorBody, RegistryError } from '../transports/registry/errors.js';
import { RegistrySession, type RegistryOptions } from '../transports/registry/session.js';
import type { AuditEvent, AuditFilter, CurrentUser, Organization, Permission, RepoRole, Repository, Robot, SubjectKind, TagPage, Team, TeamRole, Token, User, Visibility } from './types.js';

export type ApiClientOptions = Pick<RegistryOptions, 'authFile' | 'env' | 'credentials' | 'registryToken' | 'noCreds' | 'tlsVerify' | 'certDir' | 'retry' | 'registriesConf'>;

const MAX_RESPONSE = 32 * 1024 * 1024;

export function openApiClient(registry: string, opts: ApiClientOptions = {}): ApiClient {
  return new ApiClient(registry, opts);
}

export class ApiClient {
  private readonly session: RegistrySession;

  constructor(
    readonly registry: string,
    private readonly opts: ApiClientOptions = {},
  ) {
    if (!registry || /[/\s]/.test(registry.replace(/^https?:\/\//, '').replace(/\/+$/, ''))) {
      throw new ClientError('REFERENCE_INVALID', `${JSON.stringify(registry)} is not a registry host (HOST or HOST:PORT)`);
    }
    this.registry = registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    this.session = new RegistrySession({ ...opts, userAgent: 'berth/0.1 (api)' });
  }

  /** One API call; resolves with the parsed JSON body (undefined for 204). */
  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: { body?: object; query?: Record<string, string | number | undefined> } = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
    const full = `/api/v1${path}${q.size ? `?${q.toString()}` : ''}`;
    const client = await this.session.client(this.registry, '');
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = 'application/json';
    }
    // A registry token for the API must be asked for by name: Berth refuses tokens scoped to repositories there.
    const res = await client.request({ method, path: full, scopes: ['registry:api:*'], headers, ...(body ? { body } : {}) });
    const what = `${this.registry}: ${method} ${full.split('?', 1)[0]}`;
    if (res.status >= 200 && res.status < 300) {
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > MAX_RESPONSE) {
          res.body.destroy();
          throw new ClientError('REGISTRY_ERROR', `${what}: response larger than ${MAX_RESPONSE} bytes`);
        }
        chunks.push(c);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      if (res.status === 204 || text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw new ClientError('REGISTRY_ERROR', `${what}: the answer is not JSON (is this a Berth registry?)`, undefined, { cause });
      }
    }
    throw apiErrorOf(res.status, await readErrorBody(res.body), what);
  }

  close(): void {
    this.session.close();
  }

  /**
   * The password this client logs in with (`credentials`, else auth.json), for a password change. Undefined
   * when there is none: auth.json may hold a refresh token (`identitytoken`) instead.
   */
  async storedPassword(): Promise<string | undefined> {
    if (this.opts.credentials) return this.opts.credentials.password || undefined;
    const c = await getCredentials(this.registry, { ...(this.opts.authFile ? { authFile: this.opts.authFile } : {}), ...(this.opts.env ? { env: this.opts.env } : {}) });
    return c?.password || undefined;
  }

  // --- users -------------------------------------------------------------------------------------------
  currentUser(): Promise<CurrentUser> {
    return this.call('GET', '/user');
  }
  changeOwnPassword(currentPassword: string, password: string): Promise<void> {
    return this.call('PUT', '/user/password', { body: { currentPassword, password } });
  }
  async listUsers(): Promise<User[]> {
    return this.listAll<User>('/users', 'users');
  }
  createUser(u: { name: string; password: string; email?: string; superuser?: boolean }): Promise<User> {
    return this.call('POST', '/users', { body: u });
  }
  getUser(name: string): Promise<User> {
    return this.call('GET', `/users/${seg(name)}`);
  }
  deleteUser(name: string): Promise<void> {
    return this.call('DELETE', `/users/${seg(name)}`);
  }
  setUserPassword(name: string, password: string): Promise<void> {
    return this.call('PUT', `/users/${seg(name)}/password`, { body: { password } });
  }

  // --- organisations and teams ---------------------------------------------------------------------------
  async listOrganizations(): Promise<Organization[]> {
    return (await this.call<{ organizations: Organization[] }>('GET', '/organizations')).organizations;
  }
  createOrganization(name: string, email?: string): Promise<Organization> {
    return this.call('POST', '/organizations', { body: { name, ...(email ? { email } : {}) } });
  }
  getOrganization(name: string): Promise<Organization> {
    return this.call('GET', `/organizations/${seg(name)}`);
  }
  deleteOrganization(name: string): Promise<void> {
    return this.call('DELETE', `/organizations/${seg(name)}`);
  }
  async listTeams(org: string): Promise<Team[]> {
    return (await this.call<{ teams: Team[] }>('GET', `/organizations/${seg(org)}/teams`)).teams;
  }
  getTeam(org: string, team: string): Promise<Team> {
    return this.call('GET', `/organizations/${seg(org)}/teams/${seg(team)}`);
  }
  putTeam(org: string, team: string, role: TeamRole, description?: string): Promise<Team> {
    return this.call('PUT', `/organizations/${seg(org)}/teams/${seg(team)}`, { body: { role, ...(description !== undefined ? { description } : {}) } });
  }
  deleteTeam(org: string, team: string): Promise<void> {
    return this.call('DELETE', `/organizations/${seg(org)}/teams/${seg(team)}`);
  }
  async listTeamMembers(org: string, team: string): Promise<string[]> {
    return (await this.call<{ members: string[] }>('GET', `/organizations/${seg(org)}/teams/${seg(team)}/members`)).members;
  }
  addTeamMember(org: string, team: string, user: string): Promise<void> {
    return this.call('PUT', `/organizations/${seg(org)}/teams/${seg(team)}/members/${seg(user)}`);
  }
  removeTeamMember(org: string, team: string, user: string): Promise<void> {
    return this.call('DELETE', `/organizations/${seg(org)}/teams/${seg(team)}/members/${seg(user)}`);
  }

  // --- robots ------------------------------------------------------------------------------------------
  async listRobots(namespace: string): Promise<Robot[]> {
    return (await this.call<{ robots: Robot[] }>('GET', `/namespaces/${seg(namespace)}/robots`)).robots;
  }
  createRobot(namespace: string, name: string, opts: { description?: string; expiresAt?: string } = {}): Promise<Robot & { token: string }> {
    return this.call('POST', `/namespaces/${seg(namespace)}/robots`, { body: { name, ...opts } });
  }
  getRobot(namespace: string, name: string): Promise<Robot> {
    return this.call('GET', `/namespaces/${seg(namespace)}/robots/${seg(name)}`);
  }
  deleteRobot(namespace: string, name: string): Promise<void> {
    return this.call('DELETE', `/namespaces/${seg(namespace)}/robots/${seg(name)}`);
  }
  regenerateRobotToken(namespace: string, name: string, expiresAt?: string): Promise<Robot & { token: string }> {
    return this.call('POST', `/namespaces/${seg(namespace)}/robots/${seg(name)}/token`, { body: expiresAt ? { expiresAt } : {} });
  }

  // --- repositories ------------------------------------------------------------------------------------
  async listRepositories(namespace?: string): Promise<Repository[]> {
    return this.listAll<Repository>('/repositories', 'repositories', { namespace });
  }
  createRepository(name: string, opts: { visibility?: Visibility; description?: string } = {}): Promise<Repository> {
    return this.call('POST', '/repositories', { body: { name, ...opts } });
  }
  getRepository(name: string): Promise<Repository> {
    return this.call('GET', `/repositories/${repoPath(name)}`);
  }
  updateRepository(name: string, change: { visibility?: Visibility; description?: string }): Promise<Repository> {
    return this.call('PATCH', `/repositories/${repoPath(name)}`, { body: change });
  }
  deleteRepository(name: string): Promise<void> {
    return this.call('DELETE', `/repositories/${repoPath(name)}`);
  }
  listTags(name: string, opts: { sort?: 'name' | 'pushed'; order?: 'asc' | 'desc'; n?: number; offset?: number } = {}): Promise<TagPage> {
    return this.call('GET', `/repositories/${repoPath(name)}/tags`, { query: opts });
  }
  async listPermissions(name: string): Promise<Permission[]> {
    return (await this.call<{ permissions: Permission[] }>('GET', `/repositories/${repoPath(name)}/permissions`)).permissions;
  }
  setPermission(name: string, kind: SubjectKind, subject: string, role: RepoRole): Promise<Permission> {
    return this.call('PUT', `/repositories/${repoPath(name)}/permissions/${seg(kind)}/${seg(subject)}`, { body: { role } });
  }
  removePermission(name: string, kind: SubjectKind, subject: string): Promise<void> {
    return this.call('DELETE', `/repositories/${repoPath(name)}/permissions/${seg(kind)}/${seg(subject)}`);
  }

  // --- tokens and audit --------------------------------------------------------------------------------
  async listTokens(kind?: 'app' | 'refresh'): Promise<Token[]> {
    return (await this.call<{ tokens: Token[] }>('GET', '/user/tokens', { query: { kind } })).tokens;
  }
  createToken(name: string, expiresAt?: string): Promise<Token & { token: string }> {
    return this.call('POST', '/user/tokens', { body: { name, ...(expiresAt ? { expiresAt } : {}) } });
  }
  revokeToken(id: string): Promise<void> {
    return this.call('DELETE', `/user/tokens/${seg(id)}`);
  }
  queryAudit(filter: AuditFilter = {}): Promise<{ events: AuditEvent[]; next?: number }> {
    return this.call('GET', '/audit', { query: { ...filter } });
  }

  /** Every page of a `n`/`last` list. */
  async listAll<T>(path: string, key: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
    const out: T[] = [];
    let last: string | undefined;
    for (;;) {
      const page = await this.call<Record<string, unknown> & { next?: string }>('GET', path, { query: { ...query, n: 1000, last } });
      out.push(...((page[key] as T[] | undefined) ?? []));
      if (!page.next) return out;
      last = page.next;
    }
  }
}

/** One path segment, encoded (a robot's `+` included: it must not turn into a space). */
function seg(s: string): string {
  return encodeURIComponent(s);
}

/** A repository name keeps its slashes: the API matches `{repo}` across segments. */
/** A repository name as a URL path: each component percent-encoded, the slashes kept. */
export function repoPath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** The API's `{"error": {"code", "message"}}` as a RegistryError: `registryCode` is the API's code. */
function apiErrorOf(status: number, text: string, what: string): RegistryError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    // The API's shape; the registry's (`{"errors": [...]}`) when a proxy or the server's middleware answered.
    const j = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; errors?: { code?: unknown; message?: unknown }[] };
    const e = j.error ?? j.errors?.[0];
    if (typeof e?.code === 'string') code = e.code;
    if (typeof e?.message === 'string') message = e.message;
  } catch {
    // Not the API's error body (a proxy's page, or not a Berth registry): the status tells what it can.
  }
  const said = code ? `${code}: ${message ?? ''}` : status === 404 ? 'not found (is this a Berth registry with the management API?)' : text.trim().slice(0, 200) || 'no error body';
  const clientCode = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'REGISTRY_ERROR';
  return new RegistryError(clientCode, `${what}: ${status} ${said}`, code, status, code ? [{ code, ...(message ? { message } : {}) }] : []);
}
