import { readFile } from 'node:fs/promises';
import { parseTrustedProxies } from '../http/client-address.js';
import { parse as parseYaml } from 'yaml';

/**
 * Server configuration. Precedence, lowest first: these defaults, the YAML file (`--config`), environment
 * variables, command-line flags. Every leaf has an environment variable named `BERTH_` + its path in upper
 * snake case: `gc.uploadTtl` is `BERTH_GC_UPLOAD_TTL`, `storage.filesystem.root` is
 * `BERTH_STORAGE_FILESYSTEM_ROOT`.
 */
export interface Config {
  /** `HOST:PORT` to listen on. */
  listen: string;
  /** Directory for the embedded default: metadata database, blobs, keys. */
  data: string;
  /** TLS is served when both are set (PEM files). */
  tls: { cert: string; key: string };
  /**
   * Proxies (addresses and CIDR ranges, comma-separated) whose `X-Forwarded-For` names the client, for login
   * throttling and the audit log. Empty: the socket's peer is the client.
   */
  trustedProxies: string;
  storage: {
    driver: 'filesystem' | 's3';
    filesystem: { root: string };
    /**
     * S3-compatible object storage. Credentials left empty come from the standard AWS environment
     * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles, instance roles).
     */
    s3: {
      bucket: string;
      region: string;
      /** For MinIO, Ceph and other S3-compatible servers; empty means AWS. */
      endpoint: string;
      forcePathStyle: boolean;
      accessKeyId: string;
      secretAccessKey: string;
      /** Key prefix inside the bucket. */
      rootDirectory: string;
      /** Answer blob GETs with a redirect to a presigned URL, so bytes flow from storage to the client. */
      redirect: boolean;
      redirectExpiry: string;
    };
  };
  /**
   * `sqlite://PATH` (the embedded default; empty means `sqlite://<data>/metadata.db`) or
   * `postgres://USER@HOST:PORT/DB` for many stateless nodes.
   */
  database: string;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'; requests: boolean };
  limits: { maxManifestBytes: number; maxPageSize: number };
  gc: {
    /** How often the server collects garbage; `0` turns the schedule off. */
    interval: string;
    /** Blobs, links and manifests younger than this are never collected. */
    grace: string;
    /** Uploads untouched this long are abandoned. */
    uploadTtl: string;
    deleteUntagged: boolean;
    /** Also delete stored bytes no record accounts for (crash leftovers); lists all of storage, so off by default. */
    sweepStorage: boolean;
  };
  /** PEM file of the EC P-256 key that signs schema-1 renderings; empty means `<data>/keys/schema1.pem`. */
  schema1: { keyFile: string };
  /** How long in-flight requests may run after SIGTERM. */
  shutdownGrace: string;
  auth: {
    /** On by default: no anonymous push. Turn off only on a trusted network. */
    enabled: boolean;
    /** The token audience, `service=` in the challenge. */
    service: string;
    issuer: string;
    /** Absolute URL of the token endpoint for the challenge; empty derives it from each request (`/v2/auth`). */
    realm: string;
    tokenTtl: string;
    /** Lifetime of refresh tokens (`docker login`'s identity token); `0` never expires. */
    refreshTokenTtl: string;
    /** Password of the `admin` superuser created on first start; empty generates one and prints it once. */
    adminPassword: string;
    /** Failed logins allowed per account before it is locked for a doubling delay (ten times that per address). */
    loginAttempts: number;
    /** How long audit events are kept; older ones are deleted with each garbage collection. `0` keeps them all. */
    auditRetention: string;
    /** The longest lock after failed logins. */
    maxLockout: string;
  };
  /** Vulnerability scanning of pushed images (docs/scanning.md). */
  scan: {
    /** Scan every pushed image manifest and index in the background. */
    enabled: boolean;
    /** Manifests scanned at the same time on each node. */
    concurrency: number;
    /** How often an idle node looks for queued scans and stale grades. */
    pollInterval: string;
    /** How long a node holds a claimed scan before another node may take it over (renewed while it runs). */
    leaseTime: string;
    /** Attempts before a scan that keeps failing on storage errors is recorded as failed. */
    maxAttempts: number;
  };
  /** Certification of pushed tags in the background, and auto-publish (docs/certification.md). */
  certify: {
    /** Certify every pushed tag, and publish where repositories ask for auto-publish. */
    enabled: boolean;
    /** Certifications run at the same time on each node (each unpacks an image's layers). */
    concurrency: number;
    /** How often an idle node looks for queued certifications and tags ready to auto-publish. */
    pollInterval: string;
    /** How long a node holds a claimed certification before another node may take it over (renewed while it runs). */
    leaseTime: string;
    /** Attempts before an image that keeps failing on storage errors is recorded as an error. */
    maxAttempts: number;
    /** A BasedOnUbi table of UBI top-layer diffIDs (docs/policy/based-on-ubi.md); empty: the shipped one. */
    ubiLayersFile: string;
    /** The registry's name in reports (`registry.example.com`); empty: reports name `repository:tag`. */
    registryName: string;
  };
}

