import type { Digest } from '../content/digest.js';
import { OCI_INDEX } from '../content/media-types.js';
import type { RegistryDeps } from './deps.js';

export interface ReferrersIndex {
  index: {
    schemaVersion: 2;
    mediaType: typeof OCI_INDEX;
    manifests: Array<{ mediaType: string; digest: Digest; size: number; artifactType?: string; annotations?: Record<string, string> }>;
  };
  /** Filters that were applied, for `OCI-Filters-Applied`. */
  filtersApplied: string[];
}

/**
 * The referrers of a manifest as an image index (end-12a, end-12b). Never "unknown": a subject with no
 * referrers, or one that does not exist, has an empty index.
 */
export async function listReferrers(deps: RegistryDeps, repo: string, subject: Digest, artifactType?: string): Promise<ReferrersIndex> {
  const filter = artifactType ? { artifactType } : undefined;
  const records = await deps.store.listReferrers(repo, subject, filter);
  return {
    index: {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: records.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations && Object.keys(r.annotations).length ? { annotations: r.annotations } : {}),
      })),
    },
    filtersApplied: filter ? ['artifactType'] : [],
  };
}
