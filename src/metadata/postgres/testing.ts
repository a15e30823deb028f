import { randomBytes } from 'node:crypto';
import { PostgresStore } from './store.js';

/**
 * Test support for the PostgreSQL store. Tests against PostgreSQL run only when
 * `BERTH_TEST_POSTGRES_URL` is set; when it is, a server that can't be reached fails them (it is not a skip).
 */
export const POSTGRES_TEST_URL: string | undefined = process.env.BERTH_TEST_POSTGRES_URL || undefined;

/** The `skip` option for PostgreSQL tests: a reason while the URL is unset, otherwise false. */
export const SKIP_POSTGRES: string | false = POSTGRES_TEST_URL
  ? false
  : 'set BERTH_TEST_POSTGRES_URL to run the PostgreSQL store tests';

/** A schema name no other test (in this or another process) uses. */
export function uniqueSchema(label = 'store'): string {
  return `berth_test_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** The test database URL, or a failure when the tests run without one. */
export function postgresTestUrl(): string {
  if (!POSTGRES_TEST_URL) throw new Error('BERTH_TEST_POSTGRES_URL is not set');
  return POSTGRES_TEST_URL;
}

/**
 * A store on a fresh schema of the test database, dropped when the store is closed, so test files can
 * run in parallel against one database and leave nothing behind.
 */
export function openTestPostgresStore(opts: { schema?: string; poolSize?: number } = {}): Promise<PostgresStore> {
  return PostgresStore.open({
    url: postgresTestUrl(),
    schema: opts.schema ?? uniqueSchema(),
    poolSize: opts.poolSize ?? 4,
    dropSchemaOnClose: true,
  });
}
