import { createHash, randomBytes } from 'node:crypto';
import type { AccountStore, NewAuditEvent, TokenKind, TokenRecord } from '../metadata/accounts.js';
import type { MetadataStore } from '../metadata/store.js';
import { AccessControl, ANONYMOUS, REPO_ACTIONS, namespaceOf, principalName, type Principal, type RepoAction } from './access.js';
import { AuthError } from './errors.js';
import { hashPassword, hashSecret, newSecret, secretMatches, verifyPassword } from './secrets.js';
import { repositoryOfScopeName, type ResourceScope } from './scope.js';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleSettings } from './throttle.js';
import { TokenKeys, type AccessEntry, type RegistryClaims } from './tokens.js';

export interface AuthConfig {
  /** The token audience (`service=` of the challenge). */
  service: string;
  issuer: string;
  /** Lifetime of registry tokens, at least 60 s (clients treat less as 60). */
  tokenTtlSeconds: number;
  /** Lifetime of refresh tokens (`offline_token=true`, OAuth `access_type=offline`); 0 means no expiry. */
  refreshTokenTtlSeconds: number;
  throttle?: ThrottleSettings;
}

export interface AuthLog {
  warn(obj: object, msg: string): void;
}

/** What a request or token is allowed: the principal and, for registry tokens, the granted access. */
export interface Authenticated {
  principal: Principal;
  /** Present when the caller came with a registry token: the token's grants are all it may do. */
  tokenAccess?: AccessEntry[];
}

const AUDIT_FLUSH_MS = 100;
const AUDIT_BATCH = 500;
const APP_PREFIX = 'berth_app_';
const REFRESH_PREFIX = 'berth_rt_';
const ID_LENGTH = 16;

/**
 * Authentication and authorisation for the registry and its API: credentials (user passwords, robot tokens,
 * app tokens, refresh tokens), registry tokens (`TokenKeys`), access decisions (`AccessControl`), failed-login
 * throttling, first-start bootstrap and the audit log. Secrets are only ever compared in constant time and
 * never logged or audited.
 */
export class AuthService {
  readonly access: AccessControl;
  readonly keys: TokenKeys;
  /** Failed logins per account, and per client address (which gets ten times the free attempts: many users may share one NAT). */
  readonly throttle: LoginThrottle;
  readonly addressThrottle: LoginThrottle;
  /** Recently verified Basic credentials (hash of user and password → principal), so that not every request pays for scrypt. */
  readonly #basicCache = new Map<string, { principal: Principal; until: number }>();
  /** Verified registry tokens until they expire, so a request pays one map lookup, not an ECDSA verify. */
  readonly #tokenCache = new Map<string, { verified: Authenticated; exp: number }>();
  /** Repositories known to have settings, so pushes don't look them up on every request. */
  readonly #knownRepos = new Set<string>();

  private constructor(
    readonly accounts: AccountStore,
    hasContent: (repo: string) => Promise<boolean>,
    readonly config: AuthConfig,
    private readonly log?: AuthLog,
  ) {
    this.access = new AccessControl(accounts, hasContent);
    this.keys = new TokenKeys(accounts, { issuer: config.issuer, service: config.service, ttlSeconds: Math.max(60, config.tokenTtlSeconds) });
    const t = config.throttle ?? DEFAULT_THROTTLE;
    this.throttle = new LoginThrottle(t);
    this.addressThrottle = new LoginThrottle({ ...t, freeAttempts: t.freeAttempts * 10 });
  }

  /** `store`: the metadata store whose accounts this serves (and whose content decides what exists). */
  static async open(store: Pick<MetadataStore, 'accounts' | 'repositoryExists'>, config: AuthConfig, log?: AuthLog): Promise<AuthService> {
    const s = new AuthService(store.accounts, (repo) => store.repositoryExists(repo), config, log);
    await s.keys.init();
    return s;
  }

