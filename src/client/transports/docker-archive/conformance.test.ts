import { join } from 'node:path';
import { describeTransport } from '../../conformance.js';

describeTransport('docker-archive', { ref: (root, name) => `docker-archive:${join(root, `${name}.tar`)}:example.com/berth/${name}:v1`, index: false, preservesDigests: false, multipleNames: false });
