/** Test support: copies between a registry transport under test and oci: layouts, without the global table. */
import { copyImage, type CopyOptions, type CopyResult } from '../../copy.js';
import { openDestination, openSource } from '../../conformance.js';
import { EMPTY_REGISTRIES_CONF } from '../../config/registries-conf.js';
import type { ImageDestination, ImageSource } from '../../transport.js';
import { createRegistryTransport, type RegistryTransport } from './transport.js';
import type { RegistryOptions } from './session.js';

/** A transport for loopback test servers: plain HTTP allowed, no machine configuration, fast retries. */
export function testTransport(opts: RegistryOptions = {}): RegistryTransport {
  return createRegistryTransport({ tlsVerify: false, registriesConf: EMPTY_REGISTRIES_CONF, authFile: '/nonexistent/berth-test-auth.json', ...opts, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 200, ...opts.retry } });
}

async function run(s: ImageSource, d: ImageDestination, opts: CopyOptions): Promise<CopyResult> {
  try {
    return await copyImage(s, d, opts);
  } finally {
    await d.close();
    await s.close();
  }
}

/** `oci:...` (or any registered ref) → `docker://...` through `t`. */
export async function pushWith(t: RegistryTransport, from: string, to: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const s = await openSource(from);
  const d = await t.newDestination(t.parseReference(to.replace(/^docker:/, ''))).catch(async (err: unknown) => {
    await s.close();
    throw err;
  });
  return run(s, d, opts);
}

/** `docker://...` through `t` → `oci:...` (or any registered ref). */
export async function pullWith(t: RegistryTransport, from: string, to: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const s = await t.newSource(t.parseReference(from.replace(/^docker:/, '')));
  const d = await openDestination(to);
  return run(s, d, opts);
}