export const DEFAULT_CONFIG: Config = {
  listen: '127.0.0.1:5000',
  data: './data',
  tls: { cert: '', key: '' },
  trustedProxies: '',
  storage: {
    driver: 'filesystem',
    filesystem: { root: '' },
    s3: {
      bucket: '',
      region: 'us-east-1',
      endpoint: '',
      forcePathStyle: false,
      accessKeyId: '',
      secretAccessKey: '',
      rootDirectory: '',
      redirect: false,
      redirectExpiry: '20m',
    },
  },
  database: '',
  log: { level: 'info', requests: true },
  limits: { maxManifestBytes: 4 * 1024 * 1024, maxPageSize: 100_000 },
  gc: { interval: '1h', grace: '1h', uploadTtl: '24h', deleteUntagged: true, sweepStorage: false },
  schema1: { keyFile: '' },
  shutdownGrace: '30s',
  auth: {
    enabled: true,
    service: 'berth',
    issuer: 'berth',
    realm: '',
    tokenTtl: '5m',
    refreshTokenTtl: '30d',
    adminPassword: '',
    loginAttempts: 5,
    maxLockout: '5m',
    auditRetention: '90d',
  },
  scan: { enabled: true, concurrency: 2, pollInterval: '2s', leaseTime: '5m', maxAttempts: 5 },
  certify: { enabled: true, concurrency: 1, pollInterval: '2s', leaseTime: '10m', maxAttempts: 5, ubiLayersFile: '', registryName: '' },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Tree = { [k: string]: unknown };

/** Loads defaults, then the file, then the environment. */
export async function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Config> {
  const config = structuredClone(DEFAULT_CONFIG) as unknown as Tree;
  if (opts.file) {
    let text: string;
    try {
      text = await readFile(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${opts.file} is not valid YAML: ${(err as Error).message}`, { cause: err });
    }
    if (parsed !== null && parsed !== undefined) merge(config, parsed, '', opts.file);
  }
  applyEnv(config, opts.env ?? process.env, '');
  const result = config as unknown as Config;
  validate(result);
  return result;
}

function merge(target: Tree, source: unknown, path: string, file: string): void {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new ConfigError(`${file}: ${path || 'the document'} must be a mapping`);
  }
  for (const [key, value] of Object.entries(source)) {
    const where = path ? `${path}.${key}` : key;
    if (!(key in target)) throw new ConfigError(`${file}: unknown setting ${where}`);
    const current = target[key];
    if (typeof current === 'object' && current !== null) merge(current as Tree, value, where, file);
    else target[key] = coerce(value, current, where, file);
  }
}

function applyEnv(target: Tree, env: NodeJS.ProcessEnv, path: string): void {
  for (const [key, current] of Object.entries(target)) {
    const where = path ? `${path}.${key}` : key;
    if (typeof current === 'object' && current !== null) {
      applyEnv(current as Tree, env, where);
      continue;
    }
    const name = envName(where);
    const raw = env[name];
    if (raw !== undefined) target[key] = coerce(raw, current, where, `environment ${name}`);
  }
}

/** `gc.uploadTtl` → `BERTH_GC_UPLOAD_TTL`. */
export function envName(path: string): string {
  return `BERTH_${path.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()}`;
}

function coerce(value: unknown, like: unknown, where: string, origin: string): unknown {
  if (typeof like === 'number') {
    const n = typeof value === 'string' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new ConfigError(`${origin}: ${where} must be a number`);
    return n;
  }
  if (typeof like === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new ConfigError(`${origin}: ${where} must be true or false`);
  }
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw new ConfigError(`${origin}: ${where} must be a string`);
  return value;
}

function validate(c: Config): void {
  parseListen(c.listen);
  try {
    parseTrustedProxies(c.trustedProxies);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  for (const key of ['interval', 'grace', 'uploadTtl'] as const) parseDuration(c.gc[key], `gc.${key}`);
  parseDuration(c.shutdownGrace, 'shutdownGrace');
  for (const key of ['tokenTtl', 'refreshTokenTtl', 'maxLockout', 'auditRetention'] as const) parseDuration(c.auth[key], `auth.${key}`);
  if (parseDuration(c.auth.tokenTtl) < 60_000) throw new ConfigError('auth.tokenTtl must be at least 60s (clients treat less as 60s)');
  if (c.auth.realm && !/^https?:\/\//.test(c.auth.realm)) throw new ConfigError('auth.realm must be an absolute http(s) URL');
  if (!Number.isInteger(c.auth.loginAttempts) || c.auth.loginAttempts < 1) throw new ConfigError('auth.loginAttempts must be a positive integer');
  if (c.storage.driver !== 'filesystem' && c.storage.driver !== 's3') {
    throw new ConfigError(`storage.driver ${JSON.stringify(c.storage.driver)} is not supported (filesystem, s3)`);
  }
  if (c.storage.driver === 's3' && !c.storage.s3.bucket) throw new ConfigError('storage.s3.bucket is required with storage.driver s3');
  parseDuration(c.storage.s3.redirectExpiry, 'storage.s3.redirectExpiry');
  if (c.database && !/^(sqlite|postgres|postgresql):\/\//.test(c.database)) {
    throw new ConfigError(`database must be sqlite://PATH or postgres://…, got ${JSON.stringify(redactUrl(c.database))}`);
  }
  if (Boolean(c.tls.cert) !== Boolean(c.tls.key)) throw new ConfigError('tls.cert and tls.key must be set together');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(c.log.level)) throw new ConfigError(`log.level ${c.log.level} is not a level`);
  if (c.limits.maxManifestBytes < 1024) throw new ConfigError('limits.maxManifestBytes must be at least 1024');
  if (!Number.isInteger(c.scan.concurrency) || c.scan.concurrency < 1) throw new ConfigError('scan.concurrency must be a positive integer');
  if (!Number.isInteger(c.scan.maxAttempts) || c.scan.maxAttempts < 1) throw new ConfigError('scan.maxAttempts must be a positive integer');
  if (parseDuration(c.scan.pollInterval, 'scan.pollInterval') < 10) throw new ConfigError('scan.pollInterval must be at least 10ms');
  if (parseDuration(c.scan.leaseTime, 'scan.leaseTime') < 3000) throw new ConfigError('scan.leaseTime must be at least 3s');
  if (!Number.isInteger(c.certify.concurrency) || c.certify.concurrency < 1) throw new ConfigError('certify.concurrency must be a positive integer');
  if (!Number.isInteger(c.certify.maxAttempts) || c.certify.maxAttempts < 1) throw new ConfigError('certify.maxAttempts must be a positive integer');
  if (parseDuration(c.certify.pollInterval, 'certify.pollInterval') < 10) throw new ConfigError('certify.pollInterval must be at least 10ms');
  if (parseDuration(c.certify.leaseTime, 'certify.leaseTime') < 3000) throw new ConfigError('certify.leaseTime must be at least 3s');
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`listen address ${JSON.stringify(s)} is not HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `1h30m`, `7d`, or `0`, in milliseconds. */
export function parseDuration(s: string, where = 'duration'): number {
  if (s.trim() === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw new ConfigError(`${where}: ${JSON.stringify(s)} is not a duration such as 90s, 10m, 1h or 7d`);
  return total;
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** Whether the configuration uses the embedded, single-process metadata store. */
export function isEmbedded(c: Config): boolean {
  return !c.database || c.database.startsWith('sqlite://');
}
