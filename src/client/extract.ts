/**
 * Extracting an image's filesystem to disk without a container runtime (`oc image extract`; the layer
 * application rules of docker's archive.ApplyLayer and umoci's unpack):
 *
 * - layers are applied in order, each streamed through the tar reader (never held whole);
 * - `.wh.NAME` removes NAME as lower layers left it, `.wh..wh..opq` hides everything lower layers put in its
 *   directory; other `.wh..wh.*` entries (aufs metadata) are ignored;
 * - a later entry replaces what is there (a directory over a directory keeps the contents);
 * - names with `..` that leave the destination are refused; symlinks are written as they are (absolute
 *   targets too) but never followed out of the destination: parent directories are resolved as in a chroot
 *   (securejoin), so `lib -> /usr/lib` then `lib/x` writes `DST/usr/lib/x`;
 * - modes, modification times and symlinks are kept; hard links are links (a copy where linking fails);
 *   devices and fifos are skipped;
 * - whiteouts only remove what this extraction wrote, so files that were in a `--confirm`ed destination
 *   beforehand are never deleted by a whiteout (they may be overwritten by an entry of the same name).
 *
 * `--path SRC:DST` as oc: SRC `/` (or empty) is the whole image; `dir/` maps that directory's contents into
 * DST; anything else is `parent/glob`, the glob matched against the first component under `parent/`.
 */
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, link, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, stat, symlink, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../content/descriptor.js';
import { ClientError } from './errors.js';
import type { Image, Layer } from './image.js';
import { readTar, type StreamEntry } from './tar/reader.js';
import type { SourceOptions } from './transport.js';

export interface PathMapping {
  /** The path in the image without its leading `/`: `''` (everything), `etc/` (a directory) or `etc/*.repo`. */
  from: string;
  /** The absolute destination directory. */
  to: string;
}

/** Parses `SRC:DST` (oc's `--path`); DST is made absolute against `cwd`. */
export function parsePathMapping(arg: string, cwd = process.cwd()): PathMapping {
  const i = arg.indexOf(':');
  if (i === -1) throw new ClientError('REFERENCE_INVALID', `--path must be of the form SRC:DST, got ${JSON.stringify(arg)}`);
  const from = arg.slice(0, i).replace(/^\/+/, '');
  const to = resolve(cwd, arg.slice(i + 1) || '.');
  if (from !== '' && !from.endsWith('/')) {
    const slash = from.lastIndexOf('/');
    if (slash <= 0 || slash === from.length - 1) throw new ClientError('REFERENCE_INVALID', `unexpected directory from mapping ${from}: name a directory with a trailing / (e.g. /${from}/:${arg.slice(i + 1)})`);
  }
  return { from, to };
}

/** Checks what oc checks before extracting: DST exists, is a directory, and is empty unless `confirm`. */
export async function checkDestination(m: PathMapping, confirm: boolean): Promise<void> {
  const st = await stat(m.to).catch(() => undefined);
  if (!st) throw new ClientError('REFERENCE_INVALID', `destination path does not exist: ${m.to}`);
  if (!st.isDirectory()) throw new ClientError('REFERENCE_INVALID', `invalid argument: ${m.to} is not a directory`);
  if (!confirm && (await readdir(m.to)).length > 0) {
    throw new ClientError('REFERENCE_INVALID', `directory ${m.to} must be empty, pass --confirm to overwrite contents of directory`);
  }
}

/**
 * Splits oc's layer selector off an image reference: `IMAGE[-1]`, `IMAGE[:3]`, `IMAGE[1:3]`, `IMAGE[~abc]`.
 */
