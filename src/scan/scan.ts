/**
 * One scan: an image's inventory (its layers read once), matched against advisories, graded.
 */
import type { Image } from '../client/image.js';
import type { SourceOptions } from '../client/transport.js';
import type { AdvisoryLookup } from './advisories/store.js';
import { healthIndex, type HealthIndex } from './health-index.js';
import { osOf, readInventory, type Inventory } from './inventory/index.js';
import { matchInventory, type Finding } from './match.js';

export interface ScanReport {
  image: { digest: string; platform?: string };
  os?: { id: string; versionId?: string; prettyName?: string; ecosystem?: string };
  packageSources: string[];
  packages: Inventory['packages'];
  findings: Finding[];
  health: HealthIndex;
}

export async function scanImage(image: Image, advisories: AdvisoryLookup, opts: SourceOptions & { now?: Date } = {}): Promise<ScanReport> {
  const inv = await readInventory(image, opts);
  const findings = await matchInventory(inv, advisories);
  const report: ScanReport = {
    image: { digest: image.digest },
    packageSources: inv.sources,
    packages: inv.packages,
    findings,
    health: healthIndex(findings, opts.now ?? new Date()),
  };
  if (image.platform) report.image.platform = [image.platform.os, image.platform.architecture, image.platform.variant].filter(Boolean).join('/');
  const os = osOf(inv);
  if (os) report.os = os;
  return report;
}
