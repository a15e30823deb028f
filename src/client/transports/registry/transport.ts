/**
 * `docker://`: the registry transport (containers/image `docker/`). `registryTransport` reads the machine's
 * configuration (registries.conf, auth.json, certs.d) the way skopeo does; `createRegistryTransport(options)`
 * makes one with skopeo's flags (`--tls-verify`, `--cert-dir`, `--creds`, `--authfile`, ...) for a CLI side.
 *
 * @example
 * const t = createRegistryTransport({ tlsVerify: false, authFile: '/tmp/auth.json' });
 * const src = await t.newSource(t.parseReference('//localhost:5000/team/app:v1'));
 */
import { ClientError } from '../../errors.js';
import type { ImageReference, SourceOptions, Transport } from '../../transport.js';
import { RegistryDestination } from './destination.js';
import { discard } from './http.js';
import { DockerReference, parseDockerName, parseDockerReference } from './reference.js';
import { resolveShortName } from '../../config/registries-conf.js';
import { RegistrySession, type RegistryOptions } from './session.js';
import { MANIFEST_ACCEPT, RegistrySource, fetchManifest, readCapped } from './source.js';

/** A tag list page read whole: 32 MiB is about a million tag names. */
const TAG_PAGE_CAP = 32 * 1024 * 1024;

export interface RegistryTransport extends Transport {
  readonly name: 'docker';
  parseReference(rest: string): DockerReference;
  newSource(ref: ImageReference, opts?: SourceOptions): Promise<RegistrySource>;
  newDestination(ref: ImageReference, opts?: SourceOptions): Promise<RegistryDestination>;
  /** skopeo delete: resolves a tag to its digest and deletes the manifest by digest (every tag on it goes). */
  deleteImage(ref: DockerReference, opts?: SourceOptions): Promise<void>;
  /** skopeo list-tags: every tag of the repository, following `Link` pagination. */
  /** The tags, every page of them; `maxPages` stops early (preflight reads only the first). */
  listTags(ref: DockerReference, opts?: SourceOptions & { pageSize?: number; maxPages?: number }): Promise<string[]>;
  /** Frees the transport's connections. */
  close(): void;
  readonly session: RegistrySession;
}

function asDockerRef(ref: ImageReference): DockerReference {
  if (!(ref instanceof DockerReference)) throw new ClientError('REFERENCE_INVALID', `${String(ref)} is not a docker:// reference`);
  return ref;
}

/** The `Link: <url>; rel="next"` target, if any (RFC 8288). */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

export function createRegistryTransport(options: RegistryOptions = {}): RegistryTransport {
  const session = new RegistrySession(options);
  return {
    name: 'docker',
    session,
    parseReference: (rest) => {
      if (!rest.startsWith('//') || isQualified(rest.slice(2))) return parseDockerReference(rest);
      // A short name: its registries.conf alias, else a search registry (short-name-mode decides).
      const body = rest.slice(2);
      const at = body.indexOf('@');
      const nameAndTag = at === -1 ? body : body.slice(0, at);
      const colon = nameAndTag.lastIndexOf(':');
      const end = colon > nameAndTag.lastIndexOf('/') && colon !== -1 ? colon : nameAndTag.length;
      const short = body.slice(0, end);
      if (short === '') return parseDockerReference(rest);
      return parseDockerReference(`//${resolveShortName(session.conf, short).name}${body.slice(end)}`);
    },
    async newSource(ref) {
      const r = asDockerRef(ref);
      return new RegistrySource(r, await session.endpoints(r, 'pull'));
    },
    async newDestination(ref) {
      const r = asDockerRef(ref);
      const [e] = await session.endpoints(r, 'push');
      return new RegistryDestination(r, e!.client, e!.repository, session.options.chunkSize);
    },
    async deleteImage(ref, opts = {}) {
      const r = asDockerRef(ref);
      const [e] = await session.endpoints(r, 'push');
      const { client, repository } = e!;
      let digest = r.digest;
      if (!digest) digest = (await fetchManifest(e!, r.tag ?? 'latest', opts.signal)).digest;
      const res = await client.expect(
        { method: 'DELETE', path: `/v2/${repository}/manifests/${digest}`, scopes: [`repository:${repository}:delete`], headers: { accept: MANIFEST_ACCEPT }, signal: opts.signal },
        [200, 202],
        `DELETE manifest ${digest} of ${client.registry}/${repository}`,
        'MANIFEST_UNKNOWN',
      );
      await discard(res.body);
    },
    async listTags(ref, opts = {}) {
      const r = asDockerRef(ref);
      const [e] = await session.endpoints(r, 'push');
      const { client, repository } = e!;
      const tags: string[] = [];
      let path: string | undefined = `/v2/${repository}/tags/list${opts.pageSize ? `?n=${opts.pageSize}` : ''}`;
      for (let pages = 0; path !== undefined && pages < (opts.maxPages ?? Infinity); pages++) {
        if (pages > 10_000) throw new ClientError('REGISTRY_ERROR', `${client.registry}/${repository}: tag list pagination does not end`);
        const what = `list tags of ${client.registry}/${repository}`;
        const res = await client.expect({ method: 'GET', path, scopes: [`repository:${repository}:pull`], headers: { accept: 'application/json' }, signal: opts.signal }, [200], what, 'MANIFEST_UNKNOWN');
        const body = await readCapped(res.body, TAG_PAGE_CAP, what, 'REGISTRY_ERROR');
        let json: { tags?: unknown };
        try {
          json = JSON.parse(body.toString('utf8')) as { tags?: unknown };
        } catch (cause) {
          throw new ClientError('REGISTRY_ERROR', `${client.registry}/${repository}: the tag list is not JSON`, undefined, { cause });
        }
        if (Array.isArray(json.tags)) tags.push(...json.tags.filter((t): t is string => typeof t === 'string'));
        const link = res.headers.link;
        path = nextLink(Array.isArray(link) ? link.join(', ') : link);
      }
      return tags;
    },
    close: () => session.close(),
  };
}

/** `docker.io/x`, `localhost:5000/x`: the first component names a host. */
function isQualified(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash === -1) return false;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** The transport registered for `docker://`: the machine's registries.conf, auth.json and certs.d. */
export const registryTransport: RegistryTransport = createRegistryTransport();

/** Parses `NAME[:TAG|@DIGEST]` (no `docker://`) with Docker's normalisation, for CLI arguments such as `login HOST`. */
export { parseDockerName };
