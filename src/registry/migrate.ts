import { pipeline } from 'node:stream/promises';
import { createDigester, digestAlgorithm, digestOf, type Digest } from '../content/digest.js';
import { parseManifest } from '../content/manifest.js';
import { paths } from '../storage/paths.js';
import type { ManifestRecord } from '../metadata/store.js';
import type { RegistryDeps } from './deps.js';
import { RegistryError } from './errors.js';
import { DigestStream } from './digest-stream.js';
import { checkDigest, commitBlob } from './blobs.js';

export interface MigrateResult {
  repositories: number;
  blobs: { copied: number; skipped: number; bytes: number };
  manifests: number;
  tags: number;
}

export interface MigrateOptions {
  signal?: AbortSignal;
  onRepository?: (repo: string, result: MigrateResult) => void;
  pageSize?: number;
}

/**
 * Copies a whole registry into another one (`berth migrate`): every repository, the blobs each links, its
 * manifests and tags. Every blob's digest and size are verified while it streams, and every manifest's digest
 * is recomputed from its bytes. Blobs the target already stores are not copied again, and re-putting a
 * manifest is idempotent, so running it twice copies only what changed. Upload sessions are not migrated.
 */
export async function migrateRegistry(from: RegistryDeps, to: RegistryDeps, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const result: MigrateResult = { repositories: 0, blobs: { copied: 0, skipped: 0, bytes: 0 }, manifests: 0, tags: 0 };
  const n = opts.pageSize ?? 500;
  for (let last: string | undefined; ; ) {
    const repos = await from.store.listRepositories({ n, last });
    for (const repo of repos) {
      opts.signal?.throwIfAborted();
      await migrateRepository(from, to, repo, result, opts);
      result.repositories++;
      opts.onRepository?.(repo, result);
    }
    if (repos.length < n) break;
    last = repos[repos.length - 1];
  }
  return result;
}

async function migrateRepository(from: RegistryDeps, to: RegistryDeps, repo: string, result: MigrateResult, opts: MigrateOptions): Promise<void> {
  const n = opts.pageSize ?? 500;
  for (let last: string | undefined; ; ) {
    const blobs = await from.store.listRepositoryBlobs(repo, { n, last });
    for (const blob of blobs) {
      opts.signal?.throwIfAborted();
      if (await to.store.getBlob(blob.digest)) {
        await to.store.linkBlob(repo, blob.digest, blob.size);
        result.blobs.skipped++;
      } else {
        await copyBlob(from, to, repo, blob.digest, blob.size, opts.signal);
        result.blobs.copied++;
        result.blobs.bytes += blob.size;
      }
    }
    if (blobs.length < n) break;
    last = blobs[blobs.length - 1]!.digest;
  }

  const manifests: ManifestRecord[] = [];
  for (let last: string | undefined; ; ) {
    const page = await from.store.listManifests(repo, { n, last });
    manifests.push(...page);
    if (page.length < n) break;
    last = page[page.length - 1]!.digest;
  }
  const tagsByDigest = new Map<Digest, string[]>();
  for (const tag of await from.store.listTags(repo)) {
    const m = await from.store.getTaggedManifest(repo, tag);
    if (m) tagsByDigest.set(m.digest, [...(tagsByDigest.get(m.digest) ?? []), tag]);
  }
  // Children before the indexes that list them, since the target checks that every child exists.
  const done = new Set<Digest>();
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const put = async (m: ManifestRecord, depth = 0): Promise<void> => {
    if (done.has(m.digest)) return;
    if (depth > 64) throw new RegistryError('MANIFEST_INVALID', `index nesting in ${repo} is too deep at ${m.digest}`);
    const parsed = parseManifest(m.content, m.mediaType);
    for (const child of parsed.children) {
      const c = byDigest.get(child);
      if (c) await put(c, depth + 1);
    }
    const digest = digestOf(parsed.payload, digestAlgorithm(m.digest));
    if (digest !== m.digest) {
      throw new RegistryError('DIGEST_INVALID', `manifest ${m.digest} in ${repo} hashes to ${digest}: the source is corrupt`);
    }
    const tags = tagsByDigest.get(m.digest) ?? [];
    await to.store.putManifest({
      repo,
      digest: m.digest,
      mediaType: m.mediaType,
      content: m.content,
      artifactType: parsed.referrerArtifactType,
      subject: parsed.subject?.digest,
      annotations: parsed.annotations,
      blobs: parsed.blobs,
      children: parsed.children,
      tags,
      now: m.createdAt,
    });
    done.add(m.digest);
    result.manifests++;
    result.tags += tags.length;
  };
  for (const m of manifests) await put(m);
}

async function copyBlob(from: RegistryDeps, to: RegistryDeps, repo: string, digest: Digest, size: number, signal?: AbortSignal): Promise<void> {
  const reader = await from.driver.reader(paths.blobData(digest), { signal });
  const writer = await to.driver.writer(paths.blobData(digest), { signal });
  try {
    const verify = new DigestStream(createDigester(digestAlgorithm(digest)), size);
    await pipeline(reader, verify, writer, { signal });
    try {
      checkDigest(verify, digest, size);
    } catch (err) {
      throw new RegistryError('DIGEST_INVALID', `blob ${digest} in ${repo} is corrupt in the source: ${(err as Error).message}`, undefined, { cause: err });
    }
    await commitBlob(to, repo, digest, size, () => writer.commit());
  } finally {
    await writer.cancel();
  }
}
