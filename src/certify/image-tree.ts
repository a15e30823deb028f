/**
 * The final root filesystem of an image for the filesystem checks (HasLicense, the RPM database of
 * HasNoProhibitedPackages and BasedOnUbi, os-release), from the scanner's `readRootfs` (scan/rootfs.ts:
 * layers streamed once, in order, whiteouts applied, nothing unpacked to disk). The listing of every entry is
 * kept (HasLicense needs types, sizes and link targets); the content only of the few files the checks read.
 */
import type { Image } from '../client/image.js';
import type { SourceOptions } from '../client/transport.js';
import { readRootfs, type Rootfs, type RootfsEntry } from '../scan/rootfs.js';
import { CertifyError } from './errors.js';
import { cleanPath, type FileTree, type TreeEntry } from './filesystem.js';

export interface ImageTree extends FileTree {
  /** Frees what the tree holds. Safe to call more than once. */
  close(): Promise<void>;
}

/** The files whose content the checks read (paths as the scanner writes them: relative, no leading `/`). */
export const READ_FILES = [
  'etc/os-release',
  'usr/lib/os-release',
  'usr/lib/sysimage/rpm/rpmdb.sqlite',
  'usr/lib/sysimage/rpm/rpmdb.sqlite-wal',
  'var/lib/rpm/rpmdb.sqlite',
  'var/lib/rpm/rpmdb.sqlite-wal',
  'var/lib/rpm/Packages',
] as const;

function rel(path: string): string {
  return cleanPath(path).slice(1);
}

function toTreeEntry(e: RootfsEntry): TreeEntry {
  const t: TreeEntry = { path: `/${e.path}`, type: e.type, size: e.size, mode: e.mode };
  if (e.linkname !== undefined) t.linkname = e.type === 'hardlink' ? `/${e.linkname}` : e.linkname;
  return t;
}

/** A FileTree over the scanner's Rootfs (with its listing). */
export function treeOf(fs: Rootfs): ImageTree {
  const entries = fs.entries ?? new Map<string, RootfsEntry>();
  // Directories by their children, implicit parents included (a layer need not list every parent directory).
  const children = new Map<string, Set<string>>();
  for (const p of entries.keys()) {
    const parts = p.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      let set = children.get(dir);
      if (!set) children.set(dir, (set = new Set()));
      set.add(parts[i]!);
    }
  }
  return {
    lstat(path) {
      const r = rel(path);
      const e = entries.get(r);
      if (e) return toTreeEntry(e);
      if (r === '' || children.has(r)) return { path: `/${r}`, type: 'directory', size: 0, mode: 0o755 };
      return undefined;
    },
    children(path) {
      return [...(children.get(rel(path)) ?? [])];
    },
    async readFile(path, max) {
      const f = fs.file(rel(path));
      if (!f) return undefined;
      if (f.content.length > max) throw new CertifyError('CHECK_DATA_UNAVAILABLE', `${path}: ${f.content.length} bytes is more than the ${max}-byte cap`);
      return f.content;
    },
    async close() {},
  };
}

/** Reads `image`'s final filesystem (listing plus READ_FILES). Scanner errors keep their code in `cause`. */
export async function openImageTree(image: Image, opts: SourceOptions = {}): Promise<ImageTree> {
  try {
    return treeOf(await readRootfs(image, { ...opts, want: READ_FILES, list: true }));
  } catch (cause) {
    throw new CertifyError('CHECK_DATA_UNAVAILABLE', `cannot read the filesystem of ${image.digest}: ${(cause as Error).message}`, undefined, { cause });
  }
}