export function splitLayerSelector(image: string): { image: string; select?: (layers: readonly Descriptor[]) => number[] } {
  const m = /^(.*)\[([^\]]*)\](.*)$/.exec(image);
  if (!m) return { image };
  if (!m[1] || !m[2] || m[3]) throw new ClientError('REFERENCE_INVALID', 'layer selectors must be of the form IMAGE[\\d:\\d]');
  const s = m[2];
  const all = (layers: readonly Descriptor[]) => layers.map((_, i) => i);
  if (s.startsWith('~')) {
    const prefix = s.slice(1);
    return {
      image: m[1],
      select: (layers) => {
        const hits = all(layers).filter((i) => layers[i]!.digest.startsWith(prefix));
        if (hits.length === 0) throw new ClientError('REFERENCE_INVALID', `no layers start with '${prefix}'`);
        if (hits.length > 1) throw new ClientError('REFERENCE_INVALID', `multiple layers start with '${prefix}', you must be more specific`);
        return hits;
      },
    };
  }
  const num = (v: string) => {
    if (!/^-?\d+$/.test(v)) throw new ClientError('REFERENCE_INVALID', `the layer selector [${s}] is not valid, must be [from:to], [index], or [~digest]`);
    return Number(v);
  };
  if (s.includes(':') || s.includes(',')) {
    const [a = '', b = ''] = s.split(/[:,]/, 2);
    const from0 = a ? num(a) : 0;
    const to0 = b ? num(b) : Infinity;
    return {
      image: m[1],
      select: (layers) => {
        const l = layers.length;
        let from = from0 < 0 ? l + from0 : from0;
        let to = to0 < 0 ? l + to0 : Math.min(to0, l);
        if (from < 0 || to < 0 || from >= l) throw new ClientError('REFERENCE_INVALID', `tried to select [${s}], but image only has ${l} layers`);
        if (to < from) [from, to] = [to, from];
        return all(layers).slice(from, to);
      },
    };
  }
  const at0 = num(s);
  return {
    image: m[1],
    select: (layers) => {
      const at = at0 < 0 ? layers.length + at0 : at0;
      if (at < 0 || at >= layers.length) throw new ClientError('REFERENCE_INVALID', `tried to select layer ${at0}, but image only has ${layers.length} layers`);
      return [at];
    },
  };
}

export interface ExtractOptions extends SourceOptions {
  /** Default: the whole image into the current directory (`/:.`). */
  mappings?: PathMapping[];
  /** Only regular files and directories (whiteouts still apply). */
  onlyFiles?: boolean;
  /** chown entries to the uid/gid the archive names (needs root). */
  preserveOwnership?: boolean;
  /** Indexes of the layers to apply (oc's layer selectors); default all. */
  layers?: number[];
}

export interface ExtractResult {
  layers: number;
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  whiteouts: number;
  /** Devices, fifos and (with onlyFiles) links that were not written. */
  skipped: number;
}

/** What this extraction wrote, by real path under the destination; whiteouts only touch these. */
interface Node {
  children: Map<string, Node>;
  /** The index of the last layer that wrote this path or something below it. */
  layer: number;
  /** True when this extraction created it (so removing it removes nothing that was there before). */
  created: boolean;
}

const newNode = (layer: number, created: boolean): Node => ({ children: new Map(), layer, created });

interface Target {
  mapping: PathMapping;
  root: Node;
  /** Final modes and times of directories, applied at the end (a read-only directory must stay writable until then). */
  dirs: Map<string, { mode: number; mtime: number; uid: number; gid: number }>;
  /** The glob of a `parent/glob` mapping. */
  glob?: RegExp;
  prefix: string;
}

/** Splits an archive name into components, refusing one that leaves the root through `..`. */
export function safeComponents(name: string): string[] {
  const out: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length === 0) throw new ClientError('ARCHIVE_INVALID', `refusing to extract ${JSON.stringify(name)}: it points outside the destination`);
      out.pop();
    } else out.push(p);
  }
  return out;
}

function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!') || cls.startsWith('^')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += `\\${glob[++i]!}`;
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function makeTarget(mapping: PathMapping): Target {
  const t: Target = { mapping, root: newNode(-1, false), dirs: new Map(), prefix: '' };
  if (mapping.from === '') return t;
  if (mapping.from.endsWith('/')) {
    t.prefix = safeComponents(mapping.from).join('/');
    if (t.prefix !== '') t.prefix += '/';
    return t;
  }
  const slash = mapping.from.lastIndexOf('/');
  t.prefix = `${safeComponents(mapping.from.slice(0, slash)).join('/')}/`;
  t.glob = globRegex(mapping.from.slice(slash + 1));
  return t;
}

/** The entry's path relative to the mapping's destination, or undefined when the mapping does not take it. */
function mapName(t: Target, comps: string[]): string[] | undefined {
  if (t.prefix === '') return comps;
  const name = comps.join('/');
  if (!name.startsWith(t.prefix)) return undefined;
  const rest = comps.slice(t.prefix.split('/').length - 1);
  if (rest.length === 0) return undefined;
  if (t.glob && !t.glob.test(rest[0]!)) return undefined;
  return rest;
}

function nodeAt(t: Target, rel: string[], layer: number, createdIfNew: boolean): Node {
  let n = t.root;
  for (const c of rel) {
    let child = n.children.get(c);
    if (!child) {
      child = newNode(layer, createdIfNew);
      n.children.set(c, child);
    }
    if (child.layer < layer) child.layer = layer;
    n = child;
  }
  return n;
}

