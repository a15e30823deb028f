/**
 * registries.conf, version 2 (containers-registries.conf(5)), as containers tools read it:
 *
 * - `unqualified-search-registries = ["host[:port]", ...]`;
 * - `[[registry]]` with `prefix` (defaults to `location`; `*.example.com` wildcards), `location`, `insecure`
 *   (plain HTTP and unverified TLS allowed), `blocked`, `mirror-by-digest-only`, and `[[registry.mirror]]` with
 *   `location`, `insecure`, `pull-from-mirror`;
 * - the single entry with the longest matching prefix wins; mirrors are tried in order before the primary
 *   location, and for pulls only (never pushes, tag lists or deletes);
 * - the v1 tables `[registries.search]`, `[registries.insecure]`, `[registries.block]` are read too;
 * - short names: `[aliases]` (`"name" = "host/ns/repo"`, neither with a tag or digest; an empty value erases an
 *   alias an earlier file set) and `short-name-mode = "enforcing"|"permissive"|"disabled"` (default permissive).
 *   A short name with an alias resolves to it; else `enforcing` refuses a name that more than one search
 *   registry could serve (Berth never prompts), and the other modes use the first search registry (Berth does
 *   not try each in turn as podman does).
 *
 * Files: `CONTAINERS_REGISTRIES_CONF` (that file alone), else `$HOME/.config/containers/registries.conf` if it
 * exists, else `/etc/containers/registries.conf`; then the drop-ins `registries.conf.d/*.conf` under
 * `/etc/containers` and then `$HOME/.config/containers`, in name order (the `shortnames.conf` distributions
 * ship is such a drop-in, `000-shortnames.conf`). A drop-in replaces the search list and the short-name mode
 * when it sets them, replaces a `[[registry]]` with the same prefix, and adds or erases aliases. Last, the
 * aliases podman records, `$HOME/.cache/containers/short-name-aliases.conf` (root:
 * `/var/cache/containers/short-name-aliases.conf`), take precedence over every registries.conf.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from '../errors.js';
import { parseToml, TomlError, type TomlTable, type TomlValue } from './toml.js';

export interface RegistryMirror {
  location: string;
  insecure: boolean;
  /** Which pulls may use this mirror (default `all`). */
  pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: RegistryMirror[];
}

export interface RegistriesConf {
  unqualifiedSearchRegistries: string[];
  registries: RegistryEntry[];
  /** `credential-helpers`, when set (`containers-auth.json` means the auth files). */
  credentialHelpers?: string[];
  /** `[aliases]`: short name → fully qualified name (no tag or digest). `""` erases in merges; resolved files never hold it. */
  aliases?: Record<string, string>;
  /** `short-name-mode`, when set. */
  shortNameMode?: ShortNameMode;
  /** The files read, in order (for messages). */
  files: string[];
}

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

export const EMPTY_REGISTRIES_CONF: RegistriesConf = Object.freeze({ unqualifiedSearchRegistries: [], registries: [], files: [] }) as RegistriesConf;

export interface ConfigEnv {
  /** Environment to read `HOME`, `CONTAINERS_REGISTRIES_CONF`, ... from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The system directory (default `/etc/containers`); tests point it elsewhere. */
  systemDir?: string;
}

/** Parsed files that do not set `unqualified-search-registries` (a drop-in then keeps the earlier list). */
const SEARCH_UNSET = new WeakSet<RegistriesConf>();

