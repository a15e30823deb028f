import { join } from 'node:path';
import { describeTransport } from '../../conformance.js';

describeTransport('dir', { ref: (root, name) => `dir:${join(root, `dir-${name}`)}`, index: true, preservesDigests: true, multipleNames: false });
