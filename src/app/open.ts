import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BlobDriver } from '../storage/driver.js';
import { FsDriver } from '../storage/fs/driver.js';
import type { MetadataStore } from '../metadata/store.js';
import { SqliteStore } from '../metadata/sqlite/store.js';
import { InProcessLocker, type Locker } from '../metadata/locks.js';
import { UploadHashes } from '../registry/upload-hashes.js';
import type { RegistryDeps } from '../registry/deps.js';
import { ConfigError, parseDuration, type Config } from './config.js';

export interface OpenedRegistry {
  deps: RegistryDeps;
  close(): Promise<void>;
}

/**
 * Opens storage, metadata and keys as the configuration says: the embedded default (filesystem + SQLite in
 * the data directory), or shared engines (S3-compatible storage + PostgreSQL) for many stateless nodes.
 */
export async function openRegistry(config: Config): Promise<OpenedRegistry> {
  const data = resolve(config.data);
  await mkdir(data, { recursive: true });
  const schema1Key = await loadOrCreateKey(config.schema1.keyFile || join(data, 'keys', 'schema1.pem'));
  const driver = await openDriver(config, data);
  let metadata: { store: MetadataStore; locker: Locker };
  try {
    metadata = await openStore(config, data);
  } catch (err) {
    await driver.close();
    throw err;
  }
  const { store, locker } = metadata;
  return {
    deps: {
      driver,
      store,
      locker,
      hashes: new UploadHashes(),
      limits: { maxManifestBytes: config.limits.maxManifestBytes, maxPageSize: config.limits.maxPageSize },
      schema1Key,
      redirect:
        config.storage.driver === 's3' && config.storage.s3.redirect
          ? { expiresInSeconds: Math.round(parseDuration(config.storage.s3.redirectExpiry) / 1000) }
          : undefined,
    },
    async close() {
      await store.close();
      await driver.close();
    },
  };
}

async function openDriver(config: Config, data: string): Promise<BlobDriver> {
  if (config.storage.driver === 's3') {
    // Loaded only when configured: the AWS SDK is most of the CLI's start-up time otherwise.
    const { S3Driver } = await import('../storage/s3/driver.js');
    const s3 = config.storage.s3;
    return new S3Driver({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint || undefined,
      forcePathStyle: s3.forcePathStyle,
      accessKeyId: s3.accessKeyId || undefined,
      secretAccessKey: s3.secretAccessKey || undefined,
      rootDirectory: s3.rootDirectory || undefined,
    });
  }
  const root = config.storage.filesystem.root ? resolve(config.storage.filesystem.root) : join(data, 'storage');
  await mkdir(root, { recursive: true });
  return new FsDriver({ root });
}

async function openStore(config: Config, data: string): Promise<{ store: MetadataStore; locker: Locker }> {
  if (config.database && !config.database.startsWith('sqlite://')) {
    // `?schema=NAME` selects a PostgreSQL schema (default public), so several registries can share a database.
    const url = new URL(config.database);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    const { PostgresStore } = await import('../metadata/postgres/store.js');
    const store = await PostgresStore.open({ url: url.toString(), schema });
    return { store, locker: store.locker() };
  }
  const dbPath = config.database ? config.database.slice('sqlite://'.length) : join(data, 'metadata.db');
  await mkdir(dirname(resolve(dbPath)), { recursive: true });
  return { store: SqliteStore.open({ path: dbPath }), locker: new InProcessLocker() };
}

/** Reads a PEM private key, creating an EC P-256 key (mode 0600) on first start. */
export async function loadOrCreateKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      pem = await readFile(file, 'utf8'); // another process created it first
    });
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError(`${file} is not a PEM private key`, { cause: err });
  }
}
