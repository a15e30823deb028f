/**
 * What vulnerability scanning keeps in the metadata store: advisories (indexed for matching by ecosystem
 * family and package name), per-layer inventory extracts (so a shared base layer is read once), package
 * inventories with their last match, scan results and grades per manifest digest, and the scan job queue.
 *
 * The store speaks in plain records: advisories, inventories and findings are JSON text that `app/` turns
 * into the scanner's model (`metadata/` may not import `scan/`). Every implementation must pass
 * `describeScanStore` in `scans-conformance.ts`.
 *
 * Pushing an image manifest or an index enqueues its scan in the same transaction as the push (a trigger on
 * the manifests table, migration 4), so no push is missed, whichever node or tool wrote it, and the queue
 * survives restarts. Jobs are leased: a job is handed to one claimer at a time until its lease runs out, so
 * several nodes on one PostgreSQL never scan the same manifest at once.
 */
export interface ScanStore {
  // --- advisories ---------------------------------------------------------------------------------------

  /**
   * Adds or updates advisories by id (the same semantics as the scanner's `AdvisoryStore.import`): a record
   * whose `fingerprint` equals the stored one is unchanged (nothing written); `withdrawn` records are
   * removed; with `complete`, advisories stored earlier under the same `source` and missing from this import
   * are removed. Ids must be unique within one import (a later duplicate replaces the earlier one). The
   * records are written in chunks, each chunk in one transaction; the advisory revision goes up by one when
   * anything changed. Repeating an import changes nothing.
   */
  importAdvisories(records: Iterable<AdvisoryRecord> | AsyncIterable<AdvisoryRecord>, opts?: AdvisoryImportOptions): Promise<AdvisoryImportReport>;

  /** Advisories with an affected entry for `name` in ecosystem family `family` (`Debian`, `Red Hat`, ...), by id. */
  lookupAdvisories(family: string, name: string): Promise<StoredAdvisory[]>;

  /** `lookupAdvisories` for many names at once: every name asked for is a key, `[]` when none matches. */
  lookupAdvisoriesMany(family: string, names: readonly string[]): Promise<Map<string, StoredAdvisory[]>>;

  getAdvisory(id: string): Promise<StoredAdvisory | undefined>;

  countAdvisories(): Promise<number>;

  /** Goes up by one with every import that changed anything; stored matches older than it are stale. */
  advisoryRevision(): Promise<number>;

  // --- layer extracts ------------------------------------------------------------------------------------

  /** The cached inventory extract of a layer (by the layer blob's digest). */
  getLayerExtract(digest: string): Promise<LayerExtractRecord | undefined>;

  /** Caches a layer's extract; a second put of the same digest keeps the first (extracts are deterministic). */
  putLayerExtract(r: { digest: string; extract: Uint8Array; extractDigest: string; now?: Date }): Promise<void>;

  // --- inventories ---------------------------------------------------------------------------------------

  /**
   * Stores an inventory with its match, or replaces the match of an existing one (same `key` means the same
   * packages, so the document is kept). Clears any rematch lease on it.
   */
  putInventory(r: { key: string; document: string; packageCount: number; match: InventoryMatch; now?: Date }): Promise<void>;

  getInventory(key: string): Promise<InventoryRecord | undefined>;

  /**
   * Leases up to `limit` inventories whose match is stale: matched before advisory revision `revision`, or
   * whose grade drops at or before `now` (`nextDropAt`); the oldest matches first, then the earliest drop
   * dates. One inventory goes to one claimer at a time until `saveMatches` or the lease (`leaseMs`) runs out.
   * A claim costs the inventories it takes, however many are stored or were re-matched before it.
   */
  claimRematch(opts: { owner: string; revision: number; limit: number; leaseMs: number; now?: Date }): Promise<InventoryRecord[]>;

  /**
   * Stores new matches of inventories claimed by `owner` and ends their leases, all in one statement. Returns,
   * for each inventory `owner` still held (and so wrote), the digests of the image manifests whose result is
   * that inventory (their grade changed with it); an inventory whose lease `owner` lost is left alone and
   * absent from the map. A key given twice keeps its last match.
   */
  saveMatches(owner: string, matches: ReadonlyArray<{ key: string; match: InventoryMatch }>): Promise<Map<string, string[]>>;

  /** Inventories by match state, for status and tests. */
  countInventories(): Promise<{ total: number; stale: number; revision: number }>;

  // --- results -------------------------------------------------------------------------------------------

  /**
   * The scan result of a manifest. For an image the grade, health and findings are its inventory's current
   * match; for an index they are the roll-up of its children.
   */
  getResult(digest: string): Promise<ScanResultRecord | undefined>;

  /** Grades of many manifests at once (tag listings), without findings. Digests without a result are absent. */
  getGrades(digests: readonly string[]): Promise<Map<string, GradeSummary>>;

  /** Writes (replaces) a result without a job, e.g. an index re-rolled after a child changed. */
  putResult(r: NewScanResult): Promise<void>;

  /** Records an index's children (replacing earlier ones) with the platform each is for. */
  setIndexChildren(index: string, children: ReadonlyArray<{ digest: string; platform?: string }>): Promise<void>;

  childrenOf(index: string): Promise<Array<{ digest: string; platform?: string }>>;

  /** Indexes with any of `digests` among their children. */
  indexesContaining(digests: readonly string[]): Promise<string[]>;

  // --- jobs ----------------------------------------------------------------------------------------------

