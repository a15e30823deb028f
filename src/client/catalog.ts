/**
 * Registry-wide operations that are not image copies: the repository catalog (`GET /v2/_catalog`, following
 * `Link` pagination) and crane's `tag` (the same manifest under more tags of one repository, by digest, with no
 * blob moved).
 * https://distribution.github.io/distribution/spec/api/#listing-repositories
 *
 * @example
 * const repos = await listRepositories('docker://localhost:5000', { registry: { tlsVerify: false } });
 * await tagImage('docker://localhost:5000/team/app:v1', ['stable'], { registry: { tlsVerify: false } });
 */
import type { Digest } from '../content/digest.js';
import { isTag } from '../content/reference.js';
import { ClientError } from './errors.js';
import { registryOf } from './open.js';
import { parseDockerName } from './transports/registry/reference.js';
import type { RegistryOptions } from './transports/registry/session.js';
import { createRegistryTransport, nextLink } from './transports/registry/transport.js';

export interface RegistryCallOptions {
  registry?: RegistryOptions;
  signal?: AbortSignal;
}

/** `docker://HOST` (or `HOST`) → the registry host; anything after the host is refused. */
export function registryHost(arg: string): string {
  const s = arg.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  if (s === '' || s.includes('/')) throw new ClientError('REFERENCE_INVALID', `${arg}: expected a registry, docker://HOST[:PORT]`);
  // Validates the host with the reference grammar (and names Docker Hub docker.io).
  return parseDockerName(`${s}/x`).registry;
}

/** Every repository the registry lists, in the order it lists them (all pages). */
export async function listRepositories(registry: string, opts: RegistryCallOptions & { pageSize?: number } = {}): Promise<string[]> {
  const host = registryHost(registry);
  const t = createRegistryTransport(opts.registry);
  try {
    const client = await t.session.client(host, '');
    const repos: string[] = [];
    let path: string | undefined = `/v2/_catalog${opts.pageSize ? `?n=${opts.pageSize}` : ''}`;
    for (let pages = 0; path !== undefined; pages++) {
      if (pages > 100_000) throw new ClientError('REGISTRY_ERROR', `${host}: catalog pagination does not end`);
      const res = await client.expect({ method: 'GET', path, scopes: ['registry:catalog:*'], headers: { accept: 'application/json' }, signal: opts.signal }, [200], `list repositories of ${host}`);
      const chunks: Buffer[] = [];
      for await (const c of res.body as AsyncIterable<Buffer>) chunks.push(c);
      let json: { repositories?: unknown };
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { repositories?: unknown };
      } catch (cause) {
        throw new ClientError('REGISTRY_ERROR', `${host}: the catalog is not JSON`, undefined, { cause });
      }
      if (Array.isArray(json.repositories)) repos.push(...json.repositories.filter((r): r is string => typeof r === 'string'));
      const link = res.headers.link;
      path = nextLink(Array.isArray(link) ? link.join(', ') : link);
    }
    return repos;
  } finally {
    t.close();
  }
}

export interface TagResult {
  digest: Digest;
  /** `docker://HOST/NAME:TAG` for each new tag. */
  tagged: string[];
}

/**
 * Puts the manifest `image` names (a tag or a digest; an index stays an index) under each of `tags` in the same
 * repository: the manifest bytes are PUT again, unchanged, so the digest stays and no blob moves.
 */
export async function tagImage(image: string, tags: string[], opts: RegistryCallOptions = {}): Promise<TagResult> {
  if (tags.length === 0) throw new ClientError('REFERENCE_INVALID', 'tag: no new tag given');
  for (const tag of tags) {
    if (!isTag(tag)) throw new ClientError('REFERENCE_INVALID', `${JSON.stringify(tag)} is not a valid tag (a new tag only, e.g. v1.2: the repository stays ${image.replace(/[:@][^/]*$/, '')})`);
  }
  const { ref, transport } = registryOf(image, { registry: opts.registry ?? {} });
  try {
    const source = await transport.newSource(ref);
    const manifest = await source.getManifest(undefined, opts.signal ? { signal: opts.signal } : {});
    await source.close();
    const tagged: string[] = [];
    for (const tag of tags) {
      const target = ref.with({ tag });
      const dest = await transport.newDestination(target);
      await dest.putManifest(manifest, { top: true, ...(opts.signal ? { signal: opts.signal } : {}) });
      await dest.commit();
      await dest.close();
      tagged.push(String(target));
    }
    return { digest: manifest.digest, tagged };
  } finally {
    transport.close();
  }
}
