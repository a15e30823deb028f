/**
 * `sync` as skopeo sync does it (cmd/skopeo/sync.go): first a plan (the list of source → destination images),
 * then one copyImage for each.
 *
 * Sources:
 * - `docker`: `HOST/NAME[:TAG|@DIGEST]` (a `docker://` prefix is allowed); without a tag or digest, every tag;
 * - `dir`: a directory tree; every directory holding a `manifest.json` is one `dir:` image (not descended into);
 * - `yaml`: skopeo's sync file, registry → `{images: {repo: [tag|digest, ...]}, images-by-tag-regex: {repo: re},
 *   images-by-semver: {repo: constraint}, credentials: {username, password}, tls-verify, cert-dir}`; an empty
 *   list means every tag; semver constraints are Masterminds' (see semver.ts).
 *
 * Destination names, exactly as skopeo makes them: the suffix is the source's full reference
 * (`HOST/NAME:TAG`; for `dir` sources, the image path below the source directory), reduced to its last path
 * element (`NAME:TAG`) unless `scoped`; the destination is `DST/SUFFIX` + `appendSuffix`, as a registry
 * reference (`docker://DST/NAME:TAG`) or a directory (`DST/NAME:TAG`, which must not exist yet).
 *
 * @example
 * const plan = await planSync('registry.example.com/team/app', '/backup', { src: 'docker', dest: 'dir' });
 * const result = await runSync(plan, { all: true });
 */
