/**
 * `login` / `logout` as skopeo and podman do them (containers/common `pkg/auth`): the credentials are checked
 * against the registry first, with the same challenge flow every other request uses (RegistryClient and its
 * Authenticator: `GET /v2/`, then Basic credentials, or a Bearer token for an empty scope as `docker login`
 * asks for one), and only then written to the primary auth.json (`auths[KEY].auth` = base64 `user:password`).
 * Like `docker login`, the token request asks for a refresh token (`offline_token=true`); when the token
 * service hands one out, it is stored as `identitytoken` and the password is not (`auth` = base64 `user:`),
 * and every later request gets its tokens with it (POST `grant_type=refresh_token`).
 *
 * @example
 * await login('registry.example.com', { username: 'robot', password: 'secret' }, { authFile: '/tmp/auth.json' });
 * await logout('registry.example.com', { authFile: '/tmp/auth.json' });
 */
import { getCredentials, primaryAuthFile, removeAllCredentials, removeCredentials, saveCredentials, type AuthFileOptions } from './config/auth-file.js';
import type { RegistriesConf } from './config/registries-conf.js';
import { ClientError, isClientError } from './errors.js';
import { discard } from './transports/registry/http.js';
import type { RetryPolicy } from './transports/registry/http.js';
import { registryErrorFrom } from './transports/registry/errors.js';
import { parseDockerName } from './transports/registry/reference.js';
import { RegistrySession } from './transports/registry/session.js';

export interface LoginOptions extends AuthFileOptions {
  /** `--tls-verify`: false allows plain HTTP and unverified TLS; default: registries.conf `insecure`. */
  tlsVerify?: boolean;
  /** `--cert-dir`. */
  certDir?: string;
  registriesConf?: RegistriesConf;
  retry?: Partial<RetryPolicy>;
}

export interface LoginTarget {
  /** The auth.json key: `host`, or `host/namespace/repo` for credentials that apply to that part only. */
  key: string;
  /** The registry host the key names (`docker.io` for Docker Hub). */
  registry: string;
}

/**
 * What `login REGISTRY` names: a URL (`https://HOST/v1/`, as Docker writes keys) names its host, a trailing `/` is dropped, a
 * `docker://` prefix is refused as skopeo refuses it, and a path makes a namespaced key.
 */
