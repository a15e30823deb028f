import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';
import { createProgress } from '../progress.js';
import { addCopyFlags, copyFlags, registryOptions } from '../registry-flags.js';
import { checkPolicy, globalPlatform } from '../global.js';

export function copyCommand(io: CliIo): Command {
  const cmd = new Command('copy')
    .description('Copy an image between registries, layouts, directories and archives (as skopeo copy)')
    .argument('<source>', 'source image, e.g. docker://quay.io/team/app:v1')
    .argument('<destination>', 'destination image, e.g. oci:./layout:v1')
    .option('--additional-tag <name:tag>', 'another name for the image in a docker-archive: destination (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .addOption(new Option('--multi-arch <which>', 'for a multi-arch index: the image for this platform, all of them, or the index alone').choices(['system', 'all', 'index-only']));
  addCopyFlags(cmd, 'write the digest of the copied manifest to this file');
  return cmd
    .addHelpText(
      'after',
      `
Layers keep their bytes (and so every digest stays) unless --format or a --dest-compress* flag asks for a
change; a digest-pinned destination, or --preserve-digests, refuses such a change before anything is copied.
Unlike skopeo, --dest-compress and --dest-decompress apply to every destination, not only dir:, and
uncompressed layers stay uncompressed unless --dest-compress is given. zstd needs Node 22.15 or later.

Examples:
  $ berth copy docker://quay.io/team/app:v1 docker://registry.example.com/team/app:v1
  $ berth copy --all docker://localhost:5000/team/app:v1 oci:./layout:v1 --src-tls-verify=false
  $ berth copy oci:./layout:v1 docker-archive:./app.tar:team/app:v1
  $ berth copy --additional-tag team/app:latest oci:./layout:v1 docker-archive:./app.tar:team/app:v1
  $ berth copy --dest-creds robot:TOKEN dir:./app docker://registry.example.com/team/app:v2
  $ berth copy --format v2s2 oci:./layout:v1 docker://registry.example.com/team/app:v1     # Docker schema 2
  $ berth copy --format v2s1 oci:./layout:v1 docker://registry.example.com/legacy/app:v1   # signed schema 1
  $ berth copy --dest-compress --dest-compress-level 9 docker-archive:./app.tar oci:./layout:v1
  $ berth copy --dest-decompress docker://quay.io/team/app:v1 dir:./app-uncompressed
  $ berth copy --dest-chunk-size 8MiB oci:./layout:v1 docker://registry.example.com/team/app:v1
  $ berth copy --format json docker://a/b:c oci:./out:c | jq .digest
  $ berth copy --format oci --format json docker://a/b:c oci:./out:c                      # both meanings`,
    )
    .action(async (src: string, dst: string, opts: Record<string, unknown>, command: Command) => {
      // The library loads on use, so `berth --help` and other commands start without it.
      const [{ copyImage }, { openDestination, openSource }] = await Promise.all([import('../../client/copy.js'), import('../../client/open.js')]);
      const flags = copyFlags(opts);
      const source = await openSource(src, { registry: registryOptions(opts, 'src', flags.retryTimes) });
      try {
        await checkPolicy(command, source.reference);
        const destination = await openDestination(dst, {
          registry: registryOptions(opts, 'dest', flags.retryTimes),
          ...(opts.additionalTag ? { additionalTags: opts.additionalTag as string[] } : {}),
        });
        try {
          const json = flags.output === 'json';
          const progress = createProgress(process.stderr, { quiet: flags.quiet || json });
          const platform = globalPlatform(command);
          const result = await copyImage(source, destination, {
            multiArch: opts.all ? 'all' : (opts.multiArch as 'system' | 'all' | 'index-only' | undefined),
            platform,
            preserveDigests: flags.preserveDigests,
            concurrency: flags.concurrency,
            onProgress: progress.onProgress,
            ...(flags.manifestFormat ? { manifestFormat: flags.manifestFormat } : {}),
            ...(flags.layerCompression ? { layerCompression: flags.layerCompression } : {}),
          });
          progress.done();
          if (opts.digestfile) await writeFile(opts.digestfile as string, result.digest);
          if (json) io.out(`${JSON.stringify(result)}\n`);
        } finally {
          await destination.close();
        }
      } finally {
        await source.close();
      }
    });
}
