/** Platforms: the running one in OCI terms, and picking an image for one from an index. */
import type { Descriptor, Platform } from '../content/descriptor.js';
import { ClientError } from './errors.js';

export interface PlatformSpec {
  os?: string;
  architecture?: string;
  variant?: string;
}

const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle', loong64: 'loong64' };
const OS: Record<string, string> = { win32: 'windows', linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', openbsd: 'openbsd', sunos: 'solaris', aix: 'aix' };

/**
 * The platform whose images this process would run, in OCI names (`x64` → `amd64`). The os is `linux` on
 * every host but Windows (a macOS host runs linux images in a VM), as containers/image decides.
 */
export function systemPlatform(): Required<Pick<PlatformSpec, 'os' | 'architecture'>> & PlatformSpec {
  const os = OS[process.platform] ?? process.platform;
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: PlatformSpec & { os: string; architecture: string } = { os: os === 'windows' ? 'windows' : 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  if (architecture === 'arm') p.variant = `v${(process.config.variables as { arm_version?: string }).arm_version ?? '7'}`;
  return p;
}

function normVariant(arch: string, variant: string | undefined): string | undefined {
  // arm64 images usually omit the variant; v8 is what an absent one means.
  if (arch === 'arm64' && (variant === undefined || variant === '')) return 'v8';
  return variant === '' ? undefined : variant;
}

/**
 * The child of an index for `want` (missing fields default to the running platform): the first entry with
 * matching os and architecture whose variant matches, or, when `want` names no variant, any variant.
 * Throws `PLATFORM_UNKNOWN` listing what the index has.
 */
export function resolvePlatform(children: readonly Descriptor[], want: PlatformSpec = {}): Descriptor {
  const sys = systemPlatform();
  const os = want.os ?? sys.os;
  const architecture = want.architecture ?? sys.architecture;
  const variant = want.variant ?? (want.architecture === undefined ? sys.variant : undefined);
  const candidates = children.filter((d) => d.platform && d.platform.os === os && d.platform.architecture === architecture);
  const wantVariant = normVariant(architecture, variant);
  const exact = candidates.find((d) => normVariant(architecture, d.platform?.variant) === wantVariant);
  const found = exact ?? (want.variant === undefined ? candidates[0] : undefined);
  if (!found) {
    const have = children.map((d) => formatPlatform(d.platform)).join(', ');
    throw new ClientError('PLATFORM_UNKNOWN', `no image for ${formatPlatform({ os, architecture, variant })} in the index (it has: ${have || 'nothing'})`);
  }
  return found;
}

export function formatPlatform(p: PlatformSpec | Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}
