import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { describeMetadataStore } from './conformance.js';
import { describeAccountStore } from './accounts-conformance.js';
import { describeScanStore } from './scans-conformance.js';
import { describeCertStore } from './certs-conformance.js';
import { SKIP_POSTGRES, openTestPostgresStore } from './postgres/testing.js';
import { SqliteStore } from './sqlite/store.js';
import type { MetadataStore } from './store.js';

// One conformance run over every MetadataStore, as kysely runs its suites `for (const dialect of DIALECTS)`.

const root = mkdtempSync(join(tmpdir(), 'berth-conformance-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

interface StoreUnderTest {
  name: string;
  /** A store on its own, empty database (file or schema), which `close()` releases. */
  factory: () => Promise<MetadataStore & { queueDepth(): Promise<number> }>;
  skip: string | false;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'sqlite',
    factory: async () => SqliteStore.open({ path: join(root, `metadata-${++files}.db`) }),
    skip: false,
  },
  { name: 'postgres', factory: () => openTestPostgresStore(), skip: SKIP_POSTGRES },
];

for (const store of STORES) {
  describeMetadataStore(store.name, store.factory, { skip: store.skip, queueDepth: (s) => s.queueDepth() });
  describeAccountStore(store.name, store.factory, { skip: store.skip });
  describeScanStore(store.name, store.factory, { skip: store.skip });
  describeCertStore(store.name, store.factory, { skip: store.skip });
}
