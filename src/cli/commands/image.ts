import { Command, Option } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { MirrorResult } from '../../client/mirror.js';
import type { RegistryOptions } from '../../client/transports/registry/session.js';
import type { CliIo } from '../main.js';
import { createProgress } from '../progress.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';
import { checkPolicy, globalPlatform } from '../global.js';
import { describeImage, infoJson } from './image-format.js';

/** oc's spellings next to skopeo's: `--insecure` (HTTP / no TLS verification) and `-a, --registry-config`. */
function addOcFlags(cmd: Command): Command {
  return cmd
    .option('--insecure', 'allow HTTP and unverified TLS (same as --tls-verify=false)')
    .option('-a, --registry-config <path>', 'auth.json to read (same as --authfile)');
}

function ocRegistry(opts: Record<string, unknown>, side?: 'src' | 'dest'): RegistryOptions {
  const r = registryOptions(opts, side);
  if (opts.insecure) r.tlsVerify = false;
  if (opts.registryConfig && !r.authFile) r.authFile = opts.registryConfig as string;
  return r;
}

function formatOption(): Option {
  return new Option('--format <format>', 'output: text (as oc) or json').choices(['text', 'json']).default('text');
}

function infoCommand(io: CliIo): Command {
  const cmd = new Command('info')
    .description('Show an image: digest, media type, created, size and layers, os/arch, entrypoint, command, user, environment, labels and ports (as oc image info)')
    .argument('<image...>', 'images: docker://REF (or a bare registry reference), oci:PATH[:REF], dir:PATH, ...')
    .option('--filter-by-os <regex>', 'pick the image of a multi-arch index whose os/arch[/variant] matches (default: the running platform)')
    .option('--show-multiarch', 'show every image of a multi-arch index the filter matches')
    .addOption(formatOption())
    .addOption(new Option('-o, --output <format>', 'same as --format (oc spelling)').choices(['json', 'text']).hideHelp());
  addOcFlags(addRegistryFlags(cmd));
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ berth image info docker://quay.io/team/app:v1
  $ berth image info localhost:5000/team/app:v1 --insecure
  $ berth image info --filter-by-os linux/arm64 docker://docker.io/library/busybox:latest
  $ berth image info --format json oci:./layout:v1 | jq .config.config.Env`,
    )
    .action(async (images: string[], opts: Record<string, unknown>, command: Command) => {
      const [{ imageInfo }, { openSource, withTransport }] = await Promise.all([import('../../client/info.js'), import('../../client/open.js')]);
      const format = (opts.output as string | undefined) ?? (opts.format as string);
      const all: object[] = [];
      for (const image of images) {
        const source = await openSource(withTransport(image), { registry: ocRegistry(opts) });
        try {
          const infos = await imageInfo(source, { filterByOS: opts.filterByOs as string | undefined, platform: globalPlatform(command), multiple: Boolean(opts.showMultiarch) });
          for (const info of infos) {
            if (format === 'json') all.push(infoJson(info));
            else io.out(describeImage(info));
          }
        } finally {
          await source.close();
        }
      }
      if (format === 'json') io.out(`${JSON.stringify(all.length === 1 ? all[0] : all, null, 2)}\n`);
    });
}

function extractCommand(io: CliIo): Command {
  const cmd = new Command('extract')
    .description('Copy files from an image to disk, applying layers and whiteouts in order (as oc image extract)')
    .argument('<image...>', 'images, optionally with a layer selector: IMAGE[-1], IMAGE[:3], IMAGE[1:3], IMAGE[~<digest-prefix>]')
    .option('--path <src:dst>', 'SRC in the image (/, a directory ending in /, or dir/glob) to the existing directory DST; repeatable (default /:.)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--file <path>', 'extract this file to the current directory; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--filter-by-os <regex>', 'pick the image of a multi-arch index (default: the running platform)')
    .option('--confirm', 'allow extracting into a directory that is not empty')
    .option('--only-files', 'write only regular files and directories (no symlinks, hard links or devices)')
    .option('-p, --preserve-ownership', 'set owners as the image has them (needs root)')
    .addOption(formatOption());
  addOcFlags(addRegistryFlags(cmd));
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ berth image extract docker://quay.io/team/app:v1 --path /:./rootfs
  $ berth image extract localhost:5000/team/app:v1 --path /etc/:./etc --insecure
  $ berth image extract oci:./layout:v1 --path '/etc/yum.repos.d/*.repo:.' --confirm
  $ berth image extract 'docker://quay.io/team/app:v1[-1]' --path /:./top-layer`,
    )
    .action(async (images: string[], opts: Record<string, unknown>, command: Command) => {
      const [{ checkDestination, extractImage, parsePathMapping, splitLayerSelector }, { pickImages }, { openSource, withTransport }] = await Promise.all([import('../../client/extract.js'), import('../../client/info.js'), import('../../client/open.js')]);
      const paths = (opts.path as string[] | undefined) ?? [];
      const files = (opts.file as string[] | undefined) ?? [];
      const mappings = [
        ...files.map((f) => {
          if (f.endsWith('/')) throw new ClientError('REFERENCE_INVALID', `invalid file: ${f} must not end with a slash`);
          return parsePathMapping(`${f.startsWith('/') ? f : `/${f}`}:.`);
        }),
        ...(paths.length === 0 && files.length === 0 ? ['/:.'] : paths).map((p) => parsePathMapping(p)),
      ];
      for (const m of mappings) await checkDestination(m, Boolean(opts.confirm));
      for (const arg of images) {
        const { image, select } = splitLayerSelector(arg);
        const source = await openSource(withTransport(image), { registry: ocRegistry(opts) });
        try {
          const [picked] = await pickImages(source, { filterByOS: opts.filterByOs as string | undefined, platform: globalPlatform(command) });
          const img = picked!.image;
          const result = await extractImage(img, { mappings, onlyFiles: Boolean(opts.onlyFiles), preserveOwnership: Boolean(opts.preserveOwnership), layers: select?.(img.parsed.layers) });
          if (opts.format === 'json') io.out(`${JSON.stringify({ image: arg, digest: img.digest, ...result })}\n`);
        } finally {
          await source.close();
        }
      }
    });
}

