import { join } from 'node:path';
import { describeTransport } from '../../conformance.js';

describeTransport('oci-archive', { ref: (root, name) => `oci-archive:${join(root, `${name}.tar`)}:${name}`, index: true, preservesDigests: true, multipleNames: false });
