// The shared transport suite for docker://, against a real Berth server on loopback (plain HTTP, so the
// transport runs with tlsVerify: false, which allows HTTP after HTTPS fails).
import { after, before } from 'node:test';
import { describeTransport } from '../../conformance.js';
import { registerTransport } from '../index.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { createRegistryTransport } from './transport.js';

let registry: TestRegistry;
let host = '';
const transport = createRegistryTransport({ tlsVerify: false, noCreds: true, registriesConf: { unqualifiedSearchRegistries: [], registries: [], files: [] }, retry: { attempts: 2, baseDelayMs: 10 } });
registerTransport(transport);

before(async () => {
  registry = await startTestRegistry();
  host = new URL(registry.url).host;
});
after(async () => {
  transport.close();
  await registry.close();
});

describeTransport('docker', {
  ref: (root, name) => `docker://${host}/conformance${root.replace(/[^a-z0-9]+/g, '-').replace(/-+$/, '')}/img:${name}`, index: true,
  preservesDigests: true,
  multipleNames: true,
  skip: { reason: 'a registry is not a path; registry-retry.test.ts checks that an unreachable registry is named', tests: ['reading a store that is not there names the path'] },
});