function mirrorCommand(io: CliIo): Command {
  const cmd = new Command('mirror')
    .description('Copy images between registries by SRC=DST mappings, keeping or filtering manifest lists (as oc image mirror)')
    .argument('[mapping...]', 'SRC=DST pairs, or SRC DST [DST...]; references without a transport are docker:// ones')
    .option('-f, --filename <file>', 'read mappings from a file: SRC=DST or SRC DST per line, # comments; repeatable', (v: string, acc: string[] = []) => [...acc, v])
    .option('--keep-manifest-list', 'copy manifest lists whole (or, with --filter-by-os, the matching entries as a list)')
    .option('--filter-by-os <regex>', 'which entries of a manifest list to copy (default: the running platform; .* for all)')
    .option('--dry-run', 'print what would be copied, and copy nothing')
    .option('--continue-on-error', 'if an image fails, go on with the others and fail at the end')
    .option('--skip-missing', 'skip a source image that does not exist, with a warning')
    .option('--image-parallel-copies <n>', 'blobs copied at once (default 6)', (v) => Number(v))
    .option('-q, --quiet', 'print nothing but errors')
    .addOption(formatOption());
  addRegistryFlags(cmd, 'src');
  addRegistryFlags(cmd, 'dest');
  addOcFlags(cmd);
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ berth image mirror quay.io/team/app:v1=localhost:5000/team/app:v1 --dest-tls-verify=false
  $ berth image mirror quay.io/team/app:v1 registry-a.example.com/team/app registry-b.example.com/team/app
  $ berth image mirror --keep-manifest-list docker.io/library/busybox:1.36=localhost:5000/library/busybox --insecure
  $ berth image mirror -f mapping.txt --filter-by-os 'linux/(amd64|arm64)' --dry-run
  $ berth image mirror -f mapping.txt --continue-on-error --skip-missing`,
    )
    .action(async (args: string[], opts: Record<string, unknown>, command: Command) => {
      const [{ mirrorImages, parseMirrorArgs, readMirrorFiles }, { resolveImage }] = await Promise.all([import('../../client/mirror.js'), import('../../client/open.js')]);
      const seen = new Map<string, string>();
      const mappings = [...(args.length > 0 ? parseMirrorArgs(args, seen) : []), ...(await readMirrorFiles((opts.filename as string[] | undefined) ?? [], seen))];
      if (mappings.length === 0) throw new ClientError('REFERENCE_INVALID', 'nothing to mirror: give SRC=DST mappings or --filename');
      for (const m of mappings) await checkPolicy(command, resolveImage(m.source, { registry: ocRegistry(opts, 'src') }).ref);
      const json = opts.format === 'json';
      const quiet = Boolean(opts.quiet) || json;
      const progress = createProgress(process.stderr, { quiet });
      const started = Date.now();
      let bytes = 0;
      // Collected as they finish, so a run that fails at the end (--continue-on-error) still reports what it did.
      const results: MirrorResult[] = [];
      const mirrored = mirrorImages(mappings, {
        src: { registry: ocRegistry(opts, 'src') },
        dest: { registry: ocRegistry(opts, 'dest') },
        keepManifestList: Boolean(opts.keepManifestList),
        filterByOS: opts.filterByOs as string | undefined,
        platform: globalPlatform(command),
        dryRun: Boolean(opts.dryRun),
        concurrency: opts.imageParallelCopies as number | undefined,
        onProgress: (e) => {
          if (e.kind === 'blob-done') bytes += e.total;
          progress.onProgress(e);
        },
        continueOnError: Boolean(opts.continueOnError),
        skipMissing: Boolean(opts.skipMissing),
        onMapped: (r: MirrorResult) => {
          results.push(r);
          progress.done();
          if (!json && !opts.quiet) io.out(`${r.digest} ${r.name}${opts.dryRun ? ' (dry run)' : ''}\n`);
        },
        onSkipped: (m, err) => {
          progress.done();
          io.err(`warning: skipping missing image ${m.source}: ${err instanceof Error ? err.message : String(err)}\n`);
        },
        onError: (m, err) => {
          progress.done();
          io.err(`error: mirroring ${m.source} to ${m.destination}: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      });
      try {
        await mirrored;
      } finally {
        progress.done();
        if (json) io.out(`${JSON.stringify(results.map(({ source, destination, digest, sourceDigest, kind, platforms, copy }) => ({ source, destination, digest, sourceDigest, kind, platforms, blobs: copy?.blobs })), null, 2)}\n`);
      }
      if (!json && !opts.quiet) {
        const secs = (Date.now() - started) / 1000;
        io.err(`info: Mirroring completed in ${secs.toFixed(2)}s (${formatRate(bytes / Math.max(secs, 0.001))})\n`);
      }
    });
}

