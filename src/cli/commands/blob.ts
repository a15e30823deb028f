import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';

export function blobCommand(io: CliIo): Command {
  const get = addRegistryFlags(
    new Command('get')
      .description('Download a blob by digest, checking the digest (to stdout, or to a file that appears only if it matched)')
      .argument('<blob>', 'docker://HOST/NAME@DIGEST')
      .option('-o, --output <file>', 'write to this file instead of stdout')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v)),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ berth blob get docker://registry.example.com/team/app@sha256:… -o layer.tar.gz
  $ berth blob get docker://localhost:5000/team/app@sha256:… --tls-verify=false | jq .`,
    )
    .action(async (blob: string, opts: Record<string, unknown>) => {
      const { downloadBlob, streamBlob } = await import('../../client/blob.js');
      const registry = registryOptions(opts, undefined, opts.retryTimes as number | undefined);
      if (opts.output) await downloadBlob(blob, opts.output as string, { registry });
      else await streamBlob(blob, process.stdout, { registry });
    });
  const put = addRegistryFlags(
    new Command('put')
      .description('Upload a file as a blob of a repository and print its digest (skipped if the registry has it)')
      .argument('<repository>', 'docker://HOST/NAME')
      .argument('<file>', 'the file to upload')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
      .addOption(new Option('--format <format>', 'output: the digest, or JSON {Digest, Size, Uploaded}').choices(['text', 'json']).default('text')),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ berth blob put docker://registry.example.com/team/app ./layer.tar.gz
  $ berth blob put --format json docker://localhost:5000/team/app ./config.json --tls-verify=false`,
    )
    .action(async (repository: string, file: string, opts: Record<string, unknown>) => {
      const { uploadBlob } = await import('../../client/blob.js');
      const r = await uploadBlob(repository, file, { registry: registryOptions(opts, undefined, opts.retryTimes as number | undefined) });
      io.out(opts.format === 'json' ? goJson({ Digest: r.digest, Size: r.size, Uploaded: r.uploaded }) : `${r.digest}\n`);
    });
  return new Command('blob')
    .description('Download or upload single blobs by digest (as crane blob / oras blob)')
    .addCommand(get)
    .addCommand(put)
    .addHelpText(
      'after',
      `
Examples:
  $ berth blob get docker://registry.example.com/team/app@sha256:… -o layer.tar.gz
  $ berth blob put docker://registry.example.com/team/app ./layer.tar.gz`,
    );
}
