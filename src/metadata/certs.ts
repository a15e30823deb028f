/**
 * What certification keeps in the metadata store: each repository's certification settings (the policy its
 * images are certified under, and whether passing images are published by themselves), the certification
 * result of every certified manifest, the certification job queue, and publications (which tags are listed in
 * the public catalog of certified images).
 *
 * The store speaks in plain records: a result's per-platform reports are JSON text that `app/` writes from
 * `certify/`'s model (`metadata/` may not import `certify/`). Every implementation must pass
 * `describeCertStore` in `certs-conformance.ts`.
 *
 * Pushing a tag (a new tag, or a tag moved to another manifest) queues its certification in the same
 * transaction as the push (triggers on the tags table, migration 5), so no push is missed, whichever node or
 * tool wrote it, and the queue survives restarts. Jobs are leased as scan jobs are (`scans.ts`): one claimer at
 * a time until the lease runs out, so several nodes on one PostgreSQL never certify the same tag at once. A
 * job carries a generation that every re-queue raises, so a push during a certification is not lost: the
 * running certification's result is stored, and the job stays queued for the new manifest.
 */
export interface CertStore {
  // --- settings ----------------------------------------------------------------------------------------

  /** The repository's settings; the defaults (`container`, no auto-publish, no `updatedAt`) when it has none. */
  getCertSettings(repo: string): Promise<CertSettings>;

  /**
   * Changes the repository's settings (fields left out keep their value). A changed policy re-queues the
   * certification of every tag of the repository in the same transaction, and results under the old policy
   * no longer count as passing. Returns the settings as stored and how many tags were queued.
   */
  putCertSettings(s: { repo: string; policy?: CertPolicy; autoPublish?: boolean; by?: string; now?: Date }): Promise<{ settings: CertSettings; queued: number }>;

  // --- results -----------------------------------------------------------------------------------------

  /** The latest certification result of the manifest `digest` in `repo`. */
  getCertResult(repo: string, digest: string): Promise<CertResultRecord | undefined>;

  /** Results of many manifests of a repository at once (tag listings), without the reports. */
  getCertSummaries(repo: string, digests: readonly string[]): Promise<Map<string, CertSummary>>;

  /** Writes (replaces) the result of a manifest without a job (tests, imports). */
  putCertResult(r: NewCertResult): Promise<void>;

  // --- jobs --------------------------------------------------------------------------------------------

  /**
   * Queues the certification of `tag` (a push does this by itself). A queued job is re-queued: its generation
   * goes up, its attempts start again and it is due at `now`. Returns false (nothing queued) when the
   * repository has no such tag.
   */
  enqueueCertification(j: { repo: string; tag: string; now?: Date }): Promise<boolean>;

  /**
   * Leases up to `limit` jobs that are due (`notBefore` passed) and not leased (or whose lease ran out),
   * oldest first, and counts an attempt on each. Concurrent claimers, on this node or others, never get the
   * same job while its lease holds.
   */
  claimCertJobs(opts: { owner: string; limit: number; leaseMs: number; now?: Date }): Promise<CertJob[]>;

  /** Extends a lease; false (nothing changed) when `owner` no longer holds it. */
  renewCertJob(job: CertJobKey, owner: string, leaseMs: number, now?: Date): Promise<boolean>;

  /**
   * Ends a job held by `owner`: writes its result (when given) and removes the job, in one transaction. When
   * the job was re-queued since it was claimed (its generation went up), the result is still written but the
   * job stays, free for the next claim. False, and nothing written, when `owner` no longer holds the lease.
   */
  completeCertJob(job: CertJobKey & { generation: number }, owner: string, result?: NewCertResult): Promise<boolean>;

  /** Gives a job back for another attempt at `notBefore`, with the error that stopped this one. */
  retryCertJob(job: CertJobKey, owner: string, r: { error: string; notBefore: Date }): Promise<boolean>;

  listCertJobs(): Promise<CertJob[]>;

  // --- publications --------------------------------------------------------------------------------------

  /**
   * Publishes `tag` as the manifest `digest` (replacing an earlier publication of the tag). The caller has
   * checked that the manifest passed; the store only records. `automatic` marks auto-publish, which never
   * replaces a record of the same manifest (published, or withdrawn by hand): then nothing is written and
   * the answer is undefined.
   */
  publish(p: { repo: string; tag: string; digest: string; by?: string; automatic?: boolean; now?: Date }): Promise<PublicationRecord | undefined>;