function formatRate(perSecond: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = perSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}/s`;
}

function appendCommand(io: CliIo): Command {
  const cmd = new Command('append')
    .description('Add layers to an image and edit its config, writing a new image (as oc image append; crane mutate)')
    .argument('[layer...]', 'layer tarballs (.tar.gz, or plain .tar, which is gzipped), applied after the base layers')
    .option('--from <image>', 'the base image (default: an empty scratch image)')
    .requiredOption('--to <image>', 'where to write the new image')
    .option('--image <json>', 'JSON merged into the config\'s "config": e.g. \'{"Entrypoint":["/app"],"Env":["A=1"],"Labels":{"k":"v"},"User":"1001","WorkingDir":"/srv"}\'')
    .option('--meta <json>', 'JSON merged into the top level of the config: e.g. \'{"author":"me"}\'')
    .option('--drop-history', 'remove history, container_config and container from the config')
    .option('--created-at <time>', 'the creation time: RFC 3339 or milliseconds since the epoch (default now)')
    .option('--filter-by-os <regex>', 'for a multi-arch base, the image to append to (default: the running platform); with --keep-manifest-list, the images to append to')
    .option('--keep-manifest-list', 'for a multi-arch base, append to every image of the list (or those --filter-by-os keeps) and write a new list')
    .addOption(formatOption());
  addRegistryFlags(cmd, 'src');
  addRegistryFlags(cmd, 'dest');
  addOcFlags(cmd);
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ berth image append --from docker://quay.io/team/base:v1 --to docker://quay.io/team/app:v1 app.tar.gz
  $ berth image append --from localhost:5000/base:v1 --to localhost:5000/app:v1 --insecure --image '{"Cmd":["/app/run"],"User":"1001"}'
  $ berth image append --from oci:./layout:base --to oci:./layout:app --image '{"Labels":{"version":"2"}}' --drop-history layer.tar
  $ berth image append --to docker://localhost:5000/scratch:v1 --dest-tls-verify=false rootfs.tar.gz
  $ berth image append --from quay.io/team/base:v1 --to quay.io/team/app:v1 --keep-manifest-list app.tar.gz
  $ berth image append --from quay.io/team/base:v1 --to quay.io/team/app:v1 --keep-manifest-list --filter-by-os linux/arm64 app.tar.gz`,
    )
    .action(async (layers: string[], opts: Record<string, unknown>, command: Command) => {
      const [{ appendImage, parsePatch }, { openDestination, openSource, withTransport }] = await Promise.all([import('../../client/append.js'), import('../../client/open.js')]);
      const image = opts.image !== undefined ? parsePatch('--image', opts.image as string) : undefined;
      const meta = opts.meta !== undefined ? parsePatch('--meta', opts.meta as string) : undefined;
      let createdAt: Date | undefined;
      if (opts.createdAt !== undefined) {
        const s = opts.createdAt as string;
        createdAt = /^\d+$/.test(s) ? new Date(Number(s)) : new Date(s);
        if (Number.isNaN(createdAt.getTime())) throw new ClientError('REFERENCE_INVALID', `--created-at ${JSON.stringify(s)}: expected RFC 3339 or milliseconds since the epoch`);
      }
      const source = opts.from ? await openSource(withTransport(opts.from as string), { registry: ocRegistry(opts, 'src') }) : undefined;
      try {
        if (source) await checkPolicy(command, source.reference);
        const destination = await openDestination(withTransport(opts.to as string), { registry: ocRegistry(opts, 'dest') });
        try {
          const result = await appendImage(source, destination, { layers, image, meta, dropHistory: Boolean(opts.dropHistory), createdAt, filterByOS: opts.filterByOs as string | undefined, platform: globalPlatform(command), keepManifestList: Boolean(opts.keepManifestList) });
          if (opts.format === 'json') io.out(`${JSON.stringify({ digest: result.digest, mediaType: result.mediaType, layers: result.layers, ...(result.children ? { manifests: result.children } : {}) }, null, 2)}\n`);
          else io.out(`${result.digest}\n`);
        } finally {
          await destination.close();
        }
      } finally {
        await source?.close();
      }
    });
}

/** The `oc image` set: info, extract, mirror, append. */
export function imageCommand(io: CliIo): Command {
  const image = new Command('image')
    .description('Work with images as oc image does: info, extract, mirror, append')
    .addHelpText(
      'after',
      `
Examples:
  $ berth image info docker://quay.io/team/app:v1
  $ berth image extract docker://quay.io/team/app:v1 --path /etc/:./etc
  $ berth image mirror quay.io/team/app:v1=localhost:5000/team/app:v1 --insecure
  $ berth image append --from quay.io/team/base:v1 --to quay.io/team/app:v1 app.tar.gz`,
    );
  image.addCommand(infoCommand(io));
  image.addCommand(extractCommand(io));
  image.addCommand(mirrorCommand(io));
  image.addCommand(appendCommand(io));
  return image;
}