  /**
   * Queues a scan (a push does this by itself). Without `force`, a manifest that already has a result or a
   * job is left alone; with it, its result is kept until the new scan replaces it. Returns whether a job was
   * added or reset.
   */
  enqueueScan(j: { digest: string; repo: string; mediaType: string; force?: boolean; now?: Date }): Promise<boolean>;

  /**
   * Leases up to `limit` jobs that are due (`notBefore` passed) and not leased (or whose lease ran out),
   * oldest first, and counts an attempt on each. Concurrent claimers, on this node or others, never get the
   * same job while its lease holds.
   */
  claimScanJobs(opts: { owner: string; limit: number; leaseMs: number; now?: Date }): Promise<ScanJob[]>;

  /** Extends a lease; false (nothing changed) when `owner` no longer holds it. */
  renewScanJob(digest: string, owner: string, leaseMs: number, now?: Date): Promise<boolean>;

  /**
   * Ends a job held by `owner`: writes its result (when given) and removes the job, in one transaction.
   * False, and nothing written, when `owner` no longer holds the lease.
   */
  completeScanJob(digest: string, owner: string, result?: NewScanResult): Promise<boolean>;

  /** Gives a job back for another attempt at `notBefore`, with the error that stopped this one. */
  retryScanJob(digest: string, owner: string, r: { error: string; notBefore: Date }): Promise<boolean>;

  listScanJobs(): Promise<ScanJob[]>;

  /** Repositories holding the manifest (a job's repository may have deleted it since the push). */
  repositoriesHolding(digest: string): Promise<string[]>;

  /**
   * Removes what nothing needs any more: results and jobs of manifests no repository holds, layer extracts of
   * blobs that are gone, and inventories no result uses, at most `limit` of each. Extracts and inventories
   * younger than `graceMs` (default 1 h) stay: a scan in progress wrote them and is about to use them.
   */
  pruneScans(opts?: { limit?: number; graceMs?: number; now?: Date }): Promise<{ results: number; jobs: number; layers: number; inventories: number }>;
}

export interface AdvisoryRecord {
  id: string;
  /** The (ecosystem family, package name) pairs it has affected entries for: what `lookupAdvisories` finds it by. */
  keys: ReadonlyArray<{ family: string; name: string }>;
  /** Equal fingerprints mean an unchanged advisory (the source's `modified`, or a hash of the content). */
  fingerprint: string;
  /** The advisory as JSON text. */
  document: string;
  /** A withdrawn advisory is removed on import. */
  withdrawn?: boolean;
}

export interface AdvisoryImportOptions {
  /** Names the feed (a path, a URL, `osv:Debian`); with `complete`, what is missing from it is removed. */
  source?: string;
  complete?: boolean;
  /** Records per transaction. Default 500. */
  chunkSize?: number;
  now?: Date;
}

export interface AdvisoryImportReport {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  /** The advisory revision after the import. */
  revision: number;
}

export interface StoredAdvisory {
  id: string;
  document: string;
  source?: string;
  fingerprint: string;
  updatedAt: Date;
}

export interface LayerExtractRecord {
  digest: string;
  extract: Buffer;
  /** Digest of `extract`; `''` for a layer with nothing an inventory reads. */
  extractDigest: string;
  createdAt: Date;
}

export type Grade = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

/** A match of an inventory against the advisories of one revision. */
export interface InventoryMatch {
  /** Findings as JSON text (an array). */
  findings: string;
  findingCount: number;
  /** The health index as JSON text. */
  health: string;
  grade: Grade;
  /** When the grade next gets worse, if it can. */
  nextDropAt?: Date;
  /** The advisory revision matched against. */
  revision: number;
  matchedAt?: Date;
}

export interface InventoryRecord {
  key: string;
  document: string;
  packageCount: number;
  createdAt: Date;
  match: Required<Omit<InventoryMatch, 'nextDropAt'>> & { nextDropAt?: Date };
}

export type ScanStatus = 'done' | 'pending' | 'failed' | 'unsupported';

export interface NewScanResult {
  digest: string;
  mediaType: string;
  kind: 'image' | 'index';
  /**
   * `done`; `pending` for an index whose children are not all scanned yet; `failed` (see `error`);
   * `unsupported` for what the scanner cannot read (no known OS, zstd layers, a non-image artifact).
   */
  status: ScanStatus;
  /** Images: the inventory whose match is the result. */
  inventoryKey?: string;
  /** The OS as JSON text (`{"id","versionId","prettyName","ecosystem"}`). */
  os?: string;
  platform?: string;
  /** Indexes: the roll-up (images take these from their inventory). */
  grade?: Grade;
  health?: string;
  findings?: string;
  findingCount?: number;
  nextDropAt?: Date;
  error?: { code: string; message: string };
  now?: Date;
}

export interface ScanResultRecord {
  digest: string;
  mediaType: string;
  kind: 'image' | 'index';
  status: ScanStatus;
  inventoryKey?: string;
  os?: string;
  platform?: string;
  packageCount?: number;
  grade?: Grade;
  health?: string;
  findings?: string;
  findingCount?: number;
  nextDropAt?: Date;
  /** The advisory revision the grade was computed against (images). */
  revision?: number;
  error?: { code: string; message: string };
  scannedAt: Date;
  /** When the grade was last computed. */
  gradedAt?: Date;
}

export interface GradeSummary {
  status: ScanStatus;
  grade?: Grade;
  findingCount?: number;
  nextDropAt?: Date;
}

export interface ScanJob {
  digest: string;
  repo: string;
  mediaType: string;
  enqueuedAt: Date;
  notBefore: Date;
  /** Attempts so far, this one included once claimed. */
  attempts: number;
  leaseOwner?: string;
  leaseUntil?: Date;
  lastError?: string;
}
