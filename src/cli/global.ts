import { InvalidArgumentError, type Command } from 'commander';
import type { PlatformSpec } from '../client/platform.js';
import type { ImageReference } from '../client/transport.js';

/** The `--override-os/--override-arch/--override-variant` global flags, as skopeo takes them. */
export function globalPlatform(cmd: Command): PlatformSpec | undefined {
  const g = cmd.optsWithGlobals<{ overrideOs?: string; overrideArch?: string; overrideVariant?: string }>();
  if (!g.overrideOs && !g.overrideArch && !g.overrideVariant) return undefined;
  return { os: g.overrideOs, architecture: g.overrideArch, variant: g.overrideVariant };
}

/** Refuses the image unless the trust policy (policy.json) accepts it, as skopeo checks before a copy. */
export async function checkPolicy(cmd: Command, ref: ImageReference): Promise<void> {
  const g = cmd.optsWithGlobals<{ policy?: string; insecurePolicy?: boolean }>();
  if (g.insecurePolicy) return;
  const { evaluatePolicy, loadPolicy } = await import('../client/config/policy.js');
  evaluatePolicy(await loadPolicy({ path: g.policy }), ref);
}

/** `--platform` of scan and certify: ARCH (Linux, as preflight takes it) or OS/ARCH[/VARIANT]. */
export function parsePlatformFlag(v: string): PlatformSpec {
  const parts = v.split('/');
  if (parts.some((p) => p === '') || parts.length > 3) throw new InvalidArgumentError(`--platform ${JSON.stringify(v)}: expected ARCH or OS/ARCH[/VARIANT]`);
  if (parts.length === 1) return { os: 'linux', architecture: parts[0]! };
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}
