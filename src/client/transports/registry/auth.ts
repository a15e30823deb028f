/**
 * Registry authentication as Docker clients do it (distribution docs/spec/auth/{token,oauth,scope}.md;
 * go-containerregistry `transport/bearer.go`):
 *
 * - `Basic` challenge: send the credentials on every request (distribution's htpasswd mode);
 * - `Bearer` challenge: ask the realm for a token for the scopes the request needs, and cache it per scope
 *   set until `expires_in` (default 60 s, lower values raised to 60) runs out:
 *   - with a refresh token (auth.json `identitytoken`): POST `grant_type=refresh_token`;
 *   - for login (`offlineToken`): GET with `offline_token=true`, keeping a `refresh_token` that comes back;
 *   - with a user and password and `forceOAuth`: POST `grant_type=password` (`access_type=offline`);
 *   - otherwise GET `?service=&scope=...` with Basic credentials, or anonymously without any;
 *   - a POST answered 404 (or 405) falls back to the GET;
 * - a token request refused with 401/403 is UNAUTHORIZED, and never retried.
 */
import type { Credentials } from '../../config/auth-file.js';
import { ClientError } from '../../errors.js';
import type { Challenge } from './challenge.js';
import { readErrorBody, registryErrorOf } from './errors.js';
import { discard, sendWithRetries, type Connections, type RetryPolicy } from './http.js';

export interface AuthSettings {
  /** Looked up once, when a challenge first needs them. */
  credentials: () => Promise<Credentials | undefined>;
  /** skopeo --registry-token: a bearer token used as is. */
  registryToken?: string;
  /** POST `grant_type=password` instead of a GET with Basic credentials. */
  forceOAuth?: boolean;
  /**
   * Ask the token service for a refresh token too (GET `offline_token=true&client_id=…`, as `docker login`
   * does); one that comes back is `identityToken`, for login to store as auth.json `identitytoken`.
   */
  offlineToken?: boolean;
  clientId: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are renewed this long before they expire, so a request never leaves with one about to lapse. */
const EXPIRY_MARGIN_MS = 5_000;
const MIN_EXPIRES_IN_S = 60;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private creds: Promise<Credentials | undefined> | undefined;
  private refreshToken: string | undefined;

  constructor(
    private readonly registry: string,
    private readonly conn: Connections,
    private readonly retry: RetryPolicy,
    private readonly settings: AuthSettings,
  ) {}

