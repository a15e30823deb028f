/**
 * What one registry transport shares between its sources and destinations: the options (as skopeo's
 * `--tls-verify`, `--cert-dir`, `--creds`, `--authfile`, `--registry-token`, `--retry-times` give them),
 * registries.conf, and one RegistryClient per registry and credentials, so tokens and keep-alive connections
 * are reused across images.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getCredentials, type Credentials } from '../../config/auth-file.js';
import { isInsecureRegistry, loadRegistriesConf, resolveEndpoints, type RegistriesConf } from '../../config/registries-conf.js';
import { RegistryClient } from './client.js';
import { Connections, DEFAULT_RETRY, loadCertDir, systemRoots, type RetryPolicy, type TlsConfig } from './http.js';
import type { DockerReference } from './reference.js';

export interface RegistryOptions {
  /** registries.conf already loaded; default: read from the usual places on first use. */
  registriesConf?: RegistriesConf;
  /** `--authfile`: read (and only read) credentials from this file. */
  authFile?: string;
  /** Environment for configuration lookups (HOME, XDG_*, REGISTRY_AUTH_FILE, CONTAINERS_REGISTRIES_CONF). */
  env?: NodeJS.ProcessEnv;
  /** `--creds user:password`: used instead of auth.json (with `identityToken`, tokens come by refresh grant). */
  credentials?: { username: string; password: string; identityToken?: string };
  /** `--registry-token`: a bearer token sent as is. */
  registryToken?: string;
  /** `--no-creds`: access registries anonymously. */
  noCreds?: boolean;
  /** `--tls-verify`: false allows plain HTTP and unverified TLS everywhere; default: registries.conf `insecure`. */
  tlsVerify?: boolean;
  /** `--cert-dir`: CA certificates and client key pairs; default `/etc/containers/certs.d/HOST` and the like. */
  certDir?: string;
  retry?: Partial<RetryPolicy>;
  /** Ask token services with OAuth2 POST `grant_type=password` instead of GET with Basic credentials. */
  forceOAuth?: boolean;
  /** Ask token services for a refresh token (login; see AuthSettings.offlineToken). */
  offlineToken?: boolean;
  userAgent?: string;
  /**
   * Push blobs in PATCH chunks of this many bytes (distribution-spec "chunked upload"), resuming a chunk that
   * failed from where the registry says the upload stands. Unset: one monolithic PUT per blob.
   */
  chunkSize?: number;
}

export interface Endpointed {
  client: RegistryClient;
  repository: string;
  mirror: boolean;
}

const USER_AGENT = 'berth/0.1';

export class RegistrySession {
  private confCache: RegistriesConf | undefined;
  private readonly clients = new Map<string, Promise<RegistryClient>>();
  private readonly connections: Connections[] = [];
  readonly retry: RetryPolicy;

  constructor(readonly options: RegistryOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** registries.conf (loaded on first use). */
  get conf(): RegistriesConf {
    return (this.confCache ??= this.options.registriesConf ?? loadRegistriesConf(this.options.env ? { env: this.options.env } : {}));
  }


  /** The endpoints to use for `ref`: mirrors then the primary for pulls, the primary alone for pushes. */
  async endpoints(ref: DockerReference, purpose: 'pull' | 'push'): Promise<Endpointed[]> {
    const list = resolveEndpoints(this.conf, ref.name, ref.digest ?? ref.tag, purpose);
    return Promise.all(list.map(async (e) => ({ client: await this.client(e.registry, e.repository, e.insecure), repository: e.repository, mirror: e.mirror })));
  }

  private async credentialsFor(registry: string, repository: string): Promise<Credentials | undefined> {
    if (this.options.noCreds) return undefined;
    if (this.options.credentials) return this.options.credentials;
    return getCredentials(`${registry}/${repository}`, { ...(this.options.authFile ? { authFile: this.options.authFile } : {}), ...(this.options.env ? { env: this.options.env } : {}) });
  }

  /** The client for `registry` with the credentials that apply to `repository` (shared when they are the same). */
  async client(registry: string, repository: string, insecureEndpoint = false): Promise<RegistryClient> {
    const creds = await this.credentialsFor(registry, repository);
    const insecure = this.options.tlsVerify === false || (this.options.tlsVerify === undefined && (insecureEndpoint || isInsecureRegistry(this.conf, registry)));
    const key = `${registry}\0${insecure}\0${JSON.stringify(creds ?? null)}`;
    let p = this.clients.get(key);
    if (!p) {
      p = this.makeClient(registry, insecure, creds);
      this.clients.set(key, p);
      p.catch(() => this.clients.delete(key));
    }
    return p;
  }

  private async makeClient(registry: string, insecure: boolean, creds: Credentials | undefined): Promise<RegistryClient> {
    const roots = insecure ? undefined : systemRoots(this.options.env ?? process.env);
    const tls: TlsConfig = { verify: !insecure, ...(roots !== undefined ? { roots } : {}), ...(await this.certsFor(registry)) };
    const conn = new Connections(tls);
    this.connections.push(conn);
    return new RegistryClient({
      registry,
      insecure,
      conn,
      retry: this.retry,
      userAgent: this.options.userAgent ?? USER_AGENT,
      auth: {
        credentials: () => Promise.resolve(creds),
        clientId: 'berth',
        ...(this.options.registryToken ? { registryToken: this.options.registryToken } : {}),
        ...(this.options.forceOAuth ? { forceOAuth: true } : {}),
        ...(this.options.offlineToken ? { offlineToken: true } : {}),
      },
    });
  }

  /** `--cert-dir`, else the first of the containers-certs.d(5) directories for this host that has files. */
  private async certsFor(registry: string): Promise<Omit<TlsConfig, 'verify'>> {
    if (this.options.certDir) return loadCertDir(this.options.certDir);
    const env = this.options.env ?? process.env;
    const home = env['HOME'] ?? homedir();
    for (const dir of [join(home, '.config', 'containers', 'certs.d', registry), join('/etc/containers/certs.d', registry), join('/etc/docker/certs.d', registry)]) {
      const c = await loadCertDir(dir);
      if (c.ca || c.cert) return c;
    }
    return {};
  }

  /** Closes every connection (idle keep-alive sockets do not keep the process alive, but this frees them now). */
  close(): void {
    for (const c of this.connections.splice(0)) c.close();
    this.clients.clear();
  }
}
