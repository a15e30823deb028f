// Helpers for the interop tests: skopeo and umoci run as real child processes against a real Berth server.
// Everything a tool could read from the machine (auth.json, policy.json, registries.conf, $HOME) is
// replaced by files in a private temporary directory, so the machine's configuration never matters.
import { execFile as execFileCallback, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);

export const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
export const hasUmoci = spawnSync('umoci', ['--version']).status === 0;

/** Generous: a cold skopeo or umoci start is well under a second, but CI machines can be slow. */
export const TOOL_TEST_TIMEOUT = 60_000;

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `http://127.0.0.1:1234` → `127.0.0.1:1234`, the registry host as skopeo names it. */
export function hostOf(url: string): string {
  return new URL(url).host;
}

// --- minimal OCI / Docker JSON shapes -------------------------------------------------------------

export interface JsonDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface JsonManifest {
  schemaVersion: number;
  mediaType?: string;
  config: JsonDescriptor;
  layers: JsonDescriptor[];
}

export interface JsonIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: JsonDescriptor[];
}

export interface JsonImageConfig {
  architecture: string;
  os: string;
  config?: { User?: string; Entrypoint?: string[]; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<{ created_by?: string; empty_layer?: boolean }>;
}

export function parseJson<T>(bytes: Uint8Array | string): T {
  return JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8')) as T;
}

// --- the sandbox: a temp dir with private tool configuration ---------------------------------------

export interface Sandbox {
  dir: string;
  /** A fresh path inside the sandbox (not created). */
  path(name: string): string;
  /** Runs skopeo with the private policy, registries.d, registries.conf and auth file; resolves to stdout. */
  skopeo(args: string[]): Promise<string>;
  /** Runs skopeo and expects it to fail; resolves to its stderr. */
  skopeoFails(args: string[]): Promise<string>;
  umoci(args: string[]): Promise<string>;
  /** `skopeo copy` with plain HTTP on both sides and no retries. */
  copy(src: string, dest: string, extra?: string[]): Promise<string>;
  /** `skopeo inspect` with plain HTTP and no retries; resolves to stdout. */
  inspect(ref: string, extra?: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-interop-'));
  const authfile = join(dir, 'auth.json');
  const policy = join(dir, 'policy.json');
  const registriesConf = join(dir, 'registries.conf');
  const registriesD = join(dir, 'registries.d');
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  await Promise.all([mkdir(registriesD), mkdir(home), mkdir(tmp)]);
  await writeFile(authfile, '{}');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(registriesConf, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmp,
    XDG_RUNTIME_DIR: join(home, 'run'),
    XDG_CONFIG_HOME: join(home, 'config'),
    REGISTRY_AUTH_FILE: authfile,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
  };
  let counter = 0;

  async function run(tool: string, args: string[]): Promise<string> {
    try {
      const { stdout } = await execFile(tool, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: TOOL_TEST_TIMEOUT });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string; code?: number | string };
      throw new Error(`${tool} ${args.join(' ')} failed (${String(e.code)}): ${e.stderr ?? e.message}`, { cause: err });
    }
  }
  const skopeoArgs = (args: string[]) => ['--policy', policy, '--registries.d', registriesD, ...args];

  const sandbox: Sandbox = {
    dir,
    path: (name) => join(dir, `${name}-${++counter}`),
    skopeo: (args) => run('skopeo', skopeoArgs(args)),
    async skopeoFails(args) {
      try {
        const { stdout } = await execFile('skopeo', skopeoArgs(args), { env, timeout: TOOL_TEST_TIMEOUT });
        throw new Error(`skopeo ${args.join(' ')} unexpectedly succeeded: ${stdout}`);
      } catch (err) {
        const e = err as Error & { stderr?: string };
        if (e.stderr === undefined) throw err;
        return e.stderr;
      }
    },
    umoci: (args) => run('umoci', args),
    copy: (src, dest, extra = []) =>
      sandbox.skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, src, dest]),
    inspect: (ref, extra = []) => sandbox.skopeo(['inspect', '--retry-times', '0', '--tls-verify=false', ...extra, ref]),
    close: () => rm(dir, { recursive: true, force: true }),
  };
  return sandbox;
}