  /** Remembers the registry's challenge (from the /v2/ ping or a 401); Bearer is preferred over Basic. */
  setChallenges(challenges: Challenge[]): void {
    const pick = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (pick) this.challenge = pick;
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  private credentials(): Promise<Credentials | undefined> {
    return (this.creds ??= this.settings.credentials().then((c) => {
      if (c?.identityToken) this.refreshToken = c.identityToken;
      return c;
    }));
  }

  /** The Authorization header for a request needing `scopes`, or undefined when the registry asked for none. */
  async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.settings.registryToken) return `Bearer ${this.settings.registryToken}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await this.credentials();
      if (c?.username === undefined) return undefined;
      return `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    const key = [...new Set(scopes)].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached) {
      try {
        const t = await cached;
        if (t.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return `Bearer ${t.token}`;
      } catch {
        // A failed fetch is not cached; fall through and ask again.
      }
    }
    const p = this.fetchToken(ch, key === '' ? [] : key.split(' '), signal);
    this.tokens.set(key, p);
    p.catch(() => this.tokens.delete(key));
    return `Bearer ${(await p).token}`;
  }

  /** Forgets the token for `scopes` (the registry refused it: revoked, or the challenge asked for more). */
  invalidate(scopes: string[]): void {
    this.tokens.delete([...new Set(scopes)].sort().join(' '));
  }

  private async fetchToken(ch: Challenge, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    const realm = ch.params['realm'];
    if (!realm) throw new ClientError('UNAUTHORIZED', `${this.registry}: Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch (cause) {
      throw new ClientError('UNAUTHORIZED', `${this.registry}: Bearer realm ${JSON.stringify(realm)} is not a URL`, undefined, { cause });
    }
    const service = ch.params['service'];
    const creds = await this.credentials();
    if (this.refreshToken || (this.settings.forceOAuth && creds?.username !== undefined)) {
      const posted = await this.postToken(url, service, scopes, creds, signal);
      if (posted) return posted;
    }
    const q = new URL(url);
    if (service) q.searchParams.set('service', service);
    for (const s of scopes) q.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds?.username !== undefined) {
      headers['authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
      q.searchParams.set('account', creds.username);
      // distribution docs/spec/auth/token.md: offline_token asks for a refresh token beside the bearer token.
      if (this.settings.offlineToken) {
        q.searchParams.set('offline_token', 'true');
        q.searchParams.set('client_id', this.settings.clientId);
      }
    }
    const res = await sendWithRetries(this.conn, { method: 'GET', url: q, headers, ...(signal ? { signal } : {}) }, this.retry);
    return this.tokenFrom(res.status, await readErrorBody(res.body), url, creds);
  }

  /** OAuth2 POST; undefined when the endpoint does not do POST (404/405), so the caller falls back to GET. */
  private async postToken(url: URL, service: string | undefined, scopes: string[], creds: Credentials | undefined, signal?: AbortSignal): Promise<CachedToken | undefined> {
    const form = new URLSearchParams();
    if (this.refreshToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', this.refreshToken);
    } else {
      form.set('grant_type', 'password');
      form.set('username', creds?.username ?? '');
      form.set('password', creds?.password ?? '');
      form.set('access_type', 'offline');
    }
    if (service) form.set('service', service);
    form.set('client_id', this.settings.clientId);
    // One field, space separated (oauth.md).
    if (scopes.length) form.set('scope', scopes.join(' '));
    const res = await sendWithRetries(
      this.conn,
      { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: Buffer.from(form.toString()), ...(signal ? { signal } : {}) },
      this.retry,
    );
    if (res.status === 404 || res.status === 405) {
      await discard(res.body);
      return undefined;
    }
    return this.tokenFrom(res.status, await readErrorBody(res.body), url, creds);
  }

  private tokenFrom(status: number, text: string, realm: URL, creds: Credentials | undefined): CachedToken {
    if (status === 401 || status === 403) {
      const who = creds?.username !== undefined ? `the credentials of ${JSON.stringify(creds.username)}` : creds?.identityToken ? 'the identity token' : 'an anonymous token request';
      const e = registryErrorOf(status, text, { what: `${this.registry}: the token service ${realm.origin}${realm.pathname} refused ${who}` });
      throw new ClientError('UNAUTHORIZED', e.message, e.detail);
    }
    if (status !== 200) throw registryErrorOf(status, text, { what: `${this.registry}: token service ${realm.origin}${realm.pathname}` });
    if (text.length > MAX_TOKEN_RESPONSE) throw new ClientError('UNAUTHORIZED', `${this.registry}: token response too large`);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
    } catch (cause) {
      throw new ClientError('UNAUTHORIZED', `${this.registry}: the token service answered with something that is not JSON`, undefined, { cause });
    }
    const token = typeof json.access_token === 'string' && json.access_token ? json.access_token : typeof json.token === 'string' ? json.token : '';
    if (!token) throw new ClientError('UNAUTHORIZED', `${this.registry}: the token service sent no token`);
    if (typeof json.refresh_token === 'string' && json.refresh_token) this.refreshToken = json.refresh_token;
    const expiresIn = Math.max(MIN_EXPIRES_IN_S, typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : MIN_EXPIRES_IN_S);
    const issued = typeof json.issued_at === 'string' ? Date.parse(json.issued_at) : NaN;
    // A clock skewed against the token service must not make every token look expired: trust issued_at only when it is near.
    const base = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 60_000 ? issued : Date.now();
    return { token, expiresAt: base + expiresIn * 1000 };
  }

  /** The refresh token the token service handed out (OAuth2 offline access), for `login` to store. */
  get identityToken(): string | undefined {
    return this.refreshToken;
  }
}
