/**
 * preflight's rpm-manifest.json artifact (openshift-preflight internal/engine/engine.go `writeRPMManifest`,
 * Pyxis `RPMManifest` / `RPM`, every field `omitempty`): one entry per package of the image's RPM database.
 * `srpm_name` is the source RPM's file name without its last two dash-separated parts; `srpm_nevra` is
 * `<srpm_name>-<epoch>:<version>-<release>.src` (epoch 0 when the package has none); `gpg` is the signing key id.
 */
import type { RpmPackage } from './rpm.js';

export interface PyxisRpm {
  architecture?: string;
  gpg?: string;
  name?: string;
  nvra?: string;
  release?: string;
  srpm_name?: string;
  srpm_nevra?: string;
  summary?: string;
  version?: string;
}

export interface RpmManifest {
  image_id?: string;
  rpms?: PyxisRpm[];
}

function omitEmpty<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

export function pyxisRpm(p: RpmPackage): PyxisRpm {
  let srpmName: string | undefined;
  let srpmNevra: string | undefined;
  if (p.sourceRpm) {
    const parts = p.sourceRpm.split('-');
    srpmName = parts.slice(0, Math.max(0, parts.length - 2)).join('-');
    // From the first "-<digit>" on, without ".rpm" and the leading dash: "1.0-1.el9.src".
    const tail = /(-[0-9].*)/.exec(p.sourceRpm)?.[1]?.replace(/\.rpm$/, '').replace(/^-/, '') ?? '';
    srpmNevra = `${srpmName}-${p.epoch ?? 0}:${tail}`;
  }
  return omitEmpty({
    architecture: p.arch,
    gpg: p.signatureKeyId,
    name: p.name,
    nvra: `${p.name}-${p.version}-${p.release}.${p.arch}`,
    release: p.release,
    srpm_name: srpmName,
    srpm_nevra: srpmNevra,
    summary: p.summary,
    version: p.version,
  });
}

/** The manifest of `packages` (no `rpms` key when there are none, as Go's omitempty leaves it out). */
export function rpmManifest(packages: readonly RpmPackage[]): RpmManifest {
  return packages.length > 0 ? { rpms: packages.map(pyxisRpm) } : {};
}
