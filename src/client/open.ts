import { ClientError } from './errors.js';
import { getTransport, parseImageReference } from './transports/index.js';
import { createRegistryTransport, type RegistryTransport } from './transports/registry/transport.js';
import type { RegistryOptions } from './transports/registry/session.js';
import type { DockerReference } from './transports/registry/reference.js';
import type { DestinationOptions, ImageDestination, ImageReference, ImageSource, Transport } from './transport.js';

/**
 * Opens images by the strings users write (`docker://…`, `oci:…`, `dir:…`, …). Registry references get a
 * transport of their own with these options, so the source and the destination of one copy can use different
 * credentials and TLS settings (skopeo's `--src-*` and `--dest-*`).
 */
export interface OpenOptions extends DestinationOptions {
  registry?: RegistryOptions;
}

export interface Opened {
  ref: ImageReference;
  transport: Transport;
}

const TRANSPORT_RE = /^(?:docker:\/\/|oci:|oci-archive:|dir:|docker-archive:)/;

/** `quay.io/a/b:1` → `docker://quay.io/a/b:1`; references with a transport stay as they are. */
export function withTransport(ref: string): string {
  return TRANSPORT_RE.test(ref) ? ref : `docker://${ref}`;
}

/** The reference and the transport (configured with `opts.registry` for `docker://`) for `image`. */
export function resolveImage(image: string, opts: OpenOptions = {}): Opened {
  const parsed = parseImageReference(image);
  if (parsed.transport !== 'docker') return { ref: parsed, transport: getTransport(parsed.transport) };
  const transport = createRegistryTransport(opts.registry);
  // Parse again with the configured transport: unqualified names resolve through its registries.conf.
  const rest = image.slice(image.indexOf(':') + 1);
  return { ref: transport.parseReference(rest), transport };
}

export async function openSource(image: string, opts: OpenOptions = {}): Promise<ImageSource> {
  const { ref, transport } = resolveImage(image, opts);
  return transport.newSource(ref, opts);
}

export async function openDestination(image: string, opts: OpenOptions = {}): Promise<ImageDestination> {
  const { ref, transport } = resolveImage(image, opts);
  if (opts.additionalTags?.length && transport.name !== 'docker-archive') {
    throw new ClientError('REFERENCE_INVALID', `${image}: additional tags are kept only by docker-archive: destinations`);
  }
  return transport.newDestination(ref, opts);
}

/** The registry transport of a `docker://` image, for operations only registries have (tags, delete). */
export function registryOf(image: string, opts: OpenOptions = {}): { ref: DockerReference; transport: RegistryTransport } {
  const { ref, transport } = resolveImage(image, opts);
  if (transport.name !== 'docker') {
    throw new ClientError('UNSUPPORTED_FORMAT', `${image}: this needs a docker:// reference, not ${transport.name}:`);
  }
  return { ref: ref as DockerReference, transport: transport as RegistryTransport };
}
