import { RegistryError } from '../../registry/errors.js';
import { authenticate } from '../authn.js';
import { send, type Context } from '../context.js';
import { API_STATUS, ApiError, toApiError } from './errors.js';
import type { ApiRequest } from './request.js';
import { API_PREFIX, matchApiRoute, type ApiMethod } from './routes.js';

/**
 * The management API: every request whose path starts with `/api/v1/`. It routes on its own table
 * (`API_ROUTES`), checks that the caller is authenticated, runs the handler and writes the reply, or writes
 * any error once as `{"error": {"code", "message"}}` with the status `API_STATUS` gives it.
 *
 * Credentials are resolved by the server's middleware; when it has not looked at them yet (or the request
 * reached here first), they are resolved here, with failures in the API's error shape.
 */
export async function handleApi(ctx: Context): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  try {
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    const full = q === -1 ? url : url.slice(0, q);
    if (!full.startsWith(`${API_PREFIX}/`)) throw new ApiError('NOT_FOUND', `no endpoint ${full.slice(0, 200)}`);
    const path = full.slice(API_PREFIX.length);
    const match = matchApiRoute(path);
    if (!match) throw new ApiError('NOT_FOUND', `no endpoint ${method} ${full.slice(0, 200)}`);
    const op = match.route.methods[method as ApiMethod];
    if (!op) {
      throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not supported on ${API_PREFIX}${match.route.path}`, {
        headers: { Allow: Object.keys(match.route.methods).join(', ') },
      });
    }
    const auth = ctx.auth;
    if (!op.public) {
      if (!auth) throw new ApiError('AUTH_DISABLED', 'the management API needs accounts: this server runs without authentication');
      if (!ctx.authenticated && ctx.req.headers.authorization) await authenticate(ctx, true);
      if (ctx.principal.kind === 'anonymous') throw new ApiError('UNAUTHORIZED', 'authentication required: send Basic credentials or a Bearer token');
    }
    const r = { ctx, auth: auth!, principal: ctx.principal, params: match.params, query: ctx.query } satisfies ApiRequest;
    const res = await op.handler(r);
    send(ctx, res.status, { 'Cache-Control': 'no-store', ...res.headers }, res.body as object | undefined);
  } catch (err) {
    if (ctx.signal.aborted) return;
    const e = err instanceof RegistryError ? fromRegistryError(err) : toApiError(err);
    if (e.code === 'INTERNAL') ctx.log.error({ err, method, path: ctx.req.url?.split('?', 1)[0] }, 'API request failed');
    if (ctx.res.headersSent) {
      ctx.res.destroy(e);
      return;
    }
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...e.headers };
    if (e.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] ??= 'Basic realm="berth", charset="UTF-8"';
    send(ctx, API_STATUS[e.code], headers, { error: { code: e.code, message: e.message } });
  }
}

/** The middleware speaks the registry's errors; on the API they get the API's codes, headers kept. */
function fromRegistryError(err: RegistryError): ApiError {
  const opts = { cause: err, headers: err.headers };
  switch (err.code) {
    case 'UNAUTHORIZED':
      return new ApiError('UNAUTHORIZED', err.message, opts);
    case 'TOOMANYREQUESTS':
      return new ApiError('TOO_MANY_REQUESTS', err.message, opts);
    case 'DENIED':
      return new ApiError('FORBIDDEN', err.message, opts);
    case 'NAME_INVALID':
      return new ApiError('INVALID_REQUEST', err.message, opts);
    default:
      return toApiError(err);
  }
}