  /**
   * On a registry without users, creates the superuser `admin` with `password`, or with a generated one that
   * the caller must show once. Does nothing when any user exists.
   */
  async bootstrapAdmin(password?: string): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.accounts.countUsers()) > 0) return { created: false };
    const generated = password ? undefined : newSecret(18);
    try {
      await this.accounts.createUser({ name: 'admin', passwordHash: await hashPassword(password ?? generated!), superuser: true });
    } catch (err) {
      // Another node bootstrapped at the same moment.
      if ((await this.accounts.getUser('admin')) !== undefined) return { created: false };
      throw err;
    }
    this.audit({ action: 'user_create', actor: 'admin', actorKind: 'system', detail: { superuser: true } });
    return { created: true, generatedPassword: generated };
  }

  // --- credentials ------------------------------------------------------------------------------------

  /**
   * Checks a username and secret as any client sends them with Basic auth or the OAuth password grant:
   * `namespace+robot` with the robot's token; `$app` or `$oauthtoken` with an app token; a user with their
   * password or one of their app tokens. Failures are throttled per account and per address.
   */
  async login(username: string, secret: string, ip?: string): Promise<Principal> {
    const cacheKey = createHash('sha256').update(username).update('\0').update(secret).digest('base64');
    const cached = this.#basicCache.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.principal;
    // Many connections of one client arrive with the same credentials at once: check them once.
    const inFlight = this.#loginsInFlight.get(cacheKey);
    if (inFlight) return inFlight;
    const attempt = this.#login(username, secret, ip, cacheKey).finally(() => this.#loginsInFlight.delete(cacheKey));
    this.#loginsInFlight.set(cacheKey, attempt);
    return attempt;
  }

  readonly #loginsInFlight = new Map<string, Promise<Principal>>();

  async #login(username: string, secret: string, ip: string | undefined, cacheKey: string): Promise<Principal> {
    const principal = await this.#throttled(username, ip, () => this.#check(username, secret), {
      message: 'invalid username or password',
      actorKind: username.includes('+') ? 'robot' : 'user',
    });
    if (this.#basicCache.size > 10_000) this.#basicCache.clear();
    this.#basicCache.set(cacheKey, { principal, until: Date.now() + 10_000 });
    return principal;
  }

  /**
   * Checks a user's password itself (never an app token), with the same throttling and audit as a login: for
   * operations that must prove the password, such as changing it. Throws `THROTTLED` or `INVALID_CREDENTIALS`.
   */
  async checkPassword(username: string, password: string, ip?: string, reason = 'wrong password'): Promise<void> {
    await this.#throttled(
      username,
      ip,
      async () => {
        const user = await this.accounts.getUser(username);
        return user && (await verifyPassword(password, user.passwordHash)) ? true : undefined;
      },
      { message: 'the password is wrong', actorKind: 'user', detail: { reason } },
    );
  }

  /**
   * `check` under the failed-login throttles: refused (`THROTTLED`) while the account or the address is locked;
   * a miss counts against both, is audited as `login_failure` and throws `INVALID_CREDENTIALS`; a hit clears
   * the account's count.
   */
  async #throttled<T>(username: string, ip: string | undefined, check: () => Promise<T | undefined>, miss: { message: string; actorKind: 'user' | 'robot'; detail?: Record<string, unknown> }): Promise<T> {
    const account = [username];
    const address = ip ? [ip] : [];
    const wait = Math.max(this.throttle.retryAfter(account), this.addressThrottle.retryAfter(address));
    if (wait > 0) throw new AuthError('THROTTLED', 'too many failed logins; try again later', Math.ceil(wait / 1000));
    const found = await check();
    if (found === undefined) {
      this.throttle.failure(account);
      this.addressThrottle.failure(address);
      this.audit({ action: 'login_failure', actor: username, actorKind: miss.actorKind, ip, ...(miss.detail ? { detail: miss.detail } : {}) });
      throw new AuthError('INVALID_CREDENTIALS', miss.message);
    }
    this.throttle.success(account);
    return found;
  }

  /** Forgets cached credential checks, after a password, token or robot change. */
  forgetCredentials(): void {
    this.#basicCache.clear();
  }

  async #check(username: string, secret: string): Promise<Principal | undefined> {
    if (username.includes('+')) {
      const robot = await this.accounts.getRobot(username);
      if (!robot || !secretMatches(secret, robot.tokenHash)) return undefined;
      if (robot.expiresAt && robot.expiresAt.getTime() <= Date.now()) return undefined;
      return { kind: 'robot', name: robot.name, namespace: robot.namespace };
    }
    if (secret.startsWith(APP_PREFIX)) {
      const owner = await this.#redeem(secret, APP_PREFIX, 'app');
      if (!owner || (username !== '$app' && username !== '$oauthtoken' && username !== owner)) return undefined;
      return this.userPrincipal(owner);
    }
    const user = await this.accounts.getUser(username);
    // Hash anyway for an unknown user, so response time does not tell which user names exist.
    const ok = await verifyPassword(secret, user?.passwordHash ?? (await dummy()));
    return user && ok ? { kind: 'user', name: user.name, superuser: user.superuser } : undefined;
  }

  async userPrincipal(name: string): Promise<Principal | undefined> {
    const u = await this.accounts.getUser(name);
    return u && { kind: 'user', name: u.name, superuser: u.superuser };
  }

  // --- registry tokens ----------------------------------------------------------------------------------

  /**
   * The intersection of what was asked and what is allowed, per scope; a partial or empty grant is not an
   * error. `registry:catalog:*` is granted to everyone: the catalog lists only what the caller can read.
   */
  async grant(p: Principal, scopes: readonly ResourceScope[]): Promise<AccessEntry[]> {
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      if (s.type === 'registry' && s.name === 'catalog') {
        out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        continue;
      }
      if (s.type === 'registry' && s.name === 'api') {
        // The management API acts as the user; robots pull and push, they do not manage.
        out.push({ type: 'registry', name: 'api', actions: p.kind === 'user' ? ['*'] : [] });
        continue;
      }
      if (s.type !== 'repository') continue;
      const allowed = await this.access.actionsOn(p, repositoryOfScopeName(s.name));
      const wanted = s.actions.includes('*') ? REPO_ACTIONS : s.actions.filter((a): a is RepoAction => (REPO_ACTIONS as readonly string[]).includes(a));
      out.push({ type: 'repository', name: s.name, actions: wanted.filter((a) => allowed.has(a)) });
    }
    return out;
  }

  async issueToken(p: Principal, scopes: readonly ResourceScope[]): Promise<{ token: string; expiresIn: number; issuedAt: Date; access: AccessEntry[] }> {
    const access = await this.grant(p, scopes);
    const signed = await this.keys.sign({ sub: p.kind === 'anonymous' ? '' : p.name, kind: p.kind === 'anonymous' ? undefined : p.kind, access });
    return { ...signed, access };
  }

  /** Verifies a registry token and returns who it was issued to and what it grants. */
  async verifyToken(token: string): Promise<Authenticated> {
    const cached = this.#tokenCache.get(token);
    if (cached && cached.exp > Date.now()) return cached.verified;
    const claims: RegistryClaims = await this.keys.verify(token);
    const name = claims.sub ?? '';
    let principal: Principal = ANONYMOUS;
    if (name && claims.kind === 'robot') principal = { kind: 'robot', name, namespace: name.slice(0, name.indexOf('+')) };
    else if (name) principal = { kind: 'user', name, superuser: false };
    const verified = { principal, tokenAccess: claims.access };
    if (this.#tokenCache.size > 10_000) this.#tokenCache.clear();
    this.#tokenCache.set(token, { verified, exp: (claims.exp ?? 0) * 1000 });
    return verified;
  }

  /** Creates the settings of a repository a push is about to create (see `AccessControl.ensureRepositoryForPush`). */
  async ensureRepositoryForPush(p: Principal, repo: string): Promise<void> {
    if (this.#knownRepos.has(repo)) return;
    const { created } = await this.access.ensureRepositoryForPush(p, repo);
    if (created) {
      this.audit({ action: 'repo_create', actor: principalName(p), actorKind: p.kind, namespace: namespaceOf(repo), repo, detail: { visibility: 'private', by: 'push' } });
    }
    if (this.#knownRepos.size > 100_000) this.#knownRepos.clear();
    this.#knownRepos.add(repo);
  }

  /** Forgets that a repository has settings (after the API deleted them). */
  forgetRepository(repo: string): void {
    this.#knownRepos.delete(repo);
  }

  /**
   * What a `Bearer` credential on the management API stands for: an app token (`berth_app_…`), or a registry
   * token that was granted `registry:api:*` (a token asked for a repository's pull is no key to the API). For a
   * user, the superuser flag is read from the store, so a deleted user's token stops working at once.
   */
  async bearer(token: string): Promise<Principal> {
    if (token.startsWith(APP_PREFIX)) {
      const owner = await this.#redeem(token, APP_PREFIX, 'app');
      const p = owner ? await this.userPrincipal(owner) : undefined;
      if (!p) throw new AuthError('INVALID_TOKEN', 'invalid or revoked token');
      return p;
    }
    const { principal, tokenAccess } = await this.verifyToken(token);
    const api = tokenAccess?.some((e) => e.type === 'registry' && e.name === 'api' && e.actions.includes('*'));
    if (!api || principal.kind !== 'user') throw new AuthError('INVALID_TOKEN', 'this token does not grant the management API: ask for scope registry:api:*');
    const p = await this.userPrincipal(principal.name);
    if (!p) throw new AuthError('INVALID_TOKEN', 'the token’s user no longer exists');
    return p;
  }

  // --- app and refresh tokens ------------------------------------------------------------------------------

  /** A new app token (a personal access token) for `owner`. The secret is returned once and never stored. */
  async createAppToken(owner: string, name: string, expiresAt?: Date): Promise<{ record: TokenRecord; token: string }> {
    return this.#create(owner, 'app', name, APP_PREFIX, expiresAt);
  }

  /** A refresh token (OAuth `refresh_token`, Docker's `identitytoken`) for `owner`. */
  async createRefreshToken(owner: string): Promise<string> {
    const ttl = this.config.refreshTokenTtlSeconds;
    const expires = ttl > 0 ? new Date(Date.now() + ttl * 1000) : undefined;
    return (await this.#create(owner, 'refresh', 'login', REFRESH_PREFIX, expires)).token;
  }

  /** The user a refresh token belongs to. Throws `INVALID_TOKEN` for an unknown, revoked or expired one. */
  async redeemRefreshToken(token: string): Promise<Principal> {
    const owner = token.startsWith(REFRESH_PREFIX) ? await this.#redeem(token, REFRESH_PREFIX, 'refresh') : undefined;
    const p = owner ? await this.userPrincipal(owner) : undefined;
    if (!p) throw new AuthError('INVALID_TOKEN', 'invalid, expired or revoked refresh token');
    return p;
  }

  async #create(owner: string, kind: TokenKind, name: string, prefix: string, expiresAt?: Date): Promise<{ record: TokenRecord; token: string }> {
    const id = randomBytes(ID_LENGTH / 2).toString('hex');
    const secret = newSecret();
    const record = await this.accounts.createToken({ id, owner, kind, name, secretHash: hashSecret(secret), expiresAt });
    return { record, token: `${prefix}${id}${secret}` };
  }

  /** The owner of a presented app or refresh token, if it is valid. */
  async #redeem(token: string, prefix: string, kind: TokenKind): Promise<string | undefined> {
    const id = token.slice(prefix.length, prefix.length + ID_LENGTH);
    const secret = token.slice(prefix.length + ID_LENGTH);
    if (id.length !== ID_LENGTH || !secret) return undefined;
    const rec = await this.accounts.getToken(id);
    if (!rec || rec.kind !== kind || !secretMatches(secret, rec.secretHash)) return undefined;
    if (rec.expiresAt && rec.expiresAt.getTime() <= Date.now()) return undefined;
    void this.accounts.touchToken(id, new Date()).catch(() => {});
    return rec.owner;
  }

  /** A new robot token: the secret to show once, and the hash to store. */
  newRobotToken(): { token: string; hash: string } {
    const token = newSecret();
    return { token, hash: hashSecret(token) };
  }

  // --- audit ------------------------------------------------------------------------------------------------

  /**
   * Appends to the audit log without making the caller wait. Events are written in batches, at most
   * `AUDIT_FLUSH_MS` after they happen (one transaction per batch, not one per pull); `flushAudit()` writes what
   * is pending now. A failed write is logged, never thrown.
   */
  audit(e: NewAuditEvent): void {
    this.#pendingAudit.push({ at: new Date(), ...e });
    if (this.#pendingAudit.length >= AUDIT_BATCH) void this.flushAudit();
    else this.#auditTimer ??= setTimeout(() => void this.flushAudit(), AUDIT_FLUSH_MS).unref();
  }

  async flushAudit(): Promise<void> {
    if (this.#auditTimer) clearTimeout(this.#auditTimer);
    this.#auditTimer = undefined;
    const batch = this.#pendingAudit.splice(0);
    // Writes are chained: when this returns, every event audited before the call is in the store, including
    // those of a flush that was already on its way (a reader of the audit log must see its own writes).
    this.#auditWrites = this.#auditWrites.then(async () => {
      if (batch.length === 0) return;
      await this.accounts.appendAudit(batch).catch((err: unknown) => this.log?.warn({ err, events: batch.length }, 'audit log write failed'));
    });
    await this.#auditWrites;
  }

  /** Deletes audit events older than `retentionMs` (0 keeps them all), a thousand per transaction. Returns how many. */
  async pruneAudit(retentionMs: number, now = new Date()): Promise<number> {
    if (retentionMs <= 0) return 0;
    const before = new Date(now.getTime() - retentionMs);
    let total = 0;
    for (;;) {
      const n = await this.accounts.pruneAudit(before, 1000);
      total += n;
      if (n < 1000) return total;
    }
  }

  #auditWrites: Promise<void> = Promise.resolve();

  readonly #pendingAudit: NewAuditEvent[] = [];
  #auditTimer: NodeJS.Timeout | undefined;
}

/** A valid scrypt hash of a random password, checked against when the user does not exist (made on first use). */
let dummyHash: Promise<string> | undefined;
function dummy(): Promise<string> {
  return (dummyHash ??= hashPassword(newSecret()));
}
