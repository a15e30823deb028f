/**
 * The image under certification, as every check sees it (preflight's `image.ImageReference`). Everything is
 * read lazily and once: checks that need only the config never open a layer, and two checks that need the
 * final filesystem share one walk.
 */
import type { Image, ImageConfig } from '../client/image.js';
import type { FileTree } from './filesystem.js';
import { openImageTree, type ImageTree } from './image-tree.js';
import type { ImageNaming } from './naming.js';
import { packagesOf, MAX_RPMDB_BYTES, type RpmPackage } from './rpm.js';
import type { BaseImageData } from './ubi-layers.js';

/** Where HasNoProhibitedPackages and BasedOnUbi look for the image's RPM database, first found wins (tooling.md §4.2). */
export const FINAL_RPMDB_PATHS = ['/usr/lib/sysimage/rpm/rpmdb.sqlite', '/var/lib/rpm/rpmdb.sqlite', '/var/lib/rpm/Packages'] as const;

export interface RpmDatabase {
  path: string;
  packages: RpmPackage[];
}

export interface SubjectOptions {
  image: Image;
  naming: ImageNaming;
  /** The first page of the repository's tags (registry references only). */
  listTags?: () => Promise<string[]>;
  /** BasedOnUbi's tables: UBI / RHHI top-layer diffIDs and Red Hat signing key ids. */
  baseData: BaseImageData;
  signal?: AbortSignal;
}

export class Subject {
  readonly image: Image;
  readonly naming: ImageNaming;
  readonly baseData: BaseImageData;
  readonly signal: AbortSignal | undefined;
  private readonly tagLister: (() => Promise<string[]>) | undefined;
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(opts: SubjectOptions) {
    this.image = opts.image;
    this.naming = opts.naming;
    this.baseData = opts.baseData;
    this.signal = opts.signal;
    this.tagLister = opts.listTags;
  }

  /** Runs `make` once per key; later calls (and concurrent ones) get the same promise. */
  protected once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memo.set(key, p);
    }
    return p;
  }

  config(): Promise<ImageConfig> {
    return this.once('config', () => this.image.config(this.signal ? { signal: this.signal } : {}));
  }

  /** `config.Labels` (go-containerregistry's `ConfigFile.Config.Labels`): string values only. */
  async labels(): Promise<Record<string, string>> {
    const raw = (await this.config()).config?.['Labels'];
    const out: Record<string, string> = {};
    if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
    return out;
  }

  /** `config.User`, empty when unset. */
  async user(): Promise<string> {
    const u = (await this.config()).config?.['User'];
    return typeof u === 'string' ? u : '';
  }

  /** `rootfs.diff_ids` of the config. */
  async diffIDs(): Promise<string[]> {
    const ids = (await this.config()).rootfs?.diff_ids;
    return Array.isArray(ids) ? ids.filter((d): d is string => typeof d === 'string') : [];
  }

  /** The final root filesystem (layers applied in order, whiteouts honoured), built on first use. */
  tree(): Promise<FileTree> {
    return this.once('tree', () => openImageTree(this.image, this.signal ? { signal: this.signal } : {}));
  }

  /** The packages of the final filesystem's RPM database (FINAL_RPMDB_PATHS), or undefined when it has none. */
  rpmDatabase(): Promise<RpmDatabase | undefined> {
    return this.once('rpmdb', async () => {
      const tree = await this.tree();
      for (const path of FINAL_RPMDB_PATHS) {
        const bytes = await tree.readFile(path, MAX_RPMDB_BYTES);
        if (!bytes) continue;
        const wal = path.endsWith('.sqlite') ? await tree.readFile(`${path}-wal`, MAX_RPMDB_BYTES) : undefined;
        return { path, packages: await packagesOf(bytes, path, wal) };
      }
      return undefined;
    });
  }

  /** Releases what the filesystem checks built (temporary files). Safe to call more than once. */
  async close(): Promise<void> {
    const tree = this.memo.get('tree') as Promise<ImageTree> | undefined;
    this.memo.delete('tree');
    if (tree) await tree.then((t) => t.close(), () => undefined);
  }

  /** Tags of the repository (first page), when the image is in a registry; undefined otherwise. */
  listTags(): Promise<string[]> | undefined {
    const lister = this.tagLister;
    return lister ? this.once('tags', lister) : undefined;
  }
}
