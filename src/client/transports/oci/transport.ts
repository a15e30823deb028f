/** `oci:PATH[:REF]`: an OCI image layout directory. */
import { ClientError } from '../../errors.js';
import { LayoutReference, parseLayoutReference } from '../../internal/layout-ref.js';
import type { ImageReference, Transport } from '../../transport.js';
import { LayoutDestination, LayoutSource, directoryFiles } from './layout.js';
import { isDirectory } from '../../internal/files.js';

function asRef(ref: ImageReference): LayoutReference {
  if (!(ref instanceof LayoutReference) || ref.transport !== 'oci') throw new ClientError('REFERENCE_INVALID', `${String(ref)} is not an oci: reference`);
  return ref;
}

export const ociTransport = {
  name: 'oci',
  parseReference: (rest) => parseLayoutReference('oci', rest),
  async newSource(ref) {
    const r = asRef(ref);
    if (!(await isDirectory(r.path))) throw new ClientError('LAYOUT_INVALID', `${r.path} is not an OCI image layout: no such directory`);
    return LayoutSource.open(r, directoryFiles(r.path));
  },
  newDestination: (ref) => LayoutDestination.open(asRef(ref), asRef(ref).path),
} satisfies Transport;
