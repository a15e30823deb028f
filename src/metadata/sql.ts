import { MetadataError } from './errors.js';

/**
 * The little SQL that account data needs, over either engine, so that one implementation (`SqlAccountStore`)
 * serves both stores. Statements use PostgreSQL's `$1` placeholders; the SQLite side rewrites them to named parameters.
 * Booleans are integers and times are integer milliseconds on both engines.
 */
export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a write; returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs the statements in one transaction: all of them or none. Returns each one's changed-row count. */
  batch(statements: ReadonlyArray<readonly [string, readonly unknown[]]>): Promise<number[]>;
}

/**
 * Maps the engines' constraint errors to the store's codes: a taken key is CONFLICT, a reference to
 * something missing is NOT_FOUND. Anything else is rethrown as it is.
 */
export function mapConstraintError(err: unknown, what: string): never {
  const code = (err as { code?: unknown }).code;
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    throw new MetadataError('CONFLICT', `${what} already exists`, { cause: err });
  }
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    throw new MetadataError('NOT_FOUND', `${what}: something it refers to does not exist`, { cause: err });
  }
  throw err;
}

/**
 * SQL for "the values of list parameter `$n`", and the parameter's value for `values`. A list travels as one
 * parameter (a JSON array that SQLite unpacks with `json_each`, a PostgreSQL array that `unnest` unpacks), so a
 * statement's text (and its cached plan) does not depend on the list's length.
 */
export function sqlIn(db: SqlDb, n: number): string {
  return db.dialect === 'postgres' ? `(SELECT unnest($${n}::text[]))` : `(SELECT value FROM json_each($${n}))`;
}

export function sqlList(db: SqlDb, values: readonly string[]): unknown {
  return db.dialect === 'postgres' ? [...values] : JSON.stringify(values);
}

/**
 * SQL true when the manifest row `m` is an image (with an image config) or an index without an artifact type:
 * what the scanner and certification take. Signatures, SBOMs, Helm charts and other artifacts are neither.
 */
export function isImageOrIndex(m: string): string {
  const images = `('application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json')`;
  const configs = `('application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json')`;
  const indexes = `('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')`;
  return `((${m}.media_type IN ${images} AND ${m}.artifact_type IN ${configs}) OR (${m}.media_type IN ${indexes} AND ${m}.artifact_type IS NULL))`;
}

/** A page size for SQL `LIMIT`: a million when none is given. */
export function limit(n: number | undefined): number {
  return n === undefined ? 1_000_000 : Math.max(0, Math.trunc(n));
}

/** A time as stored: milliseconds since the epoch (now when absent). */
export function ms(d?: Date): number {
  return (d ?? new Date()).getTime();
}

/** A stored number (PostgreSQL's BIGINT arrives as a string), or undefined for NULL. */
export function num(v: number | string | null | undefined): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

/** A stored time, or undefined for NULL. */
export function date(v: number | string | null | undefined): Date | undefined {
  return v === null || v === undefined ? undefined : new Date(Number(v));
}