export function loginTarget(arg: string): LoginTarget {
  let s = arg.trim();
  if (s.startsWith('docker://')) throw new ClientError('REFERENCE_INVALID', `${arg}: login takes a registry (HOST[/NAMESPACE]), not a docker:// reference`);
  // `https://index.docker.io/v1/` (Docker's own key) names the registry: a URL's path is the API's, not a namespace.
  if (/^https?:\/\//.test(s)) s = s.replace(/^https?:\/\//, '').split('/')[0]!;
  s = s.replace(/\/+$/, '');
  if (s === '') throw new ClientError('REFERENCE_INVALID', 'login: the registry name is empty');
  const slash = s.indexOf('/');
  const host = slash === -1 ? s : s.slice(0, slash);
  const registry = host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
  if (slash !== -1) {
    const ref = parseDockerName(s);
    if (ref.tag !== undefined || ref.digest !== undefined) throw new ClientError('REFERENCE_INVALID', `${arg}: a login key cannot have a tag or digest`);
    return { key: `${registry}${s.slice(slash)}`, registry };
  }
  // Validates the host the way references do.
  parseDockerName(`${host}/x`);
  return { key: registry, registry };
}

/**
 * Checks `creds` against `registry` and resolves when the registry accepts them. A refusal (401 from the
 * registry, or from its token service) is ClientError `UNAUTHORIZED` "invalid username or password".
 */
export async function verifyLogin(registry: string, creds: { username: string; password: string }, opts: LoginOptions = {}): Promise<{ identityToken?: string }> {
  const first = await checkOnce(registry, creds, opts, true);
  if (!first.identityToken) return {};
  // Keep the refresh token only if it works on its own (the token service takes POST grant_type=refresh_token):
  // a service that hands them out but cannot take them back would leave a login with no password that works.
  try {
    await checkOnce(registry, { username: creds.username, password: '', identityToken: first.identityToken }, opts, false);
    return first;
  } catch (err) {
    if (isClientError(err, 'UNAUTHORIZED')) return {};
    throw err;
  }
}

async function checkOnce(registry: string, creds: { username: string; password: string; identityToken?: string }, opts: LoginOptions, offlineToken: boolean): Promise<{ identityToken?: string }> {
  const session = new RegistrySession({
    credentials: creds,
    offlineToken,
    ...(opts.tlsVerify !== undefined ? { tlsVerify: opts.tlsVerify } : {}),
    ...(opts.certDir ? { certDir: opts.certDir } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.registriesConf ? { registriesConf: opts.registriesConf } : {}),
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
  try {
    const client = await session.client(registry, '');
    let res;
    try {
      // An empty scope list: with Bearer, the token request carries no scope (as `docker login` sends it).
      res = await client.request({ method: 'GET', path: '/v2/', scopes: [] });
    } catch (err) {
      if (isClientError(err, 'UNAUTHORIZED')) throw refused(registry, err);
      throw err;
    }
    if (res.status === 200) {
      await discard(res.body);
      const identityToken = client.auth.identityToken;
      return identityToken ? { identityToken } : {};
    }
    const err = await registryErrorFrom(res.body, { what: `${registry}: GET /v2/` });
    if (res.status === 401) throw refused(registry, err);
    throw err;
  } finally {
    session.close();
  }
}

function refused(registry: string, cause: unknown): ClientError {
  return new ClientError('UNAUTHORIZED', `logging in to ${registry}: invalid username or password`, undefined, { cause });
}

/** verifyLogin, then saveCredentials: the auth.json written and the key used. Nothing is written on failure. */
export async function login(target: string | LoginTarget, creds: { username: string; password: string }, opts: LoginOptions = {}): Promise<{ key: string; path: string; identityToken?: true }> {
  const t = typeof target === 'string' ? loginTarget(target) : target;
  if (creds.username === '') throw new ClientError('UNAUTHORIZED', `logging in to ${t.registry}: the user name is empty`);
  const { identityToken } = await verifyLogin(t.registry, creds, opts);
  const path = await saveCredentials(t.key, identityToken ? { ...creds, identityToken } : creds, fileOptions(opts));
  return { key: t.key, path, ...(identityToken ? { identityToken: true } : {}) };
}

/** The user name stored for the registry (`login --get-login`); ClientError `UNAUTHORIZED` "not logged into" when there is none. */
export async function getLogin(target: string | LoginTarget, opts: AuthFileOptions = {}): Promise<string> {
  const t = typeof target === 'string' ? loginTarget(target) : target;
  const creds = await getCredentials(t.key, opts);
  if (!creds?.username) throw new ClientError('UNAUTHORIZED', `not logged into ${t.key}`);
  return creds.username;
}

/** The stored credentials for the registry, if any (to re-check them when login is run without a user). */
export async function storedCredentials(target: string | LoginTarget, opts: AuthFileOptions = {}): Promise<{ username: string; password: string } | undefined> {
  const t = typeof target === 'string' ? loginTarget(target) : target;
  const creds = await getCredentials(t.key, opts);
  return creds?.username !== undefined ? { username: creds.username, password: creds.password ?? '' } : undefined;
}

/**
 * Removes the registry's entry from the primary auth.json. When it is not there: ClientError `UNAUTHORIZED`,
 * "not logged into KEY", or, when another file (Docker's config.json) has credentials, a note that they
 * came from there (as podman says).
 */
export async function logout(target: string | LoginTarget, opts: AuthFileOptions = {}): Promise<{ key: string; path: string }> {
  const t = typeof target === 'string' ? loginTarget(target) : target;
  const path = primaryAuthFile(opts);
  if (await removeCredentials(t.key, opts)) return { key: t.key, path };
  const elsewhere = opts.authFile || (opts.env ?? process.env)['REGISTRY_AUTH_FILE'] ? undefined : await getCredentials(t.key, opts).catch(() => undefined);
  if (elsewhere) throw new ClientError('UNAUTHORIZED', `not logged into ${t.key} in ${path}; the credentials found come from another file (such as ~/.docker/config.json): remove them with the tool that wrote them`);
  throw new ClientError('UNAUTHORIZED', `not logged into ${t.key}`);
}

/** `logout --all`: empties the `auths` of the primary auth.json. */
export async function logoutAll(opts: AuthFileOptions = {}): Promise<string> {
  await removeAllCredentials(opts);
  return primaryAuthFile(opts);
}

function fileOptions(opts: LoginOptions): AuthFileOptions {
  return { ...(opts.authFile ? { authFile: opts.authFile } : {}), ...(opts.env ? { env: opts.env } : {}) };
}
