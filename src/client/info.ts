/**
 * `oc image info` and the `--filter-by-os` rule every `oc image` command shares
 * (openshift/oc pkg/cli/image/manifest: FilterOptions, PlatformSpecString, ManifestToImageConfig).
 *
 * The filter is a regular expression matched (unanchored, as Go's MatchString) against
 * `os/arch[/variant]` of each index entry. Without one, the default is the running platform
 * (`linux/amd64`, quoted), and an index with a single entry is accepted whatever its platform.
 */
import type { Descriptor } from '../content/descriptor.js';
import type { Digest } from '../content/digest.js';
import { ClientError } from './errors.js';
import { openManifest, type Image, type ImageConfig } from './image.js';
import { systemPlatform, type PlatformSpec } from './platform.js';
import type { ImageReference, ImageSource, SourceOptions } from './transport.js';

export interface OsFilter {
  regex: RegExp;
  /** True when the user gave no filter: a single-entry index is then accepted whatever its platform. */
  isDefault: boolean;
  source: string;
}

/** `os/arch[/variant]` as oc prints and matches it. */
export function platformString(p: { os?: string; architecture?: string; variant?: string } | undefined): string {
  if (!p) return '/';
  return p.variant ? `${p.os ?? ''}/${p.architecture ?? ''}/${p.variant}` : `${p.os ?? ''}/${p.architecture ?? ''}`;
}

/** The `--filter-by-os` regex, or the default for the running platform (or `platform`, from --override-os/arch). */
export function osFilter(filterByOS: string | undefined, platform?: PlatformSpec): OsFilter {
  if (filterByOS !== undefined && filterByOS !== '') {
    try {
      return { regex: new RegExp(filterByOS), isDefault: false, source: filterByOS };
    } catch (err) {
      throw new ClientError('REFERENCE_INVALID', `--filter-by-os ${JSON.stringify(filterByOS)} is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const sys = systemPlatform();
  const s = `${platform?.os ?? sys.os}/${platform?.architecture ?? sys.architecture}`;
  return { regex: new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), isDefault: true, source: s };
}

/** oc's FilterOptions.Include: the entries of an index the filter keeps. */
export function filterManifests(children: readonly Descriptor[], filter: OsFilter): Descriptor[] {
  if (filter.isDefault && children.length <= 1) return [...children];
  return children.filter((d) => filter.regex.test(platformString(d.platform)));
}

/** The table oc prints when a filter does not pick exactly one image of an index. */
export function platformTable(children: readonly Descriptor[]): string {
  const rows = [['OS', 'DIGEST'], ...children.map((d) => [platformString(d.platform), d.digest])];
  const w = Math.max(...rows.map((r) => r[0]!.length)) + 1;
  return rows.map((r) => `  ${r[0]!.padEnd(w)}${r[1]}\n`).join('');
}

export interface PickedImage {
  image: Image;
  /** The digest of the index the image was picked from, if any. */
  listDigest?: Digest;
}

/**
 * The images of `source` the filter selects: the image itself, or the matching children of an index.
 * With `multiple` false (the default), an index where the filter keeps anything but exactly one entry is an
 * error (`PLATFORM_UNKNOWN`) listing the platforms and digests, as `oc image info` does.
 */
export async function pickImages(source: ImageSource, opts: SourceOptions & { filterByOS?: string; platform?: PlatformSpec; multiple?: boolean } = {}): Promise<PickedImage[]> {
  const top = await openManifest(source, opts);
  if (top.kind === 'image') return [{ image: top }];
  const filter = osFilter(opts.filterByOS, opts.platform);
  const children = top.children();
  const kept = filterManifests(children, filter);
  if (kept.length === 0 || (kept.length > 1 && !opts.multiple)) {
    const why = kept.length === 0 ? `no image matches ${filter.source}` : 'the image is a manifest list and contains multiple images';
    throw new ClientError('PLATFORM_UNKNOWN', `${why} - use --filter-by-os to select from:\n\n${platformTable(children)}`, {
      platforms: children.map((d) => ({ platform: platformString(d.platform), digest: d.digest })),
    });
  }
  const out: PickedImage[] = [];
  for (const d of kept) {
    out.push({ image: await top.image(d.digest, opts), listDigest: top.digest });
  }
  return out;
}

export interface ImageInfo {
  /** The reference as oc prints it (`registry/repo:tag` for registries, the transport form otherwise). */
  name: string;
  digest: Digest;
  /** The digest of the manifest list the image was picked from. */
  listDigest?: Digest;
  mediaType: string;
  /** Set when the reference names the image by this digest (oc then omits the Digest line). */
  requestedDigest?: Digest;
  layers: Descriptor[];
  /** Compressed size: the sum of the layer sizes, as oc computes it. */
  size: number;
  config: ImageConfig;
}

export function referenceName(ref: ImageReference): string {
  const r = ref as ImageReference & { fullName?: string };
  return ref.transport === 'docker' && r.fullName ? r.fullName : String(ref);
}

/** What `oc image info` shows for each selected image. */
export async function imageInfo(source: ImageSource, opts: SourceOptions & { filterByOS?: string; platform?: PlatformSpec; multiple?: boolean } = {}): Promise<ImageInfo[]> {
  const picked = await pickImages(source, opts);
  const name = referenceName(source.reference);
  const pinned = /@((?:sha256|sha512):[a-f0-9]+)$/.exec(String(source.reference))?.[1] as Digest | undefined;
  const out: ImageInfo[] = [];
  for (const { image, listDigest } of picked) {
    const config = await image.config(opts);
    const layers = image.parsed.layers.map((l) => ({ ...l }));
    const info: ImageInfo = { name, digest: image.digest, mediaType: image.parsed.mediaType, layers, size: layers.reduce((n, l) => n + l.size, 0), config };
    if (listDigest) info.listDigest = listDigest;
    if (pinned) info.requestedDigest = pinned;
    out.push(info);
  }
  return out;
}