import { mkdir, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { createRequire } from 'node:module';
import { isDigest } from '../content/digest.js';
import { isTag } from '../content/reference.js';
import { copyImage, type LayerCompression, type ManifestFormat, type ProgressEvent } from './copy.js';
import { ClientError, isClientError } from './errors.js';
import type { PlatformSpec } from './platform.js';
import { parseConstraint, parseVersion, type Constraint } from './semver.js';
import type { ImageReference, Transport } from './transport.js';
import { getTransport } from './transports/index.js';
import { parseDockerName, type DockerReference } from './transports/registry/reference.js';
import type { RegistryOptions } from './transports/registry/session.js';
import { createRegistryTransport, type RegistryTransport } from './transports/registry/transport.js';

export type SyncSourceKind = 'docker' | 'dir' | 'yaml';
export type SyncDestinationKind = 'docker' | 'dir';

export interface PlanOptions {
  src: SyncSourceKind;
  dest: SyncDestinationKind;
  /** Keep the whole source reference (`HOST/NAME:TAG`) in the destination name, not just `NAME:TAG`. */
  scoped?: boolean;
  /** Appended to every destination name (skopeo --append-suffix). */
  appendSuffix?: string;
  /** Options for source registries (`--src-*`); a YAML source's per-registry settings override them. */
  srcRegistry?: RegistryOptions;
  /** Options for the destination registry (`--dest-*`). */
  destRegistry?: RegistryOptions;
}

export interface SyncItem {
  /** `docker://HOST/NAME:TAG` or `dir:PATH`. */
  source: string;
  /** `docker://DST/NAME:TAG` or `dir:DST/NAME:TAG`. */
  destination: string;
  /** The registry options the source is read with. */
  srcRegistry?: RegistryOptions;
}

export interface SyncPlan {
  items: SyncItem[];
  /** Repositories or directories the images came from (skopeo's "from N sources"). */
  sources: number;
  /** Repositories a YAML source names that were skipped (skopeo logs these and goes on). */
  warnings: string[];
  destRegistry?: RegistryOptions;
}

export interface RunOptions {
  /** Every image of a multi-arch index, and the index (skopeo sync --all); else the image for this platform. */
  all?: boolean;
  platform?: PlatformSpec;
  preserveDigests?: boolean;
  /** The manifest type every destination gets (skopeo sync --format). */
  manifestFormat?: ManifestFormat;
  /** Layer recompression, as copyImage takes it. */
  layerCompression?: LayerCompression;
  /** Plan only: report each copy, copy nothing, create nothing. */
  dryRun?: boolean;
  /** Go on after a failed image; the failures are in the result. Without it the first failure throws. */
  keepGoing?: boolean;
  concurrency?: number;
  /** Called with each source before it is copied (the CLI checks the trust policy here); a throw fails that image. */
  check?: (source: ImageReference) => Promise<void>;
  onImage?: (e: SyncEvent) => void;
  onProgress?: (e: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface SyncEvent {
  kind: 'start' | 'done' | 'failed' | 'dry-run';
  /** 1-based. */
  index: number;
  total: number;
  source: string;
  destination: string;
  digest?: string;
  error?: string;
}

export interface SyncResult {
  images: Array<{ source: string; destination: string; digest: string }>;
  errors: Array<{ source: string; destination: string; error: string }>;
  sources: number;
  dryRun: boolean;
}

/** The list of copies `sync SRC DST` makes, without copying anything (tags are listed from the source registries). */
export async function planSync(src: string, dst: string, opts: PlanOptions): Promise<SyncPlan> {
  if (opts.src === 'dir' && opts.dest === 'dir') throw new ClientError('UNSUPPORTED_FORMAT', "sync from 'dir' to 'dir' is not implemented; copy the directories instead");
  if (!['docker', 'dir', 'yaml'].includes(opts.src)) throw new ClientError('REFERENCE_INVALID', `${JSON.stringify(opts.src)} is not a valid source transport (docker, dir or yaml)`);
  if (!['docker', 'dir'].includes(opts.dest)) throw new ClientError('REFERENCE_INVALID', `${JSON.stringify(opts.dest)} is not a valid destination transport (docker or dir)`);
  const destination = opts.dest === 'docker' ? dst.replace(/^docker:\/\//, '') : dst;
  if (destination === '') throw new ClientError('REFERENCE_INVALID', 'sync: the destination is empty');
  const transports = new TransportCache();
  try {
    const repos = await sourceRepositories(src, opts, transports);
    const items: SyncItem[] = [];
    for (const repo of repos.list) {
      for (const ref of repo.refs) {
        let suffix: string;
        if (ref.kind === 'docker') {
          suffix = dockerString(ref.ref);
        } else {
          suffix = ref.path.startsWith(repo.dirBase ?? '') ? ref.path.slice((repo.dirBase ?? '').length) : ref.path;
          if (suffix === '') suffix = posix.basename(repo.dirBase ?? '');
        }
        if (!opts.scoped) suffix = posix.basename(suffix);
        const name = `${posix.join(destination, suffix)}${opts.appendSuffix ?? ''}`;
        items.push({
          source: ref.kind === 'docker' ? String(ref.ref) : `dir:${ref.path}`,
          destination: opts.dest === 'docker' ? `docker://${name}` : `dir:${name}`,
          ...(repo.registry ? { srcRegistry: repo.registry } : {}),
        });
      }
    }
    return { items, sources: repos.list.length, warnings: repos.warnings, ...(opts.destRegistry ? { destRegistry: opts.destRegistry } : {}) };
  } finally {
    transports.close();
  }
}

/** Copies every image of the plan, in order. */
export async function runSync(plan: SyncPlan, opts: RunOptions = {}): Promise<SyncResult> {
  const result: SyncResult = { images: [], errors: [], sources: plan.sources, dryRun: Boolean(opts.dryRun) };
  const transports = new TransportCache();
  const total = plan.items.length;
  try {
    for (const [i, item] of plan.items.entries()) {
      const event = { index: i + 1, total, source: item.source, destination: item.destination };
      if (opts.dryRun) {
        opts.onImage?.({ kind: 'dry-run', ...event });
        continue;
      }
      opts.onImage?.({ kind: 'start', ...event });
      try {
        const digest = await copyOne(item, plan, opts, transports);
        result.images.push({ source: item.source, destination: item.destination, digest });
        opts.onImage?.({ kind: 'done', ...event, digest });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        opts.onImage?.({ kind: 'failed', ...event, error: message });
        if (!opts.keepGoing) {
          const code = isClientError(err) ? err.code : 'REGISTRY_ERROR';
          throw Object.assign(new ClientError(code, `copying image ${i + 1}/${total} from ${item.source} to ${item.destination}: ${message}`, undefined, { cause: err }), registryCodeOf(err));
        }
        result.errors.push({ source: item.source, destination: item.destination, error: message });
      }
    }
    return result;
  } finally {
    transports.close();
  }
}

/** planSync, then runSync. */
export async function syncImages(src: string, dst: string, opts: PlanOptions & RunOptions): Promise<SyncResult & { plan: SyncPlan }> {
  const plan = await planSync(src, dst, opts);
  return { ...(await runSync(plan, opts)), plan };
}

function registryCodeOf(err: unknown): { registryCode?: string } {
  const rc = (err as { registryCode?: unknown } | undefined)?.registryCode;
  return typeof rc === 'string' ? { registryCode: rc } : {};
}

async function copyOne(item: SyncItem, plan: SyncPlan, opts: RunOptions, transports: TransportCache): Promise<string> {
  const src = transports.resolve(item.source, item.srcRegistry);
  const dst = transports.resolve(item.destination, plan.destRegistry);
  await opts.check?.(src.ref);
  let made: string | undefined;
  if (dst.ref.transport === 'dir') {
    // As skopeo: a sync never writes into a directory that is there already.
    const path = item.destination.slice('dir:'.length);
    const there = await stat(path).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw new ClientError('LAYOUT_INVALID', `destination directory ${path} cannot be used: ${err.message}`, undefined, { cause: err });
      },
    );
    if (there) throw new ClientError('REFERENCE_INVALID', `refusing to overwrite destination directory ${path}`);
    await mkdir(path, { recursive: true, mode: 0o755 });
    made = path;
  }
  try {
    return await copyInto(src, dst, opts);
  } catch (err) {
    // The copy rolled back what it wrote; the directory made for it goes too, so a second run can try again.
    if (made) await rmdir(made).catch(() => undefined);
    throw err;
  }
}

async function copyInto(src: { ref: ImageReference; transport: Transport }, dst: { ref: ImageReference; transport: Transport }, opts: RunOptions): Promise<string> {
  const source = await src.transport.newSource(src.ref, opts.signal ? { signal: opts.signal } : {});
  try {
    const destination = await dst.transport.newDestination(dst.ref, opts.signal ? { signal: opts.signal } : {});
    try {
      const r = await copyImage(source, destination, {
        multiArch: opts.all ? 'all' : 'system',
        ...(opts.platform ? { platform: opts.platform } : {}),
        ...(opts.preserveDigests ? { preserveDigests: true } : {}),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        ...(opts.manifestFormat ? { manifestFormat: opts.manifestFormat } : {}),
        ...(opts.layerCompression ? { layerCompression: opts.layerCompression } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return r.digest;
    } finally {
      await destination.close();
    }
  } finally {
    await source.close();
  }
}

type SourceRef = { kind: 'docker'; ref: DockerReference } | { kind: 'dir'; path: string };

interface SourceRepo {
  refs: SourceRef[];
  /** For dir sources: the directory given, stripped from each image path. */
  dirBase?: string;
  registry?: RegistryOptions;
}

/** `HOST/NAME:TAG` (or `@DIGEST`): containers/image `DockerReference().String()`. */
function dockerString(ref: DockerReference): string {
  return String(ref).slice('docker://'.length);
}

async function sourceRepositories(src: string, opts: PlanOptions, transports: TransportCache): Promise<{ list: SourceRepo[]; warnings: string[] }> {
  switch (opts.src) {
    case 'docker': {
      const ref = parseDockerName(src.replace(/^docker:\/\//, ''));
      const registry = opts.srcRegistry;
      if (ref.tag !== undefined || ref.digest !== undefined) return { list: [{ refs: [{ kind: 'docker', ref }], ...(registry ? { registry } : {}) }], warnings: [] };
      const refs = await allTags(ref, transports.registry(registry));
      if (refs.length === 0) throw new ClientError('MANIFEST_UNKNOWN', `no images to sync found in ${src}`);
      return { list: [{ refs, ...(registry ? { registry } : {}) }], warnings: [] };
    }
    case 'dir': {
      try {
        await stat(src);
      } catch (cause) {
        throw new ClientError('LAYOUT_INVALID', `invalid source directory ${src}: ${(cause as Error).message}`, undefined, { cause });
      }
      const paths = await imageDirectories(src);
      if (paths.length === 0) throw new ClientError('LAYOUT_INVALID', `no images to sync found in ${src}`);
      return { list: [{ refs: paths.map((path) => ({ kind: 'dir', path })), dirBase: src }], warnings: [] };
    }
    case 'yaml':
      return yamlRepositories(src, opts, transports);
  }
}

async function allTags(repo: DockerReference, t: RegistryTransport): Promise<SourceRef[]> {
  const tags = await t.listTags(repo);
  return tags.map((tag) => ({ kind: 'docker', ref: repo.with({ tag }) }));
}

/** Directories below `root` (itself included) that hold a `manifest.json`, in lexical order, not descending into images. */
async function imageDirectories(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.some((e) => e.isFile() && e.name === 'manifest.json')) {
      out.push(posix.dirname(posix.join(dir, 'manifest.json')));
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(posix.join(dir, e.name));
  };
  await walk(root);
  return out;
}

/** One registry of a skopeo sync YAML file. */
export interface YamlRegistry {
  images?: Record<string, string[] | null>;
  'images-by-tag-regex'?: Record<string, string>;
  /** repository → semver constraint (`>= 1.2, < 2`): every tag that parses as a version and satisfies it. */
  'images-by-semver'?: Record<string, string>;
  credentials?: { username?: string; password?: string };
  'tls-verify'?: boolean;
  'cert-dir'?: string;
}

/** Parses and checks a skopeo sync YAML file (registry → YamlRegistry). */
export function parseSyncYaml(text: string, where = 'sync YAML'): Map<string, YamlRegistry> {
  let doc: unknown;
  try {
    // Required on first use: the YAML parser is a large share of the CLI's start-up otherwise.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = parse(text);
  } catch (cause) {
    throw new ClientError('CONFIG_INVALID', `${where}: ${(cause as Error).message}`, undefined, { cause });
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ClientError('CONFIG_INVALID', `${where}: expected a map of registries`);
  const out = new Map<string, YamlRegistry>();
  for (const [registry, value] of Object.entries(doc as Record<string, unknown>)) {
    const at = `${where}: ${registry}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ClientError('CONFIG_INVALID', `${at}: expected a map`);
    const v = value as Record<string, unknown>;
    const cfg: YamlRegistry = {};
    for (const key of Object.keys(v)) {
      if (!['images', 'images-by-tag-regex', 'images-by-semver', 'credentials', 'tls-verify', 'cert-dir'].includes(key)) throw new ClientError('CONFIG_INVALID', `${at}: unknown field ${JSON.stringify(key)}`);
    }
    if (v['images'] !== undefined && v['images'] !== null) {
      if (typeof v['images'] !== 'object' || Array.isArray(v['images'])) throw new ClientError('CONFIG_INVALID', `${at}: images must be a map of repository → list of tags or digests`);
      cfg.images = {};
      for (const [repo, refs] of Object.entries(v['images'] as Record<string, unknown>)) {
        if (refs !== null && !(Array.isArray(refs) && refs.every((r) => typeof r === 'string'))) throw new ClientError('CONFIG_INVALID', `${at}: images.${repo} must be a list of tags or digests`);
        cfg.images[repo] = refs as string[] | null;
      }
    }
    if (v['images-by-tag-regex'] !== undefined && v['images-by-tag-regex'] !== null) {
      const m = v['images-by-tag-regex'];
      if (typeof m !== 'object' || Array.isArray(m) || !Object.values(m as object).every((r) => typeof r === 'string')) throw new ClientError('CONFIG_INVALID', `${at}: images-by-tag-regex must be a map of repository → regular expression`);
      cfg['images-by-tag-regex'] = m as Record<string, string>;
    }
    if (v['images-by-semver'] !== undefined && v['images-by-semver'] !== null) {
      const m = v['images-by-semver'];
      if (typeof m !== 'object' || Array.isArray(m) || !Object.values(m as object).every((r) => typeof r === 'string')) throw new ClientError('CONFIG_INVALID', `${at}: images-by-semver must be a map of repository → semver constraint (e.g. ">= 1.2")`);
      cfg['images-by-semver'] = m as Record<string, string>;
    }
    if (v['credentials'] !== undefined && v['credentials'] !== null) {
      const c = v['credentials'] as Record<string, unknown>;
      if (typeof c !== 'object' || Array.isArray(c)) throw new ClientError('CONFIG_INVALID', `${at}: credentials must be {username, password}`);
      cfg.credentials = { ...(typeof c['username'] === 'string' ? { username: c['username'] } : {}), ...(typeof c['password'] === 'string' ? { password: c['password'] } : {}) };
    }
    if (v['tls-verify'] !== undefined) {
      if (typeof v['tls-verify'] !== 'boolean') throw new ClientError('CONFIG_INVALID', `${at}: tls-verify must be true or false`);
      cfg['tls-verify'] = v['tls-verify'];
    }
    if (v['cert-dir'] !== undefined) {
      if (typeof v['cert-dir'] !== 'string') throw new ClientError('CONFIG_INVALID', `${at}: cert-dir must be a path`);
      cfg['cert-dir'] = v['cert-dir'];
    }
    out.set(registry, cfg);
  }
  return out;
}

async function yamlRepositories(file: string, opts: PlanOptions, transports: TransportCache): Promise<{ list: SourceRepo[]; warnings: string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ClientError('CONFIG_INVALID', `cannot read ${file}: ${(cause as Error).message}`, undefined, { cause });
  }
  const list: SourceRepo[] = [];
  const warnings: string[] = [];
  for (const [registryName, cfg] of parseSyncYaml(text, file)) {
    const images = Object.entries(cfg.images ?? {});
    const regexes = Object.entries(cfg['images-by-tag-regex'] ?? {});
    const semvers = Object.entries(cfg['images-by-semver'] ?? {});
    if (images.length === 0 && regexes.length === 0 && semvers.length === 0) {
      warnings.push(`${registryName}: no images specified`);
      continue;
    }
    const registry: RegistryOptions = { ...opts.srcRegistry };
    if (cfg['tls-verify'] !== undefined) registry.tlsVerify = cfg['tls-verify'];
    if (cfg['cert-dir']) registry.certDir = cfg['cert-dir'];
    if (cfg.credentials && (cfg.credentials.username || cfg.credentials.password)) {
      registry.credentials = { username: cfg.credentials.username ?? '', password: cfg.credentials.password ?? '' };
      delete registry.noCreds;
    }
    const t = transports.registry(registry);
    const repoRef = (name: string): DockerReference | undefined => {
      try {
        const r = parseDockerName(`${registryName}/${name}`);
        if (r.tag !== undefined || r.digest !== undefined) throw new ClientError('REFERENCE_INVALID', 'a repository name cannot have a tag or digest');
        return r;
      } catch (err) {
        warnings.push(`${registryName}/${name}: invalid repository name, skipped: ${(err as Error).message}`);
        return undefined;
      }
    };
    for (const [name, refs] of images) {
      const repo = repoRef(name);
      if (!repo) continue;
      let sourceRefs: SourceRef[] = [];
      if (refs && refs.length > 0) {
        for (const r of refs) {
          if (isDigest(r)) sourceRefs.push({ kind: 'docker', ref: repo.with({ digest: r }) });
          else if (isTag(r)) sourceRefs.push({ kind: 'docker', ref: repo.with({ tag: r }) });
          else warnings.push(`${repo.name}: ${JSON.stringify(r)} is neither a tag nor a digest, skipped`);
        }
      } else {
        try {
          sourceRefs = await allTags(repo, t);
        } catch (err) {
          warnings.push(`${repo.name}: cannot list tags, skipped: ${(err as Error).message}`);
          continue;
        }
      }
      if (sourceRefs.length === 0) {
        warnings.push(`${repo.name}: no refs to sync found`);
        continue;
      }
      list.push({ refs: sourceRefs, registry });
    }
    // images-by-tag-regex and images-by-semver: every tag of the repository, filtered.
    const filtered: Array<{ name: string; what: string; make: () => (tag: string) => boolean }> = [
      // Unanchored, as Go's regexp.MatchString.
      ...regexes.map(([name, pattern]) => ({ name, what: `regular expression ${JSON.stringify(pattern)}`, make: () => ((re: RegExp) => (tag: string) => re.test(tag))(new RegExp(pattern)) })),
      ...semvers.map(([name, constraint]) => ({
        name,
        what: `semver constraint ${JSON.stringify(constraint)}`,
        make: () =>
          ((c: Constraint) => (tag: string) => {
            const v = parseVersion(tag);
            return v !== undefined && c.check(v);
          })(parseConstraint(constraint)),
      })),
    ];
    for (const f of filtered) {
      const repo = repoRef(f.name);
      if (!repo) continue;
      let keep: (tag: string) => boolean;
      try {
        keep = f.make();
      } catch (err) {
        warnings.push(`${repo.name}: invalid ${f.what}, skipped: ${(err as Error).message}`);
        continue;
      }
      let all: SourceRef[];
      try {
        all = await allTags(repo, t);
      } catch (err) {
        warnings.push(`${repo.name}: cannot list tags, skipped: ${(err as Error).message}`);
        continue;
      }
      const refs = all.filter((r) => r.kind === 'docker' && r.ref.tag !== undefined && keep(r.ref.tag));
      if (refs.length === 0) {
        warnings.push(`${repo.name}: no refs to sync found`);
        continue;
      }
      list.push({ refs, registry });
    }
  }
  return { list, warnings };
}

/** One registry transport per set of options (so tokens and connections are shared), and the other transports. */
class TransportCache {
  private readonly registries = new Map<string, RegistryTransport>();

  registry(options: RegistryOptions | undefined): RegistryTransport {
    const key = JSON.stringify(options ?? {});
    let t = this.registries.get(key);
    if (!t) {
      t = createRegistryTransport(options);
      this.registries.set(key, t);
    }
    return t;
  }

  resolve(image: string, options: RegistryOptions | undefined): { ref: ImageReference; transport: Transport } {
    const colon = image.indexOf(':');
    const name = image.slice(0, colon);
    if (name === 'docker') {
      const ref = parseDockerName(image.slice(colon + 1).replace(/^\/\//, ''));
      return { ref, transport: this.registry(options) };
    }
    const transport = getTransport(name);
    return { ref: transport.parseReference(image.slice(colon + 1)), transport };
  }

  close(): void {
    for (const t of this.registries.values()) t.close();
    this.registries.clear();
  }
}
