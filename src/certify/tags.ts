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
  try {
    return await transport.listTags(ref.with({}), { pageSize: TAG_PAGE_SIZE, maxPages: 1, ...(signal ? { signal } : {}) });
  } catch (cause) {
    throw new CertifyError('TAGS_UNAVAILABLE', `failed to get tags list for ${ref.registry}/${ref.repository}: ${(cause as Error).message}`, undefined, { cause });
  }
}
