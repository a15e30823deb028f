import { Command, CommanderError, Option } from 'commander';
import type { PlatformSpec } from '../../client/platform.js';
import type { CliIo } from '../main.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';
import { parsePlatformFlag } from '../global.js';

/** `--platform amd64` (preflight's form: an architecture, os linux) or `linux/arm64[/v8]`. */
/**
 * The certification policy. The root program has a global `--policy <path>` (the trust policy.json), and
 * commander gives a `--policy` anywhere on the line to it; certify reads no trust policy, so there `--policy`
 * always means the certification policy, wherever it was written.
 */
function certificationPolicy(cmd: Command): string {
  if (cmd.getOptionValueSource('policy') === 'cli') return cmd.opts<{ policy: string }>().policy;
  return cmd.optsWithGlobals<{ policy?: string }>().policy ?? 'container';
}

export function certifyCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('certify')
      .description("Run Red Hat's container certification checks (preflight's rules) on an image, offline")
      .argument('<image>', 'docker://REF, oci:PATH[:REF], oci-archive:PATH[:REF], dir:PATH or docker-archive:PATH[:REF]')
      .addOption(new Option('--policy <policy>', 'which checks to run: container, root, scratch-nonroot or scratch-root').default('container'))
      .addOption(new Option('--format <format>', 'json (preflight results.json), text or junit').choices(['json', 'text', 'junit']).default('text'))
      .option('--artifacts <dir>', 'also write results.json, results-junit.xml, results.txt, preflight.log and rpm-manifest.json here (one folder per architecture)')
      .option('--platform <arch>', 'only this platform of a multi-arch image: ARCH (linux) or OS/ARCH[/VARIANT]; default: every platform', parsePlatformFlag)
      .option('--ubi-layers <file>', 'JSON table of UBI / Red Hat Hardened Image top-layer diffIDs for BasedOnUbi (format: docs/policy/based-on-ubi.md)'),
  )
    .addHelpText(
      'after',
      `
The exit code is 0 when every platform passes, 1 when a check failed or could not decide.
Each failed check links to its page in docs/policy/.

Examples:
  $ berth certify docker://quay.io/example/app:1.0
  $ berth certify --format json docker://localhost:5000/team/app:1.0 --tls-verify=false > results.json
  $ berth certify --policy scratch-nonroot --format junit oci:./layout:1.0 > junit.xml
  $ berth certify --platform arm64 --artifacts ./artifacts docker://quay.io/example/multi:2.3
  $ berth certify --policy root --ubi-layers ./ubi-layers.json docker-archive:./app.tar:example/app:1.0`,
    )
    .action(async (image: string, opts: Record<string, unknown>, cmd: Command) => {
      // Loaded here, not at the top: the checks and the client library are most of the CLI's start-up time otherwise.
      const [{ certifyImage, DEFAULT_LIBRARY }, { parsePolicy }, { formatJson, formatJunit, formatText }, { formatPlatform }] = await Promise.all([
        import('../../certify/certify.js'),
        import('../../certify/policy.js'),
        import('../../certify/report.js'),
        import('../../client/platform.js'),
      ]);
      const run = await certifyImage(image, {
        registry: registryOptions(opts),
        policy: parsePolicy(certificationPolicy(cmd)),
        ...(opts.platform ? { platform: opts.platform as PlatformSpec } : {}),
        ...(opts.ubiLayers ? { ubiLayersFile: opts.ubiLayers as string } : {}),
        ...(opts.artifacts ? { artifacts: opts.artifacts as string } : {}),
        library: { ...DEFAULT_LIBRARY, version: io.version },
      });
      const results = run.platforms.map((p) => p.results);
      const one = results.length === 1 ? results[0]! : results;
      if (opts.format === 'json') io.out(formatJson(one, run.library));
      else if (opts.format === 'junit') io.out(formatJunit(one));
      else io.out(formatText(results, { policy: run.policy, platformOf: (r) => formatPlatform(run.platforms.find((p) => p.results === r)?.platform) }));
      // Not passing is the answer, not a crash: exit 1 without an error message (main sets the exit code).
      if (!run.passed) throw new CommanderError(1, 'berth.certify.failed', '');
    });
}