/** Parses one registries.conf file's text. `where` names it in errors (ClientError `CONFIG_INVALID`). */
export function parseRegistriesConf(text: string, where = 'registries.conf'): RegistriesConf {
  let doc: TomlTable;
  try {
    doc = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) throw new ClientError('CONFIG_INVALID', `${where}: ${err.message}`, undefined, { cause: err });
    throw err;
  }
  const bad = (msg: string): never => {
    throw new ClientError('CONFIG_INVALID', `${where}: ${msg}`);
  };
  const str = (t: TomlTable, k: string, ctx: string): string | undefined => {
    const v = t[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') bad(`${ctx}${k} must be a string`);
    return v as string;
  };
  const bool = (t: TomlTable, k: string, ctx: string): boolean => {
    const v = t[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') bad(`${ctx}${k} must be true or false`);
    return v as boolean;
  };
  const strings = (v: TomlValue | undefined, name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`${name} must be an array of strings`);
    return v as string[];
  };

  const out: RegistriesConf = { unqualifiedSearchRegistries: [], registries: [], files: [where] };
  const search = strings(doc['unqualified-search-registries'], 'unqualified-search-registries');
  if (search) out.unqualifiedSearchRegistries = search;
  else SEARCH_UNSET.add(out);
  const helpers = strings(doc['credential-helpers'], 'credential-helpers');
  if (helpers) out.credentialHelpers = helpers;
  const mode = str(doc, 'short-name-mode', '');
  if (mode !== undefined && mode !== '') {
    if (mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') bad(`short-name-mode must be enforcing, permissive or disabled, not ${JSON.stringify(mode)}`);
    out.shortNameMode = mode as ShortNameMode;
  }
  const aliases = doc['aliases'];
  if (aliases !== undefined) {
    if (typeof aliases !== 'object' || Array.isArray(aliases)) bad('aliases must be a table ([aliases])');
    out.aliases = {};
    for (const [name, value] of Object.entries(aliases as TomlTable)) {
      if (typeof value !== 'string') bad(`[aliases] ${JSON.stringify(name)} must be a string`);
      checkAlias(name, value as string, bad);
      out.aliases[name] = value as string;
    }
  }

  const regs = doc['registry'];
  if (regs !== undefined) {
    if (!Array.isArray(regs)) bad('registry must be an array of tables ([[registry]])');
    for (const [i, r] of (regs as TomlValue[]).entries()) {
      if (typeof r !== 'object' || Array.isArray(r)) bad(`registry[${i}] must be a table`);
      const t = r as TomlTable;
      const ctx = `[[registry]] #${i + 1}: `;
      const location = str(t, 'location', ctx) ?? '';
      const prefix = str(t, 'prefix', ctx) ?? location;
      if (prefix === '') bad(`${ctx}needs a prefix or a location`);
      if (prefix.includes('*') && !/^\*\.[^*]+$/.test(prefix)) bad(`${ctx}prefix ${JSON.stringify(prefix)}: a wildcard is only allowed as a leading "*."`);
      const mirrors: RegistryMirror[] = [];
      const m = t['mirror'];
      if (m !== undefined) {
        if (!Array.isArray(m)) bad(`${ctx}mirror must be an array of tables ([[registry.mirror]])`);
        for (const [j, mm] of (m as TomlValue[]).entries()) {
          const mt = mm as TomlTable;
          const mctx = `${ctx}mirror #${j + 1}: `;
          const loc = str(mt, 'location', mctx);
          if (!loc) bad(`${mctx}location is required`);
          const pull = str(mt, 'pull-from-mirror', mctx) ?? 'all';
          if (pull !== 'all' && pull !== 'digest-only' && pull !== 'tag-only') bad(`${mctx}pull-from-mirror must be all, digest-only or tag-only`);
          mirrors.push({ location: loc!, insecure: bool(mt, 'insecure', mctx), pullFromMirror: pull as RegistryMirror['pullFromMirror'] });
        }
      }
      out.registries.push({ prefix, location, insecure: bool(t, 'insecure', ctx), blocked: bool(t, 'blocked', ctx), mirrorByDigestOnly: bool(t, 'mirror-by-digest-only', ctx), mirrors });
    }
  }

  // Version 1: [registries.search] registries = [...], [registries.insecure], [registries.block].
  const v1 = doc['registries'];
  if (v1 !== undefined && typeof v1 === 'object' && !Array.isArray(v1)) {
    if (regs !== undefined || search) bad('mixes the v1 [registries.*] tables with v2 settings');
    const list = (k: string) => strings(((v1 as TomlTable)[k] as TomlTable | undefined)?.['registries'], `registries.${k}.registries`) ?? [];
    out.unqualifiedSearchRegistries = list('search');
    const entry = (host: string): RegistryEntry => {
      let e = out.registries.find((r) => r.prefix === host);
      if (!e) out.registries.push((e = { prefix: host, location: host, insecure: false, blocked: false, mirrorByDigestOnly: false, mirrors: [] }));
      return e;
    };
    for (const h of list('insecure')) entry(h).insecure = true;
    for (const h of list('block')) entry(h).blocked = true;
  }
  return out;
}

/** Merges a drop-in over `base`, as containers/image does. */
export function mergeRegistriesConf(base: RegistriesConf, over: RegistriesConf): RegistriesConf {
  const registries = [...base.registries];
  for (const r of over.registries) {
    const i = registries.findIndex((x) => x.prefix === r.prefix);
    if (i === -1) registries.push(r);
    else registries[i] = r;
  }
  const searchSet = !SEARCH_UNSET.has(over);
  const merged: RegistriesConf = {
    unqualifiedSearchRegistries: searchSet ? over.unqualifiedSearchRegistries : base.unqualifiedSearchRegistries,
    registries,
    ...((over.credentialHelpers ?? base.credentialHelpers) ? { credentialHelpers: over.credentialHelpers ?? base.credentialHelpers! } : {}),
    files: [...base.files, ...over.files],
  };
  const mode = over.shortNameMode ?? base.shortNameMode;
  if (mode) merged.shortNameMode = mode;
  if (base.aliases || over.aliases) merged.aliases = mergeAliases(base.aliases ?? {}, over.aliases ?? {});
  if (!searchSet && SEARCH_UNSET.has(base)) SEARCH_UNSET.add(merged);
  return merged;
}

/** `over` on top of `base`; an empty value erases the alias. */
function mergeAliases(base: Record<string, string>, over: Record<string, string>): Record<string, string> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

function isShortName(name: string): boolean {
  const slash = name.indexOf('/');
  const first = slash === -1 ? name : name.slice(0, slash);
  return slash === -1 || !(first.includes('.') || first.includes(':') || first === 'localhost');
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** containers-registries.conf(5): the name a short name, the value fully qualified, neither with a tag or digest. */
function checkAlias(name: string, value: string, bad: (msg: string) => never): void {
  const where = `[aliases] ${JSON.stringify(name)}`;
  if (name.includes('@') || name.includes(':')) bad(`${where}: a short name takes no tag or digest`);
  if (!isShortName(name) || name === 'localhost' || name.startsWith('localhost/')) bad(`${where}: must be a short name, without a registry`);
  if (!NAME_RE.test(name)) bad(`${where}: not a valid image name`);
  if (value === '') return;
  const slash = value.indexOf('/');
  if (slash === -1 || isShortName(value)) bad(`${where}: ${JSON.stringify(value)} must be a fully qualified name (host/repository)`);
  if (value.includes('@') || value.slice(slash).includes(':')) bad(`${where}: ${JSON.stringify(value)} takes no tag or digest`);
  if (!NAME_RE.test(value.slice(slash + 1))) bad(`${where}: ${JSON.stringify(value)} is not a valid image name`);
}

export interface ShortNameResolution {
  /** The fully qualified name (`host/repo`) the short name stands for. */
  name: string;
  /** How: an alias of a registries.conf file, or a search registry. */
  via: 'alias' | 'search';
}

/**
 * What a short name (`busybox`, `team/app`, without tag or digest) resolves to: its alias, else the only search
 * registry; with several, `enforcing` throws `REFERENCE_INVALID` (the choice is ambiguous and Berth does not
 * prompt), the other modes take the first. No search registry at all: docker.io, as Docker does.
 */
export function resolveShortName(conf: RegistriesConf, shortName: string): ShortNameResolution {
  const alias = conf.aliases?.[shortName];
  if (alias) return { name: alias, via: 'alias' };
  const search = conf.unqualifiedSearchRegistries;
  if (search.length > 1 && conf.shortNameMode === 'enforcing') {
    throw new ClientError(
      'REFERENCE_INVALID',
      `short name ${JSON.stringify(shortName)} is ambiguous: short-name-mode is enforcing and it could come from any of ${search.join(', ')}; use a fully qualified name or add an alias to [aliases] in registries.conf`,
    );
  }
  return { name: `${search[0] ?? 'docker.io'}/${shortName}`, via: 'search' };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new ClientError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

function dropIns(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.conf'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * Reads registries.conf from the usual places (see the module comment), or from `path` alone. Missing
 * default files mean an empty configuration; a missing explicit file is an error. Synchronous because
 * reference parsing (which is synchronous) needs the search list.
 */
export function loadRegistriesConf(opts: ConfigEnv & { path?: string; aliasCache?: string } = {}): RegistriesConf {
  const env = opts.env ?? process.env;
  const explicit = opts.path ?? (env['CONTAINERS_REGISTRIES_CONF'] || undefined);
  if (explicit) {
    const text = readIfExists(explicit);
    if (text === undefined) throw new ClientError('CONFIG_INVALID', `registries.conf ${explicit} does not exist`);
    return parseRegistriesConf(text, explicit);
  }
  const systemDir = opts.systemDir ?? '/etc/containers';
  const home = env['HOME'];
  const userDir = home ? join(home, '.config', 'containers') : undefined;
  let conf: RegistriesConf = { unqualifiedSearchRegistries: [], registries: [], files: [] };
  for (const path of [userDir && join(userDir, 'registries.conf'), join(systemDir, 'registries.conf')]) {
    if (!path) continue;
    const text = readIfExists(path);
    if (text !== undefined) {
      conf = parseRegistriesConf(text, path);
      break;
    }
  }
  for (const path of [...dropIns(join(systemDir, 'registries.conf.d')), ...(userDir ? dropIns(join(userDir, 'registries.conf.d')) : [])]) {
    const text = readIfExists(path);
    if (text !== undefined) conf = mergeRegistriesConf(conf, parseRegistriesConf(text, path));
  }
  // The aliases podman records after a prompt: only [aliases] counts there, and it wins.
  const cache = opts.aliasCache ?? (process.getuid?.() === 0 && !env['XDG_CACHE_HOME'] ? '/var/cache/containers/short-name-aliases.conf' : join(env['XDG_CACHE_HOME'] || (home ? join(home, '.cache') : '/nonexistent'), 'containers', 'short-name-aliases.conf'));
  const cached = readIfExists(cache);
  if (cached !== undefined) {
    const recorded = parseRegistriesConf(cached, cache).aliases;
    if (recorded) conf = { ...conf, aliases: mergeAliases(conf.aliases ?? {}, recorded), files: [...conf.files, cache] };
  }
  return conf;
}

/** Does `ref` (`host/repo[:tag|@digest]`) fall under `prefix`? */
function prefixMatches(prefix: string, ref: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = ref.split('/')[0]!.replace(/:\d+$/, '');
    return host.endsWith(prefix.slice(1));
  }
  if (!ref.startsWith(prefix)) return false;
  const next = ref[prefix.length];
  return next === undefined || next === '/' || next === ':' || next === '@';
}

/** The `[[registry]]` entry for `ref` (`host/repo[:tag|@digest]`): the longest matching prefix, or undefined. */
export function findRegistry(conf: RegistriesConf, ref: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    if (prefixMatches(r.prefix, ref) && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best;
}

export interface Endpoint {
  /** `host[:port]` to talk to. */
  registry: string;
  /** The repository there (rewritten by `location`). */
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

/**
 * Where to pull or push `name` (`host/repo`) with `ref` (its tag or digest): for pulls the mirrors in order
 * (those whose pull-from-mirror allows this kind of reference) and then the primary location; for pushes the
 * primary location alone. Throws ClientError `DENIED` for a blocked registry.
 */
export function resolveEndpoints(conf: RegistriesConf, name: string, ref: string | undefined, purpose: 'pull' | 'push'): Endpoint[] {
  const byDigest = ref !== undefined && /^[a-z0-9]+:[a-f0-9]+$/.test(ref);
  const full = ref === undefined ? name : `${name}${byDigest ? '@' : ':'}${ref}`;
  const host = name.slice(0, name.indexOf('/'));
  const entry = findRegistry(conf, full);
  if (!entry) return [{ registry: host, repository: name.slice(host.length + 1), insecure: false, mirror: false }];
  if (entry.blocked) throw new ClientError('DENIED', `registry ${entry.prefix} is blocked in registries.conf (${conf.files.join(', ') || 'configuration'})`);
  // The part of the name below the prefix, appended to each location (a wildcard prefix matches a host only).
  const remainder = entry.prefix.startsWith('*.') ? name.slice(host.length) : name.slice(Math.min(entry.prefix.length, name.length));
  const at = (location: string, insecure: boolean, mirror: boolean): Endpoint => {
    const target = `${location}${remainder}`;
    const s = target.indexOf('/');
    if (s <= 0) throw new ClientError('CONFIG_INVALID', `registries.conf: location ${JSON.stringify(location)} for ${name} names no repository`);
    return { registry: target.slice(0, s), repository: target.slice(s + 1), insecure, mirror };
  };
  const primary = entry.location === '' ? { registry: host, repository: name.slice(host.length + 1), insecure: entry.insecure, mirror: false } : at(entry.location, entry.insecure, false);
  if (purpose === 'push') return [primary];
  const mirrors = entry.mirrors
    .filter((m) => {
      const mode = entry.mirrorByDigestOnly ? 'digest-only' : m.pullFromMirror;
      return mode === 'all' || (mode === 'digest-only' ? byDigest : !byDigest);
    })
    .map((m) => at(m.location, m.insecure, true));
  return [...mirrors, primary];
}

/** Is `registry` (`host[:port]`) insecure (plain HTTP / unverified TLS allowed) by registries.conf? */
export function isInsecureRegistry(conf: RegistriesConf, registry: string): boolean {
  const entry = findRegistry(conf, registry);
  if (entry?.insecure && (entry.location === '' || entry.location.split('/')[0] === registry || entry.prefix.split('/')[0] === registry)) return true;
  // A mirror or a rewritten location may be insecure in its own right.
  return conf.registries.some((r) => (r.insecure && r.location.split('/')[0] === registry) || r.mirrors.some((m) => m.insecure && m.location.split('/')[0] === registry));
}
