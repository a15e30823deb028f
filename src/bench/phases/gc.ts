/**
 * Garbage-collection cost against registry size and against the size of the change.
 *
 * The registry is opened in-process (as src/testing/registry.ts does): the filesystem driver on a temp
 * directory, and the SQLite store on a temp file, then the PostgreSQL store on a fresh schema when the
 * server is reachable. Metadata is written straight through the `MetadataStore` interface: R repositories,
 * each with 500 blob links and 100 tagged image manifests that reference 5 of those blobs apiece (one
 * config and four layers, every blob used by exactly one manifest). At full size R = 100: 10,000 manifests
 * and 50,000 blobs; the 10× smaller registry has R = 10: 1,000 manifests and 5,000 blobs. The blob bytes
 * are not written: GC deletes the records of orphan blobs and then their files, and a file that is not
 * there counts as deleted (`collectGarbage` in src/registry/gc.ts), so file deletion is left out.
 *
 * Then `collectGarbage` (deleteUntagged, grace 1 h, `now` a year ahead so every grace period has passed):
 * 0. once right after population: this drains what the pushes queued for review (every new link);
 * (a) with nothing changed since the last GC;
 * (b) after deleting 100 manifests (`deleteManifest`, as `DELETE /v2/<name>/manifests/<digest>`);
 * (b') after removing the only tag of 100 manifests (`deleteTag`), so GC deletes the untagged manifests;
 * (c) after deleting every remaining manifest.
 * (a), (b) and (b') are repeated `--reps` times (each (b)/(b') repetition on other manifests); (c) runs once.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf, type Digest } from '../../content/digest.js';
import { OCI_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST } from '../../content/media-types.js';
import { InProcessLocker } from '../../metadata/locks.js';
import { PostgresStore } from '../../metadata/postgres/store.js';
import { uniqueSchema } from '../../metadata/postgres/testing.js';
import { SqliteStore } from '../../metadata/sqlite/store.js';
import type { MetadataStore } from '../../metadata/store.js';
import { DEFAULT_LIMITS, type RegistryDeps } from '../../registry/deps.js';
import { collectGarbage, type GcResult } from '../../registry/gc.js';
import { UploadHashes } from '../../registry/upload-hashes.js';
import { FsDriver } from '../../storage/fs/driver.js';
import { median, type StandalonePhase } from '../context.js';
import { benchPostgresUrl, dropSchema, probePostgres, redactUrl } from '../postgres.js';

const MANIFESTS_PER_REPO = 100;
const BLOBS_PER_MANIFEST = 5;
const BLOB_SIZE = 1024;
const GRACE_MS = 3_600_000;

interface Shape {
  repos: number;
  manifests: number;
  blobs: number;
}

function shape(repos: number): Shape {
  return { repos, manifests: repos * MANIFESTS_PER_REPO, blobs: repos * MANIFESTS_PER_REPO * BLOBS_PER_MANIFEST };
}

const repoName = (r: number): string => `gcbench/repo${String(r).padStart(3, '0')}`;

function blobDigestOf(r: number, b: number): Digest {
  return digestOf(`gc-bench blob ${r}/${b}`);
}

interface BenchManifest {
  digest: Digest;
  content: Buffer;
  blobs: Digest[];
  tag: string;
}

function manifestOf(r: number, j: number): BenchManifest {
  const blobs = Array.from({ length: BLOBS_PER_MANIFEST }, (_, k) => blobDigestOf(r, j * BLOBS_PER_MANIFEST + k));
  const content = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: blobs[0], size: BLOB_SIZE },
      layers: blobs.slice(1).map((d) => ({ mediaType: OCI_LAYER_TAR, digest: d, size: BLOB_SIZE })),
    }),
  );
  return { digest: digestOf(content), content, blobs, tag: `v${j}` };
}

/** Runs `fn` over 0..n-1 with at most `limit` in flight. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function populate(store: MetadataStore, s: Shape): Promise<void> {
  await pool(s.repos, 8, async (r) => {
    const repo = repoName(r);
    for (let b = 0; b < MANIFESTS_PER_REPO * BLOBS_PER_MANIFEST; b++) await store.linkBlob(repo, blobDigestOf(r, b), BLOB_SIZE);
    for (let j = 0; j < MANIFESTS_PER_REPO; j++) {
      const m = manifestOf(r, j);
      await store.putManifest({
        repo,
        digest: m.digest,
        mediaType: OCI_MANIFEST,
        content: m.content,
        artifactType: OCI_CONFIG,
        blobs: m.blobs,
        children: [],
        tags: [m.tag],
      });
    }
  });
}

/** The k-th manifest to change: spread over the repositories first, then down each one. */
function pick(s: Shape, k: number): { r: number; j: number } {
  return { r: k % s.repos, j: Math.floor(k / s.repos) };
}