/**
 * Resolves directory components under the root as if the root were `/` (securejoin): symlinks are followed
 * but `..` and absolute targets never leave the root. Missing directories are created (mode 0755).
 */
async function resolveDir(t: Target, comps: string[], layer: number): Promise<string[]> {
  const root = t.mapping.to;
  const queue = [...comps];
  let cur: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const next = [...cur, c];
    const abs = join(root, ...next);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) {
      await mkdir(abs, { mode: 0o755 });
      nodeAt(t, next, layer, true);
      cur = next;
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 255) throw new ClientError('ARCHIVE_INVALID', `too many levels of symbolic links resolving ${comps.join('/')}`);
      const target = await readlink(abs);
      if (target.startsWith('/')) cur = [];
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) throw new ClientError('ARCHIVE_INVALID', `cannot extract ${comps.join('/')}: ${next.join('/')} is not a directory`);
    cur = next;
  }
  return cur;
}

/** Removes what this extraction wrote at `abs` (all of it if it created `abs`, else only its tracked contents). */
async function removeTracked(abs: string, node: Node): Promise<void> {
  if (node.created) {
    await rm(abs, { recursive: true, force: true });
    return;
  }
  for (const [name, child] of node.children) await removeTracked(join(abs, name), child);
  node.children.clear();
}

/** Makes `dir` opaque for `layer`: everything lower layers put below it goes. */
async function makeOpaque(t: Target, abs: string, dir: Node, layer: number): Promise<void> {
  for (const [name, child] of [...dir.children]) {
    const p = join(abs, name);
    if (child.layer < layer) {
      await removeTracked(p, child);
      dir.children.delete(name);
      t.dirs.delete(p);
    } else {
      await makeOpaque(t, p, child, layer);
    }
  }
}

async function clear(abs: string, keepDir: boolean): Promise<void> {
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    if (keepDir) return;
    await rm(abs, { recursive: true, force: true });
  } else {
    await unlink(abs);
  }
}

interface Counters extends ExtractResult {}

/** Applies one entry to one target. Returns the absolute path of a regular file written from the body. */
async function applyEntry(t: Target, e: StreamEntry, rel: string[], layer: number, opts: ExtractOptions, counters: Counters, firstCopy: string | undefined, layerComps: (name: string) => string[]): Promise<string | undefined> {
  const base = rel[rel.length - 1]!;
  const parent = await resolveDir(t, rel.slice(0, -1), layer);
  const parentAbs = join(t.mapping.to, ...parent);

  if (base.startsWith('.wh.')) {
    counters.whiteouts++;
    const dirNode = nodeAt(t, parent, layer, false);
    if (base === '.wh..wh..opq') await makeOpaque(t, parentAbs, dirNode, layer);
    else if (!base.startsWith('.wh..wh.')) {
      const name = base.slice(4);
      const victim = dirNode.children.get(name);
      if (victim && victim.layer < layer) {
        await removeTracked(join(parentAbs, name), victim);
        dirNode.children.delete(name);
        t.dirs.delete(join(parentAbs, name));
      }
    }
    return undefined;
  }

  const abs = join(parentAbs, base);
  const full = [...parent, base];
  const mode = e.mode & 0o7777;
  const own = async (p: string) => {
    if (opts.preserveOwnership) await lchown(p, e.uid, e.gid).catch(() => undefined);
  };
  switch (e.type) {
    case 'directory': {
      const existed = await lstat(abs).catch(() => undefined);
      await clear(abs, true);
      if (!existed || !existed.isDirectory()) await mkdir(abs, { mode: 0o700 });
      const node = nodeAt(t, full, layer, !existed || !existed.isDirectory());
      node.layer = layer;
      t.dirs.set(abs, { mode, mtime: e.mtime, uid: e.uid, gid: e.gid });
      counters.directories++;
      return undefined;
    }
    case 'file': {
      await clear(abs, false);
      if (firstCopy !== undefined) await copyFile(firstCopy, abs);
      else await pipeline(e.body, createWriteStream(abs, { mode: 0o600, flags: 'wx' }));
      await chmod(abs, mode);
      await utimes(abs, e.mtime, e.mtime);
      await own(abs);
      nodeAt(t, full, layer, true).created = true;
      counters.files++;
      return abs;
    }
    case 'symlink': {
      await clear(abs, false);
      await symlink(e.linkname ?? '', abs);
      await lutimes(abs, e.mtime, e.mtime).catch(() => undefined);
      await own(abs);
      nodeAt(t, full, layer, true).created = true;
      counters.symlinks++;
      return undefined;
    }
    case 'hardlink': {
      const linkComps = layerComps(e.linkname ?? '');
      const mapped = mapLink(t, linkComps);
      if (!mapped || mapped.length === 0) {
        counters.skipped++;
        return undefined;
      }
      const targetParent = await resolveDir(t, mapped.slice(0, -1), layer);
      const targetAbs = join(t.mapping.to, ...targetParent, mapped[mapped.length - 1]!);
      const st = await lstat(targetAbs).catch(() => undefined);
      if (!st) throw new ClientError('ARCHIVE_INVALID', `hard link ${JSON.stringify(e.name)} names ${JSON.stringify(e.linkname)}, which is not in the image`);
      await clear(abs, false);
      await link(targetAbs, abs).catch(async () => {
        if (st.isSymbolicLink()) await symlink(await readlink(targetAbs), abs);
        else await copyFile(targetAbs, abs);
      });
      nodeAt(t, full, layer, true).created = true;
      counters.hardlinks++;
      return undefined;
    }
    default:
      counters.skipped++;
      return undefined;
  }
}

