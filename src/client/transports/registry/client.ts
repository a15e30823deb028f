/**
 * One registry's API (`/v2/`), as the source, destination and helpers use it: finds the scheme (HTTPS, and
 * plain HTTP only for an insecure registry), learns the auth challenge from `GET /v2/`, attaches the right
 * Authorization to each request, answers a 401 once by fetching a token for the scopes the challenge names,
 * retries what can be retried, and follows redirects for reads (dropping Authorization when the host changes,
 * as blobs redirected to object storage must not carry registry credentials).
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#api-version-check
 */
import { ClientError, type ClientErrorCode } from '../../errors.js';
import { Authenticator, type AuthSettings } from './auth.js';
import { parseChallenges } from './challenge.js';
import { RegistryError, registryErrorFrom } from './errors.js';
import { Connections, discard, networkError, sendWithRetries, sleep, backoffDelay, isRetryableNetworkError, type HttpRequest, type HttpResponse, type RetryPolicy } from './http.js';
import { apiHost } from './reference.js';

export interface ClientSettings {
  /** The registry as named in references (`docker.io`, `localhost:5000`). */
  registry: string;
  /** Plain HTTP allowed (after HTTPS fails) and TLS not verified. */
  insecure: boolean;
  conn: Connections;
  retry: RetryPolicy;
  auth: AuthSettings;
  userAgent: string;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path below the base (`/v2/...`), or an absolute URL (upload locations, Link pages). */
  path: string;
  /** Token scopes, e.g. `repository:a/b:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  body?: HttpRequest['body'];
  signal?: AbortSignal | undefined;
}

const MAX_REDIRECTS = 5;

export class RegistryClient {
  readonly auth: Authenticator;
  private base: Promise<URL> | undefined;
  private readonly host: string;

  constructor(readonly settings: ClientSettings) {
    this.host = apiHost(settings.registry);
    this.auth = new Authenticator(settings.registry, settings.conn, settings.retry, settings.auth);
  }

  get registry(): string {
    return this.settings.registry;
  }

  /** `https://host/` (or `http://` for an insecure registry that does not speak TLS), found by pinging /v2/. */
  baseURL(signal?: AbortSignal): Promise<URL> {
    const p = (this.base ??= this.ping(signal));
    p.catch(() => {
      if (this.base === p) this.base = undefined;
    });
    return p;
  }

  private async ping(signal?: AbortSignal): Promise<URL> {
    const schemes = this.settings.insecure ? ['https:', 'http:'] : ['https:'];
    const policy = this.settings.retry;
    let last: { url: URL; err: unknown } | undefined;
    let attempt = 1;
    for (; attempt <= Math.max(1, policy.attempts); attempt++) {
      let retryable = false;
      for (const scheme of schemes) {
        const url = new URL(`${scheme}//${this.host}/v2/`);
        let res: HttpResponse;
        try {
          res = await this.settings.conn.send({ method: 'GET', url, headers: { 'user-agent': this.settings.userAgent }, ...(signal ? { signal } : {}) });
        } catch (err) {
          if (signal?.aborted) throw err;
          last = { url, err };
          retryable ||= isRetryableNetworkError(err);
          continue; // an insecure registry may speak only HTTP: try it
        }
        if (res.status === 200 || res.status === 401) {
          this.auth.setChallenges(parseChallenges(res.headers['www-authenticate']));
          await discard(res.body);
          return new URL(`${scheme}//${this.host}/`);
        }
        if (res.status === 429 || res.status >= 500) {
          last = { url, err: Object.assign(new Error(`HTTP ${res.status}`), { code: `HTTP_${res.status}` }) };
          retryable = true;
          const wait = backoffDelay(policy, attempt, res.headers['retry-after']);
          await discard(res.body);
          if (attempt < policy.attempts) await sleep(wait, signal);
          break;
        }
        throw await registryErrorFrom(res.body, { what: `${this.settings.registry}: GET ${url.href} (is this a registry?)` });
      }
      if (!retryable || attempt >= policy.attempts) break;
      if (last && isRetryableNetworkError(last.err)) await sleep(backoffDelay(policy, attempt), signal);
    }
    throw networkError(last!.url, last!.err, Math.min(attempt, Math.max(1, policy.attempts)));
  }

  /**
   * Sends a request with auth, retries (replayable bodies) and redirects (GET/HEAD). Answers a 401 by asking
   * for a token for the challenge's scopes and trying once more; a second 401 is returned to the caller.
   */
  async request(r: RegistryRequest): Promise<HttpResponse> {
    const base = await this.baseURL(r.signal);
    let url = new URL(r.path, base);
    let scopes = r.scopes;
    let authTried = false;
    for (let redirects = 0; ; ) {
      const sameHost = url.host === base.host;
      const headers: Record<string, string> = { 'user-agent': this.settings.userAgent, ...r.headers };
      const authz = sameHost ? await this.auth.authorization(scopes, r.signal) : undefined;
      if (authz) headers['authorization'] = authz;
      const res = await sendWithRetries(this.settings.conn, { method: r.method, url, headers, ...(r.body !== undefined ? { body: r.body } : {}), ...(r.signal ? { signal: r.signal } : {}) }, this.settings.retry);
      if (res.status === 401 && sameHost && !authTried && !(r.body !== undefined && !Buffer.isBuffer(r.body))) {
        authTried = true;
        const challenges = parseChallenges(res.headers['www-authenticate']);
        const before = this.auth.scheme;
        this.auth.setChallenges(challenges);
        const wanted = challenges.find((c) => c.scheme === 'bearer')?.params['scope'];
        this.auth.invalidate(scopes);
        if (wanted) scopes = [...new Set([...scopes, ...wanted.split(' ').filter(Boolean)])];
        // Once more only when that can help: a first challenge (credentials or a token to send now), or a
        // Bearer token to fetch again. Basic credentials refused once are refused again.
        if ((before === undefined && challenges.length > 0) || this.auth.scheme === 'bearer') {
          await discard(res.body);
          continue;
        }
      }
      if ((r.method === 'GET' || r.method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
        if (++redirects > MAX_REDIRECTS) throw new ClientError('REGISTRY_ERROR', `${this.settings.registry}: too many redirects for ${r.path}`);
        await discard(res.body);
        url = new URL(res.headers.location, url);
        continue;
      }
      return res;
    }
  }

  /** `request`, then: the expected status resolves; 401 without credentials says so; anything else throws. */
  async expect(r: RegistryRequest, ok: number[], what: string, notFound?: ClientErrorCode): Promise<HttpResponse> {
    const res = await this.request(r);
    if (ok.includes(res.status)) return res;
    if (res.status === 401) {
      const creds = await this.settings.auth.credentials().catch(() => undefined);
      const err = await registryErrorFrom(res.body, { what: `${this.settings.registry}: ${what}` });
      const hint = creds ? ' (the registry refused the credentials)' : ' (authentication required, and no credentials are configured for this registry)';
      throw new RegistryError('UNAUTHORIZED', `${err.message}${hint}`, err.registryCode, err.status, err.errors);
    }
    throw await registryErrorFrom(res.body, { what: `${this.settings.registry}: ${what}`, ...(notFound ? { notFound } : {}) });
  }

  /** The connection failure of `err`, named by host (for stream errors that escape `request`). */
  networkError(err: unknown, attempts: number): ClientError {
    return networkError(new URL(`https://${this.host}/`), err, attempts);
  }
}
