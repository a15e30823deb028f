/**
 * The registry side of certification: a background worker that certifies every pushed tag and publishes what
 * may be published.
 *
 * - Pushing a tag queues its certification (a trigger, in the push's transaction: `metadata/certs-schema.ts`).
 *   Each node runs a `Certifier`; jobs are leased, so nodes sharing one PostgreSQL never certify the same tag
 *   at once, and a job whose node died is taken over when its lease runs out.
 * - A job certifies the manifest the tag points at, read straight from the registry's storage, under the
 *   repository's policy, and stores the per-platform reports with the manifest (`CertStore.completeCertJob`).
 *   HasUniqueTag reads the repository's tag list (first page of ten, as preflight does) from the store.
 * - Auto-publish: in repositories with `autoPublish`, a tag is published once its manifest passed under the
 *   current policy AND its Health Index grade (the scanner's, `ScanStore.getGrades`) is A or B. Until the scan
 *   has a grade the tag waits; every pass looks again, so it is published as soon as the grade arrives.
 *
 * Failures: an image that cannot be certified at all (a manifest that does not parse, zstd layers, an index
 * without platform images) gets a result with status `error` at once; anything else (storage unavailable) is
 * retried with a doubling delay, and after `maxAttempts` also stored as `error`.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Digest } from '../content/digest.js';
import type { CertJob, CertPolicy, NewCertResult } from '../metadata/certs.js';
import type { Grade } from '../metadata/scans.js';
import { openBlob } from '../registry/blobs.js';
import type { RegistryDeps } from '../registry/deps.js';
import { RegistryError } from '../registry/errors.js';
import { certifyStored, type StoredContent } from '../certify/stored-image.js';
import { platformReports } from '../certify/registry-report.js';
import { TAG_PAGE_SIZE } from '../certify/tags.js';

/** Grades that auto-publish accepts. */
export const PUBLISHABLE_GRADES: readonly Grade[] = ['A', 'B'];

export interface CertifierOptions {
  /** The lease owner's name; default `hostname:pid:random`. */
  owner?: string;
  /** Jobs certified at the same time on this node (each reads and unpacks layers). Default 1. */
  concurrency?: number;
  /** How long an idle worker waits before looking for work again. Default 2 s. */
  pollMs?: number;
  /** How long a claimed job is ours without renewal; renewed every third of it while it runs. Default 10 min. */
  leaseMs?: number;
  /** Attempts before a job that keeps failing for other reasons is stored as an error. Default 5. */
  maxAttempts?: number;
  /** The first retry's delay; it doubles with each attempt. Default 30 s. */
  retryMs?: number;
  /** BasedOnUbi's table of UBI top-layer diffIDs (docs/policy/based-on-ubi.md); default: the shipped one. */
  ubiLayersFile?: string;
  /** The registry's name in reports (`registry.example.com`); default: reports say `repo:tag`. */
  registryName?: string;
  /** How often results of deleted manifests and publications of deleted tags are pruned. Default 10 min. */
  pruneEveryMs?: number;
}

export interface CertifierPass {
  certified: number;
  published: number;
}

