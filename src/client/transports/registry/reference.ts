/**
 * `docker://NAME[:TAG|@DIGEST]` references (containers-transports(5)), normalised as Docker does: the first
 * component is a registry host when it contains '.' or ':' or is `localhost`; otherwise the name is on the
 * default registry (the first registries.conf `unqualified-search-registries` entry, else `docker.io`), and a
 * one-component Docker Hub name gets `library/`. A tag and a digest together are refused (docker: cannot
 * store both). Neither means `latest` for reading and writing; `listTags` wants neither.
 */
import { parseDigest, type Digest } from '../../../content/digest.js';
import { isTag, parseRepositoryName } from '../../../content/reference.js';
import { ClientError } from '../../errors.js';
import type { ImageReference } from '../../transport.js';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host: `docker.io` names the registry, this is where its /v2/ lives. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export class DockerReference implements ImageReference {
  readonly transport = 'docker' as const;
  constructor(
    /** The registry as users name it: `docker.io`, `quay.io`, `localhost:5000`. */
    readonly registry: string,
    /** The repository within it, normalised: `library/busybox`. */
    readonly repository: string,
    readonly tag?: string,
    readonly digest?: Digest,
  ) {}

  /** `docker.io/library/busybox` */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What a manifest GET or PUT names: the digest, else the tag, else `latest`. */
  get manifestReference(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** `docker.io/library/busybox:latest` (or `@sha256:...`): the form policy.json and registries.conf match. */
  get fullName(): string {
    return this.digest ? `${this.name}@${this.digest}` : `${this.name}:${this.tag ?? 'latest'}`;
  }

  /** The same repository with another tag or digest. */
  with(ref: { tag?: string; digest?: Digest }): DockerReference {
    return new DockerReference(this.registry, this.repository, ref.tag, ref.digest);
  }

  toString(): string {
    return `docker://${this.name}${this.tag !== undefined ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }
}

/** Parses what follows `docker:` (it must start with `//`). */
export function parseDockerReference(rest: string, defaultRegistry = DOCKER_HUB): DockerReference {
  if (!rest.startsWith('//')) throw new ClientError('REFERENCE_INVALID', `invalid docker: reference ${JSON.stringify(`docker:${rest}`.slice(0, 200))}: expected docker://NAME[:TAG|@DIGEST]`);
  return parseDockerName(rest.slice(2), defaultRegistry);
}

/** Parses `NAME[:TAG|@DIGEST]` as Docker normalises it (also used for policy scopes and registries.conf). */
export function parseDockerName(s: string, defaultRegistry = DOCKER_HUB): DockerReference {
  const where = `invalid docker reference ${JSON.stringify(s.slice(0, 200))}`;
  if (s === '') throw new ClientError('REFERENCE_INVALID', `${where}: the name is empty`);
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (cause) {
      throw new ClientError('REFERENCE_INVALID', `${where}: invalid digest`, undefined, { cause });
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw new ClientError('REFERENCE_INVALID', `${where}: invalid tag ${JSON.stringify(tag)}`);
  }
  if (tag !== undefined && digest !== undefined) {
    throw new ClientError('REFERENCE_INVALID', `${where}: a tag and a digest together are not supported by docker:`);
  }
  const parts = rest.split('/');
  const first = parts[0]!;
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasHost ? first : defaultRegistry;
  let repository = hasHost ? parts.slice(1).join('/') : rest;
  if (!HOST_RE.test(registry)) throw new ClientError('REFERENCE_INVALID', `${where}: invalid registry host ${JSON.stringify(registry)}`);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  try {
    parseRepositoryName(repository);
  } catch (cause) {
    throw new ClientError('REFERENCE_INVALID', `${where}: invalid repository name ${JSON.stringify(repository)}`, undefined, { cause });
  }
  return new DockerReference(registry, repository, tag, digest);
}

/** Where a registry's API is: Docker Hub's is `registry-1.docker.io`; every other registry is its own host. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_API : registry;
}
