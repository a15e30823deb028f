/**
 * Background scanning in the registry. Every image manifest and index a push stores is queued in the same
 * transaction (`metadata/scans-schema.ts`); this service drains that queue with bounded concurrency, on every
 * node, with leases so that no two nodes scan one manifest at once. It survives restarts because the queue is
 * in the metadata store: a job whose node died is taken over when its lease runs out.
 *
 * A scan reads each layer that has no cached extract once, from the registry's own storage, and keeps its
 * extract by layer digest (`scan/layer-extract.ts`); the inventory is built from extracts, so a base layer
 * shared by many images is read once. Inventories are shared by images whose layers leave the same package
 * databases. An index rolls its children up: its health is the health of all their findings (the worst grade).
 *
 * After an advisory import (which raises the advisory revision), and whenever a grade's drop date passes,
 * stored inventories are matched again, without reading any layer.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { parseManifest } from '../content/manifest.js';
import { DOCKER_CONFIG, OCI_CONFIG, isNonDistributable } from '../content/media-types.js';
import type { Platform } from '../content/descriptor.js';
import type { Digest } from '../content/digest.js';
import type { InventoryMatch, NewScanResult, ScanJob, ScanStore } from '../metadata/scans.js';
import { openBlob } from '../registry/blobs.js';
import type { RegistryDeps } from '../registry/deps.js';
import { ScanError } from '../scan/errors.js';
import { inventoryFromRootfs, isInventoryFile, type Inventory } from '../scan/inventory/index.js';
import { blobLayer, extractInventoryLayer, extractLayer, inventoryKey } from '../scan/layer-extract.js';
import type { Finding } from '../scan/match.js';
import { readRootfs } from '../scan/rootfs.js';
import { osOf } from '../scan/inventory/index.js';
import { gradeOf, matchStored, StoreAdvisoryLookup } from './scanner-data.js';

export interface ScannerOptions {
  /** Manifests scanned at the same time on this node. */
  concurrency: number;
  /** How often the queue and stale grades are looked at when idle. */
  pollIntervalMs: number;
  /** How long a claimed job is this node's; renewed while the scan runs. */
  leaseMs: number;
  /** Attempts before a job that keeps failing (storage errors) is recorded as failed. */
  maxAttempts: number;
  /** How often orphaned results, extracts and inventories are pruned; 0 never. */
  pruneIntervalMs?: number;
  /** Names this node in leases (default: random). */
  owner?: string;
  now?: () => Date;
}

export const DEFAULT_SCANNER_OPTIONS: ScannerOptions = { concurrency: 2, pollIntervalMs: 2000, leaseMs: 5 * 60_000, maxAttempts: 5, pruneIntervalMs: 3_600_000 };

/** Errors that another attempt cannot fix: the image's content is what it is. */
function isPermanent(err: unknown): boolean {
  if (err instanceof ScanError) return true;
  const code = (err as { code?: unknown }).code;
  return code === 'MANIFEST_INVALID' || code === 'UNSUPPORTED_FORMAT' || code === 'ARCHIVE_INVALID' || code === 'DIGEST_INVALID';
}

function platformString(p: Platform | undefined): string | undefined {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined;
}

/** Layers of one image read from storage at the same time. */
const LAYER_READS = 3;

/**
 * `fn` over `items`, at most `limit` at a time, results in the order of `items`. The first failure aborts the
 * signal the others got, and is thrown once they have all settled.
 */
async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, signal: AbortSignal) => Promise<R>, signal: AbortSignal): Promise<R[]> {
  const abort = new AbortController();
  const onAbort = () => abort.abort(signal.reason);
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort);
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, abort.signal);
      } catch (err) {
        failed ??= { err };
        abort.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (failed) throw failed.err;
  return out;
}

export class Scanner {
  readonly owner: string;
  readonly #scans: ScanStore;
  readonly #opts: ScannerOptions;
  readonly #lookup: StoreAdvisoryLookup;
  #lookupRevision = -1;
  readonly #running = new Set<Promise<void>>();
  #stopped = true;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #rematching: Promise<number> | undefined;
  #lastPrune = 0;
  readonly #abort = new AbortController();