// --- building images with umoci --------------------------------------------------------------------

/** Files added by one layer: path inside the rootfs → content. */
export type LayerFiles = Record<string, Buffer>;

/** A few hundred KiB in three layers: incompressible data, text, and a file that a later layer overwrites. */
export function sampleLayers(): LayerFiles[] {
  return [
    { 'app/data.bin': randomBytes(160 * 1024), 'app/readme.txt': Buffer.from('berth interop layer 1\n'.repeat(500)) },
    { 'app/more/blob.bin': randomBytes(96 * 1024), 'etc/app.conf': Buffer.from('mode=first\n') },
    { 'bin/app': randomBytes(64 * 1024), 'etc/app.conf': Buffer.from('mode=second\n') },
  ];
}

/** What the rootfs holds after all layers are applied in order. */
export function flatten(layers: LayerFiles[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const layer of layers) for (const [p, b] of Object.entries(layer)) out.set(p, b);
  return out;
}

export interface UmociConfig {
  user?: string;
  labels?: Record<string, string>;
  entrypoint?: string;
  os?: string;
  architecture?: string;
}

/**
 * `umoci init` (if `init`), `umoci new`, then one unpack/add files/repack per layer, then `umoci config`.
 * The image is tagged `tag` in the OCI layout at `layout`.
 */
export async function buildUmociImage(
  sb: Sandbox,
  opts: { layout: string; tag: string; layers: LayerFiles[]; config?: UmociConfig; init?: boolean },
): Promise<void> {
  const image = `${opts.layout}:${opts.tag}`;
  if (opts.init ?? true) await sb.umoci(['init', '--layout', opts.layout]);
  await sb.umoci(['new', '--image', image]);
  for (const layer of opts.layers) {
    // A fresh bundle per layer: a second repack of the same bundle replaces the first layer rather than adding one.
    const bundle = sb.path('bundle');
    await sb.umoci(['unpack', '--rootless', '--image', image, bundle]);
    for (const [p, bytes] of Object.entries(layer)) {
      const file = join(bundle, 'rootfs', p);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes);
    }
    await sb.umoci(['repack', '--image', image, bundle]);
    await rm(bundle, { recursive: true, force: true });
  }
  const c = opts.config;
  if (c) {
    const args = ['config', '--image', image];
    if (c.user !== undefined) args.push('--config.user', c.user);
    for (const [k, v] of Object.entries(c.labels ?? {})) args.push('--config.label', `${k}=${v}`);
    if (c.entrypoint !== undefined) args.push('--config.entrypoint', c.entrypoint);
    if (c.os !== undefined) args.push('--os', c.os);
    if (c.architecture !== undefined) args.push('--architecture', c.architecture);
    await sb.umoci(args);
  }
}

// --- reading OCI layouts and dir: transport output -------------------------------------------------

export async function readLayoutBlob(layout: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return readFile(join(layout, 'blobs', algorithm, hex));
}

export async function readLayoutIndex(layout: string): Promise<JsonIndex> {
  return parseJson<JsonIndex>(await readFile(join(layout, 'index.json')));
}

/** The descriptor that `index.json` names `tag` (`org.opencontainers.image.ref.name`). */
export async function layoutDescriptor(layout: string, tag: string): Promise<JsonDescriptor> {
  const index = await readLayoutIndex(layout);
  const found = index.manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (found.length !== 1) throw new Error(`${layout} has ${found.length} entries tagged ${tag}`);
  return found[0]!;
}

