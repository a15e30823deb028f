/**
 * What the filesystem checks need from an image's final root filesystem (all layers applied, whiteouts
 * honoured): look up an entry without following links, list a directory, read a small file. Paths are
 * absolute inside the image (`/licenses/a`). `resolve` follows symbolic links the way a chroot would: an
 * absolute target starts again at the image root and `..` never climbs above it, so no link leaves the image
 * (preflight skips links that would; here they cannot).
 */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TreeEntry {
  path: string;
  type: EntryType;
  size: number;
  mode: number;
  linkname?: string;
}

export interface FileTree {
  /** The entry at `path` itself (a link is returned as a link), or undefined. */
  lstat(path: string): TreeEntry | undefined;
  /** Names of the entries directly under the directory `path` (links in the path are not followed). */
  children(path: string): string[];
  /**
   * The bytes of the regular file at `path` (links followed), when it is one of the files the tree was built to
   * keep (image-tree.ts READ_FILES); undefined otherwise. Throws when it is larger than `max`.
   */
  readFile(path: string, max: number): Promise<Buffer | undefined>;
}

export const MAX_LINK_HOPS = 40;

/** Normalises an absolute path: `//a/./b/../c` → `/a/c`; `..` at the root stays at the root. */
export function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

/** True when the relative link target `target` of the link in directory `dir` climbs above the root (`../../x` from `/a`). */
export function escapesRoot(dir: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = cleanPath(dir).split('/').filter(Boolean).length;
  for (const seg of target.split('/')) {
    if (seg === '..') {
      if (--depth < 0) return true;
    } else if (seg !== '' && seg !== '.') depth++;
  }
  return false;
}

/**
 * Follows symbolic links in every component of `path` (and, with `followLast`, the last one too) and returns the
 * entry it names, or undefined for a broken link, a loop, or a missing entry. Hard links resolve to their target.
 * With `refuseEscapes`, a relative link whose target climbs above the root also counts as broken (preflight
 * extracts images to disk and skips such links, so nothing they point at exists for its checks).
 */
export function resolve(tree: FileTree, path: string, followLast = true, refuseEscapes = false): TreeEntry | undefined {
  let hops = 0;
  const walk = (p: string, last: boolean): TreeEntry | undefined => {
    const parts = cleanPath(p).split('/').filter(Boolean);
    let cur = '/';
    for (let i = 0; i < parts.length; i++) {
      const next = cleanPath(`${cur}/${parts[i]}`);
      const e = tree.lstat(next);
      if (!e) return undefined;
      const isLast = i === parts.length - 1;
      if (e.type === 'symlink' && (!isLast || last)) {
        if (++hops > MAX_LINK_HOPS || e.linkname === undefined) return undefined;
        if (refuseEscapes && escapesRoot(cur, e.linkname)) return undefined;
        const target = e.linkname.startsWith('/') ? e.linkname : `${cur}/${e.linkname}`;
        const rest = parts.slice(i + 1).join('/');
        return walk(rest ? `${target}/${rest}` : target, last);
      }
      if (e.type === 'hardlink' && isLast) {
        if (++hops > MAX_LINK_HOPS || e.linkname === undefined) return undefined;
        return walk(`/${e.linkname}`, last);
      }
      cur = next;
      if (isLast) return e;
    }
    return tree.lstat('/') ?? { path: '/', type: 'directory', size: 0, mode: 0o755 };
  };
  return walk(path, followLast);
}
