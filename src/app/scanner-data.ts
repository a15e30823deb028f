/**
 * The scanner's model (`scan/`) over the metadata store's plain records (`metadata/scans.ts`): advisories in and
 * out of the store, an `AdvisoryLookup` backed by it, and the match of an inventory as the store keeps it.
 * `metadata/` may not import `scan/` and `scan/` may not import `metadata/`, so the two meet here.
 */
import { createHash } from 'node:crypto';
import type { AdvisoryRecord, InventoryMatch, ScanStore } from '../metadata/scans.js';
import { parseAdvisoryJson } from '../scan/advisories/load.js';
import { mergeById, type Advisory } from '../scan/advisories/model.js';
import type { AdvisoryLookup, ImportReport } from '../scan/advisories/store.js';
import { healthIndexAt, type HealthIndex } from '../scan/health-index.js';
import type { Inventory } from '../scan/inventory/index.js';
import { matchInventory, type Finding } from '../scan/match.js';
import { ecosystemFamily } from '../scan/version/index.js';

/** An advisory as the store keeps it: its JSON, found by (ecosystem family, package name), fingerprinted by content. */
export function advisoryRecord(a: Advisory): AdvisoryRecord {
  const document = JSON.stringify(a);
  const r: AdvisoryRecord = {
    id: a.id,
    keys: a.affected.map((af) => ({ family: ecosystemFamily(af.ecosystem), name: af.name })),
    fingerprint: createHash('sha256').update(document).digest('hex'),
    document,
  };
  if (a.withdrawn) r.withdrawn = true;
  return r;
}

export interface AdvisoryImportResult extends ImportReport {
  /** The advisory revision after the import; stored images matched before it get re-graded. */
  revision: number;
}

/**
 * Imports advisories into the store with the semantics of `MemoryAdvisoryStore.import`: the same id twice in
 * one import (a CSAF and an OSV record of one CVE) is merged first, so a repeated import is unchanged. The
 * parsed advisories of one import are held in memory for that merge; the files they come from are streamed.
 */
export async function importAdvisories(scans: ScanStore, advisories: Iterable<Advisory> | AsyncIterable<Advisory>, opts: { source?: string; complete?: boolean } = {}): Promise<AdvisoryImportResult> {
  const batch = await mergeById(advisories);
  function* records(): Generator<AdvisoryRecord> {
    for (const a of batch.values()) yield advisoryRecord(a);
  }
  const r = await scans.importAdvisories(records(), opts);
  return { added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged, revision: r.revision };
}

/** `importAdvisories` of parsed JSON values in any supported format (OSV, CSAF/VEX, Alpine secdb, Debian tracker). */
export async function importAdvisoryJson(scans: ScanStore, values: Iterable<unknown>, opts: { source?: string; complete?: boolean } = {}): Promise<AdvisoryImportResult> {
  function* parsed(): Generator<Advisory> {
    let i = 0;
    for (const v of values) yield* parseAdvisoryJson(v, `${opts.source ?? 'advisory data'}[${i++}]`);
  }
  return importAdvisories(scans, parsed(), opts);
}

/**
 * `AdvisoryLookup` over the store, with a cache of parsed advisories for one advisory revision: re-grading
 * thousands of images looks each package name up once, and parses each advisory once. `lookupMany` fetches
 * the names of a whole inventory in one query. Call `reset` when the revision changes.
 */
export class StoreAdvisoryLookup implements AdvisoryLookup {
  /** Family → package name → advisories. */
  readonly #byName = new Map<string, Map<string, Advisory[]>>();
  #names = 0;
  readonly #parsed = new Map<string, Advisory>();

  constructor(
    private readonly scans: ScanStore,
    private readonly maxEntries = 200_000,
  ) {}

  reset(): void {
    this.#byName.clear();
    this.#parsed.clear();
    this.#names = 0;
  }

  async prefetch(family: string, names: Iterable<string>): Promise<void> {
    let cached = this.#byName.get(family);
    const missing: string[] = [];
    for (const n of new Set(names)) if (!cached?.has(n)) missing.push(n);
    if (missing.length === 0) return;
    if (this.#names + missing.length > this.maxEntries) {
      this.reset();
      cached = undefined;
    }
    if (!cached) this.#byName.set(family, (cached = new Map()));
    const found = await this.scans.lookupAdvisoriesMany(family, missing);
    for (const [name, stored] of found) {
      if (!cached.has(name)) this.#names++;
      cached.set(
        name,
        stored.map((s) => {
          const key = `${s.id}\0${s.fingerprint}`;
          let a = this.#parsed.get(key);
          if (!a) this.#parsed.set(key, (a = JSON.parse(s.document) as Advisory));
          return a;
        }),
      );
    }
  }

  async lookup(family: string, name: string): Promise<Advisory[]> {
    let found = this.#byName.get(family)?.get(name);
    if (!found) {
      await this.prefetch(family, [name]);
      found = this.#byName.get(family)?.get(name);
    }
    return found ?? [];
  }

  async lookupMany(family: string, names: readonly string[]): Promise<Map<string, Advisory[]>> {
    await this.prefetch(family, names);
    const cached = this.#byName.get(family);
    const out = new Map<string, Advisory[]>();
    for (const n of names) {
      let found = cached?.get(n);
      // Evicted by a reset in the middle of a huge inventory: ask again, one name at a time.
      if (!found) found = await this.lookup(family, n);
      out.set(n, found);
    }
    return out;
  }
}

export interface Matched {
  findings: Finding[];
  health: HealthIndex;
  /** What the store keeps. */
  match: InventoryMatch;
}

/** Matches an inventory against the stored advisories of `revision` and grades it at `now`. */
export async function matchStored(inv: Inventory, lookup: StoreAdvisoryLookup, revision: number, now: Date): Promise<Matched> {
  const findings = await matchInventory(inv, lookup);
  return { findings, ...gradeOf(findings, revision, now) };
}

/** The health index of findings at `now`, as the store keeps it. */
export function gradeOf(findings: readonly Finding[], revision: number, now: Date): { health: HealthIndex; match: InventoryMatch } {
  const { health, nextDropAt } = healthIndexAt(findings, now);
  const match: InventoryMatch = { findings: JSON.stringify(findings), findingCount: findings.length, health: JSON.stringify(health), grade: health.grade, revision, matchedAt: now };
  if (nextDropAt) match.nextDropAt = nextDropAt;
  return { health, match };
}