/** Review-queue depth, when the store exposes it (both stores do, for their tests); not part of the interface. */
async function queueDepth(store: MetadataStore): Promise<number | undefined> {
  const f = (store as unknown as { queueDepth?: () => Promise<number> }).queueDepth;
  return typeof f === 'function' ? f.call(store) : undefined;
}

interface Row {
  store: string;
  shape: Shape;
  step: string;
  changed: string;
  ms: number[];
  /** Of `ms`, the time spent inside the store's three GC steps (the review queues). */
  storeMs: number[];
  results: GcResult[];
  queued: Array<number | undefined>;
  expect?: { manifests: number; links: number; blobs: number };
}

function fmtMs(x: number): string {
  if (x >= 10_000) return `${(x / 1000).toFixed(1)} s`;
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 100) return `${x.toFixed(0)} ms`;
  if (x >= 10) return `${x.toFixed(1)} ms`;
  return `${x.toFixed(2)} ms`;
}

const n = (x: number): string => x.toLocaleString('en-US');

interface StoreTiming {
  reset(): void;
  ms(): number;
}

/**
 * Replaces `deps.store` with a view that times the store's GC steps (`deleteUntaggedManifests`,
 * `deleteUnreferencedLinks`, `deleteOrphanBlobs`): the review-queue work. The rest of a GC run is the
 * per-blob part in src/registry/gc.ts (lock, `getBlob`, file delete).
 */
function timeStoreGc(deps: RegistryDeps): StoreTiming {
  const target = deps.store;
  const steps = new Set(['deleteUntaggedManifests', 'deleteUnreferencedLinks', 'deleteOrphanBlobs']);
  let ns = 0n;
  deps.store = new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !steps.has(prop)) return f.bind(t);
      return async (...args: unknown[]) => {
        const t0 = process.hrtime.bigint();
        try {
          return await f.apply(t, args);
        } finally {
          ns += process.hrtime.bigint() - t0;
        }
      };
    },
  });
  return {
    reset: () => (ns = 0n),
    ms: () => Number(ns) / 1e6,
  };
}

interface OpenedStore {
  store: MetadataStore;
  deps: RegistryDeps;
  close(): Promise<void>;
}

type StoreKind = 'SQLite' | 'PostgreSQL';

