import type { Digest } from '../content/digest.js';
import type { BlobRecord, ManifestRecord, ReferrerRecord, TagRecord, UploadRecord } from './store.js';

/**
 * Rows as both SQL stores select them (the migrations give SQLite and PostgreSQL the same columns), and their
 * conversion into the records of the MetadataStore contract. Times are integer milliseconds.
 */
export interface BlobRow {
  digest: string;
  size: number;
  created_at: number;
}

export interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  content: Buffer;
  artifact_type: string | null;
  subject: string | null;
  created_at: number;
}

export interface ReferrerRow {
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  annotations: string | null;
}

export interface UploadRow {
  id: string;
  repo: string;
  size: number;
  started_at: number;
  updated_at: number;
}

export function toBlob(row: BlobRow): BlobRecord {
  return { digest: row.digest as Digest, size: row.size, createdAt: new Date(row.created_at) };
}

export function toManifest(row: ManifestRow): ManifestRecord {
  const m: ManifestRecord = {
    repo: row.repo,
    digest: row.digest as Digest,
    mediaType: row.media_type,
    size: row.size,
    content: row.content,
    createdAt: new Date(row.created_at),
  };
  if (row.artifact_type !== null) m.artifactType = row.artifact_type;
  if (row.subject !== null) m.subject = row.subject as Digest;
  return m;
}

export function toReferrer(row: ReferrerRow): ReferrerRecord {
  const r: ReferrerRecord = { digest: row.digest as Digest, mediaType: row.media_type, size: row.size };
  if (row.artifact_type !== null) r.artifactType = row.artifact_type;
  if (row.annotations !== null) r.annotations = JSON.parse(row.annotations) as Record<string, string>;
  return r;
}

export function toUpload(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    repo: row.repo,
    size: row.size,
    startedAt: new Date(row.started_at),
    updatedAt: new Date(row.updated_at),
  };
}

export interface TagRow {
  name: string;
  digest: string;
  media_type: string;
  size: number;
  updated_at: number;
}

/** `listTagRecords` on either engine: $1 repository, $2 after (exclusive), $3 limit (-1 on SQLite, NULL on PostgreSQL: all). */
export const TAG_RECORDS_SQL = `SELECT t.name, m.digest, m.media_type, m.size, t.updated_at
   FROM repositories r JOIN tags t ON t.repo_id = r.id JOIN manifests m ON m.id = t.manifest_id
  WHERE r.name = $1 AND t.name > $2 ORDER BY t.name LIMIT $3`;

export function toTag(row: TagRow): TagRecord {
  return { name: row.name, digest: row.digest as Digest, mediaType: row.media_type, size: Number(row.size), updatedAt: new Date(Number(row.updated_at)) };
}
