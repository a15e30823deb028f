/**
 * What HasUniqueTag and HasProhibitedContainerName need from a reference: the repository, the container
 * name (its last path component) and the tag or digest the user named, for every transport.
 *
 * preflight only takes registry references. Berth decides for the others:
 * - `docker://`: as preflight (go-containerregistry's name.ParseReference): no tag and no digest means `latest`.
 * - `oci:` / `oci-archive:` `PATH:REF`: a REF that is a full image name (`quay.io/ns/app:1.0`, as buildah
 *   and skopeo write into `org.opencontainers.image.ref.name`) gives repository and tag; a bare REF (`1.0`) is the
 *   tag and the container name is the last component of PATH (without an archive extension); no REF (or `@N`)
 *   gives no tag.
 * - `docker-archive:PATH:NAME[:TAG]`: NAME and TAG (TAG defaults to `latest`, as docker does); no NAME gives no
 *   tag and the container name from PATH.
 * - `dir:PATH`: no tag; the container name from PATH.
 * "No tag" is treated like a digest reference without tags: HasUniqueTag reports an error, since there is
 * nothing to assert a tag from. Tags are only listed from registries (there is no tags/list on disk).
 */
import { basename } from 'node:path';
import type { ImageReference } from '../client/transport.js';
import type { DockerReference } from '../client/transports/registry/reference.js';

export interface ImageNaming {
  readonly transport: ImageReference['transport'];
  /** `quay.io` for docker://; undefined on disk. */
  readonly registry?: string;
  /** `ns/app`, or for an image on disk the name it carries or the path's last component. */
  readonly repository: string;
  /** The last path component of the repository: what HasProhibitedContainerName checks. */
  readonly containerName: string;
  /** The tag the reference names (`latest` when a docker:// reference names neither tag nor digest). */
  readonly tag?: string;
  readonly digest?: string;
  /** The image as reports name it (preflight's `image`): `quay.io/ns/app:1.0`, or the transport reference. */
  readonly display: string;
}

function lastComponent(repository: string): string {
  const parts = repository.split('/');
  return parts[parts.length - 1] ?? repository;
}

function nameFromPath(path: string): string {
  const base = basename(path.replace(/\/+$/, '')) || path;
  return base.replace(/\.(tar|tar\.gz|tgz|oci|ociarchive)$/i, '');
}

/** `quay.io/ns/app:1.0` → name and tag; undefined for a bare tag such as `1.0`. */
function splitFullName(ref: string): { repository: string; tag: string } | undefined {
  const slash = ref.lastIndexOf('/');
  if (slash === -1) return undefined;
  const colon = ref.lastIndexOf(':');
  const name = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : 'latest';
  const parts = name.split('/');
  const first = parts[0]!;
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  return { repository: hasHost ? parts.slice(1).join('/') : name, tag };
}

export function namingOf(ref: ImageReference): ImageNaming {
  switch (ref.transport) {
    case 'docker': {
      const r = ref as DockerReference;
      const tag = r.digest ? r.tag : (r.tag ?? 'latest');
      return {
        transport: 'docker',
        registry: r.registry,
        repository: r.repository,
        containerName: lastComponent(r.repository),
        tag,
        digest: r.digest,
        display: r.digest ? `${r.name}@${r.digest}` : `${r.name}:${tag}`,
      };
    }
    case 'oci':
    case 'oci-archive': {
      const r = ref as ImageReference & { path: string; refName?: string };
      const full = r.refName !== undefined ? splitFullName(r.refName) : undefined;
      const repository = full?.repository ?? nameFromPath(r.path);
      return { transport: ref.transport, repository, containerName: lastComponent(repository), tag: full?.tag ?? r.refName, display: String(ref) };
    }
    case 'docker-archive': {
      const r = ref as ImageReference & { path: string; named?: { name: string; tag: string } };
      if (r.named) {
        const repository = r.named.name.split('/').slice(1).join('/');
        return { transport: ref.transport, repository, containerName: lastComponent(repository), tag: r.named.tag, display: String(ref) };
      }
      const repository = nameFromPath(r.path);
      return { transport: ref.transport, repository, containerName: repository, display: String(ref) };
    }
    case 'dir': {
      const r = ref as ImageReference & { path: string };
      const repository = nameFromPath(r.path);
      return { transport: 'dir', repository, containerName: repository, display: String(ref) };
    }
  }
}
