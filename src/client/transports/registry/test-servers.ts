/**
 * Test support for the registry transport: real HTTP servers on loopback port 0 that sit in front of a real
 * registry. A reverse proxy with hooks (to fail, throttle or cut requests), and a Bearer front with its own
 * token service (the Docker token flow: challenge, GET with Basic credentials or anonymous, OAuth2 POST with
 * password or refresh token, tokens that expire or are revoked). Node built-ins only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface RunningProxy {
  url: string;
  host: string;
  /** Every request that reached the proxy: `METHOD path`. */
  log: string[];
  close(): Promise<void>;
}

/** Returns true when it answered the request itself; false lets it through to the target. */
export type Hook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Forwards to `target` (a base URL). `transformBody(req, upstream)` may replace the upstream response body
 * stream (to cut it short); Location headers that point at the target are rewritten to the proxy.
 */
export function forward(target: string, req: IncomingMessage, res: ServerResponse, self: string, opts: { cutAfter?: number } = {}): void {
  const t = new URL(target);
  const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (ur) => {
    const headers = { ...ur.headers };
    if (typeof headers.location === 'string' && headers.location.startsWith(t.origin)) headers.location = self + headers.location.slice(t.origin.length);
    res.writeHead(ur.statusCode ?? 502, headers);
    if (opts.cutAfter === undefined) {
      pipeline(ur, res).catch(() => res.destroy());
      return;
    }
    // Send `cutAfter` bytes of the body, then drop the connection, as a network failure would.
    let sent = 0;
    ur.on('data', (chunk: Buffer) => {
      const room = opts.cutAfter! - sent;
      if (room <= 0) return;
      const part = chunk.subarray(0, room);
      sent += part.length;
      res.write(part);
      if (sent >= opts.cutAfter!) {
        ur.destroy();
        setTimeout(() => res.socket?.destroy(), 5);
      }
    });
    ur.on('end', () => res.end());
  });
  up.on('error', () => res.destroy());
  pipeline(req, up).catch(() => res.destroy());
}

/**
 * A reverse proxy to `target`; `hook` sees each request first. With `tls` it serves HTTPS (and, with
 * `tls.ca` and `requireClientCert`, demands a client certificate signed by that CA).
 */
export async function startProxy(target: string, hook: Hook = () => false, tls?: { key: string; cert: string; ca?: string; requireClientCert?: boolean }): Promise<RunningProxy> {
  const log: string[] = [];
  let self = '';
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    log.push(`${req.method} ${req.url}`);
    void Promise.resolve(hook(req, res)).then((handled) => {
      if (!handled) forward(target, req, res, self);
    });
  };
  const server: Server = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, ...(tls.requireClientCert ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
    : createServer(handler);
  self = await listen(server);
  if (tls) self = self.replace(/^http:/, 'https:');
  return { url: self, host: new URL(self).host, log, close: () => closeServer(server) };
}

export interface BearerFrontOptions {
  /** user → password accepted by the token service. */
  users: Record<string, string>;
  /** Refresh tokens (auth.json `identitytoken`) accepted by POST, → user. */
  refreshTokens?: Record<string, string>;
  /** The token service answers POST (OAuth2); false: 404, so clients must fall back to GET. */
  oauthPost?: boolean;
  /** Anonymous token requests get pull access. */
  anonymousPull?: boolean;
  expiresIn?: number;
  /** Send `access_token` instead of `token`. */
  accessTokenField?: boolean;
  /** A GET with `offline_token=true` and valid credentials also gets a `refresh_token` (distribution token.md). */
  offlineTokens?: boolean;
}

export interface BearerFront extends RunningProxy {
  /** Every token request: method, grant (get/password/refresh_token), user (or anonymous), scopes. */
  tokenRequests: Array<{ method: string; grant: string; user: string | undefined; scopes: string[]; service: string | undefined; offline?: boolean }>;
  /** Invalidates every token issued so far (as expiry would). */
  revokeAll(): void;
}

interface Grant {
  user: string | undefined;
  /** repository name → actions. */
  access: Map<string, Set<string>>;
}

function basicUser(req: IncomingMessage, users: Record<string, string>): { user?: string; bad?: boolean } {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return {};
  const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString().split(':');
  return users[user!] !== undefined && users[user!] === rest.join(':') ? { user: user! } : { bad: true };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (d: Buffer) => (s += d.toString()));
    req.on('end', () => resolve(s));
  });
}