/** Errors of an image that another attempt cannot fix. */
const PERMANENT = new Set(['MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'UNSUPPORTED_FORMAT', 'DIGEST_MISMATCH', 'SIZE_MISMATCH', 'NO_PLATFORMS', 'UBI_DATA_INVALID']);

class NoPlatformsError extends Error {
  readonly code = 'NO_PLATFORMS';
}

export class Certifier {
  readonly owner: string;
  readonly #o: Required<Omit<CertifierOptions, 'owner' | 'ubiLayersFile' | 'registryName'>> & Pick<CertifierOptions, 'ubiLayersFile' | 'registryName'>;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<CertifierPass> | undefined;
  #lastPrune = 0;

  constructor(
    private readonly deps: RegistryDeps,
    private readonly log: Logger,
    opts: CertifierOptions = {},
  ) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#o = {
      concurrency: Math.max(1, opts.concurrency ?? 1),
      pollMs: opts.pollMs ?? 2000,
      leaseMs: opts.leaseMs ?? 600_000,
      maxAttempts: Math.max(1, opts.maxAttempts ?? 5),
      retryMs: opts.retryMs ?? 30_000,
      pruneEveryMs: opts.pruneEveryMs ?? 600_000,
      ubiLayersFile: opts.ubiLayersFile,
      registryName: opts.registryName,
    };
  }

  /** Starts the background loop: a pass, then a wait of `pollMs` (cut short by `poke`), until `stop`. */
  start(): void {
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        await this.runOnce().catch((err: unknown) => {
          if (!signal.aborted) this.log.error({ err }, 'certification pass failed');
        });
        // `stop` during the pass aborted the signal already, and an 'abort' listener added now would never run:
        // the wait below would never end, and its timer is unref'd, so nothing would even keep the process
        // waiting for it (issue 7: `stop()` never returned).
        if (signal.aborted) break;
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', wake);
            this.#wake = undefined;
            resolve();
          };
          const timer = setTimeout(wake, this.#o.pollMs);
          timer.unref();
          this.#wake = wake;
          signal.addEventListener('abort', wake);
        });
      }
    })();
  }

  /** Looks for work now instead of at the next poll. */
  poke(): void {
    this.#wake?.();
  }

  /**
   * Stops the loop; a certification in progress is aborted and its job is left for another attempt (by any node,
   * once its lease runs out). Returns when the loop and the pass in progress have ended.
   */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('the certifier is stopping'));
    await this.#loop;
    await this.#running?.catch(() => undefined);
  }

  /**
   * One pass: certifies every due job (claimed `concurrency` at a time) until none is left, then publishes
   * what auto-publish may publish, and prunes when it is due. Concurrent calls share the pass in progress.
   */
  runOnce(): Promise<CertifierPass> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<CertifierPass> {
    const signal = this.#abort.signal;
    const certs = this.deps.store.certs;
    let certified = 0;
    while (!signal.aborted) {
      const jobs = await certs.claimCertJobs({ owner: this.owner, limit: this.#o.concurrency, leaseMs: this.#o.leaseMs });
      if (jobs.length === 0) break;
      const done = await Promise.all(jobs.map((j) => this.#certify(j)));
      certified += done.filter(Boolean).length;
    }
    const published = signal.aborted ? 0 : await this.publishReady();
    if (!signal.aborted && Date.now() - this.#lastPrune >= this.#o.pruneEveryMs) {
      this.#lastPrune = Date.now();
      const pruned = await certs.pruneCerts();
      if (pruned.results || pruned.publications || pruned.jobs) this.log.info({ pruned }, 'pruned certification records');
    }
    return { certified, published };
  }

  /** Runs one job; true when a result was stored. */
  async #certify(job: CertJob): Promise<boolean> {
    const { store } = this.deps;
    const certs = store.certs;
    const signal = this.#abort.signal;
    const renew = setInterval(() => {
      certs.renewCertJob(job, this.owner, this.#o.leaseMs).catch((err: unknown) => this.log.warn({ err, repo: job.repo, tag: job.tag }, 'renewing a certification lease failed'));
    }, Math.max(1000, this.#o.leaseMs / 3));
    renew.unref();
    let policy: CertPolicy = 'container';
    let digest: Digest | undefined;
    let mediaType = '';
    try {
      const m = await store.getTaggedManifest(job.repo, job.tag);
      if (!m) {
        // The tag was deleted after the push: nothing to certify.
        await certs.completeCertJob(job, this.owner);
        return false;
      }
      digest = m.digest;
      mediaType = m.mediaType;
      policy = (await certs.getCertSettings(job.repo)).policy;
      const started = Date.now();
      const run = await certifyStored(
        storedContent(this.deps, job.repo),
        { repo: job.repo, tag: job.tag, digest, ...(this.#o.registryName ? { host: this.#o.registryName } : {}) },
        {
          policy,
          signal,
          withLabels: true,
          listTags: () => store.listTags(job.repo, { n: TAG_PAGE_SIZE }),
          ...(this.#o.ubiLayersFile ? { ubiLayersFile: this.#o.ubiLayersFile } : {}),
        },
      );
      if (run.platforms.length === 0) throw new NoPlatformsError(`${job.repo}@${digest} is an index without platform images`);
      const platforms = platformReports(run);
      const result: NewCertResult = {
        repo: job.repo,
        digest,
        mediaType,
        tag: job.tag,
        policy,
        status: 'done',
        passed: run.passed,
        platforms: JSON.stringify(platforms),
        labels: JSON.stringify(platforms[0]?.labels ?? {}),
      };
      const kept = await certs.completeCertJob(job, this.owner, result);
      this.log.info({ repo: job.repo, tag: job.tag, digest, policy, passed: run.passed, ms: Date.now() - started, kept }, 'certified');
      return kept;
    } catch (err) {
      if (signal.aborted) {
        // Stopping: hand the job back, due at once, so that the next start (or another node) takes it without
        // waiting for the lease to run out.
        await certs.retryCertJob(job, this.owner, { error: 'the certifier stopped during this certification', notBefore: new Date() }).catch(() => false);
        return false;
      }
      const code = codeOf(err);
      const message = err instanceof Error ? err.message : String(err);
      if (digest && ((code && PERMANENT.has(code)) || job.attempts >= this.#o.maxAttempts)) {
        this.log.warn({ err, repo: job.repo, tag: job.tag, digest }, 'image cannot be certified');
        const result: NewCertResult = { repo: job.repo, digest, mediaType, tag: job.tag, policy, status: 'error', passed: false, platforms: '[]', error: { code: code ?? 'INTERNAL', message } };
        return certs.completeCertJob(job, this.owner, result);
      }
      const notBefore = new Date(Date.now() + this.#o.retryMs * 2 ** Math.max(0, job.attempts - 1));
      this.log.warn({ err, repo: job.repo, tag: job.tag, attempts: job.attempts, notBefore }, 'certification failed; will retry');
      await certs.retryCertJob(job, this.owner, { error: message, notBefore });
      return false;
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Publishes every auto-publish candidate whose grade is A or B (`CertStore.listAutoPublishCandidates`).
   * Candidates without a grade yet stay candidates. Returns how many were published.
   */
  async publishReady(): Promise<number> {
    const { certs, scans } = this.deps.store;
    let published = 0;
    let after: { repo: string; tag: string } | undefined;
    for (;;) {
      const batch = await certs.listAutoPublishCandidates({ limit: 100, ...(after ? { after } : {}) });
      if (batch.length === 0) break;
      const grades = await scans.getGrades(batch.map((c) => c.digest));
      for (const c of batch) {
        const g = grades.get(c.digest);
        if (g?.status !== 'done' || !g.grade || !PUBLISHABLE_GRADES.includes(g.grade)) continue;
        if (await certs.publish({ ...c, automatic: true })) {
          published++;
          this.log.info({ repo: c.repo, tag: c.tag, digest: c.digest, grade: g.grade }, 'published automatically');
        }
      }
      if (batch.length < 100) break;
      after = batch[batch.length - 1]!;
    }
    return published;
  }
}

/** The registry's storage as certify reads it: one repository's manifests and blobs. */
export function storedContent(deps: RegistryDeps, repo: string): StoredContent {
  return {
    async manifest(digest) {
      const m = await deps.store.getManifest(repo, digest);
      return m && { bytes: m.content, mediaType: m.mediaType };
    },
    async blob(digest, offset, signal): Promise<Readable | undefined> {
      try {
        const range = offset > 0 ? { start: offset, end: Number.MAX_SAFE_INTEGER } : undefined;
        return (await openBlob(deps, repo, digest, range, signal)).stream;
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return undefined;
        throw err;
      }
    },
  };
}

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