  /**
   * Withdraws the tag from the catalog. The record stays, marked unpublished, so that auto-publish does not
   * publish the same manifest again (a new push of the tag can be). False when the tag was not published.
   */
  unpublish(p: { repo: string; tag: string; by?: string; now?: Date }): Promise<boolean>;

  /** The tag's publication record (published or withdrawn), if it ever had one. */
  getPublication(repo: string, tag: string): Promise<PublicationRecord | undefined>;

  /** Publication records of a repository, by tag. */
  listPublications(repo: string): Promise<PublicationRecord[]>;

  /**
   * The catalog: published tags that still point at the manifest they were published as, by repository and
   * tag in byte order, after `after` (exclusive), at most `n`; each with the manifest's result (without reports).
   */
  listCatalog(opts?: { n?: number; after?: { repo: string; tag: string } }): Promise<CatalogRecord[]>;

  /**
   * Tags that auto-publish would publish once their grade allows: in repositories with `autoPublish`, pointing
   * at a manifest that passed under the repository's current policy, and never published (nor withdrawn) as
   * that manifest. By repository and tag, after `after`, at most `limit`.
   */
  listAutoPublishCandidates(opts: { limit: number; after?: { repo: string; tag: string } }): Promise<Array<{ repo: string; tag: string; digest: string }>>;

  /**
   * Removes what nothing needs any more, at most `limit` of each: results of manifests the repository no
   * longer holds, publications of tags that are gone, jobs of tags that are gone.
   */
  pruneCerts(opts?: { limit?: number }): Promise<{ results: number; publications: number; jobs: number }>;
}

export const CERT_POLICIES = ['container', 'root', 'scratch-nonroot', 'scratch-root'] as const;
export type CertPolicy = (typeof CERT_POLICIES)[number];

export interface CertSettings {
  repo: string;
  policy: CertPolicy;
  autoPublish: boolean;
  updatedBy?: string;
  /** Undefined while the repository has the defaults. */
  updatedAt?: Date;
}

/** `done`: the checks ran (passed or not); `error`: the image could not be certified at all (see `error`). */
export type CertStatus = 'done' | 'error';

export interface NewCertResult {
  repo: string;
  digest: string;
  mediaType: string;
  /** The tag the manifest was certified as (HasUniqueTag and HasProhibitedContainerName read the reference). */
  tag?: string;
  policy: CertPolicy;
  status: CertStatus;
  /** True iff the status is `done` and every platform passed. */
  passed: boolean;
  /** Per platform, as JSON text (an array): for an image one entry, for an index one per platform. */
  platforms: string;
  /** The image's labels as JSON text (an object; for an index, its first platform's). */
  labels?: string;
  error?: { code: string; message: string };
  now?: Date;
}

export interface CertResultRecord extends Omit<NewCertResult, 'now'> {
  certifiedAt: Date;
}

export interface CertSummary {
  policy: CertPolicy;
  status: CertStatus;
  passed: boolean;
  tag?: string;
  certifiedAt: Date;
}

export interface CertJobKey {
  repo: string;
  tag: string;
}

export interface CertJob extends CertJobKey {
  enqueuedAt: Date;
  notBefore: Date;
  /** Attempts so far, this one included once claimed. */
  attempts: number;
  /** Goes up with every re-queue (a push of the tag, a policy change). */
  generation: number;
  leaseOwner?: string;
  leaseUntil?: Date;
  lastError?: string;
}

export interface PublicationRecord {
  repo: string;
  tag: string;
  digest: string;
  /** False once withdrawn (`unpublish`). */
  published: boolean;
  automatic: boolean;
  /** Who published (or withdrew) it; undefined for auto-publish. */
  by?: string;
  /** When it was published, or withdrawn. */
  at: Date;
}

export interface CatalogRecord {
  repo: string;
  tag: string;
  digest: string;
  mediaType: string;
  publishedBy?: string;
  automatic: boolean;
  publishedAt: Date;
  /** The manifest's certification (undefined when it was pruned or never stored). */
  result?: CertSummary & { platforms: string; labels?: string };
}