async function openStore(kind: StoreKind, pgUrl: string): Promise<OpenedStore> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-gc-'));
  const driver = new FsDriver({ root: join(dir, 'storage') });
  let store: MetadataStore;
  let schema: string | undefined;
  let locker;
  if (kind === 'SQLite') {
    store = SqliteStore.open({ path: join(dir, 'metadata.db') });
    locker = new InProcessLocker();
  } else {
    schema = uniqueSchema('bench_gc');
    const pg = await PostgresStore.open({ url: pgUrl, schema, dropSchemaOnClose: true });
    store = pg;
    locker = pg.locker();
  }
  const deps: RegistryDeps = {
    driver,
    store,
    locker,
    hashes: new UploadHashes(),
    limits: DEFAULT_LIMITS,
    schema1Key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  };
  return {
    store,
    deps,
    async close() {
      await store.close().catch(() => undefined);
      await driver.close();
      // dropSchemaOnClose already did it; this catches a close that failed half-way.
      if (schema) await dropSchema(pgUrl, schema);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const gcCost: StandalonePhase = {
  name: 'gc',
  description: 'GC time for 10,000 manifests / 50,000 blobs: nothing changed, 100 changes, everything changed (SQLite, PostgreSQL)',
  needs: 'PostgreSQL (BERTH_BENCH_POSTGRES_URL) for the PostgreSQL rows; SQLite rows always run',
  async run(ctx) {
    const quick = ctx.opts.quick;
    const reps = ctx.opts.reps;
    const big = shape(quick ? 20 : 100);
    const small = shape(quick ? 2 : 10);
    const changes = quick ? 20 : 100;
    const pgUrl = benchPostgresUrl();
    const probe = await probePostgres(pgUrl);
    const kinds: StoreKind[] = probe.error ? ['SQLite'] : ['SQLite', 'PostgreSQL'];
    if (probe.error) ctx.log(`  PostgreSQL at ${redactUrl(pgUrl)} not reachable (${probe.error}): SQLite only`);
    const gcOpts = { deleteUntagged: true, graceMs: GRACE_MS, uploadTtlMs: 24 * GRACE_MS, now: new Date(Date.now() + 365 * 24 * GRACE_MS) };
    const rows: Row[] = [];
    const remarks: string[] = [];
    const populateNotes: string[] = [];

    for (const kind of kinds) {
      // Both registry sizes are open at once and every step alternates between them (big then small,
      // then small then big), so JIT warm-up and drift on the shared machine favour neither.
      const regs: Array<{ s: Shape; label: string; opened: OpenedStore; timing: StoreTiming; k: number }> = [];
      const unregister = ctx.onInterrupt(async () => {
        await Promise.all(regs.map((r) => r.opened.close()));
      });
      try {
        for (const s of [big, small]) {
          const label = `${kind}, ${n(s.manifests)} manifests / ${n(s.blobs)} blobs`;
          const opened = await openStore(kind, pgUrl);
          const timing = timeStoreGc(opened.deps);
          regs.push({ s, label, opened, timing, k: 0 });
          const t0 = Date.now();
          await populate(opened.store, s);
          const popS = (Date.now() - t0) / 1000;
          populateNotes.push(`${label}: populated in ${popS.toFixed(1)} s (${n(s.blobs)} linkBlob + ${n(s.manifests)} putManifest, 8 repositories at a time)`);
          ctx.log(`  ${label}: populated in ${popS.toFixed(1)} s`);
        }
        const rowsOf = new Map<string, Map<Shape, Row>>();
        const rowFor = (step: string, s: Shape, changed: string, expect?: Row['expect']): Row => {
          const bySize = rowsOf.get(step) ?? new Map<Shape, Row>();
          rowsOf.set(step, bySize);
          let row = bySize.get(s);
          if (!row) {
            row = { store: kind, shape: s, step, changed, ms: [], storeMs: [], results: [], queued: [], expect };
            bySize.set(s, row);
            rows.push(row);
          }
          return row;
        };
        const gc = async (reg: (typeof regs)[number], row: Row): Promise<void> => {
          row.queued.push(await queueDepth(reg.opened.store));
          reg.timing.reset();
          const t = process.hrtime.bigint();
          const r = await collectGarbage(reg.opened.deps, gcOpts);
          const ms = Number(process.hrtime.bigint() - t) / 1e6;
          if (!r.ran) throw new Error('collectGarbage did not run (lock held)');
          row.ms.push(ms);
          row.storeMs.push(reg.timing.ms());
          row.results.push(r);
          ctx.log(`  ${reg.label}, ${row.step}: ${fmtMs(ms)}, ${fmtMs(reg.timing.ms())} in the store's GC steps (deleted ${r.manifests} manifests, ${r.links} links, ${r.blobs} blobs)`);
        };
        const inTurn = (rep: number): typeof regs => (rep % 2 === 0 ? regs : [...regs].reverse());
        const none = { manifests: 0, links: 0, blobs: 0 };
        const per = { links: changes * BLOBS_PER_MANIFEST, blobs: changes * BLOBS_PER_MANIFEST };

        for (const reg of inTurn(0)) {
          await gc(reg, rowFor('0. first GC after population', reg.s, `${n(reg.s.blobs)} new links since the last GC (the pushes)`, none));
        }
        for (let rep = 0; rep < reps; rep++) {
          for (const reg of inTurn(rep)) await gc(reg, rowFor('(a) nothing changed', reg.s, 'nothing', none));
        }
        for (let rep = 0; rep < reps; rep++) {
          for (const reg of inTurn(rep)) {
            for (let i = 0; i < changes; i++, reg.k++) {
              const { r, j } = pick(reg.s, reg.k);
              if (!(await reg.opened.store.deleteManifest(repoName(r), manifestOf(r, j).digest))) throw new Error(`manifest ${r}/${j} was not there`);
            }
            await gc(reg, rowFor(`(b) ${changes} manifests deleted`, reg.s, `${changes} × deleteManifest`, { manifests: 0, ...per }));
          }
        }
        for (let rep = 0; rep < reps; rep++) {
          for (const reg of inTurn(rep)) {
            for (let i = 0; i < changes; i++, reg.k++) {
              const { r, j } = pick(reg.s, reg.k);
              if (!(await reg.opened.store.deleteTag(repoName(r), manifestOf(r, j).tag))) throw new Error(`tag ${r}/v${j} was not there`);
            }
            await gc(reg, rowFor(`(b') ${changes} tags removed`, reg.s, `${changes} × deleteTag (manifests left untagged)`, { manifests: changes, ...per }));
          }
        }
        for (const reg of inTurn(0)) {
          const left = reg.s.manifests - reg.k;
          for (; reg.k < reg.s.manifests; reg.k++) {
            const { r, j } = pick(reg.s, reg.k);
            if (!(await reg.opened.store.deleteManifest(repoName(r), manifestOf(r, j).digest))) throw new Error(`manifest ${r}/${j} was not there`);
          }
          await gc(
            reg,
            rowFor('(c) everything deleted', reg.s, `${n(left)} × deleteManifest (every remaining manifest)`, {
              manifests: 0,
              links: left * BLOBS_PER_MANIFEST,
              blobs: left * BLOBS_PER_MANIFEST,
            }),
          );
          const bytes = await reg.opened.store.storedBytes();
          if (bytes !== 0) remarks.push(`${reg.label}: ${bytes} bytes of blob records left after (c); expected 0`);
        }
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        ctx.log(`  ! gc on ${kind} failed: ${msg}`);
        remarks.push(`**${kind} failed:** ${msg.split('\n')[0]}`);
      } finally {
        unregister();
        for (const r of regs) await r.opened.close();
      }
    }

    // Deletions must be what the change implies, or the timing is of something else.
    for (const row of rows) {
      if (!row.expect) continue;
      for (const r of row.results) {
        if (r.manifests !== row.expect.manifests || r.links !== row.expect.links || r.blobs !== row.expect.blobs) {
          remarks.push(
            `${row.store} ${n(row.shape.manifests)} manifests, ${row.step}: deleted ${r.manifests}/${r.links}/${r.blobs} (manifests/links/blobs), expected ${row.expect.manifests}/${row.expect.links}/${row.expect.blobs}`,
          );
        }
      }
    }

    const cpus = os.cpus();
    const section: string[] = ['## GC cost: follows the changes, not the total', ''];
    section.push(
      `- Date: ${new Date().toISOString()}; ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}; Node ${process.version}; load average ${os.loadavg()[0].toFixed(2)} at the end`,
      `- In-process \`collectGarbage\` (src/registry/gc.ts) with deleteUntagged, grace 1 h, batch 500, \`now\` a year ahead; filesystem driver (blob files absent, see below). Stores: ${kinds
        .map((k) => (k === 'SQLite' ? 'SQLite (temp file, WAL)' : `PostgreSQL ${probe.version ?? ''} at ${redactUrl(pgUrl)} (fresh schema, dropped afterwards)`))
        .join('; ')}.${probe.error ? ` PostgreSQL not measured: ${probe.error}.` : ''}`,
      `- Registry: repositories × (500 blob links + 100 tagged manifests of 5 blobs each); every blob is used by one manifest. Time is wall time of one \`collectGarbage\` call, median of ${reps} for (a), (b), (b'); (c) and 0. are single runs. Both sizes are open at once and each step alternates between them. "Of which store GC steps" is the time inside the store's three review-queue steps; the rest is the per-blob part of src/registry/gc.ts (lock, re-check, file delete). "Queued" is the review-queue depth when GC started.`,
      '',
      '| Store | Registry | GC after | GC time | of which store GC steps | Deleted: manifests / links / blobs | Queued |',
      '|---|---|---|---:|---:|---|---:|',
    );
    for (const row of rows) {
      const last = row.results[row.results.length - 1];
      const q = row.queued.filter((x): x is number => x !== undefined);
      section.push(
        `| ${row.store} | ${n(row.shape.manifests)} manifests / ${n(row.shape.blobs)} blobs | ${row.step}: ${row.changed} | ${row.ms.length ? fmtMs(median(row.ms)) : '—'} | ${
          row.storeMs.length ? fmtMs(median(row.storeMs)) : '—'
        } | ${
          last ? `${n(last.manifests)} / ${n(last.links)} / ${n(last.blobs)}` : '—'
        } | ${q.length ? n(median(q)) : '—'} |`,
      );
    }
    section.push('');
    // The figure the issue asks for: (b) on the full registry against (b) on the 10× smaller one.
    const ratios: string[] = [];
    for (const kind of kinds) {
      for (const step of ['(a)', '(b)', "(b')"]) {
        const at = (s: Shape): Row | undefined => rows.find((r) => r.store === kind && r.shape === s && r.step.startsWith(step));
        const x = at(big);
        const y = at(small);
        if (x?.ms.length && y?.ms.length) {
          const mx = median(x.ms);
          const my = median(y.ms);
          const sx = median(x.storeMs);
          const sy = median(y.storeMs);
          ratios.push(
            `${kind} ${step}: ${fmtMs(mx)} at ${n(big.manifests)} manifests vs ${fmtMs(my)} at ${n(small.manifests)}: ${(mx / my).toFixed(2)}× for a ${(big.manifests / small.manifests).toFixed(0)}× larger registry (store GC steps alone: ${fmtMs(sx)} vs ${fmtMs(sy)}, ${(sx / sy).toFixed(2)}×)`,
          );
        }
      }
      const c = rows.find((r) => r.store === kind && r.shape === big && r.step.startsWith('(c)'));
      const b = rows.find((r) => r.store === kind && r.shape === big && r.step.startsWith('(b)'));
      if (c?.ms.length && b?.ms.length) {
        ratios.push(`${kind} (c) / (b) at ${n(big.manifests)} manifests: ${(median(c.ms) / median(b.ms)).toFixed(0)}× the time for ${((c.expect?.blobs ?? 0) / (b.expect?.blobs || 1)).toFixed(0)}× the deleted blobs`);
      }
    }
    section.push('### Remarks', '');
    for (const r of ratios) section.push(`- ${r}`);
    section.push(
      '- Blob files were never written, so every blob delete in GC found no file (`lstat` ENOENT, counted as deleted). The figures are metadata work plus per-blob locking; on a real registry (c) also pays one file or S3 object delete per blob.',
      `- The machine has ${cpus.length} cores and the PostgreSQL server runs on it too.`,
    );
    for (const p of populateNotes) section.push(`- ${p}`);
    for (const r of remarks) section.push(`- ${r}`);
    section.push('', '### Raw samples', '');
    for (const row of rows) {
      section.push(`- ${row.store} ${n(row.shape.manifests)} manifests, ${row.step}: ${row.ms.map(fmtMs).join(', ')} (store GC steps: ${row.storeMs.map(fmtMs).join(', ')})`);
    }
    section.push('');
    ctx.results.sections.push(section.join('\n'));
  },
};
