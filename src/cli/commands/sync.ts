import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { SyncDestinationKind, SyncSourceKind } from '../../client/sync.js';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { createProgress } from '../progress.js';
import { addCopyFlags, copyFlags, registryOptions } from '../registry-flags.js';
import { checkPolicy, globalPlatform } from '../global.js';

export function syncCommand(io: CliIo): Command {
  const cmd = new Command('sync')
    .description('Copy many images: every tag of a repository, a tree of dir: images, or a YAML list (as skopeo sync)')
    .argument('<source>', 'docker: HOST/NAME[:TAG] (no tag: every tag); dir: a directory of dir: images; yaml: a skopeo sync YAML file')
    .argument('<destination>', 'docker: HOST[/NAMESPACE] the images go under; dir: a directory')
    .addOption(new Option('-s, --src <transport>', 'what the source is').choices(['docker', 'dir', 'yaml']).makeOptionMandatory())
    .addOption(new Option('-d, --dest <transport>', 'what the destination is').choices(['docker', 'dir']).makeOptionMandatory())
    .option('--scoped', 'name each destination after the whole source reference (HOST/NAME:TAG), not just NAME:TAG')
    .option('--append-suffix <suffix>', 'append this to every destination name')
    .option('--dry-run', 'list the copies, copy nothing')
    .option('--keep-going', 'go on after an image fails, and fail at the end');
  addCopyFlags(cmd, 'write "<digest> <destination>" for every image copied');
  return cmd
    .addHelpText(
      'after',
      `
A YAML source is skopeo's sync file: per registry, images (repository: [tags or digests], none for every
tag), images-by-tag-regex (repository: regular expression), images-by-semver (repository: constraint such
as ">= 1.2, < 2" or "^1.4 || ~2.0"; tags that are no version are skipped), credentials, tls-verify, cert-dir.

Examples:
  $ berth sync --src docker --dest dir registry.example.com/team/app /backup          # every tag → /backup/app:TAG
  $ berth sync --src docker --dest docker quay.io/team/app:v1 registry.example.com/mirror
  $ berth sync --src dir --dest docker /backup registry.example.com/restored
  $ berth sync --src yaml --dest docker --scoped sync.yaml registry.example.com/mirror
  $ berth sync --src docker --dest docker --all --format oci quay.io/team/app registry.example.com/mirror
  $ berth sync --src docker --dest dir --dry-run --format json localhost:5000/team/app ./out --src-tls-verify=false`,
    )
    .action(async (src: string, dst: string, opts: Record<string, unknown>, command: Command) => {
      const { planSync, runSync } = await import('../../client/sync.js');
      const flags = copyFlags(opts);
      const retry = flags.retryTimes;
      const json = flags.output === 'json';
      const quiet = flags.quiet;
      const plan = await planSync(src, dst, {
        src: opts.src as SyncSourceKind,
        dest: opts.dest as SyncDestinationKind,
        scoped: Boolean(opts.scoped),
        ...(opts.appendSuffix ? { appendSuffix: opts.appendSuffix as string } : {}),
        srcRegistry: registryOptions(opts, 'src', retry),
        destRegistry: registryOptions(opts, 'dest', retry),
      });
      for (const w of plan.warnings) process.stderr.write(`berth: warning: ${w}\n`);
      const progress = createProgress(process.stderr, { quiet: quiet || json });
      const platform = globalPlatform(command);
      const result = await runSync(plan, {
        all: Boolean(opts.all),
        dryRun: Boolean(opts.dryRun),
        keepGoing: Boolean(opts.keepGoing),
        preserveDigests: flags.preserveDigests,
        ...(platform ? { platform } : {}),
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        ...(flags.manifestFormat ? { manifestFormat: flags.manifestFormat } : {}),
        ...(flags.layerCompression ? { layerCompression: flags.layerCompression } : {}),
        check: (ref) => checkPolicy(command, ref),
        onProgress: progress.onProgress,
        onImage: (e) => {
          if (e.kind === 'dry-run' && !json) io.out(`Would copy image ${e.index}/${e.total} from ${e.source} to ${e.destination}\n`);
          if (quiet || json) return;
          if (e.kind === 'start') process.stderr.write(`Copying image ${e.index}/${e.total} from ${e.source} to ${e.destination}\n`);
          if (e.kind === 'failed') process.stderr.write(`berth: copying image ${e.index}/${e.total} from ${e.source} to ${e.destination} failed: ${e.error}\n`);
        },
      });
      progress.done();
      if (opts.digestfile && !result.dryRun) await writeFile(opts.digestfile as string, result.images.map((i) => `${i.digest} ${i.destination}\n`).join(''));
      if (json) {
        io.out(goJson({ ...result, planned: plan.items.map((i) => ({ source: i.source, destination: i.destination })), warnings: plan.warnings }));
      } else if (!quiet && !result.dryRun) {
        io.out(`Synced ${result.images.length} images from ${result.sources} sources\n`);
      }
      if (result.errors.length > 0) {
        throw new ClientError('REGISTRY_ERROR', `sync: ${result.errors.length} of ${plan.items.length} images failed`);
      }
    });
}
