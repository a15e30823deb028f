import { Command, Option } from 'commander';
import type { PlatformSpec } from '../../client/platform.js';
import type { Grade } from '../../scan/health-index.js';
import type { ScanReport } from '../../scan/scan.js';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';
import { globalPlatform, parsePlatformFlag } from '../global.js';

const GRADES: Grade[] = ['A', 'B', 'C', 'D', 'E', 'F'];
const FAIL_ON = ['critical', 'important', ...GRADES.slice(1).map((g) => g.toLowerCase())];

/** Whether `--fail-on` trips: a severity name fails on any fixable finding of it or above; a grade on that grade or worse. */
function failsOn(report: ScanReport, failOn: string): boolean {
  if (failOn === 'critical' || failOn === 'important') {
    const sev = failOn === 'critical' ? ['Critical'] : ['Critical', 'Important'];
    return report.findings.some((f) => sev.includes(f.severity) && f.fixedVersion !== undefined);
  }
  return GRADES.indexOf(report.health.grade) >= GRADES.indexOf(failOn.toUpperCase() as Grade);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function formatScanTable(r: ScanReport): string {
  const lines: string[] = [];
  const os = r.os ? `${r.os.prettyName ?? `${r.os.id} ${r.os.versionId ?? ''}`.trim()}${r.os.ecosystem ? ` (${r.os.ecosystem})` : ''}` : 'unknown OS';
  lines.push(`${r.image.digest}${r.image.platform ? ` ${r.image.platform}` : ''}: ${os}, ${r.packages.length} packages`);
  if (r.findings.length) {
    lines.push('');
    lines.push(table([['PACKAGE', 'INSTALLED', 'FIXED', 'SEVERITY', 'ADVISORY'], ...r.findings.map((f) => [f.package.name, f.package.version, f.fixedVersion ?? '(no fix)', f.severity, [f.advisory, ...f.cves.filter((c) => c !== f.advisory)].join(' ')])]));
  }
  lines.push('');
  const fixable = r.findings.filter((f) => f.fixedVersion !== undefined).length;
  lines.push(`${r.findings.length} findings (${fixable} fixable). Health index: ${r.health.grade} — ${r.health.reason}${r.health.nextDropDate ? `; drops on ${r.health.nextDropDate}` : ''}`);
  return `${lines.join('\n')}\n`;
}

export function scanCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('scan')
      .description('Scan an image for OS packages with known vulnerabilities and grade it with the Container Health Index')
      .argument('<image>', 'docker://REF, oci:PATH[:REF], oci-archive:PATH[:REF], dir:PATH or docker-archive:PATH[:REF]')
      .requiredOption('--advisories <path>', 'advisory data: an OSV, CSAF/VEX, Alpine secdb or Debian tracker JSON file, an OSV export zip, or a directory of these (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
      .option('--platform <[os/]arch[/variant]>', 'for a multi-arch image, scan this platform (default: --override-* flags, then this machine)', parsePlatformFlag)
      .addOption(new Option('--fail-on <level>', 'exit 3 when a fixable finding of this severity or worse exists (critical, important), or when the grade is this or worse (b..f)').choices(FAIL_ON))
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v)),
  )
    .addHelpText(
      'after',
      `
The scan reads the image's layers once (nothing is unpacked), lists its rpm, dpkg and apk packages and matches
them against the advisory data for the image's distribution and release. The grade follows Red Hat's
Container Health Index: only unapplied Critical and Important fixes count, by the age of the oldest.

Exit status: 0 when the scan ran (whatever the grade), 3 when --fail-on trips, 1 on errors.

Examples:
  $ berth scan oci:./layout:v1 --advisories ./osv/Debian.zip
  $ berth scan docker://registry.example.com/team/app:v1 --advisories ./csaf --format json
  $ berth scan docker://localhost:5000/app:v1 --tls-verify=false --advisories secdb-main.json --fail-on important
  $ berth scan --platform linux/arm64 docker://quay.io/team/multi:v2 --advisories ./advisories`,
    )
    .action(async (image: string, opts: Record<string, unknown>, cmd: Command) => {
      // Loaded here, not at the top: the scanner and the client library are most of the CLI's start-up time otherwise.
      const [{ openImage }, { openSource }, { loadAdvisories }, { MemoryAdvisoryStore }, { scanImage }] = await Promise.all([
        import('../../client/image.js'),
        import('../../client/open.js'),
        import('../../scan/advisories/load.js'),
        import('../../scan/advisories/store.js'),
        import('../../scan/scan.js'),
      ]);
      const store = new MemoryAdvisoryStore();
      for (const p of opts.advisories as string[]) await store.import(loadAdvisories(p), { source: p });
      const registry = registryOptions(opts, undefined, opts.retryTimes as number | undefined);
      const source = await openSource(image, { registry });
      try {
        const platform = (opts.platform as PlatformSpec | undefined) ?? globalPlatform(cmd);
        const img = await openImage(source, platform ? { platform } : {});
        const report = await scanImage(img, store);
        io.out(opts.format === 'json' ? goJson(report) : formatScanTable(report));
        if (typeof opts.failOn === 'string' && failsOn(report, opts.failOn)) process.exitCode = 3;
      } finally {
        await source.close();
      }
    });
}
