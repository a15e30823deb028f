import type { Digest } from '../content/digest.js';
import { openImage, openManifest, type Image } from './image.js';
import type { PlatformSpec } from './platform.js';
import type { ImageReference, ImageSource, SourceOptions } from './transport.js';

/**
 * What `skopeo inspect` prints, field for field and in its order (containers/skopeo
 * `cmd/skopeo/inspect/output.go`). Fields other than `Digest` describe the image picked for the platform.
 */
export interface InspectOutput {
  Name?: string;
  Tag?: string;
  Digest: Digest;
  RepoTags: string[];
  Created?: string;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Os: string;
  Variant?: string;
  Layers: string[];
  LayersData: Array<{ MIMEType: string; Digest: string; Size: number; Annotations: Record<string, string> | null }>;
  Env: string[] | null;
}

export interface InspectOptions extends SourceOptions {
  platform?: PlatformSpec;
  /** Tags of the repository (docker:// only; skopeo leaves `RepoTags` empty elsewhere). */
  repoTags?: string[];
  /** Repository name and tag, for `Name` and `Tag` (docker:// only). */
  name?: string;
  tag?: string;
}

/** Inspects the image a source names; for an index, the child for `platform` (default: this machine's). */
export async function inspectImage(source: ImageSource, opts: InspectOptions = {}): Promise<InspectOutput> {
  const top = await openManifest(source, opts);
  const image: Image = top.kind === 'image' ? top : await openImage(source, opts);
  const config = await image.config(opts);
  const c = (config.config ?? {}) as { Labels?: Record<string, string> | null; Env?: string[] | null };
  return {
    ...(opts.name ? { Name: opts.name } : {}),
    ...(opts.tag ? { Tag: opts.tag } : {}),
    Digest: top.digest,
    RepoTags: opts.repoTags ?? [],
    ...(config.created ? { Created: config.created } : {}),
    DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
    Labels: c.Labels ?? null,
    Architecture: config.architecture ?? '',
    Os: config.os ?? '',
    ...(config.variant ? { Variant: config.variant } : {}),
    Layers: image.parsed.layers.map((l) => l.digest),
    LayersData: image.parsed.layers.map((l) => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ?? null })),
    Env: c.Env ?? null,
  };
}


/** `Name`/`Tag` as skopeo shows them for a reference, when the transport has a repository. */
export function referenceNames(ref: ImageReference): { name?: string; tag?: string } {
  const r = ref as ImageReference & { repository?: string; registry?: string; tag?: string };
  if (!r.repository) return {};
  return { name: r.registry ? `${r.registry}/${r.repository}` : r.repository, tag: r.tag };
}