/** Writes a blob into an OCI layout and returns its descriptor. */
export async function writeLayoutBlob(layout: string, bytes: Buffer, mediaType: string): Promise<JsonDescriptor> {
  const digest = sha256(bytes);
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** Adds (or replaces) a tagged entry in a layout's `index.json`. */
export async function tagInLayout(layout: string, tag: string, desc: JsonDescriptor): Promise<void> {
  const index = await readLayoutIndex(layout);
  index.manifests = index.manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  index.manifests.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
}

/** A blob written by skopeo's `dir:` transport (named by the hex digest alone). */
export async function readDirBlob(dir: string, digest: string): Promise<Buffer> {
  return readFile(join(dir, digest.slice(digest.indexOf(':') + 1)));
}

/** `skopeo manifest-digest FILE`: skopeo's own idea of the digest (signature-stripping for schema 1). */
export async function manifestDigestOf(sb: Sandbox, file: string): Promise<string> {
  return (await sb.skopeo(['manifest-digest', file])).trim();
}

/** Asserts (by throwing) that every layer and the config of `manifest` is present in `read` with matching bytes. */
export async function checkBlobs(manifest: JsonManifest, read: (digest: string) => Promise<Buffer>): Promise<void> {
  for (const d of [manifest.config, ...manifest.layers]) {
    const bytes = await read(d.digest);
    if (sha256(bytes) !== d.digest) throw new Error(`blob ${d.digest} has content ${sha256(bytes)}`);
    if (bytes.length !== d.size) throw new Error(`blob ${d.digest} has ${bytes.length} bytes, descriptor says ${d.size}`);
  }
}

// --- talking to the registry directly ---------------------------------------------------------------

export const ACCEPT_ALL = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
].join(', ');

export interface FetchedManifest {
  status: number;
  digest: string | null;
  mediaType: string | null;
  body: Buffer;
}

export async function fetchManifest(url: string, repo: string, ref: string, accept = ACCEPT_ALL): Promise<FetchedManifest> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, digest: res.headers.get('docker-content-digest'), mediaType: res.headers.get('content-type'), body };
}

export async function fetchBlob(url: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob ${repo}@${digest}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

// --- a forwarding proxy that makes clients paginate --------------------------------------------------

export interface PagingProxy {
  url: string;
  /** Every request path seen, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of `target` that adds `n=pageSize` to tag-list requests that have no `n`.
 * Berth returns every tag in one page when the client asks for no page size; this makes a client that
 * follows `Link` headers (skopeo does) walk the registry's real pagination.
 */
export async function startPagingProxy(target: string, pageSize: number): Promise<PagingProxy> {
  const to = new URL(target);
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', target);
    if (u.pathname.endsWith('/tags/list') && !u.searchParams.has('n')) u.searchParams.set('n', String(pageSize));
    requests.push(u.pathname + u.search);
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: u.pathname + u.search, headers: { ...req.headers, host: to.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => res.destroy(err));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

// --- schema 1 signatures (libtrust JWS), checked independently of Berth's own code -------------------

interface Schema1Signature {
  header: { jwk: JsonWebKey; alg: string };
  signature: string;
  protected: string;
}

/**
 * Verifies every libtrust signature on a signed schema-1 manifest, as an old Docker client does, and returns
 * the signed payload (whose sha256 is the manifest digest). ES256 only: what skopeo and distribution use.
 */
export function verifySchema1(body: Buffer): Buffer {
  const signatures = parseJson<{ signatures?: Schema1Signature[] }>(body).signatures ?? [];
  if (signatures.length === 0) throw new Error('schema 1 manifest has no signatures');
  let payload: Buffer | undefined;
  for (const sig of signatures) {
    const header = parseJson<{ formatLength: number; formatTail: string }>(Buffer.from(sig.protected, 'base64url'));
    const signed = Buffer.concat([body.subarray(0, header.formatLength), Buffer.from(header.formatTail, 'base64url')]);
    if (payload && !payload.equals(signed)) throw new Error('signatures cover different payloads');
    payload = signed;
    if (sig.header.alg !== 'ES256') throw new Error(`unexpected alg ${sig.header.alg}`);
    const key = createPublicKey({ key: sig.header.jwk, format: 'jwk' });
    const input = Buffer.from(`${sig.protected}.${signed.toString('base64url')}`);
    if (!verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig.signature, 'base64url'))) {
      throw new Error('schema 1 signature does not verify');
    }
  }
  return payload!;
}
