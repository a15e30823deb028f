/**
 * Where matching looks advisories up, and how imports land there. The interface is narrow and async so a
 * metadata-store-backed implementation can replace `MemoryAdvisoryStore` without touching matching.
 */
import { ecosystemFamily } from '../version/index.js';
import { mergeById, type Advisory } from './model.js';

export interface AdvisoryLookup {
  /**
   * Advisories with an affected entry for package `name` in any ecosystem of `family` (`Debian`, `Alpine`,
   * `Red Hat`, ...): the matcher picks the release. Unknown packages give `[]`.
   */
  lookup(family: string, name: string): Promise<Advisory[]>;
  /**
   * `lookup` of many names at once (optional): every name asked for is a key. A lookup over a database
   * answers a whole inventory with one query this way.
   */
  lookupMany?(family: string, names: readonly string[]): Promise<Map<string, Advisory[]>>;
}

export interface ImportReport {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

export interface ImportOptions {
  /**
   * The import is a complete snapshot of `source` (e.g. a whole OSV export): advisories imported earlier under
   * the same source name and missing now are removed.
   */
  complete?: boolean;
  /** Names the feed, for `complete` (e.g. `osv:Debian`, a file path). */
  source?: string;
}

export interface AdvisoryStore extends AdvisoryLookup {
  /**
   * Adds or updates advisories by id. A record whose `modified` (or, without one, whose content) is the same as
   * the stored one is unchanged; `withdrawn` records are removed. Repeating an import changes nothing.
   */
  import(advisories: Iterable<Advisory> | AsyncIterable<Advisory>, opts?: ImportOptions): Promise<ImportReport>;
  /** How many advisories are stored. */
  count(): Promise<number>;
}

const fingerprint = (a: Advisory) => a.modified ?? JSON.stringify(a);

/** An in-memory store, indexed by ecosystem family and package name. */
export class MemoryAdvisoryStore implements AdvisoryStore {
  private readonly byId = new Map<string, { advisory: Advisory; fingerprint: string; source: string | undefined }>();
  private readonly index = new Map<string, Set<string>>();

  private keys(a: Advisory): string[] {
    return [...new Set(a.affected.map((af) => `${ecosystemFamily(af.ecosystem)}\0${af.name}`))];
  }

  private remove(id: string): void {
    const cur = this.byId.get(id);
    if (!cur) return;
    for (const k of this.keys(cur.advisory)) this.index.get(k)?.delete(id);
    this.byId.delete(id);
  }

  private put(a: Advisory, source: string | undefined): void {
    this.remove(a.id);
    this.byId.set(a.id, { advisory: a, fingerprint: fingerprint(a), source });
    for (const k of this.keys(a)) {
      let s = this.index.get(k);
      if (!s) this.index.set(k, (s = new Set()));
      s.add(a.id);
    }
  }

  async lookup(family: string, name: string): Promise<Advisory[]> {
    return [...(this.index.get(`${family}\0${name}`) ?? [])].map((id) => this.byId.get(id)!.advisory);
  }

  async count(): Promise<number> {
    return this.byId.size;
  }

  async import(advisories: Iterable<Advisory> | AsyncIterable<Advisory>, opts: ImportOptions = {}): Promise<ImportReport> {
    const report: ImportReport = { added: [], changed: [], removed: [], unchanged: 0 };
    const seen = new Set<string>();
    const batch = await mergeById(advisories);
    for (const a of batch.values()) {
      seen.add(a.id);
      const cur = this.byId.get(a.id);
      if (a.withdrawn) {
        if (cur) {
          this.remove(a.id);
          report.removed.push(a.id);
        }
        continue;
      }
      if (!cur) {
        this.put(a, opts.source);
        report.added.push(a.id);
      } else if (cur.fingerprint !== fingerprint(a)) {
        this.put(a, opts.source);
        report.changed.push(a.id);
      } else report.unchanged++;
    }
    if (opts.complete) {
      for (const [id, e] of [...this.byId]) {
        if (e.source === opts.source && !seen.has(id)) {
          this.remove(id);
          report.removed.push(id);
        }
      }
    }
    return report;
  }
}
