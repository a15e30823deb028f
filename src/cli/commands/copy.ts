import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { copyImage } from '../../client/copy.js';
import { openDestination, openSource } from '../../client/open.js';
import type { CliIo } from '../main.js';
import { createProgress } from '../progress.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';
import { checkPolicy, globalPlatform } from '../global.js';

export function copyCommand(io: CliIo): Command {
  const cmd = new Command('copy')
    .description('Copy an image between registries, layouts, directories and archives (as skopeo copy)')
    .argument('<source>', 'source image, e.g. docker://quay.io/team/app:v1')
    .argument('<destination>', 'destination image, e.g. oci:./layout:v1')
    .option('-a, --all', 'copy every image of a multi-arch index (same as --multi-arch all)')
    .addOption(new Option('--multi-arch <which>', 'for a multi-arch index: the image for this platform, all of them, or the index alone').choices(['system', 'all', 'index-only']))
    .option('--preserve-digests', 'fail rather than change any manifest digest')
    .option('--digestfile <path>', 'write the digest of the copied manifest to this file')
    .option('--image-parallel-copies <n>', 'blobs copied at once (default 4)', (v) => Number(v))
    .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
    .option('-q, --quiet', 'print nothing but errors')
    .addOption(new Option('--format <format>', 'output: text progress or a JSON summary').choices(['text', 'json']).default('text'));
  addRegistryFlags(cmd, 'src');
  addRegistryFlags(cmd, 'dest');
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ berth copy docker://quay.io/team/app:v1 docker://registry.example.com/team/app:v1
  $ berth copy --all docker://localhost:5000/team/app:v1 oci:./layout:v1 --src-tls-verify=false
  $ berth copy oci:./layout:v1 docker-archive:./app.tar:team/app:v1
  $ berth copy --dest-creds robot:TOKEN dir:./app docker://registry.example.com/team/app:v2
  $ berth copy --format json docker://a/b:c oci:./out:c | jq .digest`,
    )
    .action(async (src: string, dst: string, opts: Record<string, unknown>, command: Command) => {
      const retry = opts.retryTimes as number | undefined;
      const source = await openSource(src, { registry: registryOptions(opts, 'src', retry) });
      try {
        await checkPolicy(command, source.reference);
        const destination = await openDestination(dst, { registry: registryOptions(opts, 'dest', retry) });
        try {
          const progress = createProgress(process.stderr, { quiet: Boolean(opts.quiet) || opts.format === 'json' });
          const platform = globalPlatform(command);
          const result = await copyImage(source, destination, {
            multiArch: opts.all ? 'all' : (opts.multiArch as 'system' | 'all' | 'index-only' | undefined),
            platform,
            preserveDigests: Boolean(opts.preserveDigests),
            concurrency: opts.imageParallelCopies as number | undefined,
            onProgress: progress.onProgress,
          });
          progress.done();
          if (opts.digestfile) await writeFile(opts.digestfile as string, result.digest);
          if (opts.format === 'json') io.out(`${JSON.stringify(result)}\n`);
        } finally {
          await destination.close();
        }
      } finally {
        await source.close();
      }
    });
}
