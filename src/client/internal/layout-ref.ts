/**
 * `PATH[:REF]` references of the oci: and oci-archive: transports (containers-transports(5)): PATH ends at the
 * first ':'; REF is the `org.opencontainers.image.ref.name` annotation, or `@N`, a zero-based index into
 * index.json (read only).
 */
import { ClientError } from '../errors.js';
import type { ImageReference } from '../transport.js';

// containers/image internal/image/oci.go refRegexp: components of [A-Za-z0-9._-], joined by single ':' or '/'.
const REF_NAME_RE = /^[A-Za-z0-9._-]+(?:[:/][A-Za-z0-9._-]+)*$/;

export class LayoutReference implements ImageReference {
  constructor(
    readonly transport: 'oci' | 'oci-archive',
    readonly path: string,
    /** The ref.name annotation, when given. */
    readonly refName?: string,
    /** `@N`: a zero-based index into index.json's manifests. */
    readonly sourceIndex?: number,
  ) {}

  toString(): string {
    const tail = this.refName !== undefined ? `:${this.refName}` : this.sourceIndex !== undefined ? `:@${this.sourceIndex}` : '';
    return `${this.transport}:${this.path}${tail}`;
  }
}

export function parseLayoutReference(transport: 'oci' | 'oci-archive', rest: string): LayoutReference {
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const ref = colon === -1 ? undefined : rest.slice(colon + 1);
  if (path === '') throw new ClientError('REFERENCE_INVALID', `invalid ${transport}: reference ${JSON.stringify(rest)}: the path is empty`);
  if (ref === undefined || ref === '') return new LayoutReference(transport, path);
  if (ref.startsWith('@')) {
    if (!/^@\d{1,9}$/.test(ref)) throw new ClientError('REFERENCE_INVALID', `invalid ${transport}: source index ${JSON.stringify(ref)}: expected @N`);
    return new LayoutReference(transport, path, undefined, Number(ref.slice(1)));
  }
  if (!REF_NAME_RE.test(ref)) throw new ClientError('REFERENCE_INVALID', `invalid ${transport}: reference name ${JSON.stringify(ref.slice(0, 200))}`);
  return new LayoutReference(transport, path, ref);
}
