import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FsDriver } from '../storage/fs/driver.js';
import { SqliteStore } from '../metadata/sqlite/store.js';
import { InProcessLocker } from '../metadata/locks.js';
import { UploadHashes } from '../registry/upload-hashes.js';
import type { RegistryDeps } from '../registry/deps.js';
import type { Config } from './config.js';
import { ConfigError } from './config.js';

export interface OpenedRegistry {
  deps: RegistryDeps;
  close(): Promise<void>;
}

/** Opens storage, metadata and keys as the configuration says (the embedded default: filesystem + SQLite). */
export async function openRegistry(config: Config): Promise<OpenedRegistry> {
  const data = resolve(config.data);
  await mkdir(data, { recursive: true });
  const root = config.storage.filesystem.root ? resolve(config.storage.filesystem.root) : join(data, 'storage');
  await mkdir(root, { recursive: true });
  const dbPath = config.database ? config.database.slice('sqlite://'.length) : join(data, 'metadata.db');
  await mkdir(dirname(resolve(dbPath)), { recursive: true });
  const schema1Key = await loadOrCreateKey(config.schema1.keyFile || join(data, 'keys', 'schema1.pem'));
  const driver = new FsDriver({ root });
  const store = SqliteStore.open({ path: dbPath });
  return {
    deps: {
      driver,
      store,
      locker: new InProcessLocker(),
      hashes: new UploadHashes(),
      limits: { maxManifestBytes: config.limits.maxManifestBytes, maxPageSize: config.limits.maxPageSize },
      schema1Key,
    },
    async close() {
      await store.close();
      await driver.close();
    },
  };
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
