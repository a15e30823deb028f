import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';

export function tagCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('tag')
      .description('Add tags to an image in its repository, by digest, without moving any blob (as crane tag)')
      .argument('<image>', 'docker://HOST/NAME:TAG or docker://HOST/NAME@DIGEST')
      .argument('<tags...>', 'new tags, in the same repository')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
      .addOption(new Option('--format <format>', 'output: text, or JSON {Digest, Tagged}').choices(['text', 'json']).default('text')),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ berth tag docker://registry.example.com/team/app:v1.2.3 v1.2 v1 latest
  $ berth tag docker://localhost:5000/team/app@sha256:… stable --tls-verify=false
  $ berth tag --format json docker://registry.example.com/team/app:rc1 v2 | jq -r .Digest`,
    )
    .action(async (image: string, tags: string[], opts: Record<string, unknown>) => {
      const { tagImage } = await import('../../client/catalog.js');
      const r = await tagImage(image, tags, { registry: registryOptions(opts, undefined, opts.retryTimes as number | undefined) });
      if (opts.format === 'json') io.out(goJson({ Digest: r.digest, Tagged: r.tagged }));
      else for (const t of r.tagged) io.out(`${t}@${r.digest}\n`);
    });
}
