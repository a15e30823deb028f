import type { Digest } from '../content/digest.js';

/**
 * The one place that owns the storage key layout (as distribution's `registry/storage/paths.go`):
 *
 * ```
 * /
 * ├── blobs/
 * │   └── <algorithm>/<first two hex chars>/<hex>/data   content-addressed blob bytes, stored once
 * └── uploads/
 *     └── <upload id>/data                               bytes of an unfinished upload (never served)
 * ```
 *
 * Repositories, tags, manifests and which blobs each repository may serve live in the metadata store,
 * not in storage.
 */
export const paths = {
  blobData(digest: Digest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
  },
  blobsRoot: '/blobs',
  uploadData(id: string): string {
    return `/uploads/${id}/data`;
  },
  upload(id: string): string {
    return `/uploads/${id}`;
  },
  uploadsRoot: '/uploads',
};
