/**
 * auth.json (containers-auth.json(5)) read in skopeo's lookup order and written for login/logout.
 *
 * Files, in order; the first that has credentials for the registry wins:
 * 1. an explicit path (`--authfile`, else `REGISTRY_AUTH_FILE`): that file alone, no fallbacks;
 * 2. `${XDG_RUNTIME_DIR}/containers/auth.json` (without XDG_RUNTIME_DIR: `/run/containers/$UID/auth.json`),
 *    the file login writes;
 * 3. `${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json`;
 * 4. `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`;
 * 5. `$HOME/.dockercfg` (the legacy format: the `auths` map at the top level).
 *
 * Within a file: `credHelpers[host]` first (run `docker-credential-<name> get` with the host on stdin), then
 * `auths` keys from the most specific (`host/ns/repo`) to the least (`host`), then keys normalised as Docker
 * writes them (`https://index.docker.io/v1/` → `docker.io`). `auth` is base64 `user:password`;
 * `identitytoken` is an OAuth2 refresh token.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClientError } from '../errors.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (auth.json `identitytoken`, or a helper's `<token>` user). */
  identityToken?: string;
}

export interface AuthFileOptions {
  /** `--authfile`: only this file is read and written. */
  authFile?: string;
  /** Environment (default process.env): HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, DOCKER_CONFIG, REGISTRY_AUTH_FILE, PATH. */
  env?: NodeJS.ProcessEnv;
}

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

interface AuthPath {
  path: string;
  /** `.dockercfg`: the auths map is the whole file. */
  legacy: boolean;
}

/** The file login writes (and logout edits): the explicit one, else `${XDG_RUNTIME_DIR}/containers/auth.json`. */
export function primaryAuthFile(opts: AuthFileOptions = {}): string {
  const env = opts.env ?? process.env;
  const explicit = opts.authFile ?? (env['REGISTRY_AUTH_FILE'] || undefined);
  if (explicit) return explicit;
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime) return join(runtime, 'containers', 'auth.json');
  if (process.platform !== 'linux') return join(env['HOME'] ?? '', '.config', 'containers', 'auth.json');
  return join('/run/containers', String(process.getuid?.() ?? 0), 'auth.json');
}

/** Every file credentials are looked up in, in order. */
export function authFilesInOrder(opts: AuthFileOptions = {}): AuthPath[] {
  const env = opts.env ?? process.env;
  const explicit = opts.authFile ?? (env['REGISTRY_AUTH_FILE'] || undefined);
  if (explicit) return [{ path: explicit, legacy: false }];
  const home = env['HOME'] ?? '';
  const out: AuthPath[] = [{ path: primaryAuthFile(opts), legacy: false }];
  out.push({ path: join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'containers', 'auth.json'), legacy: false });
  out.push({ path: env['DOCKER_CONFIG'] ? join(env['DOCKER_CONFIG'], 'config.json') : join(home, '.docker', 'config.json'), legacy: false });
  out.push({ path: join(home, '.dockercfg'), legacy: true });
  return out.filter((p, i) => out.findIndex((q) => q.path === p.path) === i);
}