  constructor(
    private readonly deps: RegistryDeps,
    opts: Partial<ScannerOptions> = {},
    private readonly log?: Logger,
  ) {
    this.#opts = { ...DEFAULT_SCANNER_OPTIONS, ...opts };
    this.#scans = deps.store.scans;
    this.owner = this.#opts.owner ?? `scanner-${randomBytes(6).toString('hex')}`;
    this.#lookup = new StoreAdvisoryLookup(this.#scans);
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  /** Starts the background loop (idempotent). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#lastPrune = Date.now();
    this.#loop = this.#run();
  }

  /**
   * Stops claiming work, interrupts the scans in progress and gives their jobs back to the queue (due at once,
   * so this node after a restart, or another node, picks them up).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#running]);
    await this.#rematching?.catch(() => 0);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#fill();
        this.#rematching ??= this.rematch()
          .catch((err: unknown) => {
            this.log?.warn({ err }, 're-grading stored images failed');
            return 0;
          })
          .finally(() => (this.#rematching = undefined));
        const every = this.#opts.pruneIntervalMs ?? 0;
        if (every > 0 && Date.now() - this.#lastPrune >= every) {
          this.#lastPrune = Date.now();
          const pruned = await this.#scans.pruneScans();
          if (pruned.results + pruned.layers + pruned.inventories + pruned.jobs > 0) this.log?.info({ pruned }, 'pruned scan data of deleted manifests');
        }
      } catch (err) {
        this.log?.warn({ err }, 'scan queue poll failed');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#opts.pollIntervalMs);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Claims as many jobs as there are free slots and starts them. */
  async #fill(): Promise<number> {
    const free = this.#opts.concurrency - this.#running.size;
    if (free <= 0 || this.#stopped) return 0;
    const jobs = await this.#scans.claimScanJobs({ owner: this.owner, limit: free, leaseMs: this.#opts.leaseMs, now: this.#now() });
    for (const job of jobs) {
      const p: Promise<void> = this.runJob(job).finally(() => {
        this.#running.delete(p);
        this.#wake?.();
      });
      this.#running.add(p);
    }
    return jobs.length;
  }

  /** Runs every due job and then every stale re-grade, until none is left (for tests, benchmarks and `berth` tools). */
  async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.#scans.claimScanJobs({ owner: this.owner, limit: this.#opts.concurrency, leaseMs: this.#opts.leaseMs, now: this.#now() });
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((j) => this.runJob(j)));
    }
    await this.rematch();
  }

  /** Scans one claimed job and records the outcome: a result, a retry later, or the job dropped. */
  async runJob(job: ScanJob): Promise<void> {
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#abort.signal.addEventListener('abort', onStop);
    const renew = setInterval(() => {
      this.#scans.renewScanJob(job.digest, this.owner, this.#opts.leaseMs, this.#now()).then(
        (held) => {
          if (!held) abort.abort(new Error('lease lost'));
        },
        () => {},
      );
    }, Math.max(1000, Math.floor(this.#opts.leaseMs / 3)));
    const started = Date.now();
    let scanned: NewScanResult | undefined;
    try {
      const result = await this.#scan(job, abort.signal);
      if (abort.signal.aborted) throw new Error('aborted');
      await this.#scans.completeScanJob(job.digest, this.owner, result);
      if (result) this.log?.info({ digest: job.digest, repo: job.repo, status: result.status, ms: Date.now() - started }, 'scanned');
      scanned = result;
    } catch (err) {
      if (this.#abort.signal.aborted) {
        await this.#scans.retryScanJob(job.digest, this.owner, { error: 'interrupted by shutdown', notBefore: this.#now() }).catch(() => false);
        return;
      }
      if (abort.signal.aborted) {
        this.log?.warn({ digest: job.digest }, 'scan abandoned: its lease was lost');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const code = String((err as { code?: unknown }).code ?? 'SCAN_FAILED');
      if (isPermanent(err) || job.attempts >= this.#opts.maxAttempts) {
        this.log?.warn({ digest: job.digest, repo: job.repo, code, err: message }, 'scan failed');
        await this.#scans.completeScanJob(job.digest, this.owner, { digest: job.digest, mediaType: job.mediaType, kind: 'image', status: 'failed', error: { code, message }, now: this.#now() });
      } else {
        const delay = Math.min(3_600_000, 5000 * 2 ** (job.attempts - 1));
        this.log?.warn({ digest: job.digest, repo: job.repo, attempt: job.attempts, retryInMs: delay, err: message }, 'scan failed; will retry');
        await this.#scans.retryScanJob(job.digest, this.owner, { error: message, notBefore: new Date(this.#now().getTime() + delay) });
      }
    } finally {
      clearInterval(renew);
      this.#abort.signal.removeEventListener('abort', onStop);
    }
    // The job is done; the indexes holding it follow. An index rolls itself up once more, for a child that
    // finished while it was being scanned (that child found no result to roll up yet). A failure here is no
    // reason to scan again, so it is logged, not retried; the next change to a child rolls them up.
    if (scanned) {
      await (scanned.kind === 'index' ? this.rollUp(job.digest) : this.#rollUpParents(job.digest)).catch((err: unknown) => {
        this.log?.warn({ digest: job.digest, err: err instanceof Error ? err.message : String(err) }, 'rolling up the indexes that hold this manifest failed');
      });
    }
  }

  /** The result of one job; undefined when no repository holds the manifest any more. */
  async #scan(job: ScanJob, signal: AbortSignal): Promise<NewScanResult | undefined> {
    const { store } = this.deps;
    let repo = job.repo;
    let m = await store.getManifest(repo, job.digest as Digest);
    if (!m) {
      for (const other of await this.#scans.repositoriesHolding(job.digest)) {
        m = await store.getManifest(other, job.digest as Digest);
        if (m) {
          repo = other;
          break;
        }
      }
    }
    if (!m) return undefined;
    const parsed = parseManifest(m.content, m.mediaType);
    const base = { digest: job.digest, mediaType: m.mediaType, now: this.#now() };
    if (parsed.kind === 'index') {
      await this.#scans.setIndexChildren(
        job.digest,
        parsed.manifests.map((d) => {
          const platform = platformString(d.platform);
          return platform ? { digest: d.digest, platform } : { digest: d.digest };
        }),
      );
      return { ...(await this.#rollUpResult(job.digest)), ...base };
    }
    if (parsed.kind !== 'image' || !parsed.config || (parsed.config.mediaType !== OCI_CONFIG && parsed.config.mediaType !== DOCKER_CONFIG)) {
      return { ...base, kind: 'image', status: 'unsupported', error: { code: 'NOT_AN_IMAGE', message: `${m.mediaType} with config ${parsed.config?.mediaType ?? 'none'} is not a container image` } };
    }

    // Each layer's extract, read from storage the first time the layer is seen; layers without one are read
    // LAYER_READS at a time (each inflates on its own zlib thread), their extracts kept in layer order.
    const layerExtract = async (layer: (typeof parsed.layers)[number], signal: AbortSignal): Promise<{ extract: Buffer; extractDigest: string } | undefined> => {
      const cached = await this.#scans.getLayerExtract(layer.digest);
      if (cached) return cached;
      if (isNonDistributable(layer.mediaType) && !(await store.getRepositoryBlob(repo, layer.digest))) return undefined;
      const ex = await extractInventoryLayer(
        blobLayer(async () => (await openBlob(this.deps, repo, layer.digest, undefined, signal)).stream),
        { signal },
      );
      await this.#scans.putLayerExtract({ digest: layer.digest, extract: ex.tar, extractDigest: ex.digest });
      return { extract: ex.tar, extractDigest: ex.digest };
    };
    const found = await inParallel(parsed.layers, LAYER_READS, layerExtract, signal);
    const extracts: Buffer[] = [];
    const digests: string[] = [];
    for (const f of found) {
      if (f?.extractDigest) {
        extracts.push(f.extract);
        digests.push(f.extractDigest);
      }
    }
    const key = inventoryKey(digests);
    const revision = await this.#scans.advisoryRevision();
    const existing = await this.#scans.getInventory(key);
    let inv: Inventory;
    if (existing) {
      inv = JSON.parse(existing.document) as Inventory;
      if (existing.match.revision < revision) await this.#putInventory(key, inv, revision);
    } else {
      const fs = await readRootfs(extracts.map(extractLayer), { want: (p) => isInventoryFile(p), signal });
      inv = await inventoryFromRootfs(fs);
      if (inv.distro?.ecosystem) await this.#putInventory(key, inv, revision);
    }
    const os = osOf(inv);
    if (!inv.distro?.ecosystem) {
      return {
        ...base,
        kind: 'image',
        status: 'unsupported',
        ...(os ? { os: JSON.stringify(os) } : {}),
        error: { code: 'OS_UNKNOWN', message: inv.os ? `no advisory ecosystem is known for ${inv.os.prettyName ?? inv.os.id}` : 'the image has no /etc/os-release or /usr/lib/os-release' },
      };
    }
    return { ...base, kind: 'image', status: 'done', inventoryKey: key, os: JSON.stringify(os) };
  }

  async #putInventory(key: string, inv: Inventory, revision: number): Promise<void> {
    await this.#syncLookup(revision);
    const now = this.#now();
    const { match } = await matchStored(inv, this.#lookup, revision, now);
    await this.#scans.putInventory({ key, document: JSON.stringify(inv), packageCount: inv.packages.length, match, now });
  }

  async #syncLookup(revision: number): Promise<void> {
    if (revision !== this.#lookupRevision) {
      this.#lookup.reset();
      this.#lookupRevision = revision;
    }
  }

  /** An index's result from its children's: pending until each has one; the health of all their findings. */
  async #rollUpResult(index: string): Promise<Omit<NewScanResult, 'digest' | 'mediaType'>> {
    const children = await this.#scans.childrenOf(index);
    const results = await Promise.all(children.map((c) => this.#scans.getResult(c.digest)));
    const findings = new Map<string, Finding>();
    let pending = false;
    let done = 0;
    for (const r of results) {
      if (!r || r.status === 'pending') pending = true;
      if (r?.status !== 'done') continue;
      done++;
      for (const f of JSON.parse(r.findings ?? '[]') as Finding[]) findings.set(`${f.advisory}\0${f.package.purl}`, f);
    }
    if (pending) return { kind: 'index', status: 'pending' };
    if (done === 0) return { kind: 'index', status: 'unsupported', error: { code: 'NO_SCANNABLE_CHILD', message: 'no child manifest of this index could be scanned' } };
    const all = [...findings.values()];
    const { health, match } = gradeOf(all, 0, this.#now());
    const out: Omit<NewScanResult, 'digest' | 'mediaType'> = { kind: 'index', status: 'done', grade: health.grade, health: match.health, findings: match.findings, findingCount: all.length };
    if (match.nextDropAt) out.nextDropAt = match.nextDropAt;
    return out;
  }

  /** Recomputes an index's result from its children's current ones. */
  async rollUp(index: string): Promise<void> {
    const cur = await this.#scans.getResult(index);
    if (!cur || cur.kind !== 'index') return;
    await this.#scans.putResult({ ...(await this.#rollUpResult(index)), digest: index, mediaType: cur.mediaType, now: this.#now() });
    await this.#rollUpParents(index);
  }

  async #rollUpParents(digest: string): Promise<void> {
    for (const parent of await this.#scans.indexesContaining([digest])) if (parent !== digest) await this.rollUp(parent);
  }

  /**
   * Matches again every inventory whose match is older than the advisory revision or whose grade drop date
   * has passed, and rolls up the indexes of the images using them. Returns how many were re-graded.
   */
  async rematch(opts: { batch?: number } = {}): Promise<number> {
    const revision = await this.#scans.advisoryRevision();
    await this.#syncLookup(revision);
    let n = 0;
    for (;;) {
      if (this.#stopped && this.#loop) break;
      const now = this.#now();
      const claimed = await this.#scans.claimRematch({ owner: this.owner, revision, limit: opts.batch ?? 100, leaseMs: this.#opts.leaseMs, now });
      if (claimed.length === 0) break;
      const matches: Array<{ key: string; match: InventoryMatch }> = [];
      for (const rec of claimed) {
        const inv = JSON.parse(rec.document) as Inventory;
        matches.push({ key: rec.key, match: (await matchStored(inv, this.#lookup, revision, now)).match });
      }
      // The batch's matches in one write, and its images' indexes in one query.
      const saved = await this.#scans.saveMatches(this.owner, matches);
      n += saved.size;
      const images = [...saved.values()].flat();
      for (const p of await this.#scans.indexesContaining(images)) await this.rollUp(p);
    }
    if (n > 0) this.log?.info({ inventories: n, revision }, 're-graded stored images');
    return n;
  }
}
