import type { Logger } from 'pino';
import type { RegistryDeps } from '../registry/deps.js';
import { Certifier } from './certifier.js';
import { parseDuration, type Config } from './config.js';

/** Starts the background certifier as `certify.*` configures it, or nothing when `certify.enabled` is false. */
export function startCertifier(deps: RegistryDeps, config: Config, log: Logger): Certifier | undefined {
  const c = config.certify;
  if (!c.enabled) return undefined;
  const certifier = new Certifier(deps, log.child({ component: 'certifier' }), {
    pollMs: parseDuration(c.pollInterval),
    concurrency: c.concurrency,
    leaseMs: parseDuration(c.leaseTime),
    maxAttempts: c.maxAttempts,
    ...(c.ubiLayersFile ? { ubiLayersFile: c.ubiLayersFile } : {}),
    ...(c.registryName ? { registryName: c.registryName } : {}),
  });
  certifier.start();
  return certifier;
}
