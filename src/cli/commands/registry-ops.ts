import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';

export function listTagsCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('list-tags')
      .description('List the tags of a repository (as skopeo list-tags)')
      .argument('<repository>', 'docker://HOST/NAME, without tag or digest')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v)),
  )
    .addHelpText('after', `\nExamples:\n  $ berth list-tags docker://registry.example.com/team/app\n  $ berth list-tags docker://localhost:5000/team/app --tls-verify=false | jq -r '.Tags[]'`)
    .action(async (repository: string, opts: Record<string, unknown>) => {
      const { registryOf } = await import('../../client/open.js');
      const { ref, transport } = registryOf(repository, { registry: registryOptions(opts, undefined, opts.retryTimes as number | undefined) });
      if (ref.tag !== undefined || ref.digest !== undefined) throw new Error(`${repository}: list-tags takes a repository without a tag or digest`);
      const tags = await transport.listTags(ref);
      io.out(goJson({ Repository: `${ref.registry}/${ref.repository}`, Tags: tags }));
    });
}

export function deleteCommand(): Command {
  return addRegistryFlags(
    new Command('delete')
      .description('Delete an image from a registry; a tag is resolved to its digest first, so every tag of that manifest goes (as skopeo delete)')
      .argument('<image>', 'docker://HOST/NAME:TAG or docker://HOST/NAME@DIGEST')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v)),
  )
    .addHelpText('after', `\nExamples:\n  $ berth delete docker://registry.example.com/team/app@sha256:…\n  $ berth delete docker://localhost:5000/team/app:old --tls-verify=false`)
    .action(async (image: string, opts: Record<string, unknown>) => {
      const { registryOf } = await import('../../client/open.js');
      const { ref, transport } = registryOf(image, { registry: registryOptions(opts, undefined, opts.retryTimes as number | undefined) });
      await transport.deleteImage(ref);
    });
}

export function manifestDigestCommand(io: CliIo): Command {
  return new Command('manifest-digest')
    .description('Print the digest of a manifest file (as skopeo manifest-digest)')
    .argument('<file>', 'a manifest file, e.g. dir:…/manifest.json')
    .addHelpText('after', `\nExamples:\n  $ berth manifest-digest ./app/manifest.json`)
    .action(async (file: string) => {
      const { manifestDigest } = await import('../../client/internal/media.js');
      io.out(`${manifestDigest(await readFile(file))}\n`);
    });
}
