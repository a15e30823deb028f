/**
 * The PostgreSQL server the standalone phases (`scaleout`, `gc`) use: `BERTH_BENCH_POSTGRES_URL`, default
 * `postgres://postgres@127.0.0.1:5432/test`. Each run works in a fresh schema and drops it at the end.
 */
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function benchPostgresUrl(): string {
  return process.env.BERTH_BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL;
}

/** The URL with any password hidden, for the report. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Undefined when the server answers `SELECT version()`, otherwise why not. */
export async function probePostgres(url: string): Promise<{ version?: string; error?: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return { version: r.rows[0]?.v };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** DROP SCHEMA … CASCADE; failures are returned, not thrown (this runs in cleanup). */
export async function dropSchema(url: string, schema: string): Promise<string | undefined> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) return `refusing to drop odd schema name ${schema}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
