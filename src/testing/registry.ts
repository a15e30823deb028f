import { generateKeyPairSync } from 'node:crypto';
import { parseTrustedProxies } from '../http/client-address.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MemoryDriver } from '../storage/memory/driver.js';
import { FsDriver } from '../storage/fs/driver.js';
import { SqliteStore } from '../metadata/sqlite/store.js';
import type { MetadataStore } from '../metadata/store.js';
import { InProcessLocker } from '../metadata/locks.js';
import { UploadHashes } from '../registry/upload-hashes.js';
import { DEFAULT_LIMITS, type RegistryDeps, type RegistryLimits } from '../registry/deps.js';
import { startServer, type RunningServer } from '../http/server.js';
import { AuthService, type AuthConfig } from '../auth/service.js';

export interface TestRegistry {
  url: string;
  deps: RegistryDeps;
  server: RunningServer;
  dir: string;
  /** With `auth`: the service, and the superuser `admin`'s password. */
  auth?: AuthService;
  adminPassword?: string;
  close(): Promise<void>;
}

/** The test registry's auth settings: short names, default lifetimes, a throttle tests can trip quickly. */
export const TEST_AUTH_CONFIG: AuthConfig = {
  service: 'berth-test',
  issuer: 'berth-test',
  tokenTtlSeconds: 300,
  refreshTokenTtlSeconds: 3600,
  throttle: { freeAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 },
};

/**
 * A real registry on a loopback port 0, on a temporary SQLite file and the memory driver (or the
 * filesystem driver with `driver: 'fs'`). Tests talk to it over real sockets with fetch. `store` puts it on
 * another metadata store (closed with the registry), e.g. several nodes on one PostgreSQL schema.
 */
export async function startTestRegistry(
  opts: { driver?: 'memory' | 'fs'; limits?: Partial<RegistryLimits>; auth?: boolean | Partial<AuthConfig>; store?: MetadataStore; trustedProxies?: string } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const driver = opts.driver === 'fs' ? new FsDriver({ root: join(dir, 'storage') }) : new MemoryDriver();
  const store = opts.store ?? SqliteStore.open({ path: join(dir, 'metadata.db') });
  const deps: RegistryDeps = {
    driver,
    store,
    locker: new InProcessLocker(),
    hashes: new UploadHashes(),
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    schema1Key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  };
  const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  let auth: AuthService | undefined;
  let adminPassword: string | undefined;
  if (opts.auth) {
    auth = await AuthService.open(store, { ...TEST_AUTH_CONFIG, ...(opts.auth === true ? {} : opts.auth) }, log);
    adminPassword = (await auth.bootstrapAdmin()).generatedPassword;
  }
  const server = await startServer({ deps, log, host: '127.0.0.1', port: 0, auth, trustedProxies: parseTrustedProxies(opts.trustedProxies ?? '') });
  return {
    url: server.url,
    deps,
    server,
    dir,
    auth,
    adminPassword,
    async close() {
      await server.close(1000);
      await auth?.flushAudit();
      await store.close();
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