/** A hard link's target in the mapping's coordinates (links name paths from the archive root). */
function mapLink(t: Target, comps: string[]): string[] | undefined {
  if (t.prefix === '') return comps;
  const name = comps.join('/');
  if (!name.startsWith(t.prefix)) return undefined;
  return comps.slice(t.prefix.split('/').length - 1);
}

/**
 * Applies the layer tar streams in order to each mapping's destination. Exposed for tests and other
 * callers that have tars rather than an Image; `extractImage` is the usual entry point.
 */
export async function applyLayers(layers: AsyncIterable<{ tar: () => Promise<NodeJS.ReadableStream>; name: string }> | Iterable<{ tar: () => Promise<NodeJS.ReadableStream>; name: string }>, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const mappings = opts.mappings ?? [{ from: '', to: process.cwd() }];
  const targets = mappings.map(makeTarget);
  const counters: Counters = { layers: 0, files: 0, directories: 0, symlinks: 0, hardlinks: 0, whiteouts: 0, skipped: 0 };
  let layer = 0;
  for await (const l of layers as AsyncIterable<{ tar: () => Promise<NodeJS.ReadableStream>; name: string }>) {
    opts.signal?.throwIfAborted();
    const stream = (await l.tar()) as import('node:stream').Readable;
    try {
      for await (const e of readTar(stream, l.name)) {
        opts.signal?.throwIfAborted();
        let comps: string[];
        try {
          comps = safeComponents(e.name);
        } catch (err) {
          throw new ClientError('ARCHIVE_INVALID', `${l.name}: ${(err as Error).message}`);
        }
        if (comps.length === 0) continue;
        const isWhiteout = comps[comps.length - 1]!.startsWith('.wh.');
        if (opts.onlyFiles && !isWhiteout && e.type !== 'file' && e.type !== 'directory') {
          counters.skipped++;
          continue;
        }
        let written: string | undefined;
        for (const t of targets) {
          const rel = mapName(t, comps);
          if (!rel) continue;
          const w = await applyEntry(t, e, rel, layer, opts, counters, written, (n) => {
            try {
              return safeComponents(n);
            } catch (err) {
              throw new ClientError('ARCHIVE_INVALID', `${l.name}: ${(err as Error).message}`);
            }
          });
          written ??= w;
        }
      }
    } finally {
      stream.destroy();
    }
    counters.layers++;
    layer++;
  }
  // Directory modes and times last, deepest first: writing into a directory changes its mtime.
  for (const t of targets) {
    const dirs = [...t.dirs.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [p, d] of dirs) {
      await chmod(p, d.mode).catch(() => undefined);
      await utimes(p, d.mtime, d.mtime).catch(() => undefined);
      if (opts.preserveOwnership) await lchown(p, d.uid, d.gid).catch(() => undefined);
    }
  }
  return counters;
}

/** Extracts the layers of `image` (all, or `opts.layers`) into the mappings' destinations. */
export async function extractImage(image: Image, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const all = image.layers();
  const chosen: Layer[] = (opts.layers ?? all.map((_, i) => i)).map((i) => all[i]!);
  return applyLayers(
    chosen.map((l) => ({ name: `layer ${l.descriptor.digest}`, tar: () => l.uncompressed(opts) })),
    opts,
  );
}
