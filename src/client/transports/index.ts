/**
 * The one table of transports and the one reference parser (containers/image alltransports): split at the
 * first ':', look the prefix up, hand the rest to that transport. Every built-in transport registers here;
 * `docker` is the machine-configured `registryTransport` (a CLI side with its own flags replaces it, or calls
 * `createRegistryTransport(options)` directly).
 */
import { ClientError } from '../errors.js';
import type { ImageReference, Transport, TransportName } from '../transport.js';
import { dirTransport } from './dir/transport.js';
import { dockerArchiveTransport } from './docker-archive/transport.js';
import { ociArchiveTransport } from './oci-archive/transport.js';
import { ociTransport } from './oci/transport.js';
import { registryTransport } from './registry/transport.js';

const KNOWN: readonly TransportName[] = ['docker', 'oci', 'oci-archive', 'dir', 'docker-archive'];
const transports = new Map<string, Transport>();

/** Adds (or replaces) the transport for `t.name`. */
export function registerTransport(t: Transport): void {
  transports.set(t.name, t);
}

/** The registered transport; throws ClientError `TRANSPORT_UNKNOWN` for a name nobody registered. */
export function getTransport(name: string): Transport {
  const t = transports.get(name);
  if (t) return t;
  if ((KNOWN as readonly string[]).includes(name)) {
    throw new ClientError('TRANSPORT_UNKNOWN', `transport ${name} is not available in this build (known: ${knownList()})`);
  }
  throw new ClientError('TRANSPORT_UNKNOWN', `unknown transport ${JSON.stringify(name.slice(0, 50))} (known: ${knownList()})`);
}

function knownList(): string {
  return [...transports.keys()].sort().join(', ');
}

/**
 * Parses `transport:details`, e.g. `oci:/tmp/layout:v1`, `dir:/tmp/d`, `docker://quay.io/x/y:1`.
 * Throws `TRANSPORT_UNKNOWN` for a missing or unregistered prefix and `REFERENCE_INVALID` for bad details.
 */
export function parseImageReference(s: string): ImageReference {
  const colon = s.indexOf(':');
  if (colon <= 0) {
    throw new ClientError('TRANSPORT_UNKNOWN', `invalid image reference ${JSON.stringify(s.slice(0, 200))}: expected transport:details (known transports: ${knownList()})`);
  }
  return getTransport(s.slice(0, colon)).parseReference(s.slice(colon + 1));
}

for (const t of [ociTransport, dirTransport, ociArchiveTransport, dockerArchiveTransport, registryTransport]) registerTransport(t);
