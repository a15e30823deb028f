import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, BlockList, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RegistryDeps } from '../registry/deps.js';
import { RegistryError } from '../registry/errors.js';
import type { Context } from './context.js';
import { classify, writeError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { matchRoute, type Method } from './routes.js';
import { authenticate, authorize } from './authn.js';
import { clientAddress } from './client-address.js';
import { ANONYMOUS, principalName } from '../auth/access.js';
import type { AuthService } from '../auth/service.js';
import { namespaceOf } from '../auth/access.js';

export interface ServerOptions {
  deps: RegistryDeps;
  log: Logger;
  metrics?: Metrics;
  /** Log one line per request (default true). */
  logRequests?: boolean;
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Accounts and access control. Without it the registry is open to anyone (tests, trusted networks). */
  auth?: AuthService;
  /** Absolute URL of the token endpoint for the challenge; derived from each request when unset. */
  realm?: string;
  /** Proxies whose `X-Forwarded-For` names the client (`parseTrustedProxies`). */
  trustedProxies?: BlockList;
}

export interface RunningServer {
  server: Server;
  /** `http(s)://host:port`, with the real port when listening on port 0. */
  url: string;
  metrics: Metrics;
  /**
   * Graceful stop: stop accepting, let requests in flight finish (up to `graceMs`), then cut what is left.
   * Unfinished uploads are never visible, so cutting them loses nothing that was committed.
   */
  close(graceMs?: number): Promise<void>;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** The request listener: route, run the handler, map any error once, log and count. */
export function createRequestListener(opts: ServerOptions & { metrics: Metrics; ready: () => boolean }) {
  const { deps, log, metrics, ready, auth } = opts;
  const logRequests = opts.logRequests ?? true;
  const counted = new WeakMap<Socket, { read: number; written: number }>();
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const headerId = req.headers['x-request-id'];
    const reqId = typeof headerId === 'string' && REQUEST_ID_RE.test(headerId) ? headerId : randomUUID();
    const socket = req.socket;
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', reqId);
    if (!ready()) res.setHeader('Connection', 'close');

    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const match = matchRoute(path);
    const routeName = match?.route.name ?? 'unknown';
    const method = req.method ?? 'GET';
    const aborter = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborter.abort(new Error('client closed the connection'));
    });
    const ctx: Context = {
      req,
      res,
      deps,
      metrics,
      log,
      params: match?.params ?? {},
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      signal: aborter.signal,
      ready,
      auth,
      principal: ANONYMOUS,
      authenticated: false,
      realm: opts.realm,
      ip: clientAddress(req, opts.trustedProxies),
    };

    const run = async (): Promise<void> => {
      if (!match) throw new RegistryError('ROUTE_UNKNOWN', `no endpoint ${method} ${path.slice(0, 200)}`);
      const handler = match.route.methods[method as Method];
      if (!handler) {
        res.setHeader('Allow', Object.keys(match.route.methods).join(', '));
        throw new RegistryError('UNSUPPORTED', `${method} is not supported on ${routeName}`);
      }
      // The management API authenticates on its own, so that its failures come in its own error shape.
      if (routeName !== 'api') {
        await authenticate(ctx, false);
        await authorize(ctx, routeName, method as Method);
      }
      await handler(ctx);
    };

    run()
      .catch((err: unknown) => {
        const e = classify(err);
        if (aborter.signal.aborted) return; // the client left; nothing to answer
        if (e.code === 'UNKNOWN') log.error({ reqId, err }, 'request failed');
        if (res.headersSent) res.destroy(e);
        else writeError(res, e, method);
      })
      .finally(() => {
        const status = aborter.signal.aborted ? 499 : res.statusCode;
        const seconds = (performance.now() - started) / 1000;
        // Counted per socket since the previous request on it ended: Node may have read a small body
        // together with the headers before this listener ran. Headers are included.
        const seen = counted.get(socket) ?? { read: 0, written: 0 };
        const bytesIn = socket.bytesRead - seen.read;
        const bytesOut = socket.bytesWritten - seen.written;
        counted.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
        if (auth && status < 400) audit(auth, ctx, routeName, method);
        metrics.requests.inc({ route: routeName, method, status });
        metrics.duration.observe({ route: routeName, method }, seconds);
        metrics.bytesIn.inc({ route: routeName }, bytesIn);
        metrics.bytesOut.inc({ route: routeName }, bytesOut);
        if (logRequests) {
          log.info({ reqId, method, route: routeName, path, status, ms: Math.round(seconds * 1e4) / 10, bytesIn, bytesOut }, 'request');
        }
      });
  };
}

/** Pushes, pulls and deletes go to the audit log (HEAD requests and blob reads are not pulls of an image). */
const AUDITED: Record<string, Partial<Record<string, string>>> = {
  manifest: { GET: 'pull', PUT: 'push', DELETE: 'delete' },
  blob: { DELETE: 'delete' },
};

function audit(auth: AuthService, ctx: Context, routeName: string, method: string): void {
  const action = AUDITED[routeName]?.[method];
  if (!action) return;
  const repo = ctx.params.name ?? '';
  auth.audit({
    action,
    actor: principalName(ctx.principal),
    actorKind: ctx.principal.kind,
    namespace: namespaceOf(repo),
    repo,
    ip: ctx.ip,
    detail: { reference: ctx.params.reference ?? ctx.params.digest },
  });
}

/** Starts the registry's HTTP(S) server. `port` 0 picks a free port (tests). */
export async function startServer(opts: ServerOptions & { host: string; port: number }): Promise<RunningServer> {
  const metrics = opts.metrics ?? createMetrics(opts.deps.store);
  let shuttingDown = false;
  const listener = createRequestListener({ ...opts, metrics, ready: () => !shuttingDown });
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createHttpServer(listener);
  server.keepAliveTimeout = 65_000;
  // Large blobs are slow to push; the request itself must not time out.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `${opts.tls ? 'https' : 'http'}://${host}:${address.port}`,
    metrics,
    async close(graceMs = 30_000) {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last request finishes; close them as they do, so
      // shutdown takes as long as the slowest request, not the grace period.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearInterval(sweeper);
      clearTimeout(timer);
    },
  };
}

