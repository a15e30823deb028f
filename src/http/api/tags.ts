import { gradeJson, stateOf } from './certification.js';
import type { Digest } from '../../content/digest.js';
import type { Platform } from '../../content/descriptor.js';
import { parseManifest, type ParsedManifest } from '../../content/manifest.js';
import { DOCKER_CONFIG, OCI_CONFIG } from '../../content/media-types.js';
import type { TagRecord } from '../../metadata/store.js';
import { openBlob } from '../../registry/blobs.js';
import { readUpTo } from '../context.js';
import type { RegistryDeps } from '../../registry/deps.js';
import { readableRepo } from './guard.js';
import { iso, ok, queryInt, queryOneOf, type ApiRequest, type ApiResponse } from './request.js';

/**
 * Tags of a repository with what each points at: manifest digest and media type, size, platform(s) and push
 * time, sorted by name or by push time.
 *
 * `size` is what pulling everything the tag names takes: the manifest, its config and layers; for an index,
 * the index, each child manifest the repository holds, and each distinct blob they reference (a blob shared
 * by two platforms is counted once). Platforms come from an index's entries, or from an image's config.
 */

/** Largest image config read for its platform. Configs are small; one this large is not an image's. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface TagPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

interface ManifestSummary {
  size: number;
  platforms: TagPlatform[];
}

// GET /repositories/{repo}/tags
export async function listTags(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  const sort = queryOneOf(r, 'sort', ['name', 'pushed'] as const) ?? 'name';
  const order = queryOneOf(r, 'order', ['asc', 'desc'] as const) ?? (sort === 'pushed' ? 'desc' : 'asc');
  const n = queryInt(r, 'n', 100, 1000);
  const offset = queryInt(r, 'offset', 0, 100_000_000);
  const records = await r.ctx.deps.store.listTagRecords(view.repo);
  const dir = order === 'asc' ? 1 : -1;
  records.sort((a, b) => dir * (sort === 'pushed' ? a.updatedAt.getTime() - b.updatedAt.getTime() || cmp(a.name, b.name) : cmp(a.name, b.name)));
  const page = records.slice(offset, offset + n);
  const summaries = new Summaries(r.ctx.deps, view.repo, r.ctx.signal);
  // Each tag also shows its Health Index grade and whether it passes certification under the repository's policy.
  const { store } = r.ctx.deps;
  const digests = page.map((t) => t.digest);
  const [grades, certs, settings] = await Promise.all([store.scans.getGrades(digests), store.certs.getCertSummaries(view.repo, digests), store.certs.getCertSettings(view.repo)]);
  const tags = [];
  for (const t of page) {
    tags.push({ ...(await tagJson(t, summaries)), security: gradeJson(grades.get(t.digest)), certification: stateOf(certs.get(t.digest), settings) });
  }
  const next = offset + page.length < records.length ? offset + page.length : undefined;
  return ok({ name: view.repo, total: records.length, tags, ...(next !== undefined ? { next } : {}) });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function tagJson(t: TagRecord, summaries: Summaries) {
  const s = await summaries.of(t.digest, t.mediaType, t.size);
  return { name: t.name, digest: t.digest, mediaType: t.mediaType, manifestSize: t.size, size: s.size, platforms: s.platforms, pushedAt: iso(t.updatedAt) };
}

/** Reads manifests and configs once per request, however many tags share them. */
class Summaries {
  readonly #manifests = new Map<string, Promise<{ parsed: ParsedManifest; size: number } | undefined>>();
  readonly #platforms = new Map<string, Promise<TagPlatform | undefined>>();

  constructor(
    private readonly deps: RegistryDeps,
    private readonly repo: string,
    private readonly signal: AbortSignal,
  ) {}

  async of(digest: Digest, mediaType: string, manifestSize: number): Promise<ManifestSummary> {
    const m = await this.#manifest(digest, mediaType);
    if (!m) return { size: manifestSize, platforms: [] };
    const blobs = new Map<string, number>();
    let size = m.size;
    const platforms: TagPlatform[] = [];
    if (m.parsed.kind === 'index') {
      for (const child of m.parsed.manifests) {
        const c = await this.#manifest(child.digest, child.mediaType);
        if (!c) continue;
        size += c.size;
        for (const b of blobsOf(c.parsed)) blobs.set(b.digest, b.size);
        const p = child.platform ? fromDescriptor(child.platform) : c.parsed.kind === 'image' ? await this.#configPlatform(c.parsed) : undefined;
        // Attestation manifests of buildx are entries with platform unknown/unknown: not a platform.
        if (p && p.os !== 'unknown' && p.architecture !== 'unknown') platforms.push(p);
      }
    } else {
      for (const b of blobsOf(m.parsed)) blobs.set(b.digest, b.size);
      const p = m.parsed.kind === 'image' ? await this.#configPlatform(m.parsed) : undefined;
      if (p) platforms.push(p);
    }
    for (const s of blobs.values()) size += s;
    return { size, platforms: dedupe(platforms) };
  }

  #manifest(digest: Digest, mediaType: string): Promise<{ parsed: ParsedManifest; size: number } | undefined> {
    let p = this.#manifests.get(digest);
    if (!p) {
      p = this.deps.store.getManifest(this.repo, digest).then((rec) => {
        if (!rec) return undefined;
        try {
          return { parsed: parseManifest(rec.content, rec.mediaType || mediaType), size: rec.size };
        } catch {
          // Stored manifests were validated on push; one that no longer parses is reported without details.
          return undefined;
        }
      });
      this.#manifests.set(digest, p);
    }
    return p;
  }

  #configPlatform(m: ParsedManifest): Promise<TagPlatform | undefined> {
    const config = m.config;
    if (!config || (config.mediaType !== OCI_CONFIG && config.mediaType !== DOCKER_CONFIG) || config.size > MAX_CONFIG_BYTES) return Promise.resolve(undefined);
    let p = this.#platforms.get(config.digest);
    if (!p) {
      p = this.#readConfigPlatform(config.digest).catch(() => undefined);
      this.#platforms.set(config.digest, p);
    }
    return p;
  }

  async #readConfigPlatform(digest: Digest): Promise<TagPlatform | undefined> {
    const { stream } = await openBlob(this.deps, this.repo, digest, undefined, this.signal);
    const bytes = await readUpTo(stream as AsyncIterable<Buffer>, MAX_CONFIG_BYTES);
    if (!bytes) {
      stream.destroy();
      return undefined;
    }
    const json = JSON.parse(bytes.toString('utf8')) as { os?: unknown; architecture?: unknown; variant?: unknown };
    if (typeof json.os !== 'string' || typeof json.architecture !== 'string') return undefined;
    return { os: json.os, architecture: json.architecture, ...(typeof json.variant === 'string' && json.variant ? { variant: json.variant } : {}) };
  }
}

function blobsOf(m: ParsedManifest): { digest: string; size: number }[] {
  return [...(m.config ? [m.config] : []), ...m.layers];
}

function fromDescriptor(p: Platform): TagPlatform {
  return { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) };
}

function dedupe(ps: TagPlatform[]): TagPlatform[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = `${p.os}/${p.architecture}/${p.variant ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
