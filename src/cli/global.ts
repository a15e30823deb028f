import type { Command } from 'commander';
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
