/**
 * HasUniqueTag's tag listing, as preflight does it (go-containerregistry `remote.Puller.Lister`, first page
 * only): one `GET /v2/<name>/tags/list?n=10` through the client's registry transport, so credentials, TLS
 * settings, mirrors-for-pull rules and retries are the same as for pulling the image.
 */
import type { RegistryTransport } from '../client/transports/registry/transport.js';
import type { DockerReference } from '../client/transports/registry/reference.js';
import { CertifyError } from './errors.js';

/** preflight's page size (go-containerregistry's lister default). */
export const TAG_PAGE_SIZE = 10;

/** The first page of the repository's tag list. Throws CertifyError `TAGS_UNAVAILABLE` with the registry's error as cause. */
export async function firstTagPage(transport: RegistryTransport, ref: DockerReference, signal?: AbortSignal): Promise<string[]> {
  const where = `${ref.registry}/${ref.repository}`;
  try {
    const [e] = await transport.session.endpoints(ref.with({}), 'push');
    const { client, repository } = e!;
    const res = await client.expect(
      { method: 'GET', path: `/v2/${repository}/tags/list?n=${TAG_PAGE_SIZE}`, scopes: [`repository:${repository}:pull`], headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) },
      [200],
      `list tags of ${where}`,
      'MANIFEST_UNKNOWN',
    );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      // One page of ten names is small; refuse a body that is not.
      if (size > 1024 * 1024) throw new CertifyError('TAGS_UNAVAILABLE', `${where}: the tag list page is larger than 1 MiB`);
      chunks.push(c);
    }
    const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tags?: unknown };
    return Array.isArray(json.tags) ? json.tags.filter((t): t is string => typeof t === 'string') : [];
  } catch (cause) {
    if (cause instanceof CertifyError) throw cause;
    throw new CertifyError('TAGS_UNAVAILABLE', `failed to get tags list for ${where}: ${(cause as Error).message}`, undefined, { cause });
  }
}
