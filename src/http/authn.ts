import { ANONYMOUS, type Principal, type RepoAction } from '../auth/access.js';
import { AuthError } from '../auth/errors.js';
import { repositoryOfScopeName } from '../auth/scope.js';
import type { AccessEntry } from '../auth/tokens.js';
import { parseRepositoryName } from '../content/reference.js';
import { RegistryError } from '../registry/errors.js';
import type { Context } from './context.js';
import type { Method } from './routes.js';

/**
 * Authentication and authorisation middleware (STYLE.md §7: not written into each handler).
 *
 * `authenticate` turns the `Authorization` header into a principal: Basic credentials of any kind (user
 * password, robot token, app token), or a Bearer registry token, whose grants then bound what the request may
 * do. `authorize` checks the route's requirement. A caller who may not even pull a repository gets the same
 * 401 challenge whether or not it exists; one who can see it but lacks the action gets 403 DENIED.
 */

/** What each route needs. Routes not listed need nothing (token endpoint, health, metrics, the API's own checks). */
type Need = RepoAction | 'login' | 'catalog';
const NEEDS: Record<string, Partial<Record<Method, Need>>> = {
  base: { GET: 'login', HEAD: 'login' },
  catalog: { GET: 'catalog' },
  tags: { GET: 'pull' },
  manifest: { GET: 'pull', HEAD: 'pull', PUT: 'push', DELETE: 'delete' },
  uploads: { POST: 'push' },
  upload: { GET: 'push', PATCH: 'push', PUT: 'push', DELETE: 'push' },
  blob: { GET: 'pull', HEAD: 'pull', DELETE: 'delete' },
  referrers: { GET: 'pull' },
};

export async function authenticate(ctx: Context, api: boolean): Promise<void> {
  const auth = ctx.auth;
  const header = ctx.req.headers.authorization;
  if (!auth || !header) return;
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  try {
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new AuthError('INVALID_CREDENTIALS', 'malformed Basic credentials');
      ctx.principal = await auth.login(decoded.slice(0, colon), decoded.slice(colon + 1), ctx.ip);
      ctx.authenticated = true;
    } else if (scheme === 'bearer' && value) {
      if (api) {
        ctx.principal = await auth.bearer(value);
      } else {
        const verified = await auth.verifyToken(value);
        ctx.principal = verified.principal;
        ctx.tokenAccess = verified.tokenAccess;
      }
      ctx.authenticated = true;
    } else {
      throw new AuthError('INVALID_CREDENTIALS', `unsupported authorization scheme ${JSON.stringify(scheme.slice(0, 20))}`);
    }
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    if (err.code === 'THROTTLED') {
      throw new RegistryError('TOOMANYREQUESTS', err.message, undefined, { headers: { 'Retry-After': String(err.retryAfterSeconds ?? 1) } });
    }
    throw unauthorized(ctx, err.message, { error: err.code === 'INVALID_TOKEN' ? 'invalid_token' : undefined });
  }
}

export async function authorize(ctx: Context, routeName: string, method: Method): Promise<void> {
  const auth = ctx.auth;
  const need = NEEDS[routeName]?.[method];
  if (!auth || !need) return;
  if (need === 'login') {
    if (!ctx.authenticated) throw unauthorized(ctx, 'authentication required');
    return;
  }
  if (need === 'catalog') {
    if (!ctx.authenticated) throw unauthorized(ctx, 'authentication required', { scope: 'registry:catalog:*' });
    return;
  }
  const repo = parseRepositoryName(ctx.params.name ?? '');
  if (await allows(ctx, repo, need)) {
    if (need === 'push' && (routeName === 'uploads' || routeName === 'manifest')) await auth.ensureRepositoryForPush(ctx.principal, repo);
    return;
  }
  const scope = `repository:${repo}:${need === 'pull' ? 'pull' : `pull,${need}`}`;
  if (need !== 'pull' && (await allows(ctx, repo, 'pull'))) {
    throw new RegistryError('DENIED', `requested access to ${need} on ${repo} is denied`, [{ Type: 'repository', Name: repo, Action: need }]);
  }
  throw unauthorized(ctx, 'authentication required', { scope, error: ctx.authenticated ? 'insufficient_scope' : undefined, detail: [{ Type: 'repository', Name: repo, Action: need }] });
}

/**
 * Whether the request may do `action` on `repo`: by its token's grants when it came with a registry token,
 * otherwise by what its principal may do. Always true when the server runs without auth.
 */
export async function allows(ctx: Context, repo: string, action: RepoAction): Promise<boolean> {
  if (!ctx.auth) return true;
  if (ctx.tokenAccess) return tokenAllows(ctx.tokenAccess, repo, action);
  return (await ctx.auth.access.actionsOn(ctx.principal, repo)).has(action);
}

/**
 * Whether the caller may see `repo` in the catalog: by who they are, not by their token's grants (a catalog
 * token names no repositories). A token's user is looked up once, for the superuser flag.
 */
export async function visibility(ctx: Context): Promise<((repo: string) => Promise<boolean>) | undefined> {
  const auth = ctx.auth;
  if (!auth) return undefined;
  let p: Principal = ctx.principal;
  if (ctx.tokenAccess && p.kind === 'user') p = (await auth.userPrincipal(p.name)) ?? ANONYMOUS;
  const principal = p;
  return async (repo) => (await auth.access.actionsOn(principal, repo)).has('pull');
}

function tokenAllows(access: readonly AccessEntry[], repo: string, action: RepoAction): boolean {
  return access.some(
    (e) => e.type === 'repository' && repositoryOfScopeName(e.name) === repo && (e.actions.includes(action) || e.actions.includes('*')),
  );
}

/** 401 with the Bearer challenge (distribution docs/spec/auth/token.md). */
function unauthorized(ctx: Context, message: string, opts: { scope?: string; error?: string; detail?: unknown } = {}): RegistryError {
  const parts = [`realm="${realmOf(ctx)}"`, `service="${ctx.auth!.config.service}"`];
  if (opts.scope) parts.push(`scope="${opts.scope}"`);
  if (opts.error) parts.push(`error="${opts.error}"`);
  return new RegistryError('UNAUTHORIZED', message, opts.detail, { headers: { 'WWW-Authenticate': `Bearer ${parts.join(',')}` } });
}

/** The token endpoint's absolute URL: as configured, or built from the request (behind a proxy, from its headers). */
export function realmOf(ctx: Context): string {
  if (ctx.realm) return ctx.realm;
  const forwardedProto = ctx.req.headers['x-forwarded-proto'];
  const proto = typeof forwardedProto === 'string' ? forwardedProto.split(',')[0]!.trim() : 'encrypted' in ctx.req.socket ? 'https' : 'http';
  const host = ctx.req.headers.host ?? 'localhost';
  return `${proto}://${host}/v2/auth`;
}
