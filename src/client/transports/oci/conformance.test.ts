import { join } from 'node:path';
import { describeTransport } from '../../conformance.js';

describeTransport('oci', { ref: (root, name) => `oci:${join(root, 'layout')}:${name}`, index: true, preservesDigests: true, multipleNames: true });