function grantFor(user: string | undefined, scopes: string[], anonymousPull: boolean): Grant {
  const access = new Map<string, Set<string>>();
  for (const s of scopes) {
    // resourcetype:name:actions; the name may hold a port colon, so split at the first and last ':'.
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first === last || s.slice(0, first) !== 'repository') continue;
    const name = s.slice(first + 1, last);
    const wanted = s.slice(last + 1).split(',');
    const allowed = user !== undefined ? wanted : anonymousPull ? wanted.filter((a) => a === 'pull') : [];
    const set = access.get(name) ?? new Set<string>();
    for (const a of allowed) set.add(a);
    access.set(name, set);
  }
  return { user, access };
}

/**
 * A registry that demands `Authorization: Bearer <token>` in front of `target`, and its token service at
 * `/token` on the same port. Tokens are random and opaque; the front checks each against the scope the
 * request needs (GET/HEAD: pull; anything else: push; a mount's `from`: pull too).
 */
export async function startBearerFront(target: string, o: BearerFrontOptions): Promise<BearerFront> {
  const log: string[] = [];
  const tokenRequests: BearerFront['tokenRequests'] = [];
  const tokens = new Map<string, Grant>();
  let self = '';
  const issue = (res: ServerResponse, grant: Grant, refresh?: string) => {
    const token = randomBytes(16).toString('hex');
    tokens.set(token, grant);
    const body: Record<string, unknown> = { [o.accessTokenField ? 'access_token' : 'token']: token, expires_in: o.expiresIn ?? 300, issued_at: new Date().toISOString() };
    if (refresh) body['refresh_token'] = refresh;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const unauthorized = (res: ServerResponse, scope: string, error?: string) => {
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${self}/token",service="berth-test",scope="${scope}"${error ? `,error="${error}"` : ''}`,
      })
      .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: [{ Type: 'repository', Action: scope }] }] }));
  };
  const server = createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', self);
    if (url.pathname === '/token') {
      void (async () => {
        if (req.method === 'POST') {
          if (!o.oauthPost) {
            res.writeHead(404).end('404 page not found');
            await readBody(req);
            return;
          }
          const form = new URLSearchParams(await readBody(req));
          const grant = form.get('grant_type') ?? '';
          const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
          let user: string | undefined;
          if (grant === 'password') {
            const u = form.get('username') ?? '';
            if (o.users[u] === undefined || o.users[u] !== form.get('password')) user = undefined;
            else user = u;
          } else if (grant === 'refresh_token') {
            user = o.refreshTokens?.[form.get('refresh_token') ?? ''];
          }
          tokenRequests.push({ method: 'POST', grant, user, scopes, service: form.get('service') ?? undefined });
          if (user === undefined) {
            res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
            return;
          }
          const refresh = grant === 'password' ? `refresh-${randomBytes(8).toString('hex')}` : undefined;
          if (refresh) (o.refreshTokens ??= {})[refresh] = user;
          issue(res, grantFor(user, scopes, false), refresh);
          return;
        }
        const scopes = url.searchParams.getAll('scope');
        const b = basicUser(req, o.users);
        const offline = url.searchParams.get('offline_token') === 'true';
        tokenRequests.push({ method: 'GET', grant: 'get', user: b.user, scopes, service: url.searchParams.get('service') ?? undefined, ...(offline ? { offline } : {}) });
        if (b.bad) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }));
          return;
        }
        const refresh = o.offlineTokens && offline && b.user !== undefined ? `refresh-${randomBytes(8).toString('hex')}` : undefined;
        if (refresh) (o.refreshTokens ??= {})[refresh] = b.user!;
        issue(res, grantFor(b.user, scopes, o.anonymousPull ?? false), refresh);
      })();
      return;
    }
    // The registry: /v2/ needs any token; /v2/<name>/... needs the action on <name>.
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    const h = req.headers.authorization;
    const grant = h?.startsWith('Bearer ') ? tokens.get(h.slice(7)) : undefined;
    if (!m) {
      if (!grant) return unauthorized(res, '');
      return forward(target, req, res, self);
    }
    const name = m[1]!;
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : req.method === 'DELETE' ? 'delete' : 'push';
    const needed: Array<[string, string]> = [[name, action]];
    const from = url.searchParams.get('from');
    if (from) needed.push([from, 'pull']);
    const scope = needed.map(([n, a]) => `repository:${n}:${a === 'push' ? 'pull,push' : a}`).join(' ');
    if (!grant) return unauthorized(res, scope);
    if (!needed.every(([n, a]) => grant.access.get(n)?.has(a))) return unauthorized(res, scope, 'insufficient_scope');
    forward(target, req, res, self);
  });
  self = await listen(server);
  return {
    url: self,
    host: new URL(self).host,
    log,
    tokenRequests,
    revokeAll: () => tokens.clear(),
    close: () => closeServer(server),
  };
}