async function readAuthFile(p: AuthPath): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(p.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ClientError('CONFIG_INVALID', `cannot read ${p.path}: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ClientError('CONFIG_INVALID', `${p.path}: not valid JSON`, undefined, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ClientError('CONFIG_INVALID', `${p.path}: not a JSON object`);
  if (p.legacy) return { auths: json as Record<string, AuthEntry> };
  return json as AuthFile;
}

/** `host/ns/repo` → [`host/ns/repo`, `host/ns`, `host`]. */
function keysFor(key: string): string[] {
  const parts = key.split('/');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('/'));
}

/** Docker writes `https://index.docker.io/v1/`; containers/image compares hosts with scheme and path removed. */
function normaliseKey(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0]!;
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function decodeEntry(entry: AuthEntry, where: string): Credentials | undefined {
  const out: Credentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw new ClientError('CONFIG_INVALID', `${where}: "auth" is not base64 of user:password`);
    out.username = decoded.slice(0, colon);
    // containers/image trims trailing NULs that some tools leave.
    out.password = decoded.slice(colon + 1).replace(/\0+$/, '');
  }
  if (entry.identitytoken) out.identityToken = entry.identitytoken;
  return out.username !== undefined || out.identityToken !== undefined ? out : undefined;
}

/**
 * Credentials for `key` (`host`, or `host/ns/repo` to let a namespaced entry win), searching the files in
 * lookup order. Undefined when nothing matches. `docker.io` is the key for Docker Hub.
 */
export async function getCredentials(key: string, opts: AuthFileOptions = {}): Promise<Credentials | undefined> {
  const host = key.split('/')[0]!;
  for (const p of authFilesInOrder(opts)) {
    const file = await readAuthFile(p);
    if (!file) continue;
    const helper = file.credHelpers?.[host] ?? (host === 'docker.io' ? file.credHelpers?.['index.docker.io'] ?? file.credHelpers?.['https://index.docker.io/v1/'] : undefined);
    if (helper) return credentialHelperGet(helper, host, opts.env);
    const auths = file.auths ?? {};
    for (const k of keysFor(key)) {
      const entry = auths[k];
      // An empty entry is a marker some tools write for a credential helper; it holds nothing.
      const creds = entry && decodeEntry(entry, `${p.path}: ${k}`);
      if (creds) return creds;
    }
    for (const [k, entry] of Object.entries(auths)) {
      if (k.includes('://') || normaliseKey(k) !== k) {
        if (normaliseKey(k) === normaliseKey(host)) {
          const creds = decodeEntry(entry, `${p.path}: ${k}`);
          if (creds) return creds;
        }
      }
    }
  }
  return undefined;
}

/** Runs `docker-credential-<helper> get` with `host` on stdin (the docker-credential-helpers protocol). */
export async function credentialHelperGet(helper: string, host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const bin = `docker-credential-${helper}`;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(bin, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new ClientError('CONFIG_INVALID', `credential helper ${bin}: ${e.message}`, undefined, { cause: e })));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(host);
  });
  if (code !== 0) {
    const msg = `${stdout}${stderr}`.trim();
    if (/credentials not found/i.test(msg)) return undefined;
    throw new ClientError('CONFIG_INVALID', `credential helper ${bin} failed for ${host}: ${msg || `exit ${code}`}`);
  }
  let json: { Username?: string; Secret?: string };
  try {
    json = JSON.parse(stdout) as { Username?: string; Secret?: string };
  } catch (cause) {
    throw new ClientError('CONFIG_INVALID', `credential helper ${bin}: output is not JSON`, undefined, { cause });
  }
  if (json.Username === '<token>') return { identityToken: json.Secret ?? '' };
  return { username: json.Username ?? '', password: json.Secret ?? '' };
}

async function readForUpdate(path: string): Promise<AuthFile> {
  return (await readAuthFile({ path, legacy: false })) ?? {};
}

/** Replaces `path` with `file` atomically (temp file + rename), mode 0600, its directory created 0700. */
async function writeAuthFile(path: string, file: AuthFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(file, null, '\t')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Stores credentials for `key` (`host` or `host/ns/repo`) in the primary file, as `podman login` does. */
export async function saveCredentials(key: string, creds: { username: string; password: string; identityToken?: string } | { identityToken: string }, opts: AuthFileOptions = {}): Promise<string> {
  const path = primaryAuthFile(opts);
  const file = await readForUpdate(path);
  // With a refresh token the password is not kept, as `docker login` does: `auth` holds "user:" and the token goes beside it.
  const entry: AuthEntry = !('username' in creds)
    ? { identitytoken: creds.identityToken }
    : creds.identityToken
      ? { auth: Buffer.from(`${creds.username}:`).toString('base64'), identitytoken: creds.identityToken }
      : { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  file.auths = { ...(file.auths ?? {}), [key]: entry };
  await writeAuthFile(path, file);
  return path;
}

/** Removes the credentials for `key` from the primary file; false when there were none. */
export async function removeCredentials(key: string, opts: AuthFileOptions = {}): Promise<boolean> {
  const path = primaryAuthFile(opts);
  const file = await readForUpdate(path);
  if (!file.auths || !(key in file.auths)) return false;
  delete file.auths[key];
  await writeAuthFile(path, file);
  return true;
}

/** `logout --all`: removes every entry from the primary file. */
export async function removeAllCredentials(opts: AuthFileOptions = {}): Promise<void> {
  const path = primaryAuthFile(opts);
  const file = await readForUpdate(path);
  file.auths = {};
  await writeAuthFile(path, file);
}
